# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""What an instance launched next from each launch path of a region would get: launch templates (default, latest
and the versions groups and fleets use), Auto Scaling groups (one template, mixed-instances overrides, or a launch
configuration), launch configurations, EC2 Fleets (template specifications and their overrides, which may name
another AMI), Spot Fleet requests (launch specifications, which carry an AMI and never metadata options, and
template configurations), and the AMIs and account defaults below them. What the audit cannot see is stated once
in the result (NOT_AUDITED).

Each of http_tokens, http_put_response_hop_limit and http_endpoint is resolved on its own, in AWS's order of
precedence (PRECEDENCE). Source: "Order of precedence for instance metadata options", Amazon EC2 User Guide,
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html#instance-metadata-options-order-of-precedence
and the HttpTokens default of ModifyInstanceMetadataOptions / RunInstances ("If ImdsSupport of the AMI is v2.0 and
the account level default is no-preference, the default is required; if ImdsSupport is v2.0 but the account level
default is set, the default is the account's"): the launch parameters (template or launch configuration) first,
then the account's regional defaults, then the AMI's ImdsSupport v2.0 (tokens required, hop limit 2), then EC2's
own defaults (optional, 1, enabled).

Fail closed: a layer that could not be read (an AMI that is not found, an image resolved from SSM at launch, a
template or version that does not exist) or a value the API does not document makes the value unknown, and unknown
is never "enforced"; the audit goes on and the path gets the verdict unknown.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import AccountDefaults, read_defaults
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError

DESCRIBE_TEMPLATES = "ec2:DescribeLaunchTemplates"
DESCRIBE_VERSIONS = "ec2:DescribeLaunchTemplateVersions"
DESCRIBE_GROUPS = "autoscaling:DescribeAutoScalingGroups"
DESCRIBE_CONFIGURATIONS = "autoscaling:DescribeLaunchConfigurations"
DESCRIBE_IMAGES = "ec2:DescribeImages"
DESCRIBE_FLEETS = "ec2:DescribeFleets"
DESCRIBE_SPOT_FLEETS = "ec2:DescribeSpotFleetRequests"

FIELDS = {
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_endpoint": "HttpEndpoint",
}
# EC2's own values when nothing above sets one (the API reference's defaults).
AWS_DEFAULTS = {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}
# An AMI with ImdsSupport v2.0 (DescribeImages / RegisterImage reference).
IMAGE_V2 = {"http_tokens": "required", "http_put_response_hop_limit": 2}
# The layers, highest precedence first (see the module docstring for the source).
PRECEDENCE = ("launch_parameters", "account_defaults", "image", "aws_default")
# The fields a layer can set: an AMI says nothing about the endpoint, so an unreadable AMI leaves it known.
LAYER_FIELDS = {"image": tuple(IMAGE_V2)}

INCLUDE_CHOICES = (
    "instances",
    "launch_templates",
    "auto_scaling_groups",
    "launch_configurations",
    "ec2_fleets",
    "spot_fleet_requests",
    "images",
    "account_defaults",
)
LAUNCH_PATH_KINDS = (
    "launch_templates",
    "auto_scaling_groups",
    "launch_configurations",
    "ec2_fleets",
    "spot_fleet_requests",
)
# Each kind's id in its result entries (and in readiness blockers).
PATH_IDS = {
    "launch_templates": "launch_template_id",
    "auto_scaling_groups": "auto_scaling_group_name",
    "launch_configurations": "launch_configuration_name",
    "ec2_fleets": "fleet_id",
    "spot_fleet_requests": "spot_fleet_request_id",
}

# What launches instances that no Describe call of this audit shows, stated once in every result. The account's
# defaults (http_tokens=required) and http_tokens_enforced are what cover these.
NOT_AUDITED = (
    "instances launched by direct RunInstances calls (the console, the CLI, SDKs, CI jobs, infrastructure-as-code "
    "tools) with metadata options of their own or none",
    "launch paths in other AWS accounts, and in regions this task did not audit",
    "services that launch instances on your behalf with launch parameters of their own",
)
NOT_AUDITED_COVER = (
    "The account's default http_tokens=required (ec2meta.imds.instance_metadata_defaults) makes those of them that "
    "set no metadata options require IMDSv2; http_tokens_enforced=enabled makes EC2 refuse any of them that would "
    "allow IMDSv1. Nothing else covers them."
)

TEMPLATE_PAGE = 200
GROUP_PAGE = 100
FLEET_PAGE = 100
IMAGE_BATCH = 200  # values in one DescribeImages filter
DEFAULT_VERSION, LATEST_VERSION = "$Default", "$Latest"


@dataclass(frozen=True)
class Unread:
    """A layer that could not be read, and why."""

    cause: str


def resolve(layers: Mapping[str, Any]) -> tuple[dict, dict]:
    """(effective, sources): each field's value and the layer it came from, in PRECEDENCE order.

    A layer is a mapping of fields (a value, or None where it sets nothing) or an Unread; reaching an Unread layer
    makes the field unknown (None) with the cause as its source.
    """
    effective, sources = {}, {}
    for name in FIELDS:
        effective[name], sources[name] = None, "unknown: no layer set it"
        for layer in PRECEDENCE:
            values = layers.get(layer)
            if isinstance(values, Unread):
                if name not in LAYER_FIELDS.get(layer, FIELDS):
                    continue
                sources[name] = f"unknown: {values.cause}"
                break
            value = values.get(name) if isinstance(values, Mapping) else None
            if isinstance(value, Unread):
                sources[name] = f"unknown: {value.cause}"
                break
            if value is not None:
                effective[name], sources[name] = value, layer
                break
    return effective, sources


@dataclass(frozen=True)
class PathVerdict:
    """One launch-path verdict: docs, the report and the tests iterate over PATH_VERDICTS."""

    name: str
    meaning: str
    blocks_enforcement: bool  # does a path with this verdict stand in the way of http_tokens_enforced?
    advice: str
    reason: str  # the verdict_reason, formatted with the sources and the cause
    # (effective options, enforcement on) -> applies; None: given by the fleet rules, not by the options.
    applies: Callable[[Mapping[str, Any], bool], bool] | None


# The first that applies. http_tokens_enforced refuses every launch that would not have http_tokens=required
# (ModifyInstanceMetadataDefaults: "the instance can't launch unless HttpTokens is set to required"), whatever the
# endpoint, so a disabled endpoint with tokens optional is judged by its tokens.
PATH_VERDICTS: tuple = (
    PathVerdict(
        "unknown",
        "what an instance launched from it would get could not be read completely (a missing AMI, template or "
        "version, an AMI resolved from SSM at launch, a value the API does not document); a path whose http_tokens "
        "alone is known to be required does not block enforcement",
        True,
        "fix what the reason names, or set http_tokens=required in its launch parameters",
        "what an instance launched from it would get is unknown: {cause}",
        lambda effective, enforced: effective["http_tokens"] is None or effective["http_endpoint"] is None,
    ),
    PathVerdict(
        "launch_refused",
        "it would launch instances that allow IMDSv1 while http_tokens_enforced is on: EC2 refuses every launch "
        "from it now",
        True,
        "its launches fail now: require tokens here (http_tokens=required)",
        "EC2 refuses every launch from it now: http_tokens_enforced is on and an instance launched from it would "
        "allow IMDSv1 (http_tokens=optional from {http_tokens})",
        lambda effective, enforced: enforced and effective["http_tokens"] == "optional",
    ),
    PathVerdict(
        "allows_imdsv1",
        "instances launched from it would allow IMDSv1; once http_tokens_enforced is on, EC2 refuses its launches",
        True,
        "require tokens here (http_tokens=required) before turning on http_tokens_enforced",
        "instances launched from it allow IMDSv1 (http_tokens=optional from {http_tokens}): require tokens here",
        lambda effective, enforced: effective["http_tokens"] == "optional",
    ),
    PathVerdict(
        "endpoint_disabled",
        "instances launched from it require IMDSv2 and have the metadata endpoint turned off",
        False,
        "nothing for enforcement; turn the endpoint on where software on the instances needs IMDS",
        "instances launched from it have the metadata endpoint turned off (http_endpoint from {http_endpoint}) and "
        "require tokens (http_tokens from {http_tokens})",
        lambda effective, enforced: effective["http_endpoint"] == "disabled",
    ),
    PathVerdict(
        "enforced",
        "instances launched from it require IMDSv2",
        False,
        "nothing to do",
        "instances launched from it require IMDSv2 (http_tokens=required from {http_tokens})",
        lambda effective, enforced: effective["http_tokens"] == "required",
    ),
    PathVerdict(
        "not_launching",
        "a fleet that launches no new instances (type instant, a request fleet whose one-time request is fulfilled, "
        "or a fleet that is deleted, cancelled or failed), or a launch configuration no Auto Scaling group uses; "
        "its launch paths are listed for the record",
        False,
        "nothing to do for enforcement",
        "{cause}",
        None,
    ),
)
VERDICTS = {row.name: row for row in PATH_VERDICTS}
PATH_VERDICT_NAMES = tuple(VERDICTS)
# Worst first: what a path with several launch paths (a group with overrides, a fleet) is judged by. A launch that
# fails now comes before one that cannot be judged.
SEVERITY = ("launch_refused", "unknown", "allows_imdsv1", "endpoint_disabled", "enforced", "not_launching")


def verdict_table() -> list:
    """PATH_VERDICTS as plain data (name, meaning, blocks_enforcement, advice), for reports and docs."""
    return [
        {"name": row.name, "meaning": row.meaning, "blocks_enforcement": row.blocks_enforcement, "advice": row.advice}
        for row in PATH_VERDICTS
    ]


def path_verdict(effective: Mapping[str, Any], sources: Mapping[str, str], enforced: bool = False) -> tuple[str, str]:
    prefix = len("unknown: ")
    causes = [source[prefix:] for source in sources.values() if source.startswith("unknown")]
    found = {**sources, "cause": "; ".join(dict.fromkeys(causes)) or "unknown"}
    for row in PATH_VERDICTS:
        if row.applies is not None and row.applies(effective, enforced):
            return row.name, row.reason.format(**found)
    return "unknown", VERDICTS["unknown"].reason.format(**found)


def worst(verdicts: list) -> str:
    return min(verdicts, key=SEVERITY.index) if verdicts else "unknown"


def blocks_enforcement(effective: Mapping[str, Any]) -> bool:
    """Would account-level enforcement refuse a launch from here (or can that not be ruled out)?"""
    return effective.get("http_tokens") != "required"


# ----------------------------------------------------------------------------- reading, untrusted


def _text(value: Any, limit: int = 512) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _capacity(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        return None
    return float(value)


def _plain(value: Any) -> Any:
    """A value of an answer as the result may carry it: a string (clipped), a number, a bool or None; anything else
    as a clipped string. Never an object of this module (the result must be JSON)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)[:64]


VALID_VALUES = {
    "http_tokens": ("optional", "required"),
    "http_endpoint": ("enabled", "disabled"),
    "http_protocol_ipv6": ("enabled", "disabled"),
    "instance_metadata_tags": ("enabled", "disabled"),
}
# Fields that do not decide a verdict but must hold a documented value all the same: a block with garbage in it is
# not one the audit knows (the launch may fail, or EC2 may read it otherwise), so its path is unknown.
CHECKED_FIELDS = {"http_protocol_ipv6": "HttpProtocolIpv6", "instance_metadata_tags": "InstanceMetadataTags"}
HOP_LIMIT_RANGE = (1, 64)  # LaunchTemplateInstanceMetadataOptions, InstanceMetadataOptionsRequest


def _valid(name: str, value: Any) -> bool:
    if name == "http_put_response_hop_limit":
        return _number(value) is not None and HOP_LIMIT_RANGE[0] <= value <= HOP_LIMIT_RANGE[1]
    return value in VALID_VALUES[name]


def launch_options(block: Any) -> dict:
    """A MetadataOptions block of a template version or launch configuration: the fields it sets, None where it
    sets nothing, and an Unread where it holds a value the API does not document (never taken as unset). Unread
    stays inside this module: results carry :func:`options_as_given`."""
    block = block if isinstance(block, Mapping) else {}
    options: dict = {}
    for name, api_name in {**FIELDS, **CHECKED_FIELDS}.items():
        value = block.get(api_name)
        if value is None or _valid(name, value):
            options[name] = value
        else:
            options[name] = Unread(f"{api_name} is {repr(value)[:40]}, not a value the API documents")
    return options


def options_as_given(block: Any) -> dict:
    """The MetadataOptions block as the answer gave it, each value plain (see _plain)."""
    block = block if isinstance(block, Mapping) else {}
    return {name: _plain(block.get(api_name)) for name, api_name in FIELDS.items()}


class Reader:
    """Every paginated read of the launch-path audit through one budget's pager, counted per IAM action."""

    def __init__(self, budget: Any):
        self.budget = budget
        self.calls: Counter = Counter()

    def pages(self, call: Any, arguments: Mapping[str, Any], action: str) -> Iterator[Mapping[str, Any]]:
        for page in self.budget.pages(call, arguments, action):
            self.calls[action] += 1
            yield page


@dataclass
class Template:
    template_id: str
    name: str | None
    default_version: int | None
    latest_version: int | None
    versions: dict = field(default_factory=dict)  # number -> LaunchTemplateData (a Mapping)
    missing: dict = field(default_factory=dict)  # number -> why it could not be read


def read_templates(ec2: Any, reader: Reader) -> dict:
    templates = {}
    for page in reader.pages(ec2.describe_launch_templates, {"MaxResults": TEMPLATE_PAGE}, DESCRIBE_TEMPLATES):
        for item in dict_items(page, "LaunchTemplates"):
            template_id = _text(item.get("LaunchTemplateId"), 64)
            if template_id:
                templates[template_id] = Template(
                    template_id,
                    _text(item.get("LaunchTemplateName"), 128),
                    _number(item.get("DefaultVersionNumber")),
                    _number(item.get("LatestVersionNumber")),
                )
    return templates


def read_versions(ec2: Any, reader: Reader, template: Template, numbers: set) -> None:
    """The versions ``numbers`` of ``template`` into template.versions; a version AWS does not have is missing."""
    wanted = sorted(number for number in numbers if number is not None)
    if not wanted:
        return
    arguments = {"LaunchTemplateId": template.template_id, "Versions": [str(number) for number in wanted]}
    try:
        for page in reader.pages(ec2.describe_launch_template_versions, arguments, DESCRIBE_VERSIONS):
            for item in dict_items(page, "LaunchTemplateVersions"):
                number = _number(item.get("VersionNumber"))
                if item.get("LaunchTemplateId") != template.template_id or number not in wanted:
                    raise AwsBadResponse(
                        f"{DESCRIBE_VERSIONS} answered a version that was not asked for "
                        f"({str(item.get('LaunchTemplateId'))[:40]} version {str(number)[:10]}). Check endpoint_url"
                    )
                data = item.get("LaunchTemplateData")
                template.versions[number] = data if isinstance(data, Mapping) else {}
    except AwsError as error:
        if not (error.code or "").startswith("InvalidLaunchTemplate"):
            raise
        if len(wanted) > 1:
            # One version that does not exist fails the whole call: ask for each on its own.
            for number in wanted:
                read_versions(ec2, reader, template, {number})
            return
        template.missing[wanted[0]] = f"version {wanted[0]} of {template.template_id} does not exist ({error.code})"
        return
    for number in wanted:
        if number not in template.versions and number not in template.missing:
            template.missing[number] = f"{DESCRIBE_VERSIONS} did not return version {number} of {template.template_id}"


def read_groups(autoscaling: Any, reader: Reader) -> list:
    return [
        group
        for page in reader.pages(autoscaling.describe_auto_scaling_groups, {"MaxRecords": GROUP_PAGE}, DESCRIBE_GROUPS)
        for group in dict_items(page, "AutoScalingGroups")
        if _text(group.get("AutoScalingGroupName"))
    ]


def read_configurations(autoscaling: Any, reader: Reader) -> list:
    return [
        item
        for page in reader.pages(
            autoscaling.describe_launch_configurations, {"MaxRecords": GROUP_PAGE}, DESCRIBE_CONFIGURATIONS
        )
        for item in dict_items(page, "LaunchConfigurations")
        if _text(item.get("LaunchConfigurationName"))
    ]


def read_fleets(ec2: Any, reader: Reader) -> list:
    """The region's EC2 Fleets (DescribeFleets lists no fleet of type instant unless asked for by id; they launched
    once, when created, and launch nothing more)."""
    return [
        fleet
        for page in reader.pages(ec2.describe_fleets, {"MaxResults": FLEET_PAGE}, DESCRIBE_FLEETS)
        for fleet in dict_items(page, "Fleets")
        if _text(fleet.get("FleetId"), 64)
    ]


def read_spot_fleet_requests(ec2: Any, reader: Reader) -> list:
    return [
        request
        for page in reader.pages(ec2.describe_spot_fleet_requests, {"MaxResults": FLEET_PAGE}, DESCRIBE_SPOT_FLEETS)
        for request in dict_items(page, "SpotFleetRequestConfigs")
        if _text(request.get("SpotFleetRequestId"), 64)
    ]


def read_images(ec2: Any, reader: Reader, image_ids: set, owned: bool) -> dict:
    """image id -> DescribeImages entry, for the ids given (by filter, so one unknown id does not fail the rest)
    and, with ``owned``, every image the account owns."""
    images: dict = {}
    ids = sorted(image_id for image_id in image_ids if image_id.startswith("ami-"))
    bounds = [(first, first + IMAGE_BATCH) for first in range(0, len(ids), IMAGE_BATCH)]
    batches = [{"Filters": [{"Name": "image-id", "Values": ids[first:last]}]} for first, last in bounds]
    if owned:
        batches.append({"Owners": ["self"], "MaxResults": 1000})
    for arguments in batches:
        for page in reader.pages(ec2.describe_images, arguments, DESCRIBE_IMAGES):
            for image in dict_items(page, "Images"):
                image_id = _text(image.get("ImageId"), 64)
                if image_id:
                    images[image_id] = image
    return images


def image_layer(image_id: Any, images: Mapping[str, Any]) -> Any:
    """The AMI's layer: IMAGE_V2, {} (no ImdsSupport), or Unread."""
    if not isinstance(image_id, str) or not image_id:
        return Unread("the launch path names no AMI (it is given at launch)")
    if image_id.startswith("resolve:ssm:"):
        return Unread(f"the AMI is resolved from SSM at launch ({image_id[:120]})")
    image = images.get(image_id)
    if image is None:
        return Unread(f"AMI {image_id[:64]} was not found (deregistered, or not shared with this account)")
    support = image.get("ImdsSupport")
    if support is None:
        return {}
    if support == "v2.0":
        return dict(IMAGE_V2)
    return Unread(f"AMI {image_id} has ImdsSupport {str(support)[:20]!r}, a value this collection does not know")


@dataclass(frozen=True)
class Account:
    """The account-defaults layer a launch is judged with, and whether http_tokens_enforced is on."""

    layer: dict
    enforced: bool = False


def account_context(defaults: AccountDefaults) -> Account:
    return Account(
        {name: defaults.values.get(name) for name in FIELDS},
        defaults.values.get("http_tokens_enforced") == "enabled",
    )


# ----------------------------------------------------------------------------- judging


def judge(launch: Mapping[str, Any], account: Account, image: Any) -> dict:
    effective, sources = resolve(
        {"launch_parameters": launch, "account_defaults": account.layer, "image": image, "aws_default": AWS_DEFAULTS}
    )
    name, reason = path_verdict(effective, sources, account.enforced)
    undocumented = [value.cause for value in launch.values() if isinstance(value, Unread)]
    # Any value the audit does not know makes the path unknown, also one that does not decide http_tokens (a hop
    # limit of -7 with tokens required is not "enforced"); a launch EC2 refuses now is still said first.
    if undocumented and name != "launch_refused":
        name, reason = "unknown", VERDICTS["unknown"].reason.format(cause="; ".join(undocumented))
    return {
        "effective": effective,
        "sources": sources,
        "verdict": name,
        "verdict_reason": reason,
        "blocks_enforcement": blocks_enforcement(effective),
    }


def judge_version(
    template: Template | None, number: int | None, account: Account, images: Mapping, image_id: Any = None
) -> dict:
    """A template version as launched; ``image_id`` is an override's AMI (an EC2 Fleet's), replacing the version's."""
    if template is None:
        return {**judge({}, account, Unread("the launch template does not exist")), "metadata_options": None}
    if number is None or number not in template.versions:
        cause = template.missing.get(number) or f"version {number} of {template.template_id} could not be read"
        return {**judge({}, account, Unread(cause)), "metadata_options": None, "image_id": _text(image_id)}
    data = template.versions[number]
    image_id = image_id or data.get("ImageId")
    return {
        **judge(launch_options(data.get("MetadataOptions")), account, image_layer(image_id, images)),
        "metadata_options": options_as_given(data.get("MetadataOptions")),
        "image_id": _text(image_id),
    }


def version_number(template: Template | None, requested: Any) -> int | None:
    """The number a group's Version means: $Default, $Latest, a number, or unset ($Default)."""
    if template is None:
        return None
    if requested in (None, "", DEFAULT_VERSION):
        return template.default_version
    if requested == LATEST_VERSION:
        return template.latest_version
    if isinstance(requested, str) and requested.isascii() and requested.isdigit():  # "²" is a digit to isdigit()
        return int(requested)
    return None


def template_specifications(group: Mapping[str, Any]) -> list:
    """(kind, specification) of every launch template a group launches from."""
    specs = []
    if isinstance(group.get("LaunchTemplate"), Mapping):
        specs.append(("launch_template", group["LaunchTemplate"]))
    policy = group.get("MixedInstancesPolicy")
    template = policy.get("LaunchTemplate") if isinstance(policy, Mapping) else None
    if isinstance(template, Mapping):
        if isinstance(template.get("LaunchTemplateSpecification"), Mapping):
            specs.append(("mixed_instances_policy", template["LaunchTemplateSpecification"]))
        for override in dict_items(template, "Overrides"):
            if isinstance(override.get("LaunchTemplateSpecification"), Mapping):
                specs.append(("mixed_instances_override", override["LaunchTemplateSpecification"]))
    return specs


def fleet_template_paths(configs: list, image_overrides: bool) -> list:
    """(kind, template specification, AMI override or None) of every launch a fleet's LaunchTemplateConfigs make.

    An EC2 Fleet override may name another AMI (FleetLaunchTemplateOverrides.ImageId), so each distinct AMI of the
    overrides is a launch path of its own; a Spot Fleet override cannot (LaunchTemplateOverrides has no ImageId).
    """
    paths = []
    for config in configs:
        spec = config.get("LaunchTemplateSpecification")
        if not isinstance(spec, Mapping):
            continue
        overrides = dict_items(config, "Overrides")
        images = [override.get("ImageId") if image_overrides else None for override in overrides] or [None]
        for image_id in dict.fromkeys(_text(image) for image in images):
            paths.append(("launch_template_override" if image_id else "launch_template", spec, image_id))
    return paths


def fleet_paths(kind: str, fleet: Mapping[str, Any]) -> list:
    """(kind, template specification or None, AMI or None) of every launch path of an EC2 Fleet or Spot Fleet."""
    if kind == "ec2_fleets":
        return fleet_template_paths(dict_items(fleet, "LaunchTemplateConfigs"), image_overrides=True)
    config = fleet.get("SpotFleetRequestConfig")
    config = config if isinstance(config, Mapping) else {}
    paths = fleet_template_paths(dict_items(config, "LaunchTemplateConfigs"), image_overrides=False)
    for spec in dict_items(config, "LaunchSpecifications"):
        paths.append(("launch_specification", None, spec.get("ImageId")))
    return paths


def find_template(templates: Mapping[str, Template], spec: Mapping[str, Any]) -> Template | None:
    template_id, name = spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")
    if isinstance(template_id, str) and template_id in templates:
        return templates[template_id]
    for template in templates.values():
        if name and template.name == name:
            return template
    return None


# ----------------------------------------------------------------------------- fleets: do they launch?

# A fleet's state -> whether it still launches instances (FleetStateCode, BatchState). A state not here (one AWS
# adds later, or garbage) is taken as launching: fail closed.
FLEET_STATE_LAUNCHES = {
    "submitted": True,
    "active": True,
    "modifying": True,
    "deleted": False,
    "deleted_running": False,
    "deleted_terminating": False,
    "cancelled": False,
    "cancelled_running": False,
    "cancelled_terminating": False,
    "failed": False,
}
# Request types (FleetType): maintain replenishes; request places a one-time request, and once that is fulfilled
# it launches nothing more (no replenishing after interruptions, no capacity change: ModifyFleet and
# ModifySpotFleetRequest take only fleets of type maintain); instant launched synchronously at CreateFleet.
MAINTAIN, REQUEST, INSTANT = "maintain", "request", "instant"


@dataclass(frozen=True)
class FleetFacts:
    """What decides whether a fleet launches again, from its Describe entry."""

    fleet_id: str | None
    state: Any
    fleet_type: Any  # None: the API default, maintain
    fulfilled: float | None
    target: float | None
    activity: Any

    @classmethod
    def of(cls, kind: str, fleet: Mapping[str, Any]) -> FleetFacts:
        if kind == "ec2_fleets":
            target = fleet.get("TargetCapacitySpecification")
            target = target.get("TotalTargetCapacity") if isinstance(target, Mapping) else None
            return cls(
                _text(fleet.get("FleetId"), 64), fleet.get("FleetState"), fleet.get("Type"),
                _capacity(fleet.get("FulfilledCapacity")), _capacity(target), fleet.get("ActivityStatus"),
            )  # fmt: skip
        config = fleet.get("SpotFleetRequestConfig")
        config = config if isinstance(config, Mapping) else {}
        return cls(
            _text(fleet.get("SpotFleetRequestId"), 64), fleet.get("SpotFleetRequestState"), config.get("Type"),
            _capacity(config.get("FulfilledCapacity")), _capacity(config.get("TargetCapacity")),
            fleet.get("ActivityStatus"),
        )  # fmt: skip

    def launches(self) -> tuple[bool, str]:
        """(whether it may launch new instances, why), failing closed."""
        state, fleet_type = _plain(self.state), _plain(self.fleet_type)
        if isinstance(self.state, str) and FLEET_STATE_LAUNCHES.get(self.state, True) is False:
            return False, f"state {state}: it launches no new instances"
        if self.fleet_type == INSTANT:
            return False, "type instant: it launched once, when it was created, and launches nothing more"
        if self.fleet_type == REQUEST:
            done = self.activity == "fulfilled" or (
                self.fulfilled is not None and self.target is not None and self.fulfilled >= self.target
            )
            if done:
                return False, (
                    f"type request, fulfilled ({_plain(self.fulfilled)} of {_plain(self.target)}): a one-time request "
                    "does not replenish and launches nothing more"
                )
            return True, (
                f"type request, not fulfilled ({_plain(self.fulfilled)} of {_plain(self.target)}, activity "
                f"{_plain(self.activity)}): it may still launch"
            )
        if self.fleet_type in (MAINTAIN, None):
            return True, f"type maintain, state {state}: it launches instances to keep its target capacity"
        return True, f"type {fleet_type} is not one this collection knows: taken as launching"


def _name_tag(tags: Any) -> str | None:
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, Mapping) and tag.get("Key") == "Name":
            return _text(tag.get("Value"), 256)
    return None


def summarize(items: list) -> dict:
    summary = dict.fromkeys(PATH_VERDICT_NAMES, 0)
    for item in items:
        summary[item["verdict"]] = summary.get(item["verdict"], 0) + 1
    return summary


def not_audited(defaults: AccountDefaults) -> dict:
    """What the audit cannot see, stated once, and what covers it in this region now."""
    if defaults.values.get("http_tokens_enforced") == "enabled":
        coverage = "enforcement"
    elif defaults.values.get("http_tokens") == "required":
        coverage = "account_default"
    else:
        coverage = "none"
    return {"launch_paths": list(NOT_AUDITED), "covered_by": NOT_AUDITED_COVER, "coverage": coverage}


@dataclass
class Region:
    """What the audit read of one region: templates (with the versions used), groups, configurations, fleets, AMIs."""

    templates: dict
    groups: list
    configurations: list
    fleets: dict  # kind (ec2_fleets, spot_fleet_requests) -> entries
    images: dict = field(default_factory=dict)


def read_region(ec2: Any, autoscaling: Any, reader: Reader, want: set) -> Region:
    """Every listing ``want`` needs, then the template versions and AMIs the launch paths use."""
    need_templates = bool(want & {"launch_templates", "auto_scaling_groups", "ec2_fleets", "spot_fleet_requests"})
    # A launch configuration is judged by whether a group uses it: one that none uses launches nothing.
    need_groups = bool(want & {"auto_scaling_groups", "launch_templates", "launch_configurations"})
    need_configurations = bool(want & {"launch_configurations", "auto_scaling_groups"})
    region = Region(
        read_templates(ec2, reader) if need_templates else {},
        read_groups(autoscaling, reader) if need_groups else [],
        read_configurations(autoscaling, reader) if need_configurations else [],
        {
            "ec2_fleets": read_fleets(ec2, reader) if want & {"ec2_fleets", "launch_templates"} else [],
            "spot_fleet_requests": (
                read_spot_fleet_requests(ec2, reader) if want & {"spot_fleet_requests", "launch_templates"} else []
            ),
        },
    )
    templates, fleets = region.templates, region.fleets
    # Which versions to read: each template's default and latest (when templates are audited), and every version a
    # group or fleet launches from.
    own = "launch_templates" in want
    used: dict = {tid: {t.default_version, t.latest_version} if own else set() for tid, t in templates.items()}
    specs = [spec for group in region.groups for _kind, spec in template_specifications(group)]
    specs += [spec for kind, items in fleets.items() for f in items for _k, spec, _i in fleet_paths(kind, f) if spec]
    for spec in specs:
        template = find_template(templates, spec)
        if template is not None:
            used[template.template_id].add(version_number(template, spec.get("Version")))
    for template_id, numbers in used.items():
        read_versions(ec2, reader, templates[template_id], numbers)

    image_ids = {data.get("ImageId") for t in templates.values() for data in t.versions.values()}
    image_ids |= {item.get("ImageId") for item in region.configurations}
    image_ids |= {image for kind, items in fleets.items() for f in items for _k, _s, image in fleet_paths(kind, f)}
    region.images = read_images(ec2, reader, {i for i in image_ids if isinstance(i, str)}, owned="images" in want)
    return region


def audit_launch_paths(
    ec2: Any,
    autoscaling: Any,
    budget: Any,
    region: str,
    include: list,
    defaults: AccountDefaults | None = None,
) -> dict:
    """The launch paths of ``include`` (and what they need), each with its verdict; result keys as the include
    names, ``launch_path_summary``, ``not_audited`` and ``api_calls``. ``defaults`` (read when not given) are the
    account defaults the paths are judged with."""
    reader = Reader(budget)
    want = set(include)
    if defaults is None:
        defaults = read_defaults(ec2, budget, region)
        reader.calls["ec2:GetInstanceMetadataDefaults"] += 1
    account = account_context(defaults)
    found = read_region(ec2, autoscaling, reader, want)
    templates, images = found.templates, found.images

    result: dict = {}
    if "launch_templates" in want:
        users = template_users(found.groups, found.fleets, templates)
        result["launch_templates"] = [template_result(t, users, account, images) for t in templates.values()]
    if "auto_scaling_groups" in want:
        by_name = {_text(item.get("LaunchConfigurationName")): item for item in found.configurations}
        result["auto_scaling_groups"] = [group_result(g, templates, by_name, account, images) for g in found.groups]
    if "launch_configurations" in want:
        users = configuration_users(found.groups)
        result["launch_configurations"] = [
            standalone_configuration(c, users, account, images) for c in found.configurations
        ]
    for kind, items in found.fleets.items():
        if kind in want:
            result[kind] = [fleet_result(kind, fleet, templates, account, images) for fleet in items]
    if "images" in want:
        result["images"] = [image_result(image_id, image) for image_id, image in images.items()]
    if "account_defaults" in want:
        result["account_defaults"] = defaults_result(defaults)
    result["launch_path_summary"] = {kind: summarize(result[kind]) for kind in LAUNCH_PATH_KINDS if kind in result}
    result["not_audited"] = not_audited(defaults)
    result["api_calls"] = dict(reader.calls)
    return result


def template_users(groups: list, fleets: Mapping[str, list], templates: Mapping) -> dict:
    """template id -> [{kind, name, version}]: who launches from each template and the version each names as it
    names it ($Default, $Latest, a number): what launch_template_metadata_options (versions=in_use) keeps on its
    lineage. Groups (and their overrides) and the fleets that still launch."""
    users: dict = {}

    def add(spec: Mapping, kind: str, name: str) -> None:
        template = find_template(templates, spec)
        if template is None:
            return
        version = spec.get("Version") if isinstance(spec.get("Version"), str) else DEFAULT_VERSION
        user = {"kind": kind, "name": name, "version": version}
        if user not in users.setdefault(template.template_id, []):
            users[template.template_id].append(user)

    for group in groups:
        for _kind, spec in template_specifications(group):
            add(spec, "auto_scaling_group", _text(group.get("AutoScalingGroupName")))
    for kind, items in fleets.items():
        for fleet in items:
            facts = FleetFacts.of(kind, fleet)
            if facts.launches()[0]:
                for _path_kind, spec, _image in fleet_paths(kind, fleet):
                    if spec is not None:
                        add(spec, kind[:-1], _text(facts.fleet_id))
    return users


def template_result(template: Template, users: Mapping, account: Account, images: Mapping) -> dict:
    mine = users.get(template.template_id, [])
    roles: dict = {}
    roles.setdefault(template.default_version, []).append("default")
    roles.setdefault(template.latest_version, []).append("latest")
    for user in mine:
        number = version_number(template, user["version"])
        roles.setdefault(number, []).append(f"{user['kind']}:{user['name']}")
    versions = []
    for number, role in roles.items():
        versions.append(
            {"version": number, "roles": sorted(set(role)), **judge_version(template, number, account, images)}
        )
    verdict = worst([item["verdict"] for item in versions])
    reasons = [
        f"version {item['version']} ({', '.join(item['roles'])}): {item['verdict_reason']}"
        for item in versions
        if item["verdict"] == verdict
    ]
    return {
        "launch_template_id": template.template_id,
        "launch_template_name": template.name,
        "default_version": template.default_version,
        "latest_version": template.latest_version,
        "versions": versions,
        "verdict": verdict,
        "verdict_reason": "; ".join(reasons),
        "blocks_enforcement": any(item["blocks_enforcement"] for item in versions),
        "users": mine,
    }


def template_path(kind: str, spec: Mapping, templates: Mapping, account: Account, images: Mapping, image: Any) -> dict:
    """One launch from a template specification (a group's, an override's, a fleet's), judged."""
    template = find_template(templates, spec)
    requested = spec.get("Version") if isinstance(spec.get("Version"), str) else DEFAULT_VERSION
    number = version_number(template, requested)
    judged = judge_version(template, number, account, images, image)
    if template is None:
        missing = spec.get("LaunchTemplateId") or spec.get("LaunchTemplateName")
        judged = {
            **judge({}, account, Unread(f"launch template {str(missing)[:128]} does not exist")),
            "metadata_options": None,
        }
    return {
        "kind": kind,
        "launch_template_id": template.template_id if template else _text(spec.get("LaunchTemplateId")),
        "launch_template_name": template.name if template else _text(spec.get("LaunchTemplateName")),
        "version_requested": _plain(requested),
        "version": number,
        **judged,
    }


def combined(paths: list) -> dict:
    """The verdict of something that launches from several paths: the worst, with the reasons of those that have it."""
    verdict = worst([path["verdict"] for path in paths])
    return {
        "verdict": verdict,
        "verdict_reason": "; ".join(f"{p['kind']}: {p['verdict_reason']}" for p in paths if p["verdict"] == verdict),
        "blocks_enforcement": any(path["blocks_enforcement"] for path in paths),
    }


def group_result(
    group: Mapping, templates: Mapping, configurations: Mapping, account: Account, images: Mapping
) -> dict:
    paths = [
        template_path(kind, spec, templates, account, images, None) for kind, spec in template_specifications(group)
    ]
    name = _text(group.get("LaunchConfigurationName"))
    if name:
        configuration = configurations.get(name)
        judged = (
            configuration_result(configuration, account, images)
            if configuration
            else judge({}, account, Unread(f"launch configuration {name} does not exist"))
        )
        paths.append({"kind": "launch_configuration", "launch_configuration_name": name, **judged})
    if not paths:
        paths.append(
            {"kind": "none", **judge({}, account, Unread("the group names no launch template or configuration"))}
        )
    return {"auto_scaling_group_name": group["AutoScalingGroupName"], "launch_paths": paths, **combined(paths)}


def fleet_result(kind: str, fleet: Mapping, templates: Mapping, account: Account, images: Mapping) -> dict:
    """An EC2 Fleet or Spot Fleet request: each launch path judged; the fleet blocks enforcement only while it may
    still launch (FleetFacts.launches)."""
    facts = FleetFacts.of(kind, fleet)
    paths = []
    for path_kind, spec, image_id in fleet_paths(kind, fleet):
        if spec is not None:
            paths.append(template_path(path_kind, spec, templates, account, images, image_id))
        else:
            # SpotFleetLaunchSpecification has no MetadataOptions: the account defaults, then the AMI, decide.
            paths.append(
                {
                    "kind": path_kind,
                    "image_id": _text(image_id),
                    "metadata_options": None,
                    **judge({}, account, image_layer(image_id, images)),
                }
            )
    if not paths:
        paths.append({"kind": "none", **judge({}, account, Unread("the fleet names no launch template or AMI"))})
    launches, why = facts.launches()
    verdict = combined(paths)
    if not launches:
        verdict = {
            "verdict": "not_launching",
            "verdict_reason": VERDICTS["not_launching"].reason.format(cause=why),
            "blocks_enforcement": False,
        }
    return {
        PATH_IDS[kind]: facts.fleet_id,
        "name": _name_tag(fleet.get("Tags")),
        "type": _plain(facts.fleet_type) or MAINTAIN,
        "state": _plain(facts.state),
        "fulfilled_capacity": facts.fulfilled,
        "target_capacity": facts.target,
        "launches_new_instances": launches,
        "launches_reason": why,
        "launch_paths": paths,
        **verdict,
    }


def configuration_result(configuration: Mapping, account: Account, images: Mapping) -> dict:
    block = configuration.get("MetadataOptions")
    image_id = configuration.get("ImageId")
    return {
        "launch_configuration_name": _text(configuration.get("LaunchConfigurationName")),
        "image_id": _text(image_id),
        "metadata_options": options_as_given(block),
        **judge(launch_options(block), account, image_layer(image_id, images)),
    }


def configuration_users(groups: list) -> dict:
    """launch configuration name -> the names of the groups that launch from it."""
    users: dict = {}
    for group in groups:
        name = _text(group.get("LaunchConfigurationName"))
        if name:
            users.setdefault(name, []).append(_text(group.get("AutoScalingGroupName")))
    return users


def standalone_configuration(configuration: Mapping, users: Mapping, account: Account, images: Mapping) -> dict:
    """A launch configuration in the region's list: judged as launched, but one that no group uses launches nothing
    (a configuration launches only through a group), so it does not stand in the way of enforcement."""
    judged = configuration_result(configuration, account, images)
    used_by = users.get(judged["launch_configuration_name"], [])
    judged["used_by"] = used_by
    judged["launches_new_instances"] = bool(used_by)
    if not used_by:
        judged["verdict_if_used"] = judged["verdict"]
        cause = f"no Auto Scaling group uses it: it launches nothing (launched, it would be {judged['verdict']})"
        judged.update(
            verdict="not_launching",
            verdict_reason=VERDICTS["not_launching"].reason.format(cause=cause),
            blocks_enforcement=False,
        )
    return judged


def image_result(image_id: str, image: Mapping) -> dict:
    support = image.get("ImdsSupport")
    enforced = support == "v2.0"
    return {
        "image_id": image_id,
        "name": _text(image.get("Name"), 256),
        "owner_id": _text(image.get("OwnerId"), 32),
        "imds_support": _text(support, 20),
        "verdict": "enforced" if enforced else "allows_imdsv1",
        "verdict_reason": (
            "ImdsSupport is v2.0: instances launched from it require tokens unless the launch or the account "
            "defaults say otherwise"
            if enforced
            else "no ImdsSupport: instances launched from it allow IMDSv1 unless the launch or the account defaults "
            "require tokens"
        ),
    }


def defaults_result(defaults: AccountDefaults) -> dict:
    tokens = defaults.values.get("http_tokens")
    verdict = {"required": "enforced", "optional": "allows_imdsv1"}.get(tokens, "no_preference")
    return {**defaults.as_dict(), "verdict": verdict}


# ----------------------------------------------------------------------------- enforcement readiness


def readiness_from(instances: list, launch_paths: Mapping[str, Any]) -> dict:
    """Is the region ready for HttpTokensEnforced? Fail closed: every instance must require tokens with a verdict
    that is neither unknown nor uses_imdsv1, and every launch path that still launches must resolve to tokens
    required."""
    blockers = []
    for instance in instances:
        tokens = (instance.get("metadata_options") or {}).get("http_tokens")
        if instance.get("verdict") in ("unknown", "uses_imdsv1") or tokens != "required":
            blockers.append(
                {
                    "kind": "instance",
                    "id": instance.get("instance_id"),
                    "name": instance.get("name"),
                    "verdict": instance.get("verdict"),
                    "why": f"verdict {instance.get('verdict')}, http_tokens {tokens}",
                }
            )
    for kind, key in PATH_IDS.items():
        for item in launch_paths.get(kind) or []:
            if item.get("blocks_enforcement", True):
                blockers.append(
                    {
                        "kind": kind[:-1],
                        "id": item.get(key),
                        "name": item.get("name") or item.get("launch_template_name"),
                        "verdict": item.get("verdict"),
                        "why": f"verdict {item.get('verdict')}",
                    }
                )
    return {"ready": not blockers, "blockers": blockers}


def enforcement_readiness(
    ec2: Any,
    cloudwatch: Any,
    autoscaling: Any,
    budget: Any,
    region: str,
    window_days: int,
    defaults: AccountDefaults | None = None,
) -> dict:
    """Audit the region's instances (IMDSv1 use from CloudWatch) and launch paths, and judge readiness. The launch
    paths are judged with ``defaults`` (the account defaults as the task leaves them; read when not given)."""
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import audit

    instances = audit(ec2, cloudwatch, budget, window_days=window_days, region=region)
    paths = audit_launch_paths(ec2, autoscaling, budget, region, list(LAUNCH_PATH_KINDS), defaults)
    return {
        **readiness_from(instances["instances"], paths),
        "instance_summary": instances["summary"],
        "launch_path_summary": paths["launch_path_summary"],
        "not_audited": paths["not_audited"],
    }
