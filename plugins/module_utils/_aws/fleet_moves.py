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
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import dict_items
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.group_moves import (
    GroupNotAsPlanned,
    _moved_spec,
    _pinned_number,
    resolve_successors,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import MAINTAIN, PATH_IDS, FleetFacts
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError, aws_error


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
        holder = fleet.get("SpotFleetRequestConfig") if self.id_key == "SpotFleetRequestId" else fleet
        return dict_items(holder if isinstance(holder, Mapping) else {}, "LaunchTemplateConfigs")


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


def plan_fleet(ec2: Any, budget: Any, kind: str, fleet_id: str, wanted: Mapping[str, Any]) -> FleetPlan:
    fleet = read_fleet(ec2, budget, kind, fleet_id)
    plan = FleetPlan(kind, fleet_id, fleet)
    facts = FleetFacts.of(kind, fleet)
    launches, why = facts.launches()
    if facts.fleet_type not in (MAINTAIN, None) or not launches:
        # ModifyFleet and ModifySpotFleetRequest take only maintain fleets; the others launch nothing new, or
        # launch from what they were given once.
        plan.note = f"reported only: {why}"
        return plan
    pinned = [(path, spec, _pinned_number(spec)) for path, spec in fleet_specifications(kind, fleet)]
    pinned = [(path, spec, number) for path, spec, number in pinned if number is not None]
    if not pinned:
        plan.note = "no template config names a version number: it follows $Default or $Latest"
        return plan
    plan.specs = resolve_successors(ec2, budget, pinned, wanted)
    return plan


def apply_fleet(ec2: Any, budget: Any, plan: FleetPlan) -> dict:
    """Send the Modify call when something moves, then read the fleet back: each moved config names its successor
    and every other is as it was, or the task fails (group_not_as_planned, the same check as for groups)."""
    if not plan.moves:
        return {"changed": False}
    shape = FLEET_KINDS[plan.kind]
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
    return {"changed": True}
