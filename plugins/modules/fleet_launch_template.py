#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_launch_template
short_description: Move an EC2 Fleet or Spot Fleet request pinned to a launch template version onto its successor
version_added: 1.1.0
description:
  - An EC2 Fleet or a Spot Fleet request of type V(maintain) replaces its instances from its template configs; one
    that names a version by number keeps launching that version after M(ec2meta.imds.launch_template_metadata_options)
    gave it a B(successor) - the version's own launch data with only the metadata options changed. This module points
    each such template config at the successor of the version it pins (C(ModifyFleet), C(ModifySpotFleetRequest)),
    and changes nothing else of the fleet.
  - The successor is chosen as for M(ec2meta.imds.auto_scaling_group_launch_template); a config whose version has
    no successor yet is left alone and named in RV(left) with the reason.
  - Fleets of type V(request) or V(instant), and fleets that are deleted, cancelled or failed, are reported only
    (RV(note)) - they launch nothing new, and the API modifies only V(maintain) fleets. Spot Fleet launch
    specifications (no template) set no metadata options and are not touched.
  - The template configs are sent back whole as read, with only the moved versions replaced (the list replaces the
    fleet's), so a config that is not an object, or holds a member the installed botocore does not model or the
    Modify call's input does not take, fails the task before any write (C(unmodelled_member), naming it) - it is
    never dropped.
  - The fleet is read again just before the Modify call; one whose configs changed since the plan fails the task
    with nothing sent (C(concurrent_change)).
  - The fleet is read back afterwards; one whose configs do not name the planned versions fails the task
    (C(group_not_as_planned)), and one whose configs differ anywhere else (overrides, specifications) fails it with
    C(unexpected_change), naming each member, with the configs as read in C(launch_after).
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  fleet_id:
    description:
      - The fleet's ID (C(fleet-...)) or the Spot Fleet request's ID (C(sfr-...)).
    type: str
    required: true
  kind:
    description:
      - V(ec2_fleets) for an EC2 Fleet, V(spot_fleet_requests) for a Spot Fleet request (the audit's names).
    type: str
    choices: [ec2_fleets, spot_fleet_requests]
    default: ec2_fleets
  http_tokens:
    description:
      - The value the successor's metadata options must have; V(required) is the IMDSv2 campaign's.
    type: str
    choices: [optional, required]
    default: required
  http_put_response_hop_limit:
    description:
      - With it set, the successor must also have this hop limit (from V(1) to V(64)).
    type: int
  http_endpoint:
    description:
      - With it set, the successor must also have this endpoint state.
    type: str
    choices: [enabled, disabled]
  http_protocol_ipv6:
    description:
      - With it set, the successor must also have this IPv6 endpoint state.
    type: str
    choices: [enabled, disabled]
  instance_metadata_tags:
    description:
      - With it set, the successor must also have this instance tags state.
    type: str
    choices: [enabled, disabled]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
attributes:
  check_mode:
    support: full
    details: Reads the fleet and the template versions and reports what it would move; sends no modification.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need C(ec2:DescribeFleets) and C(ec2:ModifyFleet), or C(ec2:DescribeSpotFleetRequests) and
    C(ec2:ModifySpotFleetRequest), and C(ec2:DescribeLaunchTemplates) and C(ec2:DescribeLaunchTemplateVersions).
seealso:
  - module: ec2meta.imds.auto_scaling_group_launch_template
    description: The same move for Auto Scaling groups.
  - module: ec2meta.imds.launch_template_metadata_options
    description: Makes the successors this module moves fleets to.
"""

EXAMPLES = r"""
---
- name: Point a maintain fleet at the successors of the versions it pins
  ec2meta.imds.fleet_launch_template:
    region: eu-west-1
    fleet_id: fleet-0123456789abcdef0
    kind: ec2_fleets
    http_tokens: required
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
fleet_id:
  description: The EC2 Fleet's ID.
  returned: success, with O(kind=ec2_fleets)
  type: str
  sample: fleet-0123456789abcdef0
spot_fleet_request_id:
  description: The Spot Fleet request's ID.
  returned: success, with O(kind=spot_fleet_requests)
  type: str
  sample: sfr-01234567-89ab-cdef-0123-456789abcdef
kind:
  description: V(ec2_fleets) or V(spot_fleet_requests).
  returned: success
  type: str
  sample: ec2_fleets
pinned:
  description: Each template config that names a version number, and what happens to it.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Where it is - V(launch_template_configs[N]).
      type: str
    launch_template_id:
      description: The template (its name when it does not exist).
      type: str
    old_version:
      description: The version it pins before the task.
      type: int
    new_version:
      description: The successor it pins after the task; null when left.
      type: int
    action:
      description: V(move), V(kept), V(no_successor) or V(missing).
      type: str
    why:
      description: The reason, in words.
      type: str
  sample: [{"path": "launch_template_configs[0]", "launch_template_id": "lt-0123456789abcdef0", "old_version": 1,
            "new_version": 4, "action": "move",
            "why": "version 4 is version 1's launch data with http_tokens=required"}]
moves:
  description: The moves, one line each (old -> new), for the report.
  returned: success
  type: list
  elements: str
  sample: ["launch_template_configs[0]: lt-0123456789abcdef0 version 1 -> 4"]
left:
  description: The pinned configs left alone, one line each with the reason.
  returned: success
  type: list
  elements: str
  sample: []
note:
  description: Why the fleet has nothing to move (its type or state, or nothing pinned).
  returned: success
  type: str
  sample: "reported only: type instant: it launched once, when it was created, and launches nothing more"
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.fleet_moves import (  # noqa: E402
    FLEET_KINDS,
    apply_fleet,
    plan_fleet,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (  # noqa: E402
    TEMPLATE_OPTIONS,
    move_option_spec,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import validate_requested  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def argument_spec() -> dict:
    return {
        "fleet_id": {"type": "str", "required": True},
        "kind": {"type": "str", "choices": list(FLEET_KINDS), "default": "ec2_fleets"},
        **move_option_spec(),
    }


def main() -> None:
    module = ImdsModule(argument_spec(), aws=True, requires=["boto3"])
    params = module.params
    with module.failures_reported():
        fleet_id = params["fleet_id"].strip()
        if not fleet_id:
            raise ImdsConfigError("fleet_id is empty: give the fleet's ID (fleet-...) or the request's (sfr-...)")
        wanted = validate_requested({option: params[option] for option in TEMPLATE_OPTIONS})
        missing = "No AWS region: set the region option (a fleet belongs to one region)"
        region = check_regions([module.region(missing)])[0]
        ec2 = module.aws_client("ec2", region)
        plan = plan_fleet(ec2, module.budget, params["kind"], fleet_id, wanted)
        done = {"changed": bool(plan.moves)} if module.check_mode else apply_fleet(ec2, module.budget, plan)
    result = {**done, **plan.as_dict()}
    before = {spec.path: spec.old_version for spec in plan.specs}
    after = {spec.path: spec.new_version if spec.action == "move" else spec.old_version for spec in plan.specs}
    module.exit_with_diff(before, after, **result)


if __name__ == "__main__":
    main()
