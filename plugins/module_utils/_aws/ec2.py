# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""EC2 instances as DescribeInstances tells them: one instance, a fleet over every page, the not-found errors.

An API answer is untrusted input: only the dicts in it are read (:func:`dict_items`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
    AwsError,
    AwsRegionMissing,
    aws_error,
    error_code,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

DESCRIBE_ACTION = "ec2:DescribeInstances"
NOT_FOUND_CODES = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")


class InstanceNotFound(AwsError):
    reason = "instance_not_found"


def _not_found(instance_id: str, region: str | None, code: str | None = None) -> InstanceNotFound:
    where = f" in region {region}" if region else ""
    return InstanceNotFound(
        f"Instance {instance_id!r} was not found{where}: check instance_id (it looks like i-0123456789abcdef0) "
        "and that region and the credentials' account are the instance's own",
        code=code,
    )


def call_error(error: Exception, action: str, instance_id: str, region: str | None) -> AwsError:
    code = error_code(error)
    if code in NOT_FOUND_CODES:
        return _not_found(instance_id, region, code)
    return aws_error(error, action)


def dict_items(container: Any, key: str) -> list:
    """``container[key]`` when it is a list of dicts, else the dicts in it: an API answer is not trusted."""
    items = container.get(key) if isinstance(container, Mapping) else None
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def instances_of(response: Any) -> list:
    """The instances of a DescribeInstances answer (one page)."""
    return [
        instance
        for reservation in dict_items(response, "Reservations")
        for instance in dict_items(reservation, "Instances")
    ]


def describe_instance(ec2: Any, instance_id: str, region: str | None = None) -> dict:
    """The instance's DescribeInstances entry."""
    try:
        response = ec2.describe_instances(InstanceIds=[instance_id])
    except Exception as error:
        raise call_error(error, DESCRIBE_ACTION, instance_id, region) from None
    for instance in instances_of(response):
        if instance.get("InstanceId") == instance_id:
            return dict(instance)
    raise _not_found(instance_id, region)


# DescribeInstances returns at most 1000 instances a page; MaxResults cannot be combined with InstanceIds.
PAGE_SIZE = 1000


def ec2_filters(filters: Mapping[str, Any] | None) -> list:
    """EC2 filter syntax ({"tag:Env": "prod", "instance-state-name": ["running", "stopped"]}) as API Filters."""
    result = []
    for name, value in (filters or {}).items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in values):
            raise ImdsConfigError(
                f"filters: {name!r} must be a string or a list of strings (EC2 filter syntax, e.g. tag:Env: prod or "
                f"instance-state-name: [running, stopped]), not {value!r}"
            )
        result.append({"Name": str(name), "Values": [str(item) for item in values]})
    return result


@dataclass
class Fleet:
    instances: list  # DescribeInstances' instance dicts
    pages: int


# What the audit keeps of each instance: a large fleet's full DescribeInstances entries would be hundreds of MB.
FLEET_KEYS = ("InstanceId", "State", "MetadataOptions", "Tags", "LaunchTime")


def describe_fleet(
    ec2: Any,
    budget: Any,
    instance_ids: list[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    include_terminated: bool = False,
    region: str | None = None,
    keep: tuple | None = FLEET_KEYS,
) -> Fleet:
    """Every instance selected by ``instance_ids`` and ``filters``, over every page (bounded by ``budget``'s pager),
    terminated ones only if asked; each reduced to ``keep`` (None: whole)."""
    arguments: dict = {"Filters": ec2_filters(filters)}
    if instance_ids:
        arguments["InstanceIds"] = list(instance_ids)
    else:
        arguments["MaxResults"] = PAGE_SIZE
    instances, pages = [], 0
    try:
        for response in budget.pages(ec2.describe_instances, arguments, DESCRIBE_ACTION):
            pages += 1
            for instance in instances_of(response):
                state = instance.get("State") if isinstance(instance.get("State"), Mapping) else {}
                if isinstance(instance.get("InstanceId"), str) and (
                    include_terminated or state.get("Name") != "terminated"
                ):
                    instances.append(
                        dict(instance) if keep is None else {k: instance[k] for k in keep if k in instance}
                    )
    except AwsError as error:
        if error.code in NOT_FOUND_CODES:
            raise _not_found(", ".join(instance_ids or []), region, error.code) from None
        raise
    return Fleet(instances, pages)


def region_missing(instance_id: str) -> AwsRegionMissing:
    return AwsRegionMissing(
        f"No AWS region for instance {instance_id}: set the region option (or AWS_REGION, AWS_DEFAULT_REGION, or a "
        "region in the AWS profile). IMDS is asked for the region only when instance_id is not given, that is when "
        "the task runs on the instance itself"
    )
