# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""An instance's metadata options through the EC2 API: validate, plan, apply, wait.

``plan_change`` is pure; the functions that call EC2 take a boto3 client, so the module stays thin and the
same code can be tested against moto. The route is top to bottom: plan, (the caller's IMDSv1 guard decides), apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import call_error, describe_instance
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

# Option name -> the member of the EC2 API's MetadataOptions block.
API_NAMES: dict = {
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_endpoint": "HttpEndpoint",
    "http_protocol_ipv6": "HttpProtocolIpv6",
    "instance_metadata_tags": "InstanceMetadataTags",
}
CHOICES: dict = {
    "http_tokens": ("required", "optional"),
    "http_endpoint": ("enabled", "disabled"),
    "http_protocol_ipv6": ("enabled", "disabled"),
    "instance_metadata_tags": ("enabled", "disabled"),
}
HOP_LIMIT_RANGE = (1, 64)
MODIFY_ACTION = "ec2:ModifyInstanceMetadataOptions"


class WaitTimeout(AwsError):
    reason = "wait_timeout"


class OptionsOverwritten(AwsError):
    """An option this task asked for no longer holds: another change overwrote it."""

    reason = "options_overwritten"


@dataclass(frozen=True)
class MetadataOptionsResult:
    changed: bool
    instance_id: str
    before: dict
    after: dict
    metadata_options: dict
    changes: dict = field(default_factory=dict)
    imdsv1_usage: dict | None = None


def validate_requested(requested: Mapping[str, Any]) -> dict:
    """The options that were set, checked before any API call; raises ImdsConfigError naming the option.

    The choices are the argument spec's to enforce (AnsibleModule does, before this runs); what a spec cannot
    say, the hop limit's range, is checked here, once.
    """
    wanted = {name: value for name, value in requested.items() if name in API_NAMES and value is not None}
    hop_limit = wanted.get("http_put_response_hop_limit")
    if hop_limit is not None:
        low, high = HOP_LIMIT_RANGE
        if isinstance(hop_limit, bool) or not isinstance(hop_limit, int) or not low <= hop_limit <= high:
            raise ImdsConfigError(
                f"http_put_response_hop_limit must be an integer from {low} to {high}, not {hop_limit!r}: use 1 for "
                "processes on the instance itself, 2 when containers on the instance must reach IMDSv2"
            )
    return wanted


def check_instance_id(instance_id: str | None) -> None:
    """An instance_id that is set must name an instance: an empty one is not "unset"."""
    if instance_id is not None and not instance_id.strip():
        raise ImdsConfigError(
            f"instance_id is set but empty ({instance_id!r}): give the instance's ID (like i-0123456789abcdef0), or "
            "leave the option out to use the instance the task runs on. An empty value usually comes from an "
            "undefined or empty variable; taken as unset, it would change the host the task runs on (the controller "
            "under delegate_to: localhost)"
        )


def options_from_api(block: Any) -> dict:
    """The API's MetadataOptions block as snake_case options; members the API left out are None."""
    block = block if isinstance(block, Mapping) else {}
    options = {name: block.get(api_name) for name, api_name in API_NAMES.items()}
    options["state"] = block.get("State")
    return options


def plan_change(current: Mapping[str, Any], requested: Mapping[str, Any]) -> tuple[dict, dict]:
    """(desired, changes): desired is current merged with requested; changes holds only what differs.

    The whole desired block is sent on a change: a member a call leaves out falls back to a default (HttpTokens to
    the AMI's default, in moto to optional), not to its current value. The price is that two changes at once can
    undo each other; ensure_metadata_options checks afterwards that what it asked for holds.
    """
    desired = {name: current.get(name) for name in API_NAMES}
    changes = {}
    for name, value in requested.items():
        if name in API_NAMES and value is not None and current.get(name) != value:
            changes[name] = value
            desired[name] = value
    return desired, changes


def overwritten(wanted: Mapping[str, Any], observed: Mapping[str, Any]) -> dict:
    """{option: (wanted, found)} for each requested option the instance reports with another value."""
    return {
        name: (value, observed.get(name))
        for name, value in wanted.items()
        if observed.get(name) is not None and observed.get(name) != value
    }


def overwritten_error(instance_id: str, lost: Mapping[str, tuple], result: dict) -> OptionsOverwritten:
    found = "; ".join(f"{name}: wanted {want!r}, found {got!r}" for name, (want, got) in lost.items())
    return OptionsOverwritten(
        f"Instance {instance_id} no longer has the metadata options this task set ({found}): another change to its "
        "options (a task, play or tool running at the same time) overwrote them. ModifyInstanceMetadataOptions "
        "sends the whole options block, so two changes at once can undo each other. Make the changes one after "
        "another (one task with all the options, or serial: on the play), then run this task again",
        result=result,
    )


def api_parameters(instance_id: str, desired: Mapping[str, Any]) -> dict:
    """ModifyInstanceMetadataOptions parameters for the full desired block (unknown members are left out)."""
    parameters = {"InstanceId": instance_id}
    for name, api_name in API_NAMES.items():
        if desired.get(name) is not None:
            parameters[api_name] = desired[name]
    return parameters


def describe_metadata_options(ec2: Any, instance_id: str, region: str | None = None) -> dict:
    """The instance's current options (snake_case, with ``state``) from DescribeInstances."""
    return options_from_api(describe_instance(ec2, instance_id, region).get("MetadataOptions"))


def modify_metadata_options(ec2: Any, instance_id: str, desired: Mapping[str, Any], region: str | None = None) -> dict:
    """Send the full desired block; returns the options the API answered with (state usually pending)."""
    try:
        response = ec2.modify_instance_metadata_options(**api_parameters(instance_id, desired))
    except Exception as error:
        raise call_error(error, MODIFY_ACTION, instance_id, region) from None
    return options_from_api(response.get("InstanceMetadataOptions") if isinstance(response, Mapping) else None)


def wait_until_applied(
    read_options: Callable[[], dict],
    timeout: float,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll ``read_options`` until its ``state`` is ``applied``; raises WaitTimeout after ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        options = read_options()
        if options.get("state") == "applied":
            return options
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(
                f"The metadata options were still {options.get('state') or 'not reported'} after {timeout:g} "
                "seconds: EC2 applies them in the background and usually takes seconds. Raise wait_timeout, "
                "or set wait=false and check later that MetadataOptions.State is applied",
                result={"metadata_options": options},
            )
        sleep(min(interval, remaining))


@dataclass(frozen=True)
class MetadataOptionsPlan:
    """What a task would change on one instance: computed first, decided on (the IMDSv1 guard), then applied."""

    instance_id: str
    instance: dict  # its DescribeInstances entry (LaunchTime for the guard)
    current: dict
    desired: dict
    changes: dict
    wanted: dict

    @property
    def requires_tokens(self) -> bool:
        return self.changes.get("http_tokens") == "required"


def plan_metadata_options(
    ec2: Any, instance_id: str, wanted: Mapping[str, Any], region: str | None = None
) -> MetadataOptionsPlan:
    """Read the instance and compute the change that makes its options match ``wanted`` (unset options stay)."""
    instance = describe_instance(ec2, instance_id, region)
    current = options_from_api(instance.get("MetadataOptions"))
    desired, changes = plan_change(current, wanted)
    return MetadataOptionsPlan(instance_id, instance, current, desired, changes, dict(wanted))


def apply_metadata_options(
    ec2: Any,
    plan: MetadataOptionsPlan,
    *,
    check_mode: bool = False,
    wait: bool = False,
    wait_timeout: float = 300.0,
    region: str | None = None,
    wait_interval: float = 2.0,
    imdsv1_usage: dict | None = None,
) -> MetadataOptionsResult:
    """Apply ``plan``. After a change, and on every poll while waiting, the options asked for must still hold
    (OptionsOverwritten names the ones that do not). Every failure after the Modify carries ``changed: true``.
    """
    instance_id, current, desired, changes = plan.instance_id, plan.current, plan.desired, plan.changes
    before = {name: current[name] for name in API_NAMES}
    after = dict(desired)
    # What a failure result reports: changed once the Modify went through.
    partial = {"changed": False, "instance_id": instance_id}

    def read_and_check() -> dict:
        options = describe_metadata_options(ec2, instance_id, region)
        lost = overwritten(plan.wanted, options)
        if lost:
            raise overwritten_error(instance_id, lost, {**partial, "metadata_options": options})
        return options

    if changes and check_mode:
        # Nothing was sent, so nothing is applied or pending: the state of the options it would set is unknown.
        would_be = {**desired, "state": None}
        return MetadataOptionsResult(True, instance_id, before, after, would_be, changes, imdsv1_usage)
    if not changes and (not wait or current.get("state") == "applied"):
        return MetadataOptionsResult(False, instance_id, before, after, current, changes, imdsv1_usage)
    try:
        if changes:
            modify_metadata_options(ec2, instance_id, desired, region)
            partial["changed"] = True
        final = wait_until_applied(read_and_check, wait_timeout, wait_interval) if wait else read_and_check()
    except AwsError as error:
        error.result = {**partial, **error.result}
        raise
    return MetadataOptionsResult(bool(changes), instance_id, before, after, final, changes, imdsv1_usage)
