# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Moving an Auto Scaling group off a launch configuration: a launch template made from the configuration (every
field that has a template equivalent, carried exactly, with tokens required), then the group switched to it.

A launch configuration cannot be changed, and a group on one launches what it says. The template is planned field
by field from CONFIGURATION_FIELDS (data, which the docs and the tests iterate over): a field is carried to its
template equivalent, dropped when it is only a record (name, ARN, creation time), or refused. A configuration with
a refused field is left alone and the reason names the field: the group would otherwise launch something else.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.answer_shapes import changed_paths
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.group_moves import GroupNotAsPlanned, read_group
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (
    TEMPLATE_OPTIONS,
    LaunchTemplateNotFound,
    read_template,
    read_versions,
    template_options,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError, aws_error
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

DESCRIBE_CONFIGURATIONS = "autoscaling:DescribeLaunchConfigurations"
CREATE_TEMPLATE = "ec2:CreateLaunchTemplate"
UPDATE_GROUP = "autoscaling:UpdateAutoScalingGroup"
TEMPLATE_NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}$")
NOT_IN_TEMPLATE_NAMES = re.compile(r"[^a-zA-Z0-9().\-/_]+")
TEMPLATE_SUFFIX = "-imdsv2"
NAME_HASH_CHARS = 8
# The mark of a template this collection made from a launch configuration: only a template that carries it (with the
# configuration's name) is ever reused or resumed, never one of the same name that someone else made.
MADE_FROM_TAG = "ec2meta.imds:made-from-launch-configuration"


class ConfigurationNotCarried(AwsError):
    reason = "configuration_not_carried"


class TemplateNameTaken(AwsError):
    reason = "launch_template_name_taken"


class TemplateNotAsPlanned(AwsError):
    reason = "template_not_as_planned"


def planned_template_name(configuration_name: str) -> str:
    """The template's name when the task gives none: the configuration's name with -imdsv2 appended, or, when that
    is not a template name (a space, ':', '@', too long), the name with every run of other characters replaced by
    '-', cut to fit, and the first characters of its SHA-256 added, so two configurations never share a name and
    every run derives the same one."""
    plain = f"{configuration_name}{TEMPLATE_SUFFIX}"
    if TEMPLATE_NAME.match(plain):
        return plain
    digest = hashlib.sha256(configuration_name.encode("utf-8", "surrogatepass")).hexdigest()[:NAME_HASH_CHARS]
    room = 128 - len(TEMPLATE_SUFFIX) - NAME_HASH_CHARS - 1
    cleaned = NOT_IN_TEMPLATE_NAMES.sub("-", configuration_name)[:room]
    return f"{cleaned}-{digest}{TEMPLATE_SUFFIX}"


def _made_from(template: Mapping) -> str | None:
    """The configuration name this collection's mark on a template names; None when it has no mark."""
    for tag in template.get("Tags") or []:
        if isinstance(tag, Mapping) and tag.get("Key") == MADE_FROM_TAG and isinstance(tag.get("Value"), str):
            return tag["Value"]
    return None


def _same(name: str) -> Callable:
    return lambda value, configuration, group: {name: value}


def _is_group_id(group: Any) -> bool:
    return isinstance(group, str) and group.startswith("sg-")


def _security_groups(value: Any, configuration: Mapping, group: Mapping) -> dict:
    """IDs go to SecurityGroupIds and names to SecurityGroups: a name is valid only in the default VPC, so a group
    that launches into subnets (VPCZoneIdentifier) with a name in its configuration is refused."""
    if configuration.get("AssociatePublicIpAddress") is not None:
        return {}  # carried in the network interface (see _public_ip)
    if not all(isinstance(item, str) and item for item in value):
        raise ValueError("a security group that is not a name or an ID")
    ids = [item for item in value if _is_group_id(item)]
    names = [item for item in value if not _is_group_id(item)]
    if names and group.get("VPCZoneIdentifier"):
        raise ValueError(
            f"security groups given by name ({', '.join(names)[:200]}) in a group that launches into VPC subnets, "
            "where a launch template takes only security group IDs: make a configuration with the IDs, or move the "
            "group by hand"
        )
    data = {"SecurityGroupIds": ids} if ids else {}
    return {**data, "SecurityGroups": names} if names else data


def _public_ip(value: Any, configuration: Mapping, group: Mapping) -> dict:
    groups = configuration.get("SecurityGroups") or []
    if not all(isinstance(group, str) and group.startswith("sg-") for group in groups):
        raise ValueError("security groups given by name cannot go in a network interface (it takes IDs)")
    interface = {"DeviceIndex": 0, "AssociatePublicIpAddress": bool(value)}
    if groups:
        interface["Groups"] = list(groups)
    return {"NetworkInterfaces": [interface]}


def _block_devices(value: Any, configuration: Mapping, group: Mapping) -> dict:
    devices = []
    for device in value:
        carried = {key: device[key] for key in ("DeviceName", "VirtualName") if device.get(key) is not None}
        ebs = device.get("Ebs") if isinstance(device.get("Ebs"), Mapping) else {}
        ebs = {key: item for key, item in ebs.items() if item is not None}
        if ebs:  # an Ebs without a member says nothing (Auto Scaling answers one beside NoDevice; EC2 keeps none)
            carried["Ebs"] = ebs
        if device.get("NoDevice") is True:
            carried["NoDevice"] = ""  # a flag in Auto Scaling, an empty string in EC2
        devices.append(carried)
    return {"BlockDeviceMappings": devices}


def _profile(value: Any, configuration: Mapping, group: Mapping) -> dict:
    return {"IamInstanceProfile": {"Arn": value} if value.startswith("arn:") else {"Name": value}}


def _monitoring(value: Any, configuration: Mapping, group: Mapping) -> dict:
    return {"Monitoring": {"Enabled": bool(value.get("Enabled"))}} if isinstance(value, Mapping) else {}


def _tenancy(value: Any, configuration: Mapping, group: Mapping) -> dict:
    return {"Placement": {"Tenancy": value}}


def _metadata(value: Any, configuration: Mapping, group: Mapping) -> dict:
    return {}  # set by plan_configuration, from the configuration's block with the wanted options


# LaunchConfiguration member -> (what happens to it, how it is carried / why it is refused). Members of no value
# (None, an empty list) are left out before this table is read.
CONFIGURATION_FIELDS: dict = {
    "LaunchConfigurationName": ("record", None),
    "LaunchConfigurationARN": ("record", None),
    "CreatedTime": ("record", None),
    "ImageId": ("carry", _same("ImageId")),
    "KeyName": ("carry", _same("KeyName")),
    "SecurityGroups": ("carry", _security_groups),
    "UserData": ("carry", _same("UserData")),
    "InstanceType": ("carry", _same("InstanceType")),
    "KernelId": ("carry", _same("KernelId")),
    "RamdiskId": ("carry", _same("RamDiskId")),
    "BlockDeviceMappings": ("carry", _block_devices),
    "InstanceMonitoring": ("carry", _monitoring),
    "IamInstanceProfile": ("carry", _profile),
    "EbsOptimized": ("carry", _same("EbsOptimized")),
    "AssociatePublicIpAddress": ("carry", _public_ip),
    "PlacementTenancy": ("carry", _tenancy),
    "MetadataOptions": ("carry", _metadata),
    "ClassicLinkVPCId": ("refuse", "EC2-Classic (ClassicLink) has no launch template equivalent"),
    "ClassicLinkVPCSecurityGroups": ("refuse", "EC2-Classic (ClassicLink) has no launch template equivalent"),
    "SpotPrice": (
        "refuse",
        "a spot price moves to the group's mixed-instances policy or the template's InstanceMarketOptions, which "
        "Auto Scaling reads otherwise (a decision of its own)",
    ),
}


@dataclass
class ConfigurationPlan:
    group_name: str
    configuration_name: str | None
    template_name: str | None
    data: dict = field(default_factory=dict)  # the LaunchTemplateData to create
    refused: dict = field(default_factory=dict)  # member -> why
    note: str = ""
    template_id: str | None = None  # known when the template exists (an earlier run made it)
    created: bool = False

    @property
    def switches(self) -> bool:
        return bool(self.configuration_name) and not self.refused

    def as_dict(self) -> dict:
        return {
            "auto_scaling_group_name": self.group_name,
            "launch_configuration_name": self.configuration_name,
            "launch_template_name": self.template_name,
            "launch_template_id": self.template_id,
            "launch_template_data": self.data,
            "refused": self.refused,
            "note": self.note,
            "moves": [f"launch configuration {self.configuration_name} -> launch template {self.template_name}"]
            if self.switches
            else [],
            "left": [f"launch configuration {self.configuration_name}: {why}" for why in self.refused.values()],
        }


def read_configuration(autoscaling: Any, budget: Any, name: str) -> Mapping:
    arguments = {"LaunchConfigurationNames": [name]}
    found = [
        item
        for page in budget.pages(autoscaling.describe_launch_configurations, arguments, DESCRIBE_CONFIGURATIONS)
        for item in dict_items(page, "LaunchConfigurations")
        if item.get("LaunchConfigurationName") == name
    ]
    if len(found) != 1:
        raise ConfigurationNotCarried(
            f"Launch configuration {name[:255]} of the group does not exist: nothing to carry"
        )
    return found[0]


def template_data(configuration: Mapping, wanted: Mapping[str, Any], group: Mapping | None = None) -> tuple:
    """(LaunchTemplateData, refused member -> why) for a configuration, field by field (CONFIGURATION_FIELDS); the
    group tells where it launches (subnets or the default VPC)."""
    group = group or {}
    data: dict = {}
    refused: dict = {}
    for member, value in configuration.items():
        if value is None or value == [] or value == "":
            continue
        what, how = CONFIGURATION_FIELDS.get(member, ("refuse", "a member this collection does not know"))
        if what == "record":
            continue
        if what == "refuse":
            refused[member] = f"{member} cannot be carried to a launch template exactly: {how}"
            continue
        try:
            data.update(how(value, configuration, group))
        except (ValueError, AttributeError, TypeError) as error:
            refused[member] = f"{member} cannot be carried to a launch template exactly: {error}"
    current = template_options(configuration.get("MetadataOptions"))
    desired = {**current, **{name: value for name, value in wanted.items() if value is not None}}
    data["MetadataOptions"] = {TEMPLATE_OPTIONS[name]: value for name, value in desired.items() if value is not None}
    return data, refused


def plan_configuration(
    autoscaling: Any, ec2: Any, budget: Any, group_name: str, wanted: Mapping[str, Any], template_name: str | None
) -> ConfigurationPlan:
    group = read_group(autoscaling, budget, group_name)
    name = group.get("LaunchConfigurationName")
    if not isinstance(name, str) or not name:
        return ConfigurationPlan(group_name, None, None, note="the group launches from a launch template already")
    template_name = template_name or planned_template_name(name)
    if not TEMPLATE_NAME.match(template_name):
        raise ImdsConfigError(
            f"launch_template_name: {template_name[:140]!r} is not a launch template name (3-128 characters of "
            "letters, digits and ( ) . - / _): give launch_template_name"
        )
    plan = ConfigurationPlan(group_name, name, template_name)
    plan.data, plan.refused = template_data(read_configuration(autoscaling, budget, name), wanted, group)
    if plan.refused:
        plan.note = "the group was left on its launch configuration"
        return plan
    try:
        existing = read_template(ec2, budget, None, template_name)
    except LaunchTemplateNotFound:
        return plan
    template_id = existing["LaunchTemplateId"]
    if _made_from(existing) != name:
        raise TemplateNameTaken(
            f"A launch template named {template_name} exists ({template_id}) that this collection did not make from "
            f"launch configuration {name} (it has no tag {MADE_FROM_TAG}={name}): it is never adopted, since its "
            "owner controls what the group would launch. Give another launch_template_name, or rename or delete that "
            "template. Nothing was changed"
        )
    # An earlier run made it: resume, when its first version is exactly the plan and $Default is still that version.
    plan.template_id = template_id
    _check_made(ec2, budget, plan, resumed=True)
    return plan


def _check_made(ec2: Any, budget: Any, plan: ConfigurationPlan, resumed: bool) -> None:
    """TemplateNotAsPlanned unless the template's version 1 and $Default are the planned data (what the group is
    switched to), naming each member that differs."""
    found = read_versions(ec2, budget, plan.template_id, {"Versions": ["1", "$Default"]})
    differs = changed_paths(plan.data, found.get(1), "") if 1 in found else ["version 1 (missing)"]
    if not differs and set(found) != {1}:
        differs = [f"$Default (version {max(found)}, not 1)"]
    if differs:
        when = "an earlier run of this collection made" if resumed else "was just made"
        error = TemplateNotAsPlanned(
            f"Launch template {plan.template_name} ({plan.template_id}), which {when} from launch configuration "
            f"{plan.configuration_name}, does not read back as planned at {', '.join(differs)}, so the group was not "
            "switched to it and stays on its configuration. Compare launch_template_data in the result with the "
            "template; if the difference is harmless, switch the group to the template by hand, otherwise delete the "
            f"template and run again{'' if resumed else ' (the template was created)'}"
        )
        error.result = {
            "changed": not resumed,
            "launch_template_id": plan.template_id,
            "launch_template_data": plan.data,
        }
        raise error


def apply_configuration(autoscaling: Any, ec2: Any, budget: Any, plan: ConfigurationPlan, description: str) -> dict:
    """Create the template (unless an earlier run did), switch the group to its $Default, read the group back."""
    if not plan.switches:
        return {"changed": False}
    if plan.template_id is None:
        budget.check(CREATE_TEMPLATE)
        try:
            made = ec2.create_launch_template(
                LaunchTemplateName=plan.template_name,
                VersionDescription=description[:255],
                LaunchTemplateData=plan.data,
                TagSpecifications=[
                    {
                        "ResourceType": "launch-template",
                        "Tags": [{"Key": MADE_FROM_TAG, "Value": plan.configuration_name[:256]}],
                    }
                ],
            )
        except Exception as error:
            raise aws_error(error, CREATE_TEMPLATE) from None
        plan.template_id, plan.created = made["LaunchTemplate"]["LaunchTemplateId"], True
        _check_made(ec2, budget, plan, resumed=False)
    budget.check(UPDATE_GROUP)
    try:
        autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=plan.group_name,
            LaunchTemplate={"LaunchTemplateId": plan.template_id, "Version": "$Default"},
        )
    except Exception as error:
        failure = aws_error(error, UPDATE_GROUP)
        failure.result = {**failure.result, "changed": plan.created, "launch_template_id": plan.template_id}
        raise failure from None
    after = read_group(autoscaling, budget, plan.group_name)
    template = after.get("LaunchTemplate") if isinstance(after.get("LaunchTemplate"), Mapping) else {}
    if template.get("LaunchTemplateId") != plan.template_id or after.get("LaunchConfigurationName"):
        error = GroupNotAsPlanned(
            f"Auto Scaling group {plan.group_name} does not read back on launch template {plan.template_id} after "
            "UpdateAutoScalingGroup"
        )
        error.result = {"changed": True, "launch_template_id": plan.template_id}
        raise error
    return {"changed": True}
