# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The only place that knows AnsibleModule: build the client from module params, turn errors into fail_json."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, NoReturn

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError, internal_error
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ImdsClient,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import (
    client_config_from_params,
    refuse_empty_expectations,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.config import ClientConfig
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import mask_data, secret_forms


def register_secrets(module: Any, secrets: Iterable[str]) -> None:
    """Every form of each secret (_masking.secret_forms) joins ``no_log_values``: Ansible masks them in whatever the
    module returns, and :func:`fail` masks them in dict keys too, where Ansible does not look."""
    module.no_log_values.update(secret_forms(secrets))


def fail(module: Any, error: ImdsError, **result: Any) -> NoReturn:
    # The top-level names are the collection's own (msg, reason, ...); everything under them is masked, keys too.
    failure = {"msg": str(error), **error.details(), **result}
    module.fail_json(**{name: mask_data(value, module.no_log_values) for name, value in failure.items()})
    raise AssertionError("fail_json returned")  # it exits; this line keeps the NoReturn promise honest


@contextmanager
def failures_reported(module: Any, secrets: set | None = None) -> Iterator[None]:
    """Around a module's work: the collection's errors become fail_json, and so does any other exception, as
    ``reason: internal_error`` (a bug, with a request to report it) instead of a traceback. ``secrets`` are masked
    in the failure in every form, whatever it says. An empty ``expected_*`` option fails here, before the module's
    work."""
    try:
        refuse_empty_expectations(module.params)
        yield
    except ImdsError as error:
        register_secrets(module, secrets or ())
        fail(module, error)
    except Exception as error:
        register_secrets(module, secrets or ())
        fail(module, internal_error(error, module.no_log_values))


def require_requests(module: Any) -> None:
    """Fail the module, naming the library, where requests is not installed on the host."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)


def client_config(module: Any) -> ClientConfig:
    """The module's client options, validated; fails the module with a clear message on a missing library or a
    bad option."""
    require_requests(module)
    try:
        return client_config_from_params(module.params)
    except ImdsError as error:
        fail(module, error)


def create_client(module: Any) -> ImdsClient:
    """The module's client (see :func:`client_config` for how it fails)."""
    return ImdsClient(client_config(module))
