# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The account's regional IMDS defaults (GetInstanceMetadataDefaults / ModifyInstanceMetadataDefaults).

Defaults apply to instances launched afterwards, never to existing ones. A region whose defaults a declarative
policy of the organization manages (``ManagedBy: declarative-policy``) is reported and left alone. Turning
``HttpTokensEnforced`` on makes EC2 refuse every launch that would allow IMDSv1, so it is planned only after the
region's readiness was checked (``launch_paths.enforcement_readiness``), fail closed, on the state the task leaves:
the launch paths as they are, judged with the defaults as they will be after the task. Lowering the default
``HttpTokens`` while enforcement is (or will be) on is refused outright: every launch that relies on the default,
seen by the audit or not, would then be refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
    REGION_PATTERN,
    AwsBadResponse,
    AwsError,
    aws_error,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

GET_ACTION = "ec2:GetInstanceMetadataDefaults"
MODIFY_ACTION = "ec2:ModifyInstanceMetadataDefaults"
# Option name -> the member of InstanceMetadataDefaultsResponse / ModifyInstanceMetadataDefaults.
API_NAMES: dict = {
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_endpoint": "HttpEndpoint",
    "instance_metadata_tags": "InstanceMetadataTags",
    "http_tokens_enforced": "HttpTokensEnforced",
}
NO_PREFERENCE = "no-preference"
HOP_LIMIT_NO_PREFERENCE = -1
# The values each member may have in an answer (botocore's model); an unset member is "no preference".
CHOICES: dict = {
    "http_tokens": ("optional", "required"),
    "http_endpoint": ("disabled", "enabled"),
    "instance_metadata_tags": ("disabled", "enabled"),
    "http_tokens_enforced": ("disabled", "enabled"),
}
HOP_LIMIT_RANGE = (1, 64)
MANAGED_BY = ("account", "declarative-policy")
DECLARATIVE_POLICY = "declarative-policy"
MAX_MESSAGE = 1000


class DefaultsNotChanged(AwsError):
    """ModifyInstanceMetadataDefaults answered without Return=true: nothing can be claimed as changed."""

    reason = "not_changed"


class EnforcementNotReady(AwsError):
    """http_tokens_enforced=enabled was refused: the region still has something that allows IMDSv1."""

    reason = "enforcement_not_ready"


class TokensLoweredUnderEnforcement(EnforcementNotReady):
    """The task would lower the default http_tokens while http_tokens_enforced is on after it."""

    reason = "http_tokens_lowered_under_enforcement"


# The default http_tokens from the strongest: required, then no preference (the AMI decides), then optional.
TOKENS_RANK = {"required": 2, None: 1, "optional": 0}


def check_regions(regions: list, known: Callable[[], set] | None = None) -> list:
    """The regions, each a well-formed region name botocore knows in some partition; ImdsConfigError otherwise."""
    if not regions:
        raise ImdsConfigError("No region: set region (one) or regions (a list), or AWS_REGION in the environment")
    names = known() if known else _known_regions()
    result = []
    for region in regions:
        if not isinstance(region, str) or not REGION_PATTERN.match(region):
            raise ImdsConfigError(f"{region!r} is not an AWS region name: give names like eu-west-1 or us-east-2")
        if names and region not in names:
            raise ImdsConfigError(
                f"Unknown AWS region {region!r}: no partition of this botocore has it (a typo, or a region newer "
                "than this botocore: upgrade botocore)"
            )
        if region not in result:
            result.append(region)
    return result


def _known_regions() -> set:
    try:
        import boto3
    except ImportError:
        return set()
    session = boto3.session.Session()
    names: set = set()
    for partition in session.get_available_partitions():
        names.update(session.get_available_regions("ec2", partition_name=partition))
    return names


@dataclass
class AccountDefaults:
    """One region's defaults: each option's value, None where the account has no preference."""

    region: str
    values: dict
    managed_by: str = "account"
    managed_exception_message: str | None = None

    @property
    def managed_by_policy(self) -> bool:
        return self.managed_by == DECLARATIVE_POLICY

    def as_dict(self) -> dict:
        return {
            "region": self.region,
            **self.values,
            "managed_by": self.managed_by,
            "managed_exception_message": self.managed_exception_message,
        }


def parse_defaults(response: Any, region: str) -> AccountDefaults:
    """The AccountLevel block of GetInstanceMetadataDefaults, validated member by member."""
    level = response.get("AccountLevel") if isinstance(response, Mapping) else None
    if level is None:
        level = {}
    if not isinstance(level, Mapping):
        raise AwsBadResponse(f"{GET_ACTION} answered without an AccountLevel object in {region}. Check endpoint_url")
    values: dict = {}
    for name, api_name in API_NAMES.items():
        value = level.get(api_name)
        if value is None:
            values[name] = None
        elif name == "http_put_response_hop_limit":
            low, high = HOP_LIMIT_RANGE
            if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high or value == -1):
                raise AwsBadResponse(f"{GET_ACTION} answered {api_name}={str(value)[:40]!r} in {region}")
            values[name] = None if value == HOP_LIMIT_NO_PREFERENCE else value
        elif value in CHOICES[name]:
            values[name] = value
        elif value == NO_PREFERENCE:
            values[name] = None
        else:
            raise AwsBadResponse(
                f"{GET_ACTION} answered {api_name}={str(value)[:40]!r} in {region}, not one of {CHOICES[name]}: "
                "this collection cannot judge a value it does not know. Check endpoint_url, or upgrade ec2meta.imds"
            )
    managed_by = level.get("ManagedBy") or "account"
    if managed_by not in MANAGED_BY:
        raise AwsBadResponse(f"{GET_ACTION} answered ManagedBy={str(managed_by)[:40]!r} in {region}")
    message = level.get("ManagedExceptionMessage")
    message = message[:MAX_MESSAGE] if isinstance(message, str) else None
    return AccountDefaults(region, values, managed_by, message)


def read_defaults(ec2: Any, budget: Any, region: str) -> AccountDefaults:
    budget.check(GET_ACTION)
    try:
        response = ec2.get_instance_metadata_defaults()
    except Exception as error:
        raise aws_error(error, GET_ACTION) from None
    return parse_defaults(response, region)


def validate_wanted(requested: Mapping[str, Any]) -> dict:
    """The options set (values, V(no-preference) or -1), checked before any call; ImdsConfigError names the option."""
    wanted = {name: value for name, value in requested.items() if name in API_NAMES and value is not None}
    hop_limit = wanted.get("http_put_response_hop_limit")
    if hop_limit is not None:
        low, high = HOP_LIMIT_RANGE
        is_number = isinstance(hop_limit, int) and not isinstance(hop_limit, bool)
        if not is_number or not (low <= hop_limit <= high or hop_limit == -1):
            raise ImdsConfigError(
                f"http_put_response_hop_limit must be an integer from {low} to {high}, or -1 for no preference, not "
                f"{hop_limit!r}"
            )
    for name, value in wanted.items():
        if name in CHOICES and value not in (*CHOICES[name], NO_PREFERENCE):
            raise ImdsConfigError(f"{name} must be one of {', '.join((*CHOICES[name], NO_PREFERENCE))}, not {value!r}")
    return wanted


def _as_value(name: str, value: Any) -> Any:
    """What the account holds after ``value`` was set: None for no preference."""
    return None if value in (NO_PREFERENCE, HOP_LIMIT_NO_PREFERENCE) else value


def plan_defaults(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict:
    """{option: value to send} for each wanted option the region does not hold yet."""
    return {name: value for name, value in wanted.items() if current.get(name) != _as_value(name, value)}


def api_parameters(changes: Mapping[str, Any]) -> dict:
    return {API_NAMES[name]: value for name, value in changes.items()}


@dataclass
class RegionOutcome:
    region: str
    changed: bool
    before: dict
    after: dict
    changes: dict = field(default_factory=dict)
    managed_by: str = "account"
    managed_exception_message: str | None = None
    readiness: dict | None = None
    warnings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "region": self.region,
            "changed": self.changed,
            "before": self.before,
            "after": self.after,
            "changes": self.changes,
            "managed_by": self.managed_by,
            "managed_exception_message": self.managed_exception_message,
            "readiness": self.readiness,
        }


def enforcement_refused(region: str, readiness: Mapping[str, Any]) -> EnforcementNotReady:
    blockers = readiness.get("blockers") or []
    shown = "; ".join(f"{item['kind']} {item['id']}: {item['why']}" for item in blockers[:10])
    more = f" (and {len(blockers) - 10} more)" if len(blockers) > 10 else ""
    return EnforcementNotReady(
        f"Refusing to turn on http_tokens_enforced in {region}: EC2 would then refuse every launch that allows "
        f"IMDSv1, and {len(blockers)} thing(s) in the region still allow it or could not be checked: {shown}{more}. "
        "Require tokens on those instances (ec2meta.imds.metadata_options) and launch paths "
        "(ec2meta.imds.launch_template_metadata_options, the groups' launch templates or configurations), then run "
        "this again; the audit is ec2meta.imds.metadata_options_info with include. To turn it on anyway, set "
        "allow_refused_launches=true.",
        result={"region": region, "readiness": dict(readiness)},
    )


def lowers_tokens_under_enforcement(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Does the task leave enforcement on with a weaker default http_tokens than it found?"""
    return after.get("http_tokens_enforced") == "enabled" and TOKENS_RANK.get(
        after.get("http_tokens"), 0
    ) < TOKENS_RANK.get(before.get("http_tokens"), 0)


def tokens_lowered(region: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> TokensLoweredUnderEnforcement:
    pairs = (("before", before.get("http_tokens")), ("after", after.get("http_tokens")))
    shown = {name: value or NO_PREFERENCE for name, value in pairs}
    what = (
        f"to turn on http_tokens_enforced in {region} while the default http_tokens is {shown['after']} (this task "
        "does not change it)"
        if shown["before"] == shown["after"]
        else f"to change the default http_tokens in {region} from {shown['before']} to {shown['after']} while "
        "http_tokens_enforced is enabled"
    )
    return TokensLoweredUnderEnforcement(
        f"Refusing {what}: EC2 would then refuse every launch that relies on the default (launch "
        "templates, launch configurations and Spot Fleet launch specifications that set no http_tokens, and "
        "RunInstances calls the audit cannot see). Set (or keep) http_tokens=required in the same task, or leave "
        "http_tokens_enforced off; to do it anyway, set allow_refused_launches=true.",
        result={"region": region, "before": dict(before), "after": dict(after)},
    )


def plan_region(
    ec2: Any,
    budget: Any,
    region: str,
    wanted: Mapping[str, Any],
    *,
    readiness: Callable[[AccountDefaults], dict],
    allow_refused_launches: bool = False,
) -> RegionOutcome:
    """Read the region's defaults, plan and decide (declarative policy, enforcement readiness); sends nothing.

    ``readiness(defaults)`` audits the region with the account defaults given (those the task leaves). Raises
    EnforcementNotReady when enforcement would be turned on in a region that is not ready, and
    TokensLoweredUnderEnforcement when the default http_tokens would be lowered under enforcement."""
    current = read_defaults(ec2, budget, region)
    before = dict(current.values)
    changes = plan_defaults(current.values, wanted)
    outcome = RegionOutcome(
        region, False, before, dict(before), {}, current.managed_by, current.managed_exception_message
    )
    if current.managed_by_policy:
        if changes:
            outcome.warnings.append(
                f"{region}: the IMDS defaults are managed by a declarative policy of the organization, so this task "
                f"changed nothing (it would have set {', '.join(f'{k}={v}' for k, v in changes.items())}). "
                f"AWS says: {current.managed_exception_message or '(no message)'}. Change the policy instead"
            )
        return outcome
    if not changes:
        return outcome
    after = {**before, **{name: _as_value(name, value) for name, value in changes.items()}}
    turned_on = changes.get("http_tokens_enforced") == "enabled"
    # The end state decides, not which task reached it: enforcement over an optional default is refused alike when
    # the default was optional before the task and the task sets only http_tokens_enforced.
    lowered = lowers_tokens_under_enforcement(before, after) or (turned_on and after.get("http_tokens") == "optional")
    if (lowered or turned_on) and allow_refused_launches:
        what = "the default http_tokens lowered under enforcement" if lowered else "http_tokens_enforced turned on"
        outcome.warnings.append(
            f"{region}: {what} without the readiness check (allow_refused_launches): EC2 refuses every launch "
            "that would allow IMDSv1 from now on"
        )
    elif lowered:
        raise tokens_lowered(region, before, after)
    elif turned_on:
        # Judged on the state the task leaves: the defaults after it; the verdict words (launch_refused) as of now,
        # while enforcement is still off.
        judged_with = {**after, "http_tokens_enforced": before.get("http_tokens_enforced")}
        outcome.readiness = {
            **readiness(AccountDefaults(region, judged_with, current.managed_by)),
            "account_defaults": {name: after.get(name) for name in API_NAMES},
        }
        if not outcome.readiness.get("ready"):
            raise enforcement_refused(region, outcome.readiness)
    outcome.changed, outcome.changes, outcome.after = True, dict(changes), after
    return outcome


def apply_region(ec2: Any, budget: Any, outcome: RegionOutcome) -> None:
    """Send the planned change of one region (nothing when there is none)."""
    if not outcome.changes:
        return
    budget.check(MODIFY_ACTION)
    try:
        response = ec2.modify_instance_metadata_defaults(**api_parameters(outcome.changes))
    except Exception as error:
        raise aws_error(error, MODIFY_ACTION) from None
    # EC2 answers Return=false when it did not make the change; only Return=true counts as changed.
    if not (isinstance(response, Mapping) and response.get("Return") is True):
        answered = response.get("Return") if isinstance(response, Mapping) else None
        raise DefaultsNotChanged(
            f"{outcome.region}: EC2 answered {MODIFY_ACTION} with Return={answered!r}, not true: the defaults were "
            "not changed. Run the task again; if it persists, read the defaults with instance_metadata_defaults "
            "and check CloudTrail for the call"
        )
