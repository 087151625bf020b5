# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The account IMDS defaults across several regions: plan every region, refuse as one, then apply region by region.

account_defaults.py plans and applies one region; this file is the all-or-nothing rule across regions (a refusal
anywhere leaves every region as it was) and the module's result. ``client(service, region)`` gives the task's
boto3 clients (ImdsModule.aws_client: one per service and region, all on one budget).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import (
    AccountDefaults,
    EnforcementNotReady,
    apply_region,
    plan_region,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import enforcement_readiness
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError

ClientFactory = Callable[[str, str], Any]


def plan_regions(
    client: ClientFactory,
    budget: Any,
    regions: list,
    wanted: Mapping[str, Any],
    *,
    window_days: int,
    allow_refused_launches: bool,
) -> list:
    """Every region's plan; sends nothing. EnforcementNotReady naming every refused region when any is refused."""
    outcomes: list = []
    refused: list = []
    for region in regions:

        def readiness(defaults: AccountDefaults, region: str = region) -> dict:
            # Only asked for where enforcement would be turned on: the audit reads CloudWatch and Auto Scaling, and
            # judges the launch paths with the defaults the task leaves.
            return enforcement_readiness(
                client("ec2", region),
                client("cloudwatch", region),
                client("autoscaling", region),
                budget,
                region,
                window_days,
                defaults,
            )

        try:
            outcomes.append(
                plan_region(
                    client("ec2", region),
                    budget,
                    region,
                    wanted,
                    readiness=readiness,
                    allow_refused_launches=allow_refused_launches,
                )
            )
        except EnforcementNotReady as error:
            refused.append(error)
    if refused:
        raise _refusal(refused)
    return outcomes


def _refusal(refused: list) -> EnforcementNotReady:
    if len(refused) == 1:
        return refused[0]
    names = ", ".join(error.result["region"] for error in refused)
    kinds = {type(error) for error in refused}
    # One reason when every region was refused for the same one; else the general refusal.
    refusal = kinds.pop() if len(kinds) == 1 else EnforcementNotReady
    why = "are not ready for http_tokens_enforced" if refusal is EnforcementNotReady else "were refused"
    details = " ".join(str(error) for error in refused)
    return refusal(
        f"{len(refused)} regions ({names}) {why}, and nothing was sent to any region. {details}",
        result={
            "regions_refused": [error.result["region"] for error in refused],
            "readiness": {
                error.result["region"]: error.result["readiness"] for error in refused if "readiness" in error.result
            },
        },
    )


def apply_regions(client: ClientFactory, budget: Any, outcomes: list) -> None:
    """Send each region's planned change in turn; a failure says which regions were changed and which were not."""
    applied: list = []
    try:
        for outcome in outcomes:
            apply_region(client("ec2", outcome.region), budget, outcome)
            applied.append(outcome.region)
    except AwsError as error:
        error.result = {
            **error.result,
            "changed": any(o.changed for o in outcomes if o.region in applied),
            "regions_changed": [o.region for o in outcomes if o.region in applied and o.changed],
            "regions_not_changed": [o.region for o in outcomes if o.region not in applied],
        }
        raise


def rollout_result(outcomes: list, *, check_mode: bool, diff: bool) -> dict:
    """The module's result: each region's outcome, the API calls made, and the diff when asked for."""
    calls = {"ec2:GetInstanceMetadataDefaults": len(outcomes)}
    sent = 0 if check_mode else sum(1 for outcome in outcomes if outcome.changes)
    if sent:
        calls["ec2:ModifyInstanceMetadataDefaults"] = sent
    result: dict = {
        "changed": any(outcome.changed for outcome in outcomes),
        "regions": [outcome.as_dict() for outcome in outcomes],
        "api_calls": calls,
    }
    if diff:
        result["diff"] = {
            "before": {outcome.region: outcome.before for outcome in outcomes},
            "after": {outcome.region: outcome.after for outcome in outcomes},
        }
    return result
