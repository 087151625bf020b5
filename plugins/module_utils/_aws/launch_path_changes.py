# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Fixing launch paths: ImdsSupport v2.0 on AMIs, and a launch template version with tokens required.

Each change is planned from what was read, decided on, then applied; a check that fails sends nothing. Where
several things change (several AMIs), a failure midway reports what was changed already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError, aws_error
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

DESCRIBE_IMAGES = "ec2:DescribeImages"
MODIFY_IMAGE = "ec2:ModifyImageAttribute"
DESCRIBE_TEMPLATES = "ec2:DescribeLaunchTemplates"
DESCRIBE_VERSIONS = "ec2:DescribeLaunchTemplateVersions"
CREATE_VERSION = "ec2:CreateLaunchTemplateVersion"
MODIFY_TEMPLATE = "ec2:ModifyLaunchTemplate"
IMDS_SUPPORT = "v2.0"
IMAGE_BATCH = 200

IMDS_SUPPORT_WARNING = (
    "ImdsSupport v2.0 cannot be unset: AWS has no call that removes it from an AMI (only a new AMI registered from "
    "the snapshot is without it), and every copy of the AMI inherits it. Instances launched from it require IMDSv2 "
    "unless the launch or the account defaults say otherwise: use it only for AMIs whose software uses IMDSv2"
)


class ImageNotFound(AwsError):
    reason = "image_not_found"


class LaunchTemplateNotFound(AwsError):
    reason = "launch_template_not_found"


TEMPLATE_NOT_FOUND_CODES = (
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateId.Malformed",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.VersionNotFound",
    "InvalidLaunchTemplateName.MalformedException",
)


# ----------------------------------------------------------------------------- AMI ImdsSupport


@dataclass
class ImagePlan:
    image_id: str
    before: str | None
    name: str | None = None

    @property
    def needs_change(self) -> bool:
        return self.before != IMDS_SUPPORT


def check_image_ids(image_ids: Any) -> list:
    if not image_ids:
        raise ImdsConfigError("image_ids is empty: give the AMI IDs to mark, like ami-0123456789abcdef0")
    result = []
    for image_id in image_ids:
        if not isinstance(image_id, str) or not image_id.startswith("ami-") or len(image_id) > 64:
            raise ImdsConfigError(f"image_ids: {image_id!r} is not an AMI ID (they look like ami-0123456789abcdef0)")
        if image_id not in result:
            result.append(image_id)
    return result


def plan_images(ec2: Any, budget: Any, image_ids: list, region: str) -> list:
    """Each AMI's current ImdsSupport; ImageNotFound (before any change) for an ID the region does not have."""
    found: dict = {}
    for first in range(0, len(image_ids), IMAGE_BATCH):
        last = first + IMAGE_BATCH
        arguments = {"Filters": [{"Name": "image-id", "Values": image_ids[first:last]}]}
        for page in budget.pages(ec2.describe_images, arguments, DESCRIBE_IMAGES):
            for image in dict_items(page, "Images"):
                if image.get("ImageId") in image_ids:
                    support = image.get("ImdsSupport")
                    if support is not None and not isinstance(support, str):
                        raise AwsBadResponse(f"{DESCRIBE_IMAGES} answered an ImdsSupport that is not text")
                    name = image.get("Name") if isinstance(image.get("Name"), str) else None
                    found[image["ImageId"]] = ImagePlan(image["ImageId"], support, name)
    missing = [image_id for image_id in image_ids if image_id not in found]
    if missing:
        raise ImageNotFound(
            f"AMI(s) {', '.join(missing)} not found in {region}: check image_ids and region (an AMI belongs to one "
            "region; copies in other regions have their own IDs). Nothing was changed"
        )
    return [found[image_id] for image_id in image_ids]


def apply_images(ec2: Any, budget: Any, plans: list) -> list:
    """Set ImdsSupport v2.0 where it is not; returns the IDs changed. A failure names what changed before it."""
    changed: list = []
    for plan in plans:
        if not plan.needs_change:
            continue
        budget.check(MODIFY_IMAGE)
        try:
            ec2.modify_image_attribute(ImageId=plan.image_id, ImdsSupport={"Value": IMDS_SUPPORT})
        except Exception as error:
            failure = aws_error(error, MODIFY_IMAGE)
            failure.result = {**failure.result, "changed": bool(changed), "images_changed": list(changed)}
            raise failure from None
        changed.append(plan.image_id)
    return changed


# ----------------------------------------------------------------------------- launch template version

# Option name -> member of LaunchTemplateInstanceMetadataOptions(Request).
TEMPLATE_OPTIONS = {
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_endpoint": "HttpEndpoint",
    "http_protocol_ipv6": "HttpProtocolIpv6",
    "instance_metadata_tags": "InstanceMetadataTags",
}


def template_options(block: Any) -> dict:
    block = block if isinstance(block, Mapping) else {}
    return {name: block.get(api_name) for name, api_name in TEMPLATE_OPTIONS.items()}


@dataclass
class TemplatePlan:
    template_id: str
    template_name: str | None
    default_version: int
    latest_version: int
    source_version: int
    current: dict
    desired: dict
    changes: dict
    reuse_version: int | None = None  # an existing version that already is the source with the desired options
    actions: list = field(default_factory=list)  # "create_version", "set_default"
    new_default: int | None = None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _template_error(error: Exception, action: str, template: str) -> AwsError:
    found = aws_error(error, action)
    if found.code in TEMPLATE_NOT_FOUND_CODES:
        return LaunchTemplateNotFound(
            f"Launch template {template} (or the version asked for) does not exist in this region ({found.code}): "
            "check launch_template_id / launch_template_name, source_version and region",
            code=found.code,
        )
    return found


def read_template(ec2: Any, budget: Any, template_id: str | None, template_name: str | None) -> Mapping:
    arguments = {"LaunchTemplateIds": [template_id]} if template_id else {"LaunchTemplateNames": [template_name]}
    label = template_id or template_name
    try:
        templates = [
            item
            for page in budget.pages(ec2.describe_launch_templates, arguments, DESCRIBE_TEMPLATES)
            for item in dict_items(page, "LaunchTemplates")
        ]
    except AwsError as error:
        raise _template_error(error, DESCRIBE_TEMPLATES, str(label)) from None
    matching = [
        t for t in templates if t.get("LaunchTemplateId") == template_id or t.get("LaunchTemplateName") == template_name
    ]
    if len(matching) != 1:
        raise LaunchTemplateNotFound(f"Launch template {label} does not exist in this region: check it and region")
    return matching[0]


def read_versions(ec2: Any, budget: Any, template_id: str, versions: list) -> dict:
    arguments = {"LaunchTemplateId": template_id, "Versions": versions}
    found: dict = {}
    try:
        for page in budget.pages(ec2.describe_launch_template_versions, arguments, DESCRIBE_VERSIONS):
            for item in dict_items(page, "LaunchTemplateVersions"):
                number = _number(item.get("VersionNumber"))
                data = item.get("LaunchTemplateData")
                if number is None or item.get("LaunchTemplateId") != template_id or not isinstance(data, Mapping):
                    raise AwsBadResponse(f"{DESCRIBE_VERSIONS} answered a version of another shape. Check endpoint_url")
                found[number] = data
    except AwsError as error:
        raise _template_error(error, DESCRIBE_VERSIONS, f"{template_id} version(s) {', '.join(versions)}") from None
    return found


def _without_options(data: Mapping) -> dict:
    return {key: value for key, value in data.items() if key != "MetadataOptions"}


def plan_template(
    ec2: Any,
    budget: Any,
    wanted: Mapping[str, Any],
    *,
    template_id: str | None = None,
    template_name: str | None = None,
    source_version: str = "$Default",
    set_default: bool = False,
) -> TemplatePlan:
    """What makes the template launch with ``wanted``: a new version from ``source_version`` with only the metadata
    options changed (or a version that already is exactly that), and optionally making it the default."""
    template = read_template(ec2, budget, template_id, template_name)
    template_id = template["LaunchTemplateId"]
    default, latest = _number(template.get("DefaultVersionNumber")), _number(template.get("LatestVersionNumber"))
    if default is None or latest is None:
        raise AwsBadResponse(f"{DESCRIBE_TEMPLATES} answered {template_id} without its version numbers")
    source = {"$Default": default, "$Latest": latest}.get(source_version)
    if source is None:
        if not (isinstance(source_version, str) and source_version.isdigit() and int(source_version) > 0):
            raise ImdsConfigError(
                f"source_version must be $Default, $Latest or a version number, not {source_version!r}"
            )
        source = int(source_version)
    versions = read_versions(ec2, budget, template_id, sorted({str(source), str(latest)}))
    if source not in versions:
        raise LaunchTemplateNotFound(f"Version {source} of launch template {template_id} does not exist")
    current = template_options(versions[source].get("MetadataOptions"))
    desired = {**current, **{name: value for name, value in wanted.items() if value is not None}}
    changes = {name: value for name, value in desired.items() if current.get(name) != value}
    plan = TemplatePlan(
        template_id, template.get("LaunchTemplateName"), default, latest, source, current, desired, changes
    )
    target = source
    if changes:
        latest_data = versions.get(latest)
        made_by_an_earlier_run = latest != source and latest_data is not None
        if made_by_an_earlier_run and all(
            (
                _without_options(latest_data) == _without_options(versions[source]),
                template_options(latest_data.get("MetadataOptions")) == desired,
            )
        ):
            plan.reuse_version = target = latest  # an earlier run of this task made it: nothing to create
        else:
            plan.actions.append("create_version")
            target = None  # its number is known once it exists
    if set_default and target != default:
        plan.actions.append("set_default")
        plan.new_default = target
    return plan


def apply_template(ec2: Any, budget: Any, plan: TemplatePlan, description: str) -> dict:
    """Create the version and set the default as planned; returns {"version": ..., "default_version": ...}."""
    version = plan.reuse_version or plan.source_version
    done: dict = {"changed": False}
    try:
        if "create_version" in plan.actions:
            block = {TEMPLATE_OPTIONS[name]: value for name, value in plan.desired.items() if value is not None}
            budget.check(CREATE_VERSION)
            response = ec2.create_launch_template_version(
                LaunchTemplateId=plan.template_id,
                SourceVersion=str(plan.source_version),
                VersionDescription=description,
                LaunchTemplateData={"MetadataOptions": block},
            )
            created = response.get("LaunchTemplateVersion") if isinstance(response, Mapping) else None
            version = _number(created.get("VersionNumber")) if isinstance(created, Mapping) else None
            if version is None:
                raise AwsBadResponse(f"{CREATE_VERSION} answered without the new version's number")
            done = {"changed": True, "version_created": version}
        default = plan.default_version
        if "set_default" in plan.actions:
            budget.check(MODIFY_TEMPLATE)
            ec2.modify_launch_template(LaunchTemplateId=plan.template_id, DefaultVersion=str(version))
            default = version
            done["changed"] = True
    except AwsError as error:
        error.result = {**error.result, **done}
        raise
    except Exception as error:
        action = MODIFY_TEMPLATE if done.get("version_created") else CREATE_VERSION
        failure = aws_error(error, action)
        failure.result = {**failure.result, **done}
        raise failure from None
    return {**done, "version": version, "default_version": default}
