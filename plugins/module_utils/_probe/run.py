# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""What is wrong with IMDS on this host: raw requests that keep the signals the client would hide.

The client falls back, retries and turns answers into exceptions, which is right for reading metadata and wrong
for a diagnosis: a probe must tell a 401 from a timeout and a refused token from a dropped one. So it sends its
own few requests through a session built like the client's (no proxies, no redirects), every one bounded by
``timeout`` and all of them by ``total_timeout``.
"""

from __future__ import annotations

import re
import statistics
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsConfigError,
    ImdsDisabledByEnvironment,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import (
    TOKEN_HEADER,
    TOKEN_TTL_HEADER,
    usable_token,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.config import (
    IPV4_ENDPOINT,
    IPV6_ENDPOINT,
    ClientConfig,
    validate_endpoint,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import (
    INFO_PATH,
    INSTANCE_ID_PATH,
    TAGS_PATH,
    TOKEN_PATH,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.transport import (
    RETRYABLE_STATUSES,
    Answer,
    Deadline,
    Transport,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._json import load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_BODY_BYTES, MAX_TOKEN_BYTES
from ansible_collections.ec2meta.imds.plugins.module_utils._probe.findings import (
    FINDINGS,
    IPV6_OFF,
    ProbeReport,
    build_findings,
)

DEFAULT_IPV6_ENDPOINT = IPV6_ENDPOINT
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")


def check_required(
    required: list[str] | None, check_imdsv1: bool, ipv6_endpoint: str | None, ipv6_not_checked: str | None = None
) -> list[str]:
    """Validate the ``require`` list against the checks that will run; ImdsConfigError naming the option otherwise."""
    required = list(required or [])
    unknown = [name for name in required if name not in FINDINGS]
    if unknown:
        raise ImdsConfigError(f"require: unknown finding(s) {', '.join(unknown)}; choose from {', '.join(FINDINGS)}.")
    if "v1_disabled" in required and not check_imdsv1:
        raise ImdsConfigError("require: v1_disabled needs the request without a token: set check_imdsv1=true.")
    if "ipv6_reachable" in required and not ipv6_endpoint:
        why = ipv6_not_checked or IPV6_OFF
        fix = "set check_ipv6=true." if why == IPV6_OFF else f"it will not run because {why}."
        raise ImdsConfigError(f"require: ipv6_reachable needs the IPv6 check: {fix}")
    return required


def ipv6_target(config: ClientConfig, check_ipv6: bool, ipv6_endpoint: str | None) -> tuple[str | None, str | None]:
    """``(endpoint to probe, why not)``. With an endpoint of its own (option, environment, or IPv6 mode) the probe
    contacts only what it was given, unless ``ipv6_endpoint`` names the IPv6 endpoint to check as well."""
    if not check_ipv6:
        return None, IPV6_OFF
    if ipv6_endpoint:
        return validate_endpoint(ipv6_endpoint, "ipv6_endpoint"), None
    if config.endpoint != IPV4_ENDPOINT:
        return None, (
            f"the endpoint is {config.endpoint} (endpoint option, endpoint_mode or "
            "AWS_EC2_METADATA_SERVICE_ENDPOINT), so the default IPv6 address is not contacted; set ipv6_endpoint to "
            "check an IPv6 endpoint as well"
        )
    return DEFAULT_IPV6_ENDPOINT, None


def run_probe(params: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> tuple[ProbeReport, list[str]]:
    """The probe module's whole job: its options in, the report and the validated ``require`` list out.

    Where AWS_EC2_METADATA_DISABLED=true, nothing is sent and the report says so: the probe fails only where
    ``require`` asks it to.
    """
    try:
        config = client_config_from_params(params, environ)
    except ImdsDisabledByEnvironment as error:
        report = ProbeReport(
            endpoint=params.get("endpoint") or IPV4_ENDPOINT,
            disabled_by_environment=str(error),
            ipv6_not_checked=str(error),
        )
        report.findings = build_findings(report, params["check_imdsv1"], Answer(None, failure="disabled"))
        return report, check_required(params["require"], params["check_imdsv1"], None, str(error))
    ipv6_endpoint, ipv6_not_checked = ipv6_target(config, params["check_ipv6"], params["ipv6_endpoint"])
    required = check_required(params["require"], params["check_imdsv1"], ipv6_endpoint, ipv6_not_checked)
    report = probe(config, params["check_imdsv1"], ipv6_endpoint, ipv6_not_checked)
    return report, required


class Prober:
    """The probe's requests, through the client's transport: same deadline, caps and liveness rules, raw answers."""

    def __init__(self, config: ClientConfig, session: Any = None):
        self.config = config
        self.transport = Transport(config, session)
        self.timings: list[float] = []

    @property
    def requests(self) -> int:
        return self.transport.stats["requests"]

    @property
    def throttled(self) -> bool:
        return self.transport.throttled

    def exchange(self, method: str, url: str, headers: dict, deadline: Deadline, limit: int = MAX_BODY_BYTES) -> Answer:
        answer = self.transport.send(method, url, headers, deadline, limit)
        if answer.answered and answer.status not in RETRYABLE_STATUSES:
            self.timings.append(answer.elapsed_ms)
        return answer

    def put_token(self, endpoint: str, deadline: Deadline) -> Answer:
        headers = {TOKEN_TTL_HEADER: str(self.config.token_ttl)}
        return self.exchange("PUT", endpoint + TOKEN_PATH, headers, deadline, MAX_TOKEN_BYTES)

    def get(self, path: str, token: str | None, deadline: Deadline) -> Answer:
        headers = {TOKEN_HEADER: token} if token else {}
        return self.exchange("GET", f"{self.config.endpoint}/latest/{path}", headers, deadline)


def _instance_id(answer: Answer) -> str | None:
    """The instance id, if the answer is one: it goes into the report and into every fix command."""
    text = answer.text
    return text if INSTANCE_ID.fullmatch(text) else None


def probe(
    config: ClientConfig,
    check_imdsv1: bool = True,
    ipv6_endpoint: str | None = None,
    ipv6_not_checked: str | None = IPV6_OFF,
) -> ProbeReport:
    """Run every check against ``config.endpoint`` (and ``ipv6_endpoint`` if given); never raises for IMDS state."""
    if ipv6_endpoint:
        ipv6_endpoint = validate_endpoint(ipv6_endpoint, "ipv6_endpoint")
    prober = Prober(config)
    try:
        report = _probe(prober, config, check_imdsv1, ipv6_endpoint, None if ipv6_endpoint else ipv6_not_checked)
    finally:
        prober.transport.close()
    return report


def _probe(
    prober: Prober, config: ClientConfig, check_imdsv1: bool, ipv6_endpoint: str | None, ipv6_not_checked: str | None
) -> ProbeReport:
    report = ProbeReport(endpoint=config.endpoint, ipv6_endpoint=ipv6_endpoint, ipv6_not_checked=ipv6_not_checked)
    deadline = Deadline(config.total_timeout)

    put = prober.put_token(config.endpoint, deadline)
    report.token_status = put.status
    token = usable_token(put.body) if put.status == 200 else None
    report.tokens_work = token is not None
    report.token_put_timed_out = put.failure == "read_timeout"
    unreachable = put.failure in ("connect_timeout", "refused", "reset", "other", "total_timeout")

    v1 = None
    if check_imdsv1 and not unreachable:
        # Deliberately without a token: the only way to learn whether IMDSv1 is still accepted.
        v1 = prober.get(INSTANCE_ID_PATH, None, deadline)
        if v1.status == 200:
            report.v1_allowed = True
            report.instance_id = _instance_id(v1)
        elif v1.status == 401:
            report.v1_allowed = False

    report.reachable = put.answered or bool(v1 and v1.answered) or put.failure == "read_timeout"
    report.endpoint_disabled = put.status == 403 and (v1 is None or v1.status in (None, 403))
    if report.endpoint_disabled and v1 is None:
        # The token PUT also answers 403 to proxied requests; a GET with no token tells the two apart.
        check = prober.get(INSTANCE_ID_PATH, None, deadline)
        report.endpoint_disabled = check.status == 403
    answers_gets = bool(v1 and v1.status in (200, 401))
    report.hop_limit_suspected = report.token_put_timed_out and (answers_gets or v1 is None)

    access = token is not None or report.v1_allowed is True
    if access and not report.endpoint_disabled:
        if report.instance_id is None:
            answer = prober.get(INSTANCE_ID_PATH, token, deadline)
            if answer.status == 200:
                report.instance_id = _instance_id(answer)
        tags = prober.get(TAGS_PATH, token, deadline)
        report.tags_enabled = True if tags.status == 200 else False if tags.status == 404 else None
        info = prober.get(INFO_PATH, token, deadline)
        report.role_attached = True if info.status == 200 else False if info.status == 404 else None
        if info.status == 200:
            document = load_json(info.body, invalid=None)
            report.instance_profile_arn = document.get("InstanceProfileArn") if isinstance(document, dict) else None

    if ipv6_endpoint:
        # A separate budget of one timeout: an unreachable IPv6 address must not eat the IPv4 checks' time.
        ipv6 = prober.put_token(ipv6_endpoint, Deadline(config.timeout))
        report.ipv6_reachable = ipv6.answered

    report.throttled = prober.throttled
    report.requests = prober.requests
    if prober.timings:
        report.latency_ms = round(statistics.median(prober.timings), 1)
    report.findings = build_findings(report, check_imdsv1, put)
    return report
