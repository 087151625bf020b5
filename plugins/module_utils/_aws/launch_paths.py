# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""What an instance launched next from each launch path of a region would get: launch templates (default, latest
and the versions groups use), Auto Scaling groups (one template, mixed-instances overrides, or a launch
configuration), launch configurations, and the AMIs and account defaults below them.

Each of http_tokens, http_put_response_hop_limit and http_endpoint is resolved on its own, in AWS's order of
precedence (PRECEDENCE). Source: "Order of precedence for instance metadata options", Amazon EC2 User Guide,
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html#instance-metadata-options-order-of-precedence
and the HttpTokens default of ModifyInstanceMetadataOptions / RunInstances ("If ImdsSupport of the AMI is v2.0 and
the account level default is no-preference, the default is required; if ImdsSupport is v2.0 but the account level
default is set, the default is the account's"): the launch parameters (template or launch configuration) first,
then the account's regional defaults, then the AMI's ImdsSupport v2.0 (tokens required, hop limit 2), then EC2's
own defaults (optional, 1, enabled).

Fail closed: a layer that could not be read (an AMI that is not found, an image resolved from SSM at launch, a
template or version that does not exist) makes the value unknown, and unknown is never "enforced".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import AccountDefaults, read_defaults
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError

DESCRIBE_TEMPLATES = "ec2:DescribeLaunchTemplates"
DESCRIBE_VERSIONS = "ec2:DescribeLaunchTemplateVersions"
DESCRIBE_GROUPS = "autoscaling:DescribeAutoScalingGroups"
DESCRIBE_CONFIGURATIONS = "autoscaling:DescribeLaunchConfigurations"
DESCRIBE_IMAGES = "ec2:DescribeImages"

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
    "images",
    "account_defaults",
)
LAUNCH_PATH_KINDS = ("launch_templates", "auto_scaling_groups", "launch_configurations")

TEMPLATE_PAGE = 200
GROUP_PAGE = 100
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


# (verdict, applies to the effective options, reason). The first that applies; docs and tests read this table.
PATH_VERDICTS: tuple = (
    (
        "unknown",
        lambda effective: effective["http_tokens"] is None or effective["http_endpoint"] is None,
        "what an instance launched from it would get is unknown: {cause}",
    ),
    (
        "endpoint_disabled",
        lambda effective: effective["http_endpoint"] == "disabled",
        "instances launched from it have the metadata endpoint turned off (http_endpoint from {http_endpoint})",
    ),
    (
        "allows_imdsv1",
        lambda effective: effective["http_tokens"] == "optional",
        "instances launched from it allow IMDSv1 (http_tokens=optional from {http_tokens}): require tokens here",
    ),
    (
        "enforced",
        lambda effective: effective["http_tokens"] == "required",
        "instances launched from it require IMDSv2 (http_tokens=required from {http_tokens})",
    ),
)
PATH_VERDICT_NAMES = tuple(row[0] for row in PATH_VERDICTS)
# Worst first: what a path with several versions (a group with overrides) is judged by.
SEVERITY = ("unknown", "allows_imdsv1", "endpoint_disabled", "enforced")


def path_verdict(effective: Mapping[str, Any], sources: Mapping[str, str]) -> tuple[str, str]:
    prefix = len("unknown: ")
    causes = [source[prefix:] for source in sources.values() if source.startswith("unknown")]
    found = {**sources, "cause": "; ".join(dict.fromkeys(causes)) or "unknown"}
    for name, applies, reason in PATH_VERDICTS:
        if applies(effective):
            return name, reason.format(**found)
    return "unknown", f"what an instance launched from it would get is unknown: {found['cause']}"


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


VALID_VALUES = {
    "http_tokens": ("optional", "required"),
    "http_endpoint": ("enabled", "disabled"),
}


def launch_options(block: Any) -> dict:
    """A MetadataOptions block of a template version or launch configuration: the fields it sets, None where it
    sets nothing, and an Unread where it holds a value the API does not document (never taken as unset)."""
    block = block if isinstance(block, Mapping) else {}
    options: dict = {}
    for name, api_name in FIELDS.items():
        value = block.get(api_name)
        valid = _number(value) is not None if name == "http_put_response_hop_limit" else value in VALID_VALUES[name]
        if value is None or valid:
            options[name] = value
        else:
            options[name] = Unread(f"{api_name} is {str(value)[:40]!r}, not a value the API documents")
    return options


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
        return Unread(f"AMI {image_id} was not found (deregistered, or not shared with this account)")
    support = image.get("ImdsSupport")
    if support is None:
        return {}
    if support == "v2.0":
        return dict(IMAGE_V2)
    return Unread(f"AMI {image_id} has ImdsSupport {str(support)[:20]!r}, a value this collection does not know")


def account_layer(defaults: AccountDefaults) -> dict:
    return {name: defaults.values.get(name) for name in FIELDS}


# ----------------------------------------------------------------------------- judging


def judge(launch: Mapping[str, Any], account: Any, image: Any) -> dict:
    effective, sources = resolve(
        {"launch_parameters": launch, "account_defaults": account, "image": image, "aws_default": AWS_DEFAULTS}
    )
    name, reason = path_verdict(effective, sources)
    return {
        "effective": effective,
        "sources": sources,
        "verdict": name,
        "verdict_reason": reason,
        "blocks_enforcement": blocks_enforcement(effective),
    }


def judge_version(template: Template | None, number: int | None, account: Any, images: Mapping) -> dict:
    if template is None:
        return judge({}, account, Unread("the launch template does not exist"))
    if number is None or number not in template.versions:
        cause = template.missing.get(number) or f"version {number} of {template.template_id} could not be read"
        return {**judge({}, account, Unread(cause)), "metadata_options": None, "image_id": None}
    data = template.versions[number]
    launch = launch_options(data.get("MetadataOptions"))
    image_id = data.get("ImageId")
    return {
        **judge(launch, account, image_layer(image_id, images)),
        "metadata_options": launch,
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
    if isinstance(requested, str) and requested.isdigit():
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


def find_template(templates: Mapping[str, Template], spec: Mapping[str, Any]) -> Template | None:
    template_id, name = spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")
    if isinstance(template_id, str) and template_id in templates:
        return templates[template_id]
    for template in templates.values():
        if name and template.name == name:
            return template
    return None


def summarize(items: list) -> dict:
    summary = dict.fromkeys(PATH_VERDICT_NAMES, 0)
    for item in items:
        summary[item["verdict"]] = summary.get(item["verdict"], 0) + 1
    return summary


def audit_launch_paths(
    ec2: Any,
    autoscaling: Any,
    budget: Any,
    region: str,
    include: list,
    defaults: AccountDefaults | None = None,
) -> dict:
    """The launch paths of ``include`` (and what they need), each with its verdict; result keys as the include
    names, ``launch_path_summary`` and ``api_calls``."""
    reader = Reader(budget)
    want = set(include)
    need_templates = bool(want & {"launch_templates", "auto_scaling_groups"})
    need_groups = bool(want & {"auto_scaling_groups", "launch_templates"})
    need_configurations = bool(want & {"launch_configurations", "auto_scaling_groups"})
    if defaults is None:
        defaults = read_defaults(ec2, budget, region)
        reader.calls["ec2:GetInstanceMetadataDefaults"] += 1
    account = account_layer(defaults)

    templates = read_templates(ec2, reader) if need_templates else {}
    groups = read_groups(autoscaling, reader) if need_groups else []
    configurations = read_configurations(autoscaling, reader) if need_configurations else []

    # Which versions to read: each template's default and latest, and every version a group launches from.
    used: dict = {template_id: {t.default_version, t.latest_version} for template_id, t in templates.items()}
    for group in groups:
        for _kind, spec in template_specifications(group):
            template = find_template(templates, spec)
            if template is not None:
                used[template.template_id].add(version_number(template, spec.get("Version")))
    for template_id, numbers in used.items():
        read_versions(ec2, reader, templates[template_id], numbers)

    image_ids = {data.get("ImageId") for t in templates.values() for data in t.versions.values()}
    image_ids |= {item.get("ImageId") for item in configurations}
    images = read_images(ec2, reader, {i for i in image_ids if isinstance(i, str)}, owned="images" in want)

    result: dict = {}
    if "launch_templates" in want:
        result["launch_templates"] = [
            template_result(t, groups, templates, account, images) for t in templates.values()
        ]
    if "auto_scaling_groups" in want:
        by_name = {_text(item.get("LaunchConfigurationName")): item for item in configurations}
        result["auto_scaling_groups"] = [group_result(g, templates, by_name, account, images) for g in groups]
    if "launch_configurations" in want:
        result["launch_configurations"] = [configuration_result(c, account, images) for c in configurations]
    if "images" in want:
        result["images"] = [image_result(image_id, image) for image_id, image in images.items()]
    if "account_defaults" in want:
        result["account_defaults"] = defaults_result(defaults)
    result["launch_path_summary"] = {kind: summarize(result[kind]) for kind in LAUNCH_PATH_KINDS if kind in result}
    result["api_calls"] = dict(reader.calls)
    return result


def template_users(template: Template, groups: list, templates: Mapping) -> list:
    """Who launches from ``template`` and the version each names as it names it ($Default, $Latest, a number): what
    launch_template_metadata_options (versions=in_use) keeps on its lineage."""
    users = []
    for group in groups:
        for _kind, spec in template_specifications(group):
            if find_template(templates, spec) is template:
                version = spec.get("Version") if isinstance(spec.get("Version"), str) else DEFAULT_VERSION
                user = {
                    "kind": "auto_scaling_group",
                    "name": _text(group.get("AutoScalingGroupName")),
                    "version": version,
                }
                if user not in users:
                    users.append(user)
    return users


def template_result(template: Template, groups: list, templates: Mapping, account: Any, images: Mapping) -> dict:
    roles: dict = {}
    roles.setdefault(template.default_version, []).append("default")
    roles.setdefault(template.latest_version, []).append("latest")
    for group in groups:
        for _kind, spec in template_specifications(group):
            if find_template(templates, spec) is template:
                number = version_number(template, spec.get("Version"))
                roles.setdefault(number, []).append(f"auto_scaling_group:{group['AutoScalingGroupName']}")
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
        "users": template_users(template, groups, templates),
    }


def group_result(group: Mapping, templates: Mapping, configurations: Mapping, account: Any, images: Mapping) -> dict:
    paths = []
    for kind, spec in template_specifications(group):
        template = find_template(templates, spec)
        requested = spec.get("Version") if isinstance(spec.get("Version"), str) else DEFAULT_VERSION
        number = version_number(template, requested)
        judged = judge_version(template, number, account, images)
        if template is None:
            missing = spec.get("LaunchTemplateId") or spec.get("LaunchTemplateName")
            judged = judge({}, account, Unread(f"launch template {str(missing)[:128]} does not exist"))
        paths.append(
            {
                "kind": kind,
                "launch_template_id": template.template_id if template else _text(spec.get("LaunchTemplateId")),
                "launch_template_name": template.name if template else _text(spec.get("LaunchTemplateName")),
                "version_requested": requested,
                "version": number,
                **judged,
            }
        )
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
    verdict = worst([path["verdict"] for path in paths])
    return {
        "auto_scaling_group_name": group["AutoScalingGroupName"],
        "launch_paths": paths,
        "verdict": verdict,
        "verdict_reason": "; ".join(f"{p['kind']}: {p['verdict_reason']}" for p in paths if p["verdict"] == verdict),
        "blocks_enforcement": any(path["blocks_enforcement"] for path in paths),
    }


def configuration_result(configuration: Mapping, account: Any, images: Mapping) -> dict:
    launch = launch_options(configuration.get("MetadataOptions"))
    image_id = configuration.get("ImageId")
    return {
        "launch_configuration_name": configuration.get("LaunchConfigurationName"),
        "image_id": _text(image_id),
        "metadata_options": launch,
        **judge(launch, account, image_layer(image_id, images)),
    }


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
    that is neither unknown nor uses_imdsv1, and every launch path must resolve to tokens required."""
    blockers = []
    for instance in instances:
        tokens = (instance.get("metadata_options") or {}).get("http_tokens")
        if instance.get("verdict") in ("unknown", "uses_imdsv1") or tokens != "required":
            blockers.append(
                {
                    "kind": "instance",
                    "id": instance.get("instance_id"),
                    "why": f"verdict {instance.get('verdict')}, http_tokens {tokens}",
                }
            )
    ids = {
        "launch_templates": "launch_template_id",
        "auto_scaling_groups": "auto_scaling_group_name",
        "launch_configurations": "launch_configuration_name",
    }
    for kind, key in ids.items():
        for item in launch_paths.get(kind) or []:
            if item.get("blocks_enforcement", True):
                blockers.append({"kind": kind[:-1], "id": item.get(key), "why": f"verdict {item.get('verdict')}"})
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
    """Audit the region's instances (IMDSv1 use from CloudWatch) and launch paths, and judge readiness."""
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import audit

    instances = audit(ec2, cloudwatch, budget, window_days=window_days, region=region)
    paths = audit_launch_paths(ec2, autoscaling, budget, region, list(LAUNCH_PATH_KINDS), defaults)
    return {
        **readiness_from(instances["instances"], paths),
        "instance_summary": instances["summary"],
        "launch_path_summary": paths["launch_path_summary"],
    }
