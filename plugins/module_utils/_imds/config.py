# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Client settings: options first, then the environment variables the AWS SDKs read, then defaults."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsDisabledByEnvironment

IPV4_ENDPOINT = "http://169.254.169.254"
IPV6_ENDPOINT = "http://[fd00:ec2::254]"
ENDPOINT_MODES = {"ipv4": IPV4_ENDPOINT, "ipv6": IPV6_ENDPOINT}
MAX_TOKEN_TTL = 21600
DEFAULT_TOKEN_TTL = 21600
DEFAULT_TIMEOUT = 1.0
DEFAULT_RETRIES = 3
DEFAULT_TOTAL_TIMEOUT = 10.0
# Not a module option: the crawl's worker count, lowered by tests and benchmarks.
DEFAULT_MAX_CONCURRENCY = 8
# Upper bounds that keep every socket timeout and deadline representable and a hang visible.
MAX_TIMEOUT = 300
MAX_TOTAL_TIMEOUT = 3600

ENV_ENDPOINT = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
ENV_ENDPOINT_MODE = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"
ENV_DISABLED = "AWS_EC2_METADATA_DISABLED"
ENV_V1_DISABLED = "AWS_EC2_METADATA_V1_DISABLED"


@dataclass(frozen=True)
class ClientConfig:
    """Validated client settings; built only by ``client_options.client_config_from_params``."""

    endpoint: str
    token_ttl: int
    allow_imdsv1: bool
    timeout: float
    retries: int
    total_timeout: float
    max_concurrency: int


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _env_true(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() == "true"


def check_not_disabled(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`ImdsDisabledByEnvironment` where AWS_EC2_METADATA_DISABLED=true, as the AWS SDKs honour it."""
    environ = os.environ if environ is None else environ
    if _env_true(environ, ENV_DISABLED):
        raise ImdsDisabledByEnvironment(
            f"IMDS use is turned off by {ENV_DISABLED}=true in the environment of this host. "
            f"Unset {ENV_DISABLED} (or set it to false) to read instance metadata."
        )


def validate_endpoint(endpoint: str, source: str = "endpoint") -> str:
    """Return the endpoint as ``scheme://host[:port]`` or raise naming ``source`` and the expected form."""
    example = "expected a URL such as http://169.254.169.254 or http://[fd00:ec2::254]"
    try:
        parts = urlsplit(endpoint.strip())
        port = parts.port
    except ValueError as exc:
        raise ImdsConfigError(f"{source}={endpoint!r} is not a valid URL ({exc}); {example}.") from None
    if parts.scheme not in ("http", "https"):
        raise ImdsConfigError(f"{source}={endpoint!r} must start with http:// or https://; {example}.")
    if not parts.hostname:
        raise ImdsConfigError(f"{source}={endpoint!r} has no host; {example}.")
    if parts.username or parts.password:
        raise ImdsConfigError(f"{source} must not carry a user name or password; {example}.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ImdsConfigError(
            f"{source}={endpoint!r} must not have a path, query or fragment "
            f"(the client adds /latest/... itself); {example}."
        )
    host = parts.hostname
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a host name, kept as written
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def validated_config(
    *,
    endpoint: str | None,
    endpoint_mode: str | None,
    token_ttl: int,
    allow_imdsv1: bool | None,
    timeout: float,
    retries: int,
    total_timeout: float,
    max_concurrency: int,
    environ: Mapping[str, str],
) -> ClientConfig:
    """A validated :class:`ClientConfig` from every option, defaults already applied (by
    ``client_options.client_config_from_params``, the one builder); ImdsConfigError naming the option and the fix."""
    check_not_disabled(environ)
    if endpoint:
        resolved = validate_endpoint(endpoint, "endpoint")
    elif environ.get(ENV_ENDPOINT):
        resolved = validate_endpoint(environ[ENV_ENDPOINT], ENV_ENDPOINT)
    else:
        mode = endpoint_mode or environ.get(ENV_ENDPOINT_MODE) or "IPv4"
        if mode.lower() not in ENDPOINT_MODES:
            source = "endpoint_mode" if endpoint_mode else ENV_ENDPOINT_MODE
            raise ImdsConfigError(f"{source}={mode!r} is not valid: use IPv4 or IPv6.")
        resolved = ENDPOINT_MODES[mode.lower()]

    if isinstance(token_ttl, bool) or not isinstance(token_ttl, int) or not 1 <= token_ttl <= MAX_TOKEN_TTL:
        raise ImdsConfigError(
            f"token_ttl={token_ttl!r} is out of range: IMDS accepts 1 to {MAX_TOKEN_TTL} seconds "
            "(the default is 21600)."
        )
    for name, value in (("timeout", timeout), ("total_timeout", total_timeout)):
        if not _finite_number(value):
            raise ImdsConfigError(f"{name}={value!r} must be a finite number of seconds, e.g. 1 or 10.")
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ImdsConfigError(
            f"timeout={timeout!r} must be a positive number of seconds up to {MAX_TIMEOUT} (the default is 1)."
        )
    if retries is None or retries < 0 or retries > 10:
        raise ImdsConfigError(f"retries={retries!r} must be between 0 and 10 (the default is 3).")
    if not timeout <= total_timeout <= MAX_TOTAL_TIMEOUT:
        raise ImdsConfigError(
            f"total_timeout={total_timeout!r} must be at least timeout ({timeout}) and at most {MAX_TOTAL_TIMEOUT}."
        )
    if not 1 <= max_concurrency <= 64:
        raise ImdsConfigError(f"max_concurrency={max_concurrency!r} must be between 1 and 64.")
    if allow_imdsv1 is None:
        allow_imdsv1 = not _env_true(environ, ENV_V1_DISABLED)
    return ClientConfig(
        endpoint=resolved,
        token_ttl=token_ttl,
        allow_imdsv1=allow_imdsv1,
        timeout=float(timeout),
        retries=retries,
        total_timeout=float(total_timeout),
        max_concurrency=max_concurrency,
    )
