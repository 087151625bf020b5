# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Fixing launch paths: ImdsSupport v2.0 on AMIs, and a launch template version with tokens required.

Each change is planned from what was read, decided on, then applied; a check that fails sends nothing. Where
several things change (several AMIs), a failure midway reports what was changed already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import Unread, launch_options
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError, aws_error
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    MAX_MESSAGE_CHARS,
    ImdsConfigError,
    bounded_message,
)

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


def move_option_spec() -> dict:
    """The metadata options of the modules that move a launch path to a successor version (groups, fleets, launch
    configurations): what the successor must have, tokens required unless the task says otherwise."""
    states = ["enabled", "disabled"]
    return {
        "http_tokens": {"type": "str", "choices": ["optional", "required"], "default": "required"},
        "http_put_response_hop_limit": {"type": "int"},
        "http_endpoint": {"type": "str", "choices": states},
        "http_protocol_ipv6": {"type": "str", "choices": states},
        "instance_metadata_tags": {"type": "str", "choices": states},
    }


def template_options(block: Any) -> dict:
    block = block if isinstance(block, Mapping) else {}
    return {name: block.get(api_name) for name, api_name in TEMPLATE_OPTIONS.items()}


# A launch template version never changes, and every version created becomes $Latest. So a fix is a successor per
# version in use: the version's own launch data (CreateLaunchTemplateVersion with its number as SourceVersion) with
# only MetadataOptions replaced. Whatever follows an alias ($Default, $Latest) must follow it to the successor of
# the version it followed before, never to another lineage: the successor of $Latest is created last, so it is
# $Latest afterwards, and $Default is moved to its own version's successor. Pinned users (a version number) keep
# their version; its successor is made and named, and moving them is a decision of its own.

DEFAULT_ALIAS = "$Default"
LATEST_ALIAS = "$Latest"
VERSIONS_PAGE = 200
MAX_USERS = 10000

# Every version the module creates says in its VersionDescription which version it was made from (EC2 does not copy
# descriptions, so a version someone else made from ours does not carry the mark). A later run reads it to tell the
# template's own versions from our successors, and so which lineage $Latest users follow even after a run that
# failed between its creations left $Latest on the successor of another version.
SUCCESSOR_MARK = "ec2meta.imds: successor of version"
SUCCESSOR_PATTERN = re.compile(r"ec2meta\.imds: successor of version ([0-9]{1,9})(?![0-9])")
MAX_DESCRIPTION = 255


def successor_description(source: int, description: str) -> str:
    return f"{SUCCESSOR_MARK} {source}; {description}"[:MAX_DESCRIPTION]


def _source_named(number: int, description: Any) -> int | None:
    """The version ``number`` was made from by this module, from its description; None for any other version."""
    found = SUCCESSOR_PATTERN.match(description) if isinstance(description, str) else None
    source = int(found.group(1)) if found else None
    return source if source is not None and 0 < source < number else None


# How a version gets its successor, in the order a reader decides it.
SUCCESSOR_ACTIONS = {
    "kept": "already has the options: it is its own successor",
    "reused": "an existing version is its launch data with the options (an earlier run made it)",
    "create": "a new version from it with the options",
    "copy": "already has the options, but is $Latest and another version gets a successor: a copy keeps $Latest "
    "on its launch data",
    "missing": "does not exist (its users cannot launch from it now)",
}


class LaunchDataChanged(AwsError):
    reason = "launch_data_changed"


class ConcurrentChange(AwsError):
    reason = "concurrent_change"


class UnknownOptionValue(AwsError):
    reason = "unknown_option_value"


@dataclass
class Successor:
    old_version: int
    action: str  # a key of SUCCESSOR_ACTIONS
    current: dict
    desired: dict
    changes: dict
    users: list = field(default_factory=list)  # {"kind", "name", "version"} as each user names the version
    new_version: int | None = None  # known in the plan unless the version is created

    @property
    def creates(self) -> bool:
        return self.action in ("create", "copy")


@dataclass
class TemplatePlan:
    template_id: str
    template_name: str | None
    default_version: int
    latest_version: int
    source_version: int  # the version the module's own options (metadata_options, changes) describe
    successors: list  # Successor, in the order they are applied: the successor of $Latest last
    data: dict  # version number -> LaunchTemplateData as read
    default_from: int | None  # the version whose successor becomes $Default (None: $Default stays)
    latest_from: int = 0  # the version $Latest users follow, whose successor is created last (0: latest_version)
    sources: dict = field(default_factory=dict)  # version -> the version this module made it from

    def __post_init__(self) -> None:
        self.latest_from = self.latest_from or self.latest_version

    @property
    def source(self) -> Successor:
        return next(item for item in self.successors if item.old_version == self.source_version)

    def successor_of(self, number: int) -> Successor | None:
        return next((item for item in self.successors if item.old_version == number), None)

    @property
    def creates(self) -> bool:
        return any(item.creates for item in self.successors)

    @property
    def moves_default(self) -> bool:
        if self.default_from is None:
            return False
        successor = self.successor_of(self.default_from)
        return successor is not None and (successor.creates or successor.new_version != self.default_version)

    def aliases(self) -> dict:
        """Where $Default and $Latest point before and after (None after: a version not created yet)."""
        default_after = self.default_version
        if self.moves_default:
            default_after = self.successor_of(self.default_from).new_version
        latest = self.successor_of(self.latest_from)
        latest_after = latest.new_version if latest is not None and self.creates else self.latest_version
        return {
            DEFAULT_ALIAS: {"before": self.default_version, "after": default_after, "moved": self.moves_default},
            LATEST_ALIAS: {"before": self.latest_version, "after": latest_after, "moved": self.creates},
        }

    def lineage(self) -> list:
        """Per version in use: old version -> new version, how, and who uses it (pinned users are not moved)."""
        rows = []
        for item in sorted(self.successors, key=lambda successor: successor.old_version):
            users = [
                {**user, "moved": user["version"] in (DEFAULT_ALIAS, LATEST_ALIAS)}
                for user in item.users
                if user["kind"] != "source_version"
            ]
            rows.append(
                {
                    "old_version": item.old_version,
                    "new_version": item.new_version,
                    "action": item.action,
                    "changes": item.changes,
                    "users": users,
                }
            )
        return rows


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


def read_versions(ec2: Any, budget: Any, template_id: str, arguments: Mapping[str, Any]) -> dict:
    """Version number -> LaunchTemplateData of the versions ``arguments`` (Versions, or MinVersion/MaxVersion)."""
    return read_versions_and_sources(ec2, budget, template_id, arguments)[0]


def read_versions_and_sources(ec2: Any, budget: Any, template_id: str, arguments: Mapping[str, Any]) -> tuple:
    """read_versions, and version -> source version for the versions this module made (their description)."""
    found: dict = {}
    sources: dict = {}
    try:
        pages = budget.pages(
            ec2.describe_launch_template_versions, {"LaunchTemplateId": template_id, **arguments}, DESCRIBE_VERSIONS
        )
        for page in pages:
            for item in dict_items(page, "LaunchTemplateVersions"):
                number = _number(item.get("VersionNumber"))
                data = item.get("LaunchTemplateData")
                if number is None or item.get("LaunchTemplateId") != template_id or not isinstance(data, Mapping):
                    raise AwsBadResponse(f"{DESCRIBE_VERSIONS} answered a version of another shape. Check endpoint_url")
                found[number] = data
                source = _source_named(number, item.get("VersionDescription"))
                if source is not None:
                    sources[number] = source
    except AwsError as error:
        raise _template_error(error, DESCRIBE_VERSIONS, f"{template_id} versions {dict(arguments)}") from None
    return found, sources


def _without_options(data: Mapping) -> dict:
    return {key: value for key, value in data.items() if key != "MetadataOptions"}


def _spec(value: Any) -> str | None:
    """A version as a user names it: $Default, $Latest or a number; None when it is none of them."""
    if value is None or value == "":
        return DEFAULT_ALIAS  # EC2 and Auto Scaling: no version means the default version
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and (
        value in (DEFAULT_ALIAS, LATEST_ALIAS) or (value.isascii() and value.isdigit() and int(value) > 0)
    ):
        return value
    return None


def check_users(users: Any) -> list:
    """The users option: a list of {kind, name, version}; each version $Default, $Latest or a number."""
    if users is None:
        return []
    if not isinstance(users, list) or len(users) > MAX_USERS:
        raise ImdsConfigError(f"users must be a list of at most {MAX_USERS} {{kind, name, version}} entries")
    checked = []
    for index, user in enumerate(users):
        spec = _spec(user.get("version")) if isinstance(user, Mapping) else None
        kind, name = (user.get("kind"), user.get("name")) if isinstance(user, Mapping) else (None, None)
        if spec is None or not isinstance(kind, str) or not kind or not isinstance(name, str) or not name:
            raise ImdsConfigError(
                f"users[{index}] must be {{kind, name, version}} with a kind and a name (text) and a version "
                f"$Default, $Latest or a version number, like {{kind: auto_scaling_group, name: web, version: "
                f"$Latest}}, not {str(user)[:200]}"
            )
        checked.append({"kind": kind[:64], "name": name[:256], "version": spec})
    return checked


def _resolve(spec: str, default: int, latest: int) -> int:
    return {DEFAULT_ALIAS: default, LATEST_ALIAS: latest}.get(spec) or int(spec)


def _successor_of(number: int, data: dict, wanted: Mapping[str, Any], latest: int, users: list) -> Successor:
    if number not in data:
        return Successor(number, "missing", {}, {}, {}, users)
    current = template_options(data[number].get("MetadataOptions"))
    desired = {**current, **{name: value for name, value in wanted.items() if value is not None}}
    changes = {name: value for name, value in desired.items() if current.get(name) != value}
    successor = Successor(number, "kept", current, desired, changes, users, new_version=number)
    if not changes:
        return successor
    successor.action, successor.new_version = "create", None
    if number != latest:  # a version that is not $Latest may have a successor from an earlier run
        launch = _without_options(data[number])
        for candidate in sorted(data, reverse=True):
            same_launch = _without_options(data[candidate]) == launch
            if all(
                (candidate != number, same_launch, template_options(data[candidate].get("MetadataOptions")) == desired)
            ):
                successor.action, successor.new_version = "reused", candidate
                break
    return successor


def _source_and_its_users(source_version: Any, aliases: list, template_id: str, numbers: tuple) -> tuple:
    """versions=source: the source version's number, and who keeps a lineage (the aliases on it or on $Latest).

    ``numbers``: $Default's version, the latest version, and the version $Latest users follow.
    """
    default, latest, latest_from = numbers
    spec = _spec(source_version)
    if spec is None:
        raise ImdsConfigError(f"source_version must be $Default, $Latest or a version number, not {source_version!r}")
    source = _resolve(spec, default, latest_from)
    if source > latest:
        raise LaunchTemplateNotFound(
            f"Version {source} of launch template {template_id} does not exist (its latest is {latest})"
        )
    users = [user for user in aliases if _resolve(user["version"], default, latest_from) in (source, latest_from)]
    return source, [*users, {"kind": "source_version", "name": spec, "version": spec}]


def _versions_in_use(ec2: Any, budget: Any, template_id: str, oldest: int, latest: int) -> tuple:
    """Every version from the oldest in use up: their data, and the successors an earlier run may have made."""
    span = {"MinVersion": str(oldest), "MaxVersion": str(latest), "MaxResults": VERSIONS_PAGE}
    data, sources = read_versions_and_sources(ec2, budget, template_id, span)
    if latest not in data:
        raise AwsBadResponse(f"{DESCRIBE_VERSIONS} did not answer {template_id}'s latest version {latest}")
    return data, sources


def _original(number: int, sources: Mapping) -> int:
    """The template's own version a successor (of a successor ...) was made from; the version itself if not ours."""
    for _step in range(len(sources) + 1):
        if number not in sources:
            break
        number = sources[number]
    return number


def latest_lineage(data: Mapping, sources: Mapping, latest: int) -> int:
    """The version whose launch data $Latest users follow.

    Versions are never made out of order by a run that finishes: each run creates the successor of $Latest's
    version last. So the lineage is that of the newest version the module did not make; when $Latest is on
    another lineage (a run failed between its creations), the newest version of the right lineage is the one.
    """
    originals = [number for number in data if number not in sources]
    if not originals:
        return latest
    newest = max(originals)
    if _original(latest, sources) == newest:
        return latest
    return max(number for number in data if _original(number, sources) == newest)


def plan_template(
    ec2: Any,
    budget: Any,
    wanted: Mapping[str, Any],
    *,
    template_id: str | None = None,
    template_name: str | None = None,
    source_version: str | None = None,
    set_default: bool = False,
    users: list | None = None,
) -> TemplatePlan:
    """The successors that make ``wanted`` the template's metadata options with every alias on its lineage.

    With ``users`` (a list, possibly empty) every version $Default, $Latest and the users resolve to gets a
    successor and $Default moves to its version's successor; without, ``source_version`` gets one (and $Default
    moves to it with ``set_default``). Either way, $Latest's successor is created last whenever anything is created.
    """
    if users is not None and (source_version is not None or set_default):
        raise ImdsConfigError(
            "source_version and set_default are for versions=source: with versions=in_use every version in use gets "
            "its successor and $Default follows its own. Leave them out, or set versions: source"
        )
    template = read_template(ec2, budget, template_id, template_name)
    template_id = template["LaunchTemplateId"]
    default, latest = _number(template.get("DefaultVersionNumber")), _number(template.get("LatestVersionNumber"))
    if default is None or latest is None:
        raise AwsBadResponse(f"{DESCRIBE_TEMPLATES} answered {template_id} without its version numbers")
    everyone = [
        {"kind": "alias", "name": DEFAULT_ALIAS, "version": DEFAULT_ALIAS},
        {"kind": "alias", "name": LATEST_ALIAS, "version": LATEST_ALIAS},
    ]
    named = [_spec(source_version), *(user["version"] for user in users or [])]
    oldest = min(
        [
            default,
            latest,
            *(int(spec) for spec in named if spec and spec.isascii() and spec.isdigit() and int(spec) <= latest),
        ]
    )
    data, sources = _versions_in_use(ec2, budget, template_id, oldest, latest)
    latest_from = latest_lineage(data, sources, latest)
    if users is None:
        source, everyone = _source_and_its_users(source_version, everyone, template_id, (default, latest, latest_from))
        default_from = source if set_default else None
    else:
        source = default_from = default
        everyone += users
    if source not in data:
        raise LaunchTemplateNotFound(f"Version {source} of launch template {template_id} does not exist")
    plan = TemplatePlan(
        template_id, template.get("LaunchTemplateName"), default, latest, source, [], data, default_from
    )
    plan.latest_from, plan.sources = latest_from, sources
    plan.successors = _plan_successors(plan, wanted, everyone)
    return plan


def _plan_successors(plan: TemplatePlan, wanted: Mapping[str, Any], everyone: list) -> list:
    """A successor per version in use, in the order they are created: the one of $Latest's version last."""
    latest_from = plan.latest_from
    by_version: dict = {latest_from: []}
    for user in everyone:
        by_version.setdefault(_resolve(user["version"], plan.default_version, latest_from), []).append(user)
    successors = [
        _successor_of(number, plan.data, wanted, latest_from, by_version[number])
        for number in sorted(by_version)
        if number != latest_from
    ]
    last = _successor_of(latest_from, plan.data, wanted, latest_from, by_version[latest_from])
    # Only a version created last is $Latest: when anything is created, or $Latest is on another lineage now.
    if last.action == "kept" and (latest_from != plan.latest_version or any(item.creates for item in successors)):
        last.action, last.new_version = "copy", None
    for item in (*successors, last):
        _check_copyable(plan.template_id, item)
    return [*successors, last]


def _check_copyable(template_id: str, item: Successor) -> None:
    """A successor keeps the version's own options where the task sets none: never copy a value EC2 does not
    document (a hop limit of -7) into a new version, which would pass it on as if it were known."""
    if not item.creates:
        return
    unknown = [
        value.cause for value in launch_options(_options_block(item.desired)).values() if isinstance(value, Unread)
    ]
    if unknown:
        raise UnknownOptionValue(
            f"Version {item.old_version} of {template_id} has metadata options the API does not document "
            f"({'; '.join(unknown)}), and its successor would copy them. Set that option in this task (for example "
            "http_put_response_hop_limit from 1 to 64) so the successor gets a known value, or fix the version. "
            "Nothing was created"
        )


def _created_number(response: Any) -> int | None:
    created = response.get("LaunchTemplateVersion") if isinstance(response, Mapping) else None
    return _number(created.get("VersionNumber")) if isinstance(created, Mapping) else None


def _options_block(desired: Mapping[str, Any]) -> dict:
    return {TEMPLATE_OPTIONS[name]: value for name, value in desired.items() if value is not None}


def _where_aliases_are(plan: TemplatePlan, created: list, default_set: bool) -> dict:
    """Where $Default and $Latest point after a run that stopped, as far as this run knows."""
    default_after = plan.successor_of(plan.default_from).new_version if default_set else plan.default_version
    latest_after = created[-1].new_version if created else plan.latest_version
    return {
        DEFAULT_ALIAS: {"before": plan.default_version, "after": default_after, "moved": default_set},
        LATEST_ALIAS: {"before": plan.latest_version, "after": latest_after, "moved": bool(created)},
    }


def _latest_note(plan: TemplatePlan, created: list, default_set: bool, race: bool = False) -> str:
    """Plainly, where the aliases point after a failure, and what launches from $Latest until the task runs again."""
    default = (
        f"$Default is version {plan.successor_of(plan.default_from).new_version}"
        if default_set
        else (f"$Default was not moved (still version {plan.default_version})")
    )
    if race:
        return ""  # the ConcurrentChange message says what happened to the aliases
    if not created:
        return f"Nothing was created: $Latest of {plan.template_id} is still version {plan.latest_version}; {default}"
    last = created[-1]
    if last.old_version == plan.latest_from:
        return (
            f"$Latest of {plan.template_id} is version {last.new_version}, the successor of version "
            f"{plan.latest_from} (its launch data with the new options); {default}. Run the task again to finish"
        )
    return (
        f"$Latest of {plan.template_id} now points to version {last.new_version}, made from version "
        f"{last.old_version}, not from version {plan.latest_from}: groups and fleets on $Latest launch version "
        f"{last.old_version}'s launch data (its AMI and instance type) until this task is run again; the re-run "
        f"creates the successor of version {plan.latest_from} last, which puts $Latest back. {default}"
    )


def _failure_result(plan: TemplatePlan, created: list, default_set: bool) -> dict:
    aliases = _where_aliases_are(plan, created, default_set)
    return {
        "changed": bool(created) or default_set,
        "versions_created": [item.new_version for item in created],
        "lineage": plan.lineage(),
        "aliases": aliases,
        "default_version": aliases[DEFAULT_ALIAS]["after"],
        "latest_version": aliases[LATEST_ALIAS]["after"],
        # The version whose launch data (AMI, type, ...) $Latest launches now.
        "latest_launch_data_of": created[-1].old_version if created else plan.latest_version,
    }


def _made_as_planned(item: Any, found: Mapping, data: Mapping) -> bool:
    """A created version read back: its source's launch data, with only the wanted metadata options."""
    if item.new_version not in found:
        return False
    made = found[item.new_version]
    same_launch = _without_options(made) == _without_options(data[item.old_version])
    return same_launch and template_options(made.get("MetadataOptions")) == item.desired


def _verify(ec2: Any, budget: Any, plan: TemplatePlan, created: list) -> None:
    """Read the new versions back: each is its source's launch data with the desired options, or nothing moves."""
    if not created:
        return
    found = read_versions(ec2, budget, plan.template_id, {"Versions": [str(item.new_version) for item in created]})
    wrong = [item.new_version for item in created if not _made_as_planned(item, found, plan.data)]
    if wrong:
        raise LaunchDataChanged(
            f"Version(s) {', '.join(map(str, wrong))} of {plan.template_id} do not read back as their source "
            "version's launch data with only the metadata options changed, so $Default was not moved to them. "
            "Compare them with their source version (aws ec2 describe-launch-template-versions); the endpoint "
            "did not copy the source version as EC2 does"
        )


def _create_successor(ec2: Any, budget: Any, plan: TemplatePlan, item: Successor, description: str) -> None:
    budget.check(CREATE_VERSION)
    try:
        response = ec2.create_launch_template_version(
            LaunchTemplateId=plan.template_id,
            # Its number: an alias may point elsewhere by now. EC2 copies the source version and replaces the
            # parameters given; the whole MetadataOptions block is sent (the version's own values with the wanted
            # ones), so whether EC2 replaced or merged the block, the result is the same.
            SourceVersion=str(item.old_version),
            VersionDescription=successor_description(item.old_version, description),
            LaunchTemplateData={"MetadataOptions": _options_block(item.desired)},
        )
    except Exception as error:
        raise aws_error(error, CREATE_VERSION) from None
    item.new_version = _created_number(response)
    if item.new_version is None:
        raise AwsBadResponse(f"{CREATE_VERSION} answered without the new version's number")


def _concurrent_change(plan: TemplatePlan, expected: int, found: Any, what: str) -> ConcurrentChange:
    return ConcurrentChange(
        f"Someone else created a version of {plan.template_id} while this task ran: {what} is version {found}, not "
        f"version {expected} as planned. So the successor of version {plan.latest_from} was not made the latest over "
        f"their version, and $Default was not moved. Run the task again: it plans from the versions there are now"
    )


def _restore_latest(ec2: Any, budget: Any, plan: TemplatePlan, created: list, description: str) -> None:
    """After a failed creation: once, the successor of $Latest's version, so $Latest keeps its launch data."""
    last = plan.successor_of(plan.latest_from)
    if not created or created[-1] is last or last is None or not last.creates:
        return
    try:
        _create_successor(ec2, budget, plan, last, description)
    except AwsError:
        last.new_version = None
        return
    created.append(last)


def _create_all(ec2: Any, budget: Any, plan: TemplatePlan, description: str, created: list) -> None:
    """Create the successors in order, each numbered as planned: a version someone else makes between our reads
    and creations stops the run before the last creation, so $Latest is not taken from their version."""
    pending = [item for item in plan.successors if item.creates]
    for index, item in enumerate(pending):
        expected = plan.latest_version + index + 1
        if item is pending[-1]:
            latest_now = _number(read_template(ec2, budget, plan.template_id, None).get("LatestVersionNumber"))
            if latest_now != expected - 1:
                raise _concurrent_change(plan, expected - 1, latest_now, "the latest version before the last creation")
        try:
            _create_successor(ec2, budget, plan, item, description)
        except AwsError:
            _restore_latest(ec2, budget, plan, created, description)
            raise
        created.append(item)
        if item.new_version != expected:
            raise _concurrent_change(plan, expected, item.new_version, f"the successor of version {item.old_version}")


def apply_template(ec2: Any, budget: Any, plan: TemplatePlan, description: str) -> dict:
    """Create the successors in the plan's order, check them, then move $Default; fills in the new numbers."""
    created: list = []
    default_set = False
    try:
        _create_all(ec2, budget, plan, description, created)
        _verify(ec2, budget, plan, created)
        if plan.moves_default:
            budget.check(MODIFY_TEMPLATE)
            new_default = plan.successor_of(plan.default_from).new_version
            try:
                ec2.modify_launch_template(LaunchTemplateId=plan.template_id, DefaultVersion=str(new_default))
            except Exception as error:
                raise aws_error(error, MODIFY_TEMPLATE) from None
            default_set = True
    except AwsError as error:
        note = _latest_note(plan, created, default_set, isinstance(error, ConcurrentChange))
        if note:  # the cause is bounded first, so what is cut is never the note on the aliases
            cause = bounded_message(str(error), MAX_MESSAGE_CHARS // 2).rstrip(". ")
            error.args = (bounded_message(f"{cause}. {note}"), *error.args[1:])
        error.result = {**error.result, **_failure_result(plan, created, default_set)}
        raise
    return {
        "changed": bool(created) or default_set,
        "versions_created": [item.new_version for item in created],
    }
