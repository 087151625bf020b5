# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The only place that knows AnsibleModule: build the client from module params, turn errors into fail_json."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ec2meta.imds.plugins.module_utils._argspec import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ImdsClient,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._config import ClientConfig
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError


def fail(module: Any, error: ImdsError, **result: Any) -> None:
    module.fail_json(msg=str(error), **error.details(), **result)


def client_config(module: Any) -> ClientConfig:
    """The module's client options, validated; fails the module with a clear message on a missing library or a
    bad option."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    try:
        return client_config_from_params(module.params)
    except ImdsError as error:
        fail(module, error)


def create_client(module: Any) -> ImdsClient:
    """The module's client (see :func:`client_config` for how it fails)."""
    return ImdsClient(client_config(module))
