# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""What the probe concludes: the report it fills in and the finding table read from it.

Each finding is a list of outcomes, tried in order; the first whose condition holds is the finding. The table is
the single description of what the probe concludes: build_findings, the module's require choices and the tests
all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import NOT_EC2_CAUSES
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import TOKEN_PATH
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import attach_profile_command
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.transport import Answer

IPV6_OFF = "check_ipv6=false"
MODIFY = "aws ec2 modify-instance-metadata-options --instance-id {instance_id}"


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
    # Why the IPv6 endpoint was not probed (check_ipv6=false, a custom endpoint, IMDS turned off), if it was not.
    ipv6_not_checked: str | None = None
    # The AWS_EC2_METADATA_DISABLED message, when the probe sent nothing because of it.
    disabled_by_environment: str | None = None
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


@dataclass(frozen=True)
class Observed:
    """What the findings are drawn from: the report, whether the IMDSv1 check ran, and the token PUT's outcome."""

    report: ProbeReport
    check_imdsv1: bool
    put: Answer

    @property
    def instance_id(self) -> str:
        return self.report.instance_id or "<instance-id>"

    def message_fields(self) -> dict:
        """The values an outcome's message may name, as ``{name}``."""
        return {
            "endpoint": self.report.endpoint,
            "ipv6_endpoint": self.report.ipv6_endpoint,
            "instance_profile_arn": self.report.instance_profile_arn,
            "put_error": self.put.failure,
            "unreachable": (
                "IMDS use is turned off on this host" if self.report.disabled_by_environment else "IMDS is unreachable"
            ),
            "ipv6_not_checked": self.report.ipv6_not_checked or IPV6_OFF,
            "disabled_by_environment": self.report.disabled_by_environment or "IMDS use is turned off on this host.",
            "put_status": self.put.status,
            "token_path": TOKEN_PATH,
            "hop_limit_evidence": (
                "while requests without a token are answered"
                if self.check_imdsv1
                else "(the IMDSv1 check was skipped, so this is likely, not certain)"
            ),
        }


@dataclass(frozen=True)
class OptionFix:
    """Set one instance metadata option: as an ec2meta.imds.metadata_options task and as an AWS CLI command."""

    option: str
    value: Any

    def render(self, instance_id: str) -> tuple[str, str]:
        flag = "--" + self.option.replace("_", "-")
        return (
            f"ec2meta.imds.metadata_options: {{instance_id: {instance_id}, {self.option}: {self.value}}}",
            f"{MODIFY.format(instance_id=instance_id)} {flag} {self.value}",
        )


@dataclass(frozen=True)
class AttachProfileFix:
    """Attach an instance profile: as an amazon.aws.ec2_instance task and as an AWS CLI command."""

    def render(self, instance_id: str) -> tuple[str, str]:
        return (
            f"amazon.aws.ec2_instance: {{instance_ids: [{instance_id}], iam_instance_profile: <profile-name>}}",
            attach_profile_command(instance_id),
        )


@dataclass(frozen=True)
class Outcome:
    """One row of a finding: when ``when`` holds, the finding is ``ok`` (None: not checked) with this severity."""

    when: Callable[[Observed], bool]
    ok: bool | None
    severity: str  # ok, info, warning, error
    message: str  # str.format template over Observed.message_fields()
    fix: OptionFix | AttachProfileFix | None = None

    def finding(self, name: str, observed: Observed) -> Finding:
        fix_ansible, fix_aws_cli = self.fix.render(observed.instance_id) if self.fix else (None, None)
        message = self.message.format(**observed.message_fields())
        return Finding(name, self.ok, self.severity, message, fix_ansible, fix_aws_cli)


def _always(observed: Observed) -> bool:
    return True


def _unreachable(observed: Observed) -> bool:
    return not observed.report.reachable


def _endpoint_disabled(observed: Observed) -> bool:
    return observed.report.endpoint_disabled


UNREACHABLE = Outcome(_unreachable, None, "info", "not checked: {unreachable}")
ENDPOINT_DISABLED = Outcome(_endpoint_disabled, None, "info", "not checked: the endpoint is disabled")
# What tags_enabled and role_attached say when they could not read metadata.
NO_ACCESS = (
    UNREACHABLE,
    ENDPOINT_DISABLED,
    Outcome(_always, None, "info", "not checked: neither a token nor IMDSv1 works"),
)
RAISE_HOP_LIMIT = OptionFix("http_put_response_hop_limit", 2)

# The checks in the order they run and are reported; ``require`` takes these names.
FINDING_TABLE: dict[str, tuple[Outcome, ...]] = {
    "reachable": (
        Outcome(lambda o: o.report.reachable, True, "ok", "IMDS answers at {endpoint}."),
        Outcome(lambda o: bool(o.report.disabled_by_environment), False, "warning", "{disabled_by_environment}"),
        Outcome(
            _always,
            False,
            "error",
            "Nothing answers at {endpoint} ({put_error}). " + NOT_EC2_CAUSES,
        ),
    ),
    "endpoint_enabled": (
        UNREACHABLE,
        Outcome(
            _endpoint_disabled,
            False,
            "error",
            "IMDS answers 403 to everything: the instance metadata endpoint is disabled (http_endpoint=disabled).",
            OptionFix("http_endpoint", "enabled"),
        ),
        Outcome(_always, True, "ok", "The metadata endpoint is enabled."),
    ),
    "tokens_work": (
        Outcome(lambda o: o.report.tokens_work, True, "ok", "IMDSv2 session tokens work."),
        UNREACHABLE,
        ENDPOINT_DISABLED,
        Outcome(
            lambda o: o.report.token_put_timed_out,
            False,
            "error",
            "The token request (PUT {token_path}) got no answer within the timeout: its response does not reach "
            "this host, which is what a hop limit lower than the network path looks like (containers on a bridge "
            "network need 2).",
            RAISE_HOP_LIMIT,
        ),
        Outcome(
            _always,
            False,
            "error",
            "The token request (PUT {token_path}) was answered {put_status}: this endpoint does not issue IMDSv2 "
            "tokens (not EC2's IMDS, or a proxy in between; a 403 also means an X-Forwarded-For header was added). "
            "Check the endpoint option and proxies.",
        ),
    ),
    "hop_limit_ok": (
        Outcome(
            lambda o: o.report.hop_limit_suspected,
            False,
            "error",
            "The token PUT times out {hop_limit_evidence}: the PUT response hop limit is too low for this host's "
            "network path (typical inside containers).",
            RAISE_HOP_LIMIT,
        ),
        UNREACHABLE,
        Outcome(_always, True, "ok", "Token responses reach this host."),
    ),
    "v1_disabled": (
        Outcome(lambda o: not o.check_imdsv1, None, "info", "not checked: check_imdsv1=false"),
        Outcome(
            lambda o: o.report.v1_allowed is True,
            False,
            "warning",
            "IMDSv1 is allowed: requests without a token are answered, so an SSRF bug on this host can read role "
            "credentials. Require tokens once nothing uses IMDSv1 (CloudWatch metric MetadataNoToken).",
            OptionFix("http_tokens", "required"),
        ),
        Outcome(lambda o: o.report.v1_allowed is False, True, "ok", "IMDSv1 is refused (401 without a token)."),
        UNREACHABLE,
        Outcome(_always, None, "info", "not checked: no answer to the request"),
    ),
    "not_throttled": (
        Outcome(
            lambda o: o.report.throttled,
            False,
            "warning",
            "IMDS throttled some of the probe's requests (429): something on this host queries IMDS too often. "
            "Cache metadata (read it once per play with ec2meta.imds.metadata_facts), lower forks and concurrency, "
            "and find the process that polls IMDS.",
        ),
        UNREACHABLE,
        Outcome(_always, True, "ok", "No request was throttled."),
    ),
    "tags_enabled": (
        Outcome(lambda o: o.report.tags_enabled is True, True, "ok", "Instance tags are available in metadata."),
        Outcome(
            lambda o: o.report.tags_enabled is False,
            False,
            "info",
            "Instance tags are not available in metadata (tags/instance/ answers 404).",
            OptionFix("instance_metadata_tags", "enabled"),
        ),
        *NO_ACCESS,
    ),
    "role_attached": (
        Outcome(
            lambda o: o.report.role_attached is True,
            True,
            "ok",
            "An instance profile is attached ({instance_profile_arn}).",
        ),
        Outcome(
            lambda o: o.report.role_attached is False,
            False,
            "info",
            "No IAM role is attached (iam/ answers 404): AWS SDKs on this host have no instance credentials.",
            AttachProfileFix(),
        ),
        *NO_ACCESS,
    ),
    "ipv6_reachable": (
        Outcome(lambda o: o.report.ipv6_endpoint is None, None, "info", "not checked: {ipv6_not_checked}"),
        Outcome(lambda o: bool(o.report.ipv6_reachable), True, "ok", "IMDS answers at {ipv6_endpoint}."),
        Outcome(
            _always,
            False,
            "info",
            "Nothing answers at the IPv6 endpoint {ipv6_endpoint}. It needs a Nitro instance in a subnet with IPv6 "
            "and http_protocol_ipv6=enabled.",
            OptionFix("http_protocol_ipv6", "enabled"),
        ),
    ),
}
FINDINGS = tuple(FINDING_TABLE)


def outcome(name: str, observed: Observed) -> Outcome:
    """The row of finding ``name`` that applies: the first whose condition holds (each list ends in one that always
    does)."""
    return next(row for row in FINDING_TABLE[name] if row.when(observed))


def build_findings(report: ProbeReport, check_imdsv1: bool, put: Answer) -> list[Finding]:
    """One finding per check, each with its fix: the ec2meta.imds.metadata_options way and the AWS CLI way."""
    observed = Observed(report, check_imdsv1, put)
    return [outcome(name, observed).finding(name, observed) for name in FINDING_TABLE]


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
