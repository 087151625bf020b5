#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_imds_support
short_description: Mark AMIs as IMDSv2-only (ImdsSupport v2.0)
version_added: 1.0.0
description:
  - Sets C(ImdsSupport) to V(v2.0) on the AMIs given (C(ModifyImageAttribute)), so that instances launched from
    them require IMDSv2 (C(HttpTokens=required), hop limit 2) unless the launch parameters or the account's
    regional defaults say otherwise (see M(ec2meta.imds.instance_metadata_defaults)).
  - B(AWS cannot unset it.) No call removes C(ImdsSupport) from an AMI; only a new AMI registered from its snapshot
    is without it, and every copy of the AMI inherits it. The module warns about this in every mode, check mode
    included. Mark only AMIs whose software uses IMDSv2.
  - Every AMI is read first; an AMI that is not found fails the task before anything is changed.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  image_ids:
    description:
      - The AMIs to mark, in the region of O(region).
    type: list
    elements: str
    required: true
  imds_support:
    description:
      - The value to set; V(v2.0) is the only one AWS has.
    type: str
    choices: [v2.0]
    default: v2.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
attributes:
  check_mode:
    support: full
    details: Reads the AMIs and reports which it would mark; warns as in a real run.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need C(ec2:DescribeImages) and C(ec2:ModifyImageAttribute); only the AMI's owner can change it.
seealso:
  - module: ec2meta.imds.metadata_options_info
    description: O(ec2meta.imds.metadata_options_info#module:include=images) lists the AMIs and their ImdsSupport.
  - name: Configure the AMI
    description: The EC2 user guide on ImdsSupport.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html
"""

EXAMPLES = r"""
---
- name: Mark the golden images as IMDSv2-only
  ec2meta.imds.image_imds_support:
    region: eu-west-1
    image_ids:
      - ami-0123456789abcdef0
      - ami-0fedcba9876543210
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
images:
  description: Each AMI, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    image_id:
      description: The AMI ID.
      type: str
      returned: success
      sample: ami-0123456789abcdef0
    name:
      description: The AMI's name.
      type: str
      returned: success
      sample: golden-2026-11
    before:
      description: Its ImdsSupport before the task, null when unset.
      type: str
      returned: success
      sample: null
    after:
      description: Its ImdsSupport after the task (in check mode, what it would be).
      type: str
      returned: success
      sample: v2.0
    changed:
      description: Whether the task marked it (or would in check mode).
      type: bool
      returned: success
      sample: true
images_changed:
  description: On a failure midway, the AMIs marked before it.
  returned: failure
  type: list
  elements: str
  sample: [ami-0123456789abcdef0]
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (  # noqa: E402
    IMDS_SUPPORT,
    IMDS_SUPPORT_WARNING,
    apply_images,
    check_image_ids,
    plan_images,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def argument_spec() -> dict:
    return {
        "image_ids": {"type": "list", "elements": "str", "required": True},
        "imds_support": {"type": "str", "choices": [IMDS_SUPPORT], "default": IMDS_SUPPORT},
    }


def main() -> None:
    module = ImdsModule(argument_spec(), aws=True, requires=["boto3"])
    params = module.params
    module.warn(IMDS_SUPPORT_WARNING)
    with module.failures_reported():
        image_ids = check_image_ids(params["image_ids"])
        region = check_regions([module.region("No AWS region: set the region option (AMIs belong to one region)")])[0]
        ec2 = module.aws_client("ec2", region)
        plans = plan_images(ec2, module.budget, image_ids, region)
        if not module.check_mode:
            apply_images(ec2, module.budget, plans)
    images = [
        {
            "image_id": plan.image_id,
            "name": plan.name,
            "before": plan.before,
            "after": IMDS_SUPPORT,
            "changed": plan.needs_change,
        }
        for plan in plans
    ]
    module.exit_with_diff(
        {plan.image_id: plan.before for plan in plans},
        {plan.image_id: IMDS_SUPPORT for plan in plans},
        changed=any(plan.needs_change for plan in plans),
        images=images,
    )


if __name__ == "__main__":
    main()
