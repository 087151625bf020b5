#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: auto_scaling_group_launch_template
short_description: Move an Auto Scaling group pinned to a launch template version onto that version's successor
version_added: 1.1.0
description:
  - A group that names a launch template version by number (in C(LaunchTemplate), in a mixed-instances policy, or in
    one of its overrides) keeps launching that version after M(ec2meta.imds.launch_template_metadata_options) gave it
    a B(successor) - the version's own launch data with only the metadata options changed. This module points each
    such specification at the successor of the version it pins, and changes nothing else of the group.
  - The successor is a later version of the same template whose launch data (everything but C(MetadataOptions)) is
    the pinned version's and whose metadata options are the pinned version's with the options of this task set; a
    version the template step made from the pinned version (its description says so) comes first.
  - A specification whose pinned version has no successor yet, or whose template or version does not exist, is left
    alone and named in RV(left) with the reason; the group is never moved to a version with other launch data.
    Specifications on V($Default) or V($Latest) follow their template and are not touched.
  - A mixed-instances policy is sent whole as read (overrides and instances distribution), with only the moved
    versions replaced, because its overrides list replaces the group's. botocore leaves out of what it parses any
    member its installed model does not know (one AWS added later), so before the update the raw answer is checked
    against that model and the parsed policy against the input of C(UpdateAutoScalingGroup); a member either does
    not know, or a value of another shape, fails the task before any write (C(unmodelled_member), naming the member;
    upgrade boto3/botocore, or move the group by hand).
  - The group is read again just before the update; one whose launch members changed since the plan fails the task
    with nothing sent (C(concurrent_change)) - run it again. Auto Scaling has no conditional update, so this narrows
    the window but cannot close it.
  - The group is read back after the update. A moved specification that does not name its successor fails the task
    (C(group_not_as_planned)); any other difference in what the group launches from (launch configuration, template
    specifications, the whole mixed-instances policy) but the version numbers fails it too (C(unexpected_change),
    naming each member, with the group's launch members as read in C(launch_after)) - put them back by hand.
  - A C(Version) that is neither a version number of ASCII digits nor V($Default)/V($Latest), or a group answered
    twice, is a C(bad_response); nothing is sent.
  - Idempotent - a group already on the successor pins a version that has the options.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  auto_scaling_group_name:
    description:
      - The group's name.
    type: str
    required: true
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
    details: Reads the group and the template versions and reports what it would move; sends no update.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need C(autoscaling:DescribeAutoScalingGroups), C(autoscaling:UpdateAutoScalingGroup),
    C(ec2:DescribeLaunchTemplates) and C(ec2:DescribeLaunchTemplateVersions); updating a group to a launch template
    also needs C(ec2:RunInstances) and C(iam:PassRole) where the template names an instance profile.
  - Run M(ec2meta.imds.launch_template_metadata_options) with C(versions=in_use) first; the IMDSv2 campaign's
    launch_paths phase runs both with C(campaign_move_pinned_groups=true).
seealso:
  - module: ec2meta.imds.launch_template_metadata_options
    description: Makes the successors this module moves groups to.
  - module: ec2meta.imds.metadata_options_info
    description: Audits the groups and the versions they pin.
"""

EXAMPLES = r"""
---
- name: Point legacy-asg at the successors of the versions it pins
  ec2meta.imds.auto_scaling_group_launch_template:
    region: eu-west-1
    auto_scaling_group_name: legacy-asg
    http_tokens: required
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
auto_scaling_group_name:
  description: The group's name.
  returned: success
  type: str
  sample: legacy-asg
pinned:
  description: Each template specification of the group that names a version number, and what happens to it.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Where it is - V(launch_template), V(mixed_instances_policy) or V(mixed_instances_override[N]).
      type: str
    launch_template_id:
      description: The template (its name when it does not exist).
      type: str
    old_version:
      description: The version it pins before the task.
      type: int
    new_version:
      description: The successor it pins after the task (V(kept) - the same version); null when left.
      type: int
    action:
      description: V(move), V(kept) (the version has the options), V(no_successor) or V(missing) (left alone).
      type: str
    why:
      description: The reason, in words.
      type: str
  sample: [{"path": "launch_template", "launch_template_id": "lt-0123456789abcdef0", "old_version": 2,
            "new_version": 5, "action": "move",
            "why": "version 5 is version 2's launch data with http_tokens=required"}]
moves:
  description: The moves, one line each (old -> new), for the report.
  returned: success
  type: list
  elements: str
  sample: ["launch_template: lt-0123456789abcdef0 version 2 -> 5"]
left:
  description: The pinned specifications left alone, one line each with the reason.
  returned: success
  type: list
  elements: str
  sample: ["launch_template: lt-0123456789abcdef0 version 2: no later version is its launch data with ..."]
note:
  description: Why the group has nothing pinned (it follows V($Default) or V($Latest), or uses a launch configuration).
  returned: success
  type: str
  sample: ""
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.group_moves import apply_group, plan_group  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (  # noqa: E402
    TEMPLATE_OPTIONS,
    move_option_spec,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import validate_requested  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def argument_spec() -> dict:
    return {
        "auto_scaling_group_name": {"type": "str", "required": True},
        **move_option_spec(),
    }


def main() -> None:
    module = ImdsModule(argument_spec(), aws=True, requires=["boto3"])
    params = module.params
    with module.failures_reported():
        name = params["auto_scaling_group_name"].strip()
        if not name:
            raise ImdsConfigError("auto_scaling_group_name is empty: give the group's name")
        wanted = validate_requested({option: params[option] for option in TEMPLATE_OPTIONS})
        missing = "No AWS region: set the region option (an Auto Scaling group belongs to one region)"
        region = check_regions([module.region(missing)])[0]
        autoscaling = module.aws_client("autoscaling", region)
        plan = plan_group(autoscaling, module.aws_client("ec2", region), module.budget, name, wanted)
        done = {"changed": bool(plan.moves)} if module.check_mode else apply_group(autoscaling, module.budget, plan)
    result = {**done, **plan.as_dict()}
    before = {spec.path: spec.old_version for spec in plan.specs}
    after = {spec.path: spec.new_version if spec.action == "move" else spec.old_version for spec in plan.specs}
    module.exit_with_diff(before, after, **result)


if __name__ == "__main__":
    main()
