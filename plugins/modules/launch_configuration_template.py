#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: launch_configuration_template
short_description: Move an Auto Scaling group off its launch configuration onto a launch template requiring IMDSv2
version_added: 1.1.0
description:
  - A launch configuration cannot be changed. This module makes a launch template from the configuration of the group
    O(auto_scaling_group_name) - every field that has a template equivalent, carried exactly, with the metadata options
    of this task (tokens required) - then switches the group to the template's V($Default) version.
  - A configuration with a field that cannot be carried exactly (ClassicLink, a spot price, a member this collection
    does not know) is refused - the group stays on it, and RV(refused) names each field and why. Nothing is created.
  - Security groups given by ID go to C(SecurityGroupIds) and those given by name to C(SecurityGroups); a name in
    the configuration of a group that launches into subnets (C(VPCZoneIdentifier)) is refused, since a template
    there takes only IDs.
  - The template is tagged C(ec2meta.imds:made-from-launch-configuration) with the configuration's name. It is read
    back before the group is switched, and the group after; a template that does not read back as planned fails the
    task (C(template_not_as_planned), naming each member that differs, C(changed) true) and the group stays on its
    configuration.
  - Idempotent and resumable - a group on a launch template has nothing to move; a template of the planned name that
    carries the tag with this configuration's name (an earlier run made it) is reused when its version 1 and
    V($Default) are exactly the planned data, otherwise the task fails with C(template_not_as_planned) saying what
    differs. A template of that name without the tag is never adopted (C(launch_template_name_taken)).
  - Check mode shows the template it would create (RV(launch_template_data)).
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  auto_scaling_group_name:
    description:
      - The group's name.
    type: str
    required: true
  launch_template_name:
    description:
      - The name of the template to make; unset means the configuration's name with V(-imdsv2) appended.
      - When that is not a launch template name (3 to 128 letters, digits, parentheses, dots, hyphens, slashes and
        underscores), every run of other characters is replaced by V(-), the name is cut to fit, and the first 8 hex
        digits of the SHA-256 of the configuration's name are added before V(-imdsv2) (C(web server:1) gives
        C(web-server-1-<hash>-imdsv2)), so every run derives the same name and two configurations never share one.
    type: str
  version_description:
    description:
      - The description of the template's first version.
    type: str
    default: "ec2meta.imds: made from a launch configuration"
  http_tokens:
    description:
      - The template's http_tokens; V(required) is the IMDSv2 campaign's.
    type: str
    choices: [optional, required]
    default: required
  http_put_response_hop_limit:
    description:
      - The template's hop limit (from V(1) to V(64)); unset keeps the configuration's.
    type: int
  http_endpoint:
    description:
      - The template's endpoint state; unset keeps the configuration's.
    type: str
    choices: [enabled, disabled]
  http_protocol_ipv6:
    description:
      - The template's IPv6 endpoint state; unset keeps the configuration's.
    type: str
    choices: [enabled, disabled]
  instance_metadata_tags:
    description:
      - The template's instance tags state; unset keeps the configuration's.
    type: str
    choices: [enabled, disabled]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
attributes:
  check_mode:
    support: full
    details: Reads the group and its configuration and returns the template it would create; sends no change.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need C(autoscaling:DescribeAutoScalingGroups), C(autoscaling:DescribeLaunchConfigurations),
    C(autoscaling:UpdateAutoScalingGroup), C(ec2:CreateLaunchTemplate), C(ec2:CreateTags) (the template is tagged
    as it is created), C(ec2:DescribeLaunchTemplates) and C(ec2:DescribeLaunchTemplateVersions), and
    C(iam:PassRole) where the configuration names an instance profile.
  - The launch configuration itself is not deleted; once no group uses it the audit reports it as not launching.
seealso:
  - module: ec2meta.imds.auto_scaling_group_launch_template
    description: Moves groups pinned to a template version.
"""

EXAMPLES = r"""
---
- name: Move old-web off its launch configuration onto a template that requires IMDSv2
  ec2meta.imds.launch_configuration_template:
    region: eu-west-1
    auto_scaling_group_name: old-web
    http_tokens: required
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
auto_scaling_group_name:
  description: The group's name.
  returned: success
  type: str
  sample: old-web
launch_configuration_name:
  description: The configuration the group launched from; null when it is on a launch template already.
  returned: success
  type: str
  sample: old-web-lc
launch_template_name:
  description: The template's name.
  returned: success
  type: str
  sample: old-web-lc-imdsv2
launch_template_id:
  description: The template's ID; null in check mode when it would be created.
  returned: success
  type: str
  sample: lt-0123456789abcdef0
launch_template_data:
  description: The template's launch data, made from the configuration (what check mode would create).
  returned: success
  type: dict
  sample: {"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro",
           "MetadataOptions": {"HttpTokens": "required"}}
refused:
  description: Each configuration field that cannot be carried exactly, and why; the group is left alone.
  returned: success
  type: dict
  sample: {"SpotPrice": "SpotPrice cannot be carried to a launch template exactly: ..."}
moves:
  description: The move, one line (configuration -> template), for the report.
  returned: success
  type: list
  elements: str
  sample: ["launch configuration old-web-lc -> launch template old-web-lc-imdsv2"]
left:
  description: Why the group was left, one line per refused field.
  returned: success
  type: list
  elements: str
  sample: []
note:
  description: Why nothing moves (on a template already, or left on its configuration).
  returned: success
  type: str
  sample: ""
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.configuration_moves import (  # noqa: E402
    apply_configuration,
    plan_configuration,
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
        "auto_scaling_group_name": {"type": "str", "required": True},
        "launch_template_name": {"type": "str"},
        "version_description": {"type": "str", "default": "ec2meta.imds: made from a launch configuration"},
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
        autoscaling, ec2 = module.aws_client("autoscaling", region), module.aws_client("ec2", region)
        plan = plan_configuration(autoscaling, ec2, module.budget, name, wanted, params["launch_template_name"])
        if module.check_mode:
            done = {"changed": plan.switches}
        else:
            done = apply_configuration(autoscaling, ec2, module.budget, plan, params["version_description"])
    result = {**done, **plan.as_dict()}
    before = {"launch_configuration": plan.configuration_name, "launch_template": None}
    after = {"launch_configuration": None, "launch_template": plan.template_name} if plan.switches else before
    module.exit_with_diff(before, after, **result)


if __name__ == "__main__":
    main()
