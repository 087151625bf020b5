# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""A hop-limit policy for the audit: a verdict on http_put_response_hop_limit beside the tokens verdict.

Compliance rules pull one way (AWS Config autoscaling-launch-config-hop-limit, Control Tower CT.EC2.PR.2, Security
Hub AutoScaling.4: at most 1, so a container cannot reach IMDS through the host) and containers the other (AL2023
defaults to 2; some eBPF CNIs have needed 3). The policy is one bound, ``{max: N}`` or ``{min: N}``; it judges what
the audit resolved (an instance's options, a launch path's effective value), never changes anything, and does not
decide enforcement readiness, which is about tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import HOP_LIMIT_RANGE, LAUNCH_PATH_KINDS
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

FIELD = "http_put_response_hop_limit"
# ASCII digits only: str.isdigit() also takes "²" and "٣", which int() refuses or reads as another number.
DECIMAL = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class HopVerdict:
    name: str
    meaning: str


# Worst first: what something with several launch paths is judged by.
HOP_LIMIT_VERDICTS = (
    HopVerdict("unknown", "the hop limit could not be read (an unreadable layer, a value the API does not document)"),
    HopVerdict("above_max", "the hop limit is above the policy's max: containers may reach IMDS through the host"),
    HopVerdict("below_min", "the hop limit is below the policy's min: containers on the instance cannot reach IMDS"),
    HopVerdict("within_policy", "the hop limit is within the policy"),
)
HOP_LIMIT_VERDICT_NAMES = tuple(row.name for row in HOP_LIMIT_VERDICTS)


def check_policy(policy: Any) -> dict | None:
    """The hop_limit_policy option: None, or exactly one of max and min, a number from 1 to 64."""
    if policy is None or policy == {}:
        return None
    low, high = HOP_LIMIT_RANGE
    if isinstance(policy, Mapping) and len(policy) == 1:
        ((bound, value),) = policy.items()
        number = int(value) if isinstance(value, str) and DECIMAL.fullmatch(value) else value
        whole = isinstance(number, int) and not isinstance(number, bool)
        if bound in ("max", "min") and whole and low <= number <= high:
            return {bound: number}
    raise ImdsConfigError(
        f"hop_limit_policy must be {{max: N}} or {{min: N}} with N from {low} to {high}, like {{max: 1}} (AWS Config, "
        f"Control Tower, Security Hub) or {{min: 2}} (containers), not {str(policy)[:120]}"
    )


def hop_verdict(hop: Any, policy: Mapping[str, int]) -> tuple:
    """(verdict, reason) of one hop limit under the policy."""
    if not isinstance(hop, int) or isinstance(hop, bool):
        return "unknown", "the hop limit could not be read"
    if "max" in policy and hop > policy["max"]:
        return "above_max", f"hop limit {hop} is above the policy's max {policy['max']}"
    if "min" in policy and hop < policy["min"]:
        return "below_min", f"hop limit {hop} is below the policy's min {policy['min']}"
    bound = "max" if "max" in policy else "min"
    return "within_policy", f"hop limit {hop} is within the policy ({bound} {policy[bound]})"


def _judge_paths(item: dict, paths: list, policy: Mapping[str, int]) -> None:
    """Each path (something with ``effective``) gets its hop verdict; the item the worst, with its reasons."""
    for path in paths:
        effective = path.get("effective") if isinstance(path.get("effective"), Mapping) else {}
        path["hop_limit_verdict"], path["hop_limit_reason"] = hop_verdict(effective.get(FIELD), policy)
    verdicts = [path["hop_limit_verdict"] for path in paths]
    worst = min(verdicts, key=HOP_LIMIT_VERDICT_NAMES.index) if verdicts else "unknown"
    reasons = [path["hop_limit_reason"] for path in paths if path["hop_limit_verdict"] == worst]
    item["hop_limit_verdict"] = worst
    item["hop_limit_reason"] = "; ".join(dict.fromkeys(reasons)) or "no launch path to judge"


def apply_policy(result: dict, policy: Mapping[str, int] | None) -> None:
    """Add hop_limit_verdict and hop_limit_reason to every instance and launch path of an audit result, and
    hop_limit_summary (a count per verdict and kind). Nothing without a policy."""
    if not policy:
        return
    summary: dict = {}
    for instance in result.get("instances") or []:
        options = instance.get("metadata_options") if isinstance(instance.get("metadata_options"), Mapping) else {}
        instance["hop_limit_verdict"], instance["hop_limit_reason"] = hop_verdict(options.get(FIELD), policy)
    for kind in ("instances", *LAUNCH_PATH_KINDS):
        items = result.get(kind)
        if not isinstance(items, list):
            continue
        for item in items:
            if kind == "launch_templates":
                _judge_paths(item, item.get("versions") or [], policy)
            elif kind == "launch_configurations":
                _judge_paths(item, [item], policy)
            elif kind != "instances":
                _judge_paths(item, item.get("launch_paths") or [], policy)
        counts = dict.fromkeys(HOP_LIMIT_VERDICT_NAMES, 0)
        for item in items:
            counts[item["hop_limit_verdict"]] += 1
        summary[kind] = counts
    result["hop_limit_policy"] = dict(policy)
    result["hop_limit_summary"] = summary
