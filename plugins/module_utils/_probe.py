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

import json
import statistics
import time
from dataclasses import dataclass, field, fields
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._client import (
    RETRYABLE_STATUSES,
    TOKEN_HEADER,
    TOKEN_PATH,
    TOKEN_TTL_HEADER,
    Deadline,
    backoff_pause,
    connection_error_kind,
    new_session,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._config import IPV6_ENDPOINT, ClientConfig, validate_endpoint
from ansible_collections.ec2meta.imds.plugins.module_utils._credentials import attach_profile_command

try:
    import requests
except ImportError:  # the module checks HAS_REQUESTS through create_client first
    requests = None  # type: ignore[assignment]

DEFAULT_IPV6_ENDPOINT = IPV6_ENDPOINT
# The checks in the order they run; ``require`` takes these names.
FINDINGS = (
    "reachable",
    "endpoint_enabled",
    "tokens_work",
    "hop_limit_ok",
    "v1_disabled",
    "not_throttled",
    "tags_enabled",
    "role_attached",
    "ipv6_reachable",
)
MODIFY = "aws ec2 modify-instance-metadata-options --instance-id {instance_id}"


@dataclass(frozen=True)
class Exchange:
    """One request's outcome: an HTTP status, or ``error`` (connect_timeout, refused, read_timeout, reset, ...)."""

    status: int | None
    elapsed_ms: float
    body: bytes = b""
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace").strip()


@dataclass
class Finding:
    name: str
    ok: bool | None  # None: could not be checked
    severity: str  # ok, info, warning, error
    message: str
    fix_ansible: str | None = None
    fix_aws_cli: str | None = None

    def as_dict(self) -> dict:
        result: dict = {"name": self.name, "ok": self.ok, "severity": self.severity, "message": self.message}
        if self.fix_ansible or self.fix_aws_cli:
            result["fix"] = {"ansible": self.fix_ansible, "aws_cli": self.fix_aws_cli}
        return result


@dataclass
class ProbeReport:
    endpoint: str
    reachable: bool = False
    latency_ms: float | None = None
    endpoint_disabled: bool = False
    tokens_work: bool = False
    token_status: int | None = None
    token_put_timed_out: bool = False
    v1_allowed: bool | None = None
    hop_limit_suspected: bool = False
    throttled: bool = False
    tags_enabled: bool | None = None
    role_attached: bool | None = None
    instance_profile_arn: str | None = None
    instance_id: str | None = None
    ipv6_endpoint: str | None = None
    ipv6_reachable: bool | None = None
    requests: int = 0
    findings: list = field(default_factory=list)

    def finding(self, name: str) -> Finding:
        return next(finding for finding in self.findings if finding.name == name)

    @property
    def problems(self) -> list[str]:
        return [finding.name for finding in self.findings if finding.ok is False]

    def unmet(self, required: list[str]) -> list[Finding]:
        return [self.finding(name) for name in required if self.finding(name).ok is not True]

    def as_dict(self) -> dict:
        result = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "findings"}
        result["findings"] = [finding.as_dict() for finding in self.findings]
        result["problems"] = self.problems
        return result


def check_required(required: list[str] | None, check_imdsv1: bool, ipv6_endpoint: str | None) -> list[str]:
    """Validate the ``require`` list against the checks that will run; ValueError naming the option otherwise."""
    required = list(required or [])
    unknown = [name for name in required if name not in FINDINGS]
    if unknown:
        raise ValueError(f"require: unknown finding(s) {', '.join(unknown)}; choose from {', '.join(FINDINGS)}.")
    if "v1_disabled" in required and not check_imdsv1:
        raise ValueError("require: v1_disabled needs the request without a token: set check_imdsv1=true.")
    if "ipv6_reachable" in required and not ipv6_endpoint:
        raise ValueError("require: ipv6_reachable needs the IPv6 check: set check_ipv6=true.")
    return required


class Prober:
    def __init__(self, config: ClientConfig, session: Any = None):
        self.config = config
        self.session = session or new_session(config)
        self.requests = 0
        self.throttled = False
        self.timings: list[float] = []

    def exchange(self, method: str, url: str, headers: dict, deadline: Deadline, retry: bool = True) -> Exchange:
        """One request, retried on 429/5xx like the client; connection errors and timeouts are results, not raised."""
        attempt = 0
        while True:
            timeout = min(self.config.timeout, deadline.remaining())
            if timeout <= 0:
                return Exchange(None, 0.0, error="total_timeout")
            self.requests += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=(timeout, timeout), allow_redirects=False
                )
                body = response.content
            except requests.exceptions.ConnectTimeout:
                return Exchange(None, _since(started), error="connect_timeout")
            except requests.exceptions.ReadTimeout:
                return Exchange(None, _since(started), error="read_timeout")
            except requests.exceptions.ConnectionError as exc:
                return Exchange(None, _since(started), error=connection_error_kind(exc))
            except requests.exceptions.RequestException:
                return Exchange(None, _since(started), error="other")
            elapsed = _since(started)
            status = response.status_code
            if status == 429:
                self.throttled = True
            if status not in RETRYABLE_STATUSES or not retry or attempt >= self.config.retries:
                if status not in RETRYABLE_STATUSES:
                    self.timings.append(elapsed)
                return Exchange(status, elapsed, body)
            attempt += 1
            pause = backoff_pause(attempt, throttled=status == 429)
            if pause >= deadline.remaining():
                return Exchange(status, elapsed, body)
            time.sleep(pause)

    def put_token(self, endpoint: str, deadline: Deadline) -> Exchange:
        headers = {TOKEN_TTL_HEADER: str(self.config.token_ttl)}
        return self.exchange("PUT", endpoint + TOKEN_PATH, headers, deadline)

    def get(self, path: str, token: str | None, deadline: Deadline) -> Exchange:
        headers = {TOKEN_HEADER: token} if token else {}
        return self.exchange("GET", f"{self.config.endpoint}/latest/{path}", headers, deadline)


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000.0, 1)


def probe(config: ClientConfig, check_imdsv1: bool = True, ipv6_endpoint: str | None = None) -> ProbeReport:
    """Run every check against ``config.endpoint`` (and ``ipv6_endpoint`` if given); never raises for IMDS state."""
    if ipv6_endpoint:
        ipv6_endpoint = validate_endpoint(ipv6_endpoint, "ipv6_endpoint")
    prober = Prober(config)
    try:
        report = _probe(prober, config, check_imdsv1, ipv6_endpoint)
    finally:
        prober.session.close()
    return report


def _probe(prober: Prober, config: ClientConfig, check_imdsv1: bool, ipv6_endpoint: str | None) -> ProbeReport:
    report = ProbeReport(endpoint=config.endpoint, ipv6_endpoint=ipv6_endpoint)
    deadline = Deadline(config.total_timeout)

    put = prober.put_token(config.endpoint, deadline)
    report.token_status = put.status
    token = None
    if put.status == 200 and put.body.strip():
        token = put.text
        report.tokens_work = True
    report.token_put_timed_out = put.error == "read_timeout"
    unreachable = put.error in ("connect_timeout", "refused", "other", "total_timeout")

    v1 = None
    if check_imdsv1 and not unreachable:
        # Deliberately without a token: the only way to learn whether IMDSv1 is still accepted.
        v1 = prober.get("meta-data/instance-id", None, deadline)
        if v1.status == 200:
            report.v1_allowed = True
            report.instance_id = v1.text
        elif v1.status == 401:
            report.v1_allowed = False

    report.reachable = put.answered or bool(v1 and v1.answered) or put.error == "read_timeout"
    report.endpoint_disabled = put.status == 403 and (v1 is None or v1.status in (None, 403))
    if report.endpoint_disabled and v1 is None:
        # The token PUT also answers 403 to proxied requests; a GET with no token tells the two apart.
        check = prober.get("meta-data/instance-id", None, deadline)
        report.endpoint_disabled = check.status == 403
    answers_gets = bool(v1 and v1.status in (200, 401))
    report.hop_limit_suspected = report.token_put_timed_out and (answers_gets or v1 is None)

    access = token is not None or report.v1_allowed is True
    if access and not report.endpoint_disabled:
        if report.instance_id is None:
            answer = prober.get("meta-data/instance-id", token, deadline)
            if answer.status == 200:
                report.instance_id = answer.text
        tags = prober.get("meta-data/tags/instance", token, deadline)
        report.tags_enabled = True if tags.status == 200 else False if tags.status == 404 else None
        info = prober.get("meta-data/iam/info", token, deadline)
        report.role_attached = True if info.status == 200 else False if info.status == 404 else None
        if info.status == 200:
            try:
                report.instance_profile_arn = json.loads(info.body.decode("utf-8")).get("InstanceProfileArn")
            except (ValueError, AttributeError):
                report.instance_profile_arn = None

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


def build_findings(report: ProbeReport, check_imdsv1: bool, put: Exchange) -> list[Finding]:
    """One finding per check, each with its fix: the ec2meta.imds.metadata_options way and the AWS CLI way."""
    iid = report.instance_id or "<instance-id>"
    modify = MODIFY.format(instance_id=iid)

    def options_fix(**options: Any) -> str:
        pairs = ", ".join(f"{name}: {value}" for name, value in options.items())
        return f"ec2meta.imds.metadata_options: {{instance_id: {iid}, {pairs}}}"

    findings = []
    if report.reachable:
        findings.append(Finding("reachable", True, "ok", f"IMDS answers at {report.endpoint}."))
    else:
        findings.append(
            Finding(
                "reachable",
                False,
                "error",
                f"Nothing answers at {report.endpoint} ({put.error}). This host is probably not an EC2 instance, the "
                "endpoint option points elsewhere, or a firewall (iptables, a container network policy) blocks it.",
                None,
                None,
            )
        )
    unknown = "not checked: IMDS is unreachable" if not report.reachable else None

    if unknown:
        findings.append(Finding("endpoint_enabled", None, "info", unknown))
    elif report.endpoint_disabled:
        findings.append(
            Finding(
                "endpoint_enabled",
                False,
                "error",
                "IMDS answers 403 to everything: the instance metadata endpoint is disabled (http_endpoint=disabled).",
                options_fix(http_endpoint="enabled"),
                f"{modify} --http-endpoint enabled",
            )
        )
    else:
        findings.append(Finding("endpoint_enabled", True, "ok", "The metadata endpoint is enabled."))

    hop_fix = (options_fix(http_put_response_hop_limit=2), f"{modify} --http-put-response-hop-limit 2")
    if report.tokens_work:
        findings.append(Finding("tokens_work", True, "ok", "IMDSv2 session tokens work."))
    elif unknown or report.endpoint_disabled:
        findings.append(Finding("tokens_work", None, "info", unknown or "not checked: the endpoint is disabled"))
    elif report.token_put_timed_out:
        findings.append(
            Finding(
                "tokens_work",
                False,
                "error",
                f"The token request (PUT {TOKEN_PATH}) got no answer within the timeout: its response does not "
                "reach this host, which is what a hop limit lower than the network path looks like (containers "
                "on a bridge network need 2).",
                *hop_fix,
            )
        )
    else:
        findings.append(
            Finding(
                "tokens_work",
                False,
                "error",
                f"The token request (PUT {TOKEN_PATH}) was answered {put.status}: this endpoint does not issue "
                "IMDSv2 tokens (not EC2's IMDS, or a proxy in between; a 403 also means an X-Forwarded-For header "
                "was added). Check the endpoint option and proxies.",
            )
        )

    if report.hop_limit_suspected:
        how = (
            "while requests without a token are answered"
            if check_imdsv1
            else "(the IMDSv1 check was skipped, so this is likely, not certain)"
        )
        findings.append(
            Finding(
                "hop_limit_ok",
                False,
                "error",
                f"The token PUT times out {how}: the PUT response hop limit is too low for this host's network "
                "path (typical inside containers).",
                *hop_fix,
            )
        )
    elif unknown:
        findings.append(Finding("hop_limit_ok", None, "info", unknown))
    else:
        findings.append(Finding("hop_limit_ok", True, "ok", "Token responses reach this host."))

    if not check_imdsv1:
        findings.append(Finding("v1_disabled", None, "info", "not checked: check_imdsv1=false"))
    elif report.v1_allowed is True:
        findings.append(
            Finding(
                "v1_disabled",
                False,
                "warning",
                "IMDSv1 is allowed: requests without a token are answered, so an SSRF bug on this host can read "
                "role credentials. Require tokens once nothing uses IMDSv1 (CloudWatch metric MetadataNoToken).",
                options_fix(http_tokens="required"),
                f"{modify} --http-tokens required",
            )
        )
    elif report.v1_allowed is False:
        findings.append(Finding("v1_disabled", True, "ok", "IMDSv1 is refused (401 without a token)."))
    else:
        findings.append(Finding("v1_disabled", None, "info", unknown or "not checked: no answer to the request"))

    if report.throttled:
        findings.append(
            Finding(
                "not_throttled",
                False,
                "warning",
                "IMDS throttled some of the probe's requests (429): something on this host queries IMDS too often. "
                "Cache metadata (read it once per play with ec2meta.imds.metadata_facts), lower forks and "
                "concurrency, and find the process that polls IMDS.",
            )
        )
    elif unknown:
        findings.append(Finding("not_throttled", None, "info", unknown))
    else:
        findings.append(Finding("not_throttled", True, "ok", "No request was throttled."))

    access_unknown = unknown or (
        "not checked: the endpoint is disabled"
        if report.endpoint_disabled
        else "not checked: neither a token nor IMDSv1 works"
    )
    if report.tags_enabled is True:
        findings.append(Finding("tags_enabled", True, "ok", "Instance tags are available in metadata."))
    elif report.tags_enabled is False:
        findings.append(
            Finding(
                "tags_enabled",
                False,
                "info",
                "Instance tags are not available in metadata (tags/instance/ answers 404).",
                options_fix(instance_metadata_tags="enabled"),
                f"{modify} --instance-metadata-tags enabled",
            )
        )
    else:
        findings.append(Finding("tags_enabled", None, "info", access_unknown))

    if report.role_attached is True:
        findings.append(
            Finding("role_attached", True, "ok", f"An instance profile is attached ({report.instance_profile_arn}).")
        )
    elif report.role_attached is False:
        findings.append(
            Finding(
                "role_attached",
                False,
                "info",
                "No IAM role is attached (iam/ answers 404): AWS SDKs on this host have no instance credentials.",
                f"amazon.aws.ec2_instance: {{instance_ids: [{iid}], iam_instance_profile: <profile-name>}}",
                attach_profile_command(iid),
            )
        )
    else:
        findings.append(Finding("role_attached", None, "info", access_unknown))

    if report.ipv6_endpoint is None:
        findings.append(Finding("ipv6_reachable", None, "info", "not checked: check_ipv6=false"))
    elif report.ipv6_reachable:
        findings.append(Finding("ipv6_reachable", True, "ok", f"IMDS answers at {report.ipv6_endpoint}."))
    else:
        findings.append(
            Finding(
                "ipv6_reachable",
                False,
                "info",
                f"Nothing answers at the IPv6 endpoint {report.ipv6_endpoint}. It needs a Nitro instance in a "
                "subnet with IPv6 and http_protocol_ipv6=enabled.",
                options_fix(http_protocol_ipv6="enabled"),
                f"{modify} --http-protocol-ipv6 enabled",
            )
        )
    return findings


def unmet_message(unmet: list[Finding]) -> str:
    """The failure message for ``require``: each unmet finding, its cause and its fixes."""
    parts = []
    for finding in unmet:
        state = "could not be checked" if finding.ok is None else "failed"
        text = f"{finding.name} {state}: {finding.message}"
        if finding.fix_ansible:
            text += f" Fix with {finding.fix_ansible}"
        if finding.fix_aws_cli:
            text += f" or {finding.fix_aws_cli}"
        parts.append(text.rstrip(".") + ".")
    return "IMDS probe: " + " ".join(parts)
