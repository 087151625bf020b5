# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Moving an Auto Scaling group pinned to a launch template version number onto that version's successor.

The template step (launch_path_changes, versions=in_use) gives every version in use a successor: the version's own
launch data with only the metadata options changed. Users of $Default and $Latest follow it; a group that names a
version number keeps launching that version until the group itself is updated. This is that update: each pinned
specification (the group's LaunchTemplate, a mixed-instances policy's, an override's) gets the number of its
version's successor, and nothing else of the group is sent but what UpdateAutoScalingGroup needs to keep it as it
is. A specification whose version has no successor yet is left alone and said so: the group is never moved to a
version that is not its own launch data.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.answer_shapes import (
    changed_paths,
    input_member,
    raw_answers,
    refuse_unknown,
    unknown_members,
    unparsed_members,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (
    ConcurrentChange,
    _without_options,
    read_template,
    read_versions_and_sources,
    template_options,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError, aws_error

DESCRIBE_GROUPS = "autoscaling:DescribeAutoScalingGroups"
UPDATE_GROUP = "autoscaling:UpdateAutoScalingGroup"
VERSIONS_PAGE = 200


class GroupNotFound(AwsError):
    reason = "auto_scaling_group_not_found"


class GroupNotAsPlanned(AwsError):
    reason = "group_not_as_planned"


class UnexpectedChange(AwsError):
    reason = "unexpected_change"


# What a group launches from: compared whole before and after a move, only the versions may differ.
LAUNCH_MEMBERS = ("LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy")
# The members UpdateAutoScalingGroup is sent (an instance's LaunchTemplate is not).
SENT_MEMBERS = re.compile(r"^AutoScalingGroups\[[0-9]+\]\.(LaunchTemplate|MixedInstancesPolicy)(\.|\[|$)")
VERSION_NUMBER = re.compile(r"[0-9]{1,9}")


# What happens to one pinned specification, in the order a reader decides it. The report and the docs read this.
MOVE_ACTIONS = {
    "move": "the group is pointed at the successor of the version it pinned (same launch data, the options set)",
    "kept": "the pinned version has the options already: nothing to do",
    "no_successor": "the pinned version has no successor yet: it is left on it (run the template step first)",
    "missing": "the pinned version or its template does not exist: it is left on it",
}


@dataclass
class PinnedSpec:
    """One launch template specification of a group that names a version number."""

    path: str  # launch_template, mixed_instances_policy, mixed_instances_override[N]
    template_id: str | None
    old_version: int
    action: str = "missing"
    new_version: int | None = None
    why: str = ""

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "launch_template_id": self.template_id,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "action": self.action,
            "why": self.why,
        }


@dataclass
class GroupPlan:
    name: str
    group: dict  # the DescribeAutoScalingGroups entry as read
    specs: list = field(default_factory=list)  # PinnedSpec
    note: str = ""  # why the group has nothing pinned to move (a launch configuration, only aliases)

    @property
    def moves(self) -> list:
        return [spec for spec in self.specs if spec.action == "move"]

    @property
    def left(self) -> list:
        return [spec for spec in self.specs if spec.action in ("no_successor", "missing")]

    def update_arguments(self) -> dict:
        """UpdateAutoScalingGroup's arguments: the group's name and its template specifications, each as read with
        only the moved versions replaced. A mixed-instances policy is sent whole (overrides, distribution), because
        the overrides list replaces the group's."""
        moved = {spec.path: spec.new_version for spec in self.moves}
        arguments: dict = {"AutoScalingGroupName": self.name}
        if "launch_template" in moved:
            arguments["LaunchTemplate"] = _moved_spec(self.group["LaunchTemplate"], moved["launch_template"])
        if any(path.startswith("mixed_instances") for path in moved):
            policy = copy.deepcopy(dict(self.group["MixedInstancesPolicy"]))
            template = policy["LaunchTemplate"]
            spec = template["LaunchTemplateSpecification"]
            template["LaunchTemplateSpecification"] = _moved_spec(spec, moved.get("mixed_instances_policy"))
            for index, override in enumerate(template.get("Overrides") or []):
                if isinstance(override.get("LaunchTemplateSpecification"), Mapping):
                    spec = override["LaunchTemplateSpecification"]
                    override["LaunchTemplateSpecification"] = _moved_spec(
                        spec, moved.get(f"mixed_instances_override[{index}]")
                    )
            arguments["MixedInstancesPolicy"] = policy
        return arguments

    def as_dict(self) -> dict:
        return {
            "auto_scaling_group_name": self.name,
            "pinned": [spec.as_dict() for spec in self.specs],
            "moves": [f"{s.path}: {s.template_id} version {s.old_version} -> {s.new_version}" for s in self.moves],
            "left": [f"{s.path}: {s.template_id} version {s.old_version}: {s.why}" for s in self.left],
            "note": self.note,
        }


def _moved_spec(spec: Mapping, version: int | None) -> dict:
    """The specification as sent back: by id alone (Auto Scaling describes both, but takes an id or a name), with
    the new version, or its own (none when it named none) when ``version`` is None."""
    template_id = spec.get("LaunchTemplateId")
    named = {"LaunchTemplateId": template_id} if template_id else {"LaunchTemplateName": spec.get("LaunchTemplateName")}
    if version is not None:
        return {**named, "Version": str(version)}
    return {**named, "Version": spec["Version"]} if spec.get("Version") else named


def pinned_specifications(group: Mapping[str, Any]) -> list:
    """(path, specification) of every launch template specification of a group, in UpdateAutoScalingGroup's terms."""
    specs = []
    if isinstance(group.get("LaunchTemplate"), Mapping):
        specs.append(("launch_template", group["LaunchTemplate"]))
    policy = group.get("MixedInstancesPolicy")
    template = policy.get("LaunchTemplate") if isinstance(policy, Mapping) else None
    if isinstance(template, Mapping):
        if isinstance(template.get("LaunchTemplateSpecification"), Mapping):
            specs.append(("mixed_instances_policy", template["LaunchTemplateSpecification"]))
        for index, override in enumerate(template.get("Overrides") or []):
            if isinstance(override, Mapping) and isinstance(override.get("LaunchTemplateSpecification"), Mapping):
                specs.append((f"mixed_instances_override[{index}]", override["LaunchTemplateSpecification"]))
    return specs


def _pinned_number(spec: Mapping) -> int | None:
    """The version number a specification names; None for an alias or no version. ASCII digits only (``"²"`` is
    a digit to str.isdigit()), and a number answered as a JSON number is taken by its value."""
    version = spec.get("Version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if isinstance(version, str) and VERSION_NUMBER.fullmatch(version) and int(version) > 0:
        return int(version)
    return None


def _odd_versions(specs: list) -> list:
    """Paths whose Version is neither a number, an alias nor absent: what the group launches is unknown."""
    return [path for path, spec in specs if _odd_version(spec)]


def _odd_version(spec: Mapping) -> bool:
    version = spec.get("Version")
    return version is not None and version not in ("$Default", "$Latest") and _pinned_number(spec) is None


def read_group(autoscaling: Any, budget: Any, name: str) -> dict:
    arguments = {"AutoScalingGroupNames": [name]}
    found = [
        group
        for page in budget.pages(autoscaling.describe_auto_scaling_groups, arguments, DESCRIBE_GROUPS)
        for group in dict_items(page, "AutoScalingGroups")
        if group.get("AutoScalingGroupName") == name
    ]
    if len(found) > 1:
        raise AwsBadResponse(f"{DESCRIBE_GROUPS} answered {len(found)} groups named {name[:255]}: check endpoint_url")
    if not found:
        raise GroupNotFound(f"Auto Scaling group {name[:255]} does not exist in this region: check the name and region")
    return found[0]


def read_group_whole(autoscaling: Any, budget: Any, name: str) -> tuple:
    """(group, paths of its launch members the installed botocore left out of the parsed answer)."""
    with raw_answers(autoscaling, DESCRIBE_GROUPS.split(":")[1]) as answers:
        group = read_group(autoscaling, budget, name)
    unparsed = [path for model, body in answers for path in unparsed_members(body, model)]
    return group, [path for path in unparsed if SENT_MEMBERS.search(path)]


def launch_structure(group: Mapping) -> dict:
    """What the group launches from, every template specification's Version left out: what a move must keep."""
    kept = copy.deepcopy({member: group.get(member) for member in LAUNCH_MEMBERS})
    for _path, spec in pinned_specifications(kept):
        spec.pop("Version", None)
    return kept


def successor_of(data: Mapping, sources: Mapping, number: int, wanted: Mapping[str, Any]) -> tuple:
    """(action, new version, why) for a pinned version, by the lineage rule: its successor is a later version with its
    launch data and its options with the wanted ones set; one this collection made from it comes first."""
    if number not in data:
        return "missing", None, f"version {number} does not exist"
    current = template_options(data[number].get("MetadataOptions"))
    desired = {**current, **{name: value for name, value in wanted.items() if value is not None}}
    if desired == current:
        return "kept", number, "it has the options already"
    launch = _without_options(data[number])

    def is_successor(candidate: int) -> bool:
        same_launch = _without_options(data[candidate]) == launch
        return same_launch and template_options(data[candidate].get("MetadataOptions")) == desired

    candidates = [candidate for candidate in sorted(data) if candidate > number and is_successor(candidate)]
    if not candidates:
        return (
            "no_successor",
            None,
            (
                f"no later version is its launch data with {desired_text(wanted)}: run the template step "
                "(launch_template_metadata_options, versions: in_use) first; it was left on this version"
            ),
        )
    ours = [candidate for candidate in candidates if sources.get(candidate) == number]
    chosen = ours[0] if ours else candidates[0]
    return "move", chosen, f"version {chosen} is version {number}'s launch data with {desired_text(wanted)}"


def desired_text(wanted: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in wanted.items() if value is not None)


def resolve_successors(ec2: Any, budget: Any, pinned: list, wanted: Mapping[str, Any]) -> list:
    """PinnedSpec per (path, specification, version number), each with its action and successor: per template, one
    read of the versions from the oldest pinned one to the latest. Groups and fleets pin versions alike."""
    by_template: dict = {}
    for path, spec, number in pinned:
        template_id, template_name = spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")
        key = template_id or template_name
        if key not in by_template:
            try:
                template = read_template(ec2, budget, template_id, None if template_id else template_name)
            except AwsError as error:
                if error.reason != "launch_template_not_found":
                    raise
                template = None
            by_template[key] = {"template": template, "specs": []}
        by_template[key]["specs"].append(PinnedSpec(path, template_id or template_name, number))
    specs: list = []
    for entry in by_template.values():
        template = entry["template"]
        if template is None:
            for spec in entry["specs"]:
                spec.why = f"launch template {spec.template_id} does not exist"
            specs += entry["specs"]
            continue
        template_id = template["LaunchTemplateId"]
        latest = template.get("LatestVersionNumber")
        if not isinstance(latest, int) or isinstance(latest, bool):
            raise AwsBadResponse(f"DescribeLaunchTemplates answered {template_id} without its latest version number")
        oldest = min(spec.old_version for spec in entry["specs"])
        span = {"MinVersion": str(oldest), "MaxVersion": str(latest), "MaxResults": VERSIONS_PAGE}
        data, sources = read_versions_and_sources(ec2, budget, template_id, span) if oldest <= latest else ({}, {})
        for spec in entry["specs"]:
            spec.template_id = template_id
            spec.action, spec.new_version, spec.why = successor_of(data, sources, spec.old_version, wanted)
        specs += entry["specs"]
    return sorted(specs, key=lambda spec: spec.path)


def refuse_unsendable(autoscaling: Any, group: Mapping, unparsed: list) -> None:
    """UnmodelledMember when sending the group's template members back as read could drop something: a member the
    installed model left out of the answer, or one UpdateAutoScalingGroup's input does not take."""
    found = list(unparsed)
    for member in ("LaunchTemplate", "MixedInstancesPolicy"):
        if group.get(member) is not None:
            shape = input_member(autoscaling, "autoscaling", "UpdateAutoScalingGroup", member)
            found += unknown_members(group[member], shape, member)
    refuse_unknown(found, f"Auto Scaling group {group.get('AutoScalingGroupName')}", UPDATE_GROUP)


def plan_group(autoscaling: Any, ec2: Any, budget: Any, name: str, wanted: Mapping[str, Any]) -> GroupPlan:
    """Read the group and, per template it pins, the versions from the oldest pinned one to the latest."""
    group, unparsed = read_group_whole(autoscaling, budget, name)
    plan = GroupPlan(name, group)
    odd = _odd_versions(pinned_specifications(group))
    if odd:
        raise AwsBadResponse(
            f"{DESCRIBE_GROUPS} answered group {name[:255]} with a Version that is neither a version number nor "
            f"$Default/$Latest ({', '.join(odd)}): what it launches is unknown, nothing was changed. Check endpoint_url"
        )
    pinned = [(path, spec, _pinned_number(spec)) for path, spec in pinned_specifications(group)]
    pinned = [(path, spec, number) for path, spec, number in pinned if number is not None]
    if not pinned:
        plan.note = (
            "the group launches from a launch configuration, not a template"
            if group.get("LaunchConfigurationName")
            else "no template specification of the group names a version number: it follows $Default or $Latest"
        )
        return plan
    plan.specs = resolve_successors(ec2, budget, pinned, wanted)
    if plan.moves:
        refuse_unsendable(autoscaling, group, unparsed)
    return plan


def apply_group(autoscaling: Any, budget: Any, plan: GroupPlan) -> dict:
    """Send the update when something moves, then read the group back: each moved specification names its
    successor and every other one is as it was, or the task fails (group_not_as_planned)."""
    if not plan.moves:
        return {"changed": False}
    # Auto Scaling has no conditional update: the group is read again just before it, so a change made since the
    # plan (another template, other overrides) is not overwritten by what was read (it narrows the window only).
    now = read_group(autoscaling, budget, plan.name)
    changed = changed_paths({m: plan.group.get(m) for m in LAUNCH_MEMBERS}, {m: now.get(m) for m in LAUNCH_MEMBERS}, "")
    if changed:
        raise ConcurrentChange(
            f"Auto Scaling group {plan.name} changed while the move was planned ({', '.join(changed)}): nothing was "
            "sent, so that change is kept. Run the task again to plan from the group as it is now"
        )
    budget.check(UPDATE_GROUP)
    try:
        autoscaling.update_auto_scaling_group(**plan.update_arguments())
    except Exception as error:
        raise aws_error(error, UPDATE_GROUP) from None
    after = read_group(autoscaling, budget, plan.name)
    expected = {spec.path: spec.new_version for spec in plan.moves}
    found = {path: _pinned_number(spec) for path, spec in pinned_specifications(after)}
    before = {path: spec.get("Version") for path, spec in pinned_specifications(plan.group)}
    wrong = [path for path, number in expected.items() if found.get(path) != number]
    wrong += [
        path
        for path, spec in pinned_specifications(after)
        if path not in expected and spec.get("Version") != before.get(path)
    ]
    if wrong or set(found) != {path for path, _spec in pinned_specifications(plan.group)}:
        error = GroupNotAsPlanned(
            f"Auto Scaling group {plan.name} does not read back as planned after UpdateAutoScalingGroup "
            f"({', '.join(wrong) or 'its template specifications changed'}): compare it with the plan in the result"
        )
        error.result = {**error.result, "changed": True}
        raise error
    changed = changed_paths(launch_structure(plan.group), launch_structure(after), "")
    if changed:
        error = UnexpectedChange(
            f"Auto Scaling group {plan.name} reads back after UpdateAutoScalingGroup with more changed than the "
            f"versions: {', '.join(changed)}. The group may now launch something else: compare it with "
            "launch_after in the result, put the changed members back by hand (UpdateAutoScalingGroup), and "
            "check whether something else changed the group meanwhile"
        )
        error.result = {**error.result, "changed": True, "launch_after": launch_structure(after)}
        raise error
    return {"changed": True}
