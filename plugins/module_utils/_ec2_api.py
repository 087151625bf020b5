# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The instance metadata options through the EC2 API: read, compare, change, wait.

``plan_change`` is pure; the functions that call EC2 take a boto3 client, so the module stays thin and the
same code can be tested against moto.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import (
    AwsError,
    AwsRegionMissing,
    aws_error,
    error_code,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._client import IDENTITY_DOCUMENT
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsError

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
DESCRIBE_ACTION = "ec2:DescribeInstances"
MODIFY_ACTION = "ec2:ModifyInstanceMetadataOptions"
NOT_FOUND_CODES = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")


class InstanceNotFound(AwsError):
    reason = "instance_not_found"


class WaitTimeout(AwsError):
    reason = "wait_timeout"


@dataclass(frozen=True)
class MetadataOptionsResult:
    changed: bool
    instance_id: str
    before: dict
    after: dict
    metadata_options: dict
    changes: dict = field(default_factory=dict)


def validate_requested(requested: Mapping[str, Any]) -> dict:
    """The options that were set, validated before any API call; raises ImdsConfigError naming the option."""
    wanted = {name: value for name, value in requested.items() if name in API_NAMES and value is not None}
    for name, value in wanted.items():
        if name in CHOICES and value not in CHOICES[name]:
            raise ImdsConfigError(f"{name} must be one of {', '.join(CHOICES[name])}, not {value!r}")
    hop_limit = wanted.get("http_put_response_hop_limit")
    if hop_limit is not None:
        low, high = HOP_LIMIT_RANGE
        if isinstance(hop_limit, bool) or not isinstance(hop_limit, int) or not low <= hop_limit <= high:
            raise ImdsConfigError(
                f"http_put_response_hop_limit must be an integer from {low} to {high}, not {hop_limit!r}: use 1 for "
                "processes on the instance itself, 2 when containers on the instance must reach IMDSv2"
            )
    return wanted


def options_from_api(block: Mapping[str, Any] | None) -> dict:
    """The API's MetadataOptions block as snake_case options; members the API left out are None."""
    block = block or {}
    options = {name: block.get(api_name) for name, api_name in API_NAMES.items()}
    options["state"] = block.get("State")
    return options


def plan_change(current: Mapping[str, Any], requested: Mapping[str, Any]) -> tuple[dict, dict]:
    """(desired, changes): desired is current merged with requested; changes holds only what differs.

    The whole desired block is sent on a change: real EC2 keeps members a call leaves out, but other
    implementations (moto) reset them, and the result must be the same on both.
    """
    desired = {name: current.get(name) for name in API_NAMES}
    changes = {}
    for name, value in requested.items():
        if name in API_NAMES and value is not None and current.get(name) != value:
            changes[name] = value
            desired[name] = value
    return desired, changes


def api_parameters(instance_id: str, desired: Mapping[str, Any]) -> dict:
    """ModifyInstanceMetadataOptions parameters for the full desired block (unknown members are left out)."""
    parameters = {"InstanceId": instance_id}
    for name, api_name in API_NAMES.items():
        if desired.get(name) is not None:
            parameters[api_name] = desired[name]
    return parameters


def _not_found(instance_id: str, region: str | None, code: str | None = None) -> InstanceNotFound:
    where = f" in region {region}" if region else ""
    return InstanceNotFound(
        f"Instance {instance_id!r} was not found{where}: check instance_id (it looks like i-0123456789abcdef0) "
        "and that region and the credentials' account are the instance's own",
        code=code,
    )


def _call_error(error: Exception, action: str, instance_id: str, region: str | None) -> AwsError:
    code = error_code(error)
    if code in NOT_FOUND_CODES:
        return _not_found(instance_id, region, code)
    return aws_error(error, action)


def describe_metadata_options(ec2: Any, instance_id: str, region: str | None = None) -> dict:
    """The instance's current options (snake_case, with ``state``) from DescribeInstances."""
    try:
        response = ec2.describe_instances(InstanceIds=[instance_id])
    except Exception as error:
        raise _call_error(error, DESCRIBE_ACTION, instance_id, region) from None
    for reservation in response.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            if instance.get("InstanceId") == instance_id:
                return options_from_api(instance.get("MetadataOptions"))
    raise _not_found(instance_id, region)


def modify_metadata_options(ec2: Any, instance_id: str, desired: Mapping[str, Any], region: str | None = None) -> dict:
    """Send the full desired block; returns the options the API answered with (state usually pending)."""
    try:
        response = ec2.modify_instance_metadata_options(**api_parameters(instance_id, desired))
    except Exception as error:
        raise _call_error(error, MODIFY_ACTION, instance_id, region) from None
    return options_from_api(response.get("InstanceMetadataOptions"))


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
                "or set wait=false and check later that MetadataOptions.State is applied"
            )
        sleep(min(interval, remaining))


def ensure_metadata_options(
    ec2: Any,
    instance_id: str,
    requested: Mapping[str, Any],
    *,
    check_mode: bool = False,
    wait: bool = False,
    wait_timeout: float = 300.0,
    region: str | None = None,
    wait_interval: float = 2.0,
) -> MetadataOptionsResult:
    """Make the instance's metadata options match ``requested`` (unset options are left as they are)."""

    def read_options() -> dict:
        return describe_metadata_options(ec2, instance_id, region)

    wanted = validate_requested(requested)
    current = read_options()
    desired, changes = plan_change(current, wanted)
    before = {name: current[name] for name in API_NAMES}
    after = dict(desired)
    if not changes:
        final = current
        if wait and current.get("state") != "applied":
            final = wait_until_applied(read_options, wait_timeout, wait_interval)
        return MetadataOptionsResult(False, instance_id, before, after, final)
    if check_mode:
        return MetadataOptionsResult(
            True, instance_id, before, after, {**desired, "state": current.get("state")}, changes
        )
    answered = modify_metadata_options(ec2, instance_id, desired, region)
    final = {**desired, **{name: value for name, value in answered.items() if value is not None}}
    if wait:
        final = wait_until_applied(read_options, wait_timeout, wait_interval)
    return MetadataOptionsResult(True, instance_id, before, after, final, changes)


def discover_instance(client: Any) -> tuple[str, str]:
    """(instance_id, region) of the instance the task runs on, from its identity document in IMDS."""
    try:
        document = client.get_json(IDENTITY_DOCUMENT)
    except ImdsError as error:
        raise type(error)(
            f"instance_id was not set and IMDS could not tell it (set instance_id and region when the task runs "
            f"on a controller): {error}",
            url=error.url,
            status=error.status,
        ) from None
    instance_id = document.get("instanceId") if isinstance(document, dict) else None
    region = document.get("region") if isinstance(document, dict) else None
    if not instance_id or not region:
        raise ImdsConfigError(
            "The identity document in IMDS has no instanceId or region: set instance_id and region explicitly"
        )
    return instance_id, region


def region_missing(instance_id: str) -> AwsRegionMissing:
    return AwsRegionMissing(
        f"No AWS region for instance {instance_id}: set the region option (or AWS_REGION, AWS_DEFAULT_REGION, or a "
        "region in the AWS profile). IMDS is asked for the region only when instance_id is not given, that is when "
        "the task runs on the instance itself"
    )
