# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The client options every module shares; documented once in doc_fragments/client.py (a unit test compares)."""

from __future__ import annotations

import os
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.config import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_TTL,
    DEFAULT_TOTAL_TIMEOUT,
    ClientConfig,
    validated_config,
)

# Every option whose name starts with this is a check the play asks for: set means "check", never "skip".
EXPECTATION_PREFIX = "expected_"

CLIENT_ARGUMENT_SPEC: dict = {
    "endpoint": {"type": "str"},
    "endpoint_mode": {"type": "str", "choices": ["IPv4", "IPv6"]},
    "token_ttl": {"type": "int", "default": DEFAULT_TOKEN_TTL, "no_log": False},
    "allow_imdsv1": {"type": "bool"},
    "timeout": {"type": "float", "default": DEFAULT_TIMEOUT},
    "retries": {"type": "int", "default": DEFAULT_RETRIES},
    "total_timeout": {"type": "float", "default": DEFAULT_TOTAL_TIMEOUT},
}


def client_argument_spec(**module_options: Any) -> dict:
    """The shared client options plus a module's own."""
    spec = {name: dict(option) for name, option in CLIENT_ARGUMENT_SPEC.items()}
    spec.update(module_options)
    return spec


def client_config_from_params(
    params: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None, **options: Any
) -> ClientConfig:
    """The one builder of a client config, for modules (their params), the lookup (its options), the probe, tests
    and benchmarks (keywords). Unset options take the argument spec's defaults; other keys are ignored."""
    given = {**(params or {}), **options}
    values = {name: given.get(name) for name in CLIENT_ARGUMENT_SPEC}
    for name, option in CLIENT_ARGUMENT_SPEC.items():
        if values[name] is None and "default" in option:
            values[name] = option["default"]
    return validated_config(
        environ=os.environ if environ is None else environ,
        max_concurrency=DEFAULT_MAX_CONCURRENCY if given.get("max_concurrency") is None else given["max_concurrency"],
        **values,
    )


def refuse_empty_expectations(params: Mapping[str, Any]) -> None:
    """Every ``expected_*`` option that is set must hold a value: ImdsConfigError naming the first empty one.

    An empty or blank expectation usually comes from an undefined or empty variable. Read as unset it would turn
    the check off without a word, so the play would pass a host it meant to check (fail closed). Modules call this
    through ``failures_reported``, the instance_identity action plugin on the controller; new ``expected_*``
    options are covered by their name.
    """
    for name in sorted(params):
        value = params[name]
        if name.startswith(EXPECTATION_PREFIX) and isinstance(value, str) and not value.strip():
            raise ImdsConfigError(
                f"{name} is set but empty ({value!r}): give the value the check must find, or leave {name} out to "
                "skip that check. An empty value usually comes from an undefined or empty variable; taken as unset, "
                "it would silently turn the check off."
            )
