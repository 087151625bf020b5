# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Moving an EC2 Fleet or a Spot Fleet request pinned to a launch template version onto that version's successor.

The rule is the groups' (group_moves): each template config that names a version number gets the number of its
version's successor (same launch data, the options set); a version without one is left alone. Only fleets of type
maintain are modified (ModifyFleet and ModifySpotFleetRequest take no other); a request or instant fleet is
reported with why it is left: it launches nothing new, or the API cannot change it. The configs are sent back as
read, with only the moved versions replaced, and the fleet is read back afterwards.
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
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.group_moves import (
    ConcurrentChange,
    GroupNotAsPlanned,
    UnexpectedChange,
    _moved_spec,
    _odd_versions,
    _pinned_number,
    resolve_successors,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import MAINTAIN, PATH_IDS, FleetFacts
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsError, aws_error

SENT_MEMBERS = re.compile(r"launchTemplateConfigs", re.IGNORECASE)


class FleetNotFound(AwsError):
    reason = "fleet_not_found"


@dataclass(frozen=True)
class FleetKind:
    """How one kind of fleet is read and modified (data over branches: ec2_fleets, spot_fleet_requests)."""

    describe: str  # the client method
    describe_action: str
    ids_argument: str
    listing: str
    id_key: str
    modify: str
    modify_action: str
    modify_id: str

    def configs(self, fleet: Mapping) -> list:
        return dict_items({"LaunchTemplateConfigs": self.configs_as_read(fleet)}, "LaunchTemplateConfigs")

    def configs_as_read(self, fleet: Mapping) -> Any:
        """The LaunchTemplateConfigs value as answered, whatever it holds (checked before it is sent back)."""
        holder = fleet.get("SpotFleetRequestConfig") if self.id_key == "SpotFleetRequestId" else fleet
        return holder.get("LaunchTemplateConfigs") if isinstance(holder, Mapping) else None

    def operation(self, action: str) -> str:
        return action.split(":")[1]


FLEET_KINDS = {
    "ec2_fleets": FleetKind(
        "describe_fleets", "ec2:DescribeFleets", "FleetIds", "Fleets", "FleetId",
        "modify_fleet", "ec2:ModifyFleet", "FleetId",
    ),
    "spot_fleet_requests": FleetKind(
        "describe_spot_fleet_requests", "ec2:DescribeSpotFleetRequests", "SpotFleetRequestIds",
        "SpotFleetRequestConfigs", "SpotFleetRequestId",
        "modify_spot_fleet_request", "ec2:ModifySpotFleetRequest", "SpotFleetRequestId",
    ),
}  # fmt: skip


@dataclass
class FleetPlan:
    kind: str
    fleet_id: str
    fleet: dict
    specs: list = field(default_factory=list)  # PinnedSpec, path launch_template_configs[N]
    note: str = ""  # why nothing is moved (its type, nothing pinned)

    @property
    def moves(self) -> list:
        return [spec for spec in self.specs if spec.action == "move"]

    @property
    def left(self) -> list:
        return [spec for spec in self.specs if spec.action in ("no_successor", "missing")]

    def update_arguments(self) -> dict:
        """The Modify call's arguments: every template config as read, only the moved versions replaced (the list
        replaces the fleet's, so none may be left out)."""
        moved = {spec.path: spec.new_version for spec in self.moves}
        configs = []
        for index, config in enumerate(FLEET_KINDS[self.kind].configs(self.fleet)):
            config = copy.deepcopy(dict(config))
            spec = config.get("LaunchTemplateSpecification")
            if isinstance(spec, Mapping):
                config["LaunchTemplateSpecification"] = _moved_spec(
                    spec, moved.get(f"launch_template_configs[{index}]")
                )
            configs.append(config)
        return {FLEET_KINDS[self.kind].modify_id: self.fleet_id, "LaunchTemplateConfigs": configs}

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            PATH_IDS[self.kind]: self.fleet_id,
            "pinned": [spec.as_dict() for spec in self.specs],
            "moves": [f"{s.path}: {s.template_id} version {s.old_version} -> {s.new_version}" for s in self.moves],
            "left": [f"{s.path}: {s.template_id} version {s.old_version}: {s.why}" for s in self.left],
            "note": self.note,
        }


def read_fleet(ec2: Any, budget: Any, kind: str, fleet_id: str) -> dict:
    return read_fleet_whole(ec2, budget, kind, fleet_id)[0]


def read_fleet_whole(ec2: Any, budget: Any, kind: str, fleet_id: str) -> tuple:
    """(fleet, paths of its template configs the installed botocore left out of the parsed answer)."""
    shape = FLEET_KINDS[kind]
    with raw_answers(ec2, shape.operation(shape.describe_action)) as answers:
        fleet = _read_fleet(ec2, budget, kind, fleet_id)
    unparsed = [path for model, body in answers for path in unparsed_members(body, model)]
    return fleet, [path for path in unparsed if SENT_MEMBERS.search(path)]


def _read_fleet(ec2: Any, budget: Any, kind: str, fleet_id: str) -> dict:
    shape = FLEET_KINDS[kind]
    arguments = {shape.ids_argument: [fleet_id]}
    try:
        found = [
            fleet
            for page in budget.pages(getattr(ec2, shape.describe), arguments, shape.describe_action)
            for fleet in dict_items(page, shape.listing)
            if fleet.get(shape.id_key) == fleet_id
        ]
    except AwsError as error:
        if not (error.code or "").startswith(("InvalidFleetId", "InvalidSpotFleetRequestId")):
            raise
        found = []
    if len(found) > 1:
        raise AwsBadResponse(
            f"{shape.describe_action} answered {len(found)} fleets {fleet_id[:64]}: check endpoint_url"
        )
    if len(found) != 1:
        raise FleetNotFound(f"{shape.id_key} {fleet_id[:64]} does not exist in this region: check it and the region")
    return found[0]


def fleet_specifications(kind: str, fleet: Mapping) -> list:
    """(path, specification) of every template config of a fleet."""
    return [
        (f"launch_template_configs[{index}]", config["LaunchTemplateSpecification"])
        for index, config in enumerate(FLEET_KINDS[kind].configs(fleet))
        if isinstance(config.get("LaunchTemplateSpecification"), Mapping)
    ]


def launch_structure(kind: str, fleet: Mapping) -> Any:
    """The fleet's template configs as read, every Version left out: what a move must keep."""
    configs = copy.deepcopy(FLEET_KINDS[kind].configs_as_read(fleet))
    for config in configs if isinstance(configs, list) else []:
        spec = config.get("LaunchTemplateSpecification") if isinstance(config, Mapping) else None
        if isinstance(spec, dict):
            spec.pop("Version", None)
    return configs


def refuse_unsendable(ec2: Any, plan: FleetPlan, unparsed: list) -> None:
    """UnmodelledMember when sending the configs back as read could drop something (see answer_shapes)."""
    shape = FLEET_KINDS[plan.kind]
    configs = shape.configs_as_read(plan.fleet)
    member = input_member(ec2, "ec2", shape.operation(shape.modify_action), "LaunchTemplateConfigs")
    found = list(unparsed) + unknown_members(configs, member, "LaunchTemplateConfigs")
    refuse_unknown(found, f"{shape.id_key} {plan.fleet_id}", shape.modify_action)


def plan_fleet(ec2: Any, budget: Any, kind: str, fleet_id: str, wanted: Mapping[str, Any]) -> FleetPlan:
    fleet, unparsed = read_fleet_whole(ec2, budget, kind, fleet_id)
    plan = FleetPlan(kind, fleet_id, fleet)
    facts = FleetFacts.of(kind, fleet)
    launches, why = facts.launches()
    if facts.fleet_type not in (MAINTAIN, None) or not launches:
        # ModifyFleet and ModifySpotFleetRequest take only maintain fleets; the others launch nothing new, or
        # launch from what they were given once.
        plan.note = f"reported only: {why}"
        return plan
    odd = _odd_versions(fleet_specifications(kind, fleet))
    if odd:
        raise AwsBadResponse(
            f"{FLEET_KINDS[kind].describe_action} answered {fleet_id[:64]} with a Version that is neither a version "
            f"number nor $Default/$Latest ({', '.join(odd)}): nothing was changed. Check endpoint_url"
        )
    pinned = [(path, spec, _pinned_number(spec)) for path, spec in fleet_specifications(kind, fleet)]
    pinned = [(path, spec, number) for path, spec, number in pinned if number is not None]
    if not pinned:
        plan.note = "no template config names a version number: it follows $Default or $Latest"
        return plan
    plan.specs = resolve_successors(ec2, budget, pinned, wanted)
    if plan.moves:
        refuse_unsendable(ec2, plan, unparsed)
    return plan


def apply_fleet(ec2: Any, budget: Any, plan: FleetPlan) -> dict:
    """Send the Modify call when something moves, then read the fleet back: each moved config names its successor
    and every other is as it was, or the task fails (group_not_as_planned, the same check as for groups)."""
    if not plan.moves:
        return {"changed": False}
    shape = FLEET_KINDS[plan.kind]
    # As for groups: read again just before the write, so a change made since the plan is not overwritten.
    now = read_fleet(ec2, budget, plan.kind, plan.fleet_id)
    changed = changed_paths(shape.configs_as_read(plan.fleet), shape.configs_as_read(now), "LaunchTemplateConfigs")
    if changed:
        raise ConcurrentChange(
            f"{shape.id_key} {plan.fleet_id} changed while the move was planned ({', '.join(changed)}): nothing was "
            "sent, so that change is kept. Run the task again to plan from the fleet as it is now"
        )
    budget.check(shape.modify_action)
    try:
        getattr(ec2, shape.modify)(**plan.update_arguments())
    except Exception as error:
        raise aws_error(error, shape.modify_action) from None
    after = read_fleet(ec2, budget, plan.kind, plan.fleet_id)
    expected = {path: spec.get("Version") for path, spec in fleet_specifications(plan.kind, plan.fleet)}
    expected.update({spec.path: str(spec.new_version) for spec in plan.moves})
    found = {path: spec.get("Version") for path, spec in fleet_specifications(plan.kind, after)}
    if found != expected:
        error = GroupNotAsPlanned(
            f"{shape.id_key} {plan.fleet_id} does not read back as planned after {shape.modify_action}: its template "
            f"configs name versions {found}, not {expected}"
        )
        error.result = {**error.result, "changed": True}
        raise error
    changed = changed_paths(launch_structure(plan.kind, plan.fleet), launch_structure(plan.kind, after), "")
    if changed:
        error = UnexpectedChange(
            f"{shape.id_key} {plan.fleet_id} reads back after {shape.modify_action} with more changed than the "
            f"versions: {', '.join(changed)}. The fleet may now launch something else: compare launch_after in the "
            "result with the plan, put the changed members back by hand, and check whether something else changed "
            "the fleet meanwhile"
        )
        error.result = {**error.result, "changed": True, "launch_after": launch_structure(plan.kind, after)}
        raise error
    return {"changed": True}
