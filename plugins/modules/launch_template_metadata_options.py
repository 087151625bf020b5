#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: launch_template_metadata_options
short_description: Give a launch template a version whose instances require IMDSv2
version_added: 1.0.0
description:
  - Launch template versions cannot be changed. This module creates a new version from O(source_version) with
    only its metadata options changed (C(CreateLaunchTemplateVersion) with C(SourceVersion), so every other
    parameter of the source version is kept by EC2), and with O(set_default) makes it the default version.
  - Idempotent. Nothing is created when the source version already has the options; when the template's latest
    version already is the source version with the options (an earlier run made it), that version is used.
  - Auto Scaling groups that use V($Default) or V($Latest) launch from the new version once it is the default or
    the latest; groups pinned to a version number keep it. The audit
    (M(ec2meta.imds.metadata_options_info) with O(ec2meta.imds.metadata_options_info#module:include)) names them.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  launch_template_id:
    description:
      - The template's ID. One of O(launch_template_id) and O(launch_template_name) is required.
    type: str
  launch_template_name:
    description:
      - The template's name.
    type: str
  source_version:
    description:
      - The version to start from, V($Default), V($Latest) or a version number.
    type: str
    default: $Default
  set_default:
    description:
      - Make the version with the options the template's default version.
    type: bool
    default: false
  version_description:
    description:
      - The description of a version the module creates.
    type: str
    default: "ec2meta.imds: metadata options"
  http_tokens:
    description:
      - V(required) makes instances launched from the template require IMDSv2.
    type: str
    choices: [optional, required]
  http_put_response_hop_limit:
    description:
      - The hop limit for the token PUT response, from V(1) to V(64); V(2) for containers on the instance.
    type: int
  http_endpoint:
    description:
      - The state of the metadata endpoint.
    type: str
    choices: [enabled, disabled]
  http_protocol_ipv6:
    description:
      - The IPv6 endpoint of IMDS.
    type: str
    choices: [enabled, disabled]
  instance_metadata_tags:
    description:
      - Instance tags in the metadata.
    type: str
    choices: [enabled, disabled]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.aws
attributes:
  check_mode:
    support: full
    details: Reads the template and reports what it would create and set; sends no change.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The credentials need C(ec2:DescribeLaunchTemplates), C(ec2:DescribeLaunchTemplateVersions),
    C(ec2:CreateLaunchTemplateVersion) and, with O(set_default), C(ec2:ModifyLaunchTemplate).
  - Why a module of ours and not C(amazon.aws.ec2_launch_template) - that module builds a version from the whole
    template data given in the task, so fixing a fleet's templates would mean restating every template in the
    playbook; this one changes the metadata options and nothing else, from the template as it is.
seealso:
  - module: ec2meta.imds.metadata_options_info
    description: Audits the launch templates and the groups that use them.
  - module: ec2meta.imds.instance_metadata_defaults
    description: The account's regional defaults, for launches that set no value.
"""

EXAMPLES = r"""
---
- name: Require IMDSv2 for instances launched from the web template
  ec2meta.imds.launch_template_metadata_options:
    region: eu-west-1
    launch_template_name: web
    http_tokens: required
    http_put_response_hop_limit: 2
    set_default: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
launch_template_id:
  description: The template's ID.
  returned: success
  type: str
  sample: lt-0123456789abcdef0
source_version:
  description: The version number the options were read from.
  returned: success
  type: int
  sample: 3
version:
  description: The version that has the options (created, reused, or the source); null in check mode when it would
    be created.
  returned: success
  type: int
  sample: 4
version_created:
  description: The number of the version created, when one was.
  returned: when a version was created
  type: int
  sample: 4
default_version:
  description: The default version after the task.
  returned: success
  type: int
  sample: 4
metadata_options:
  description: The metadata options of RV(version) (in check mode, what they would be).
  returned: success
  type: dict
  sample: {"http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": "enabled",
           "http_protocol_ipv6": null, "instance_metadata_tags": null}
changes:
  description: The options that differ from the source version.
  returned: success
  type: dict
  sample: {"http_tokens": "required"}
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (  # noqa: E402
    TEMPLATE_OPTIONS,
    apply_template,
    plan_template,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import validate_requested  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402

STATES = ["enabled", "disabled"]


def argument_spec() -> dict:
    return {
        "launch_template_id": {"type": "str"},
        "launch_template_name": {"type": "str"},
        "source_version": {"type": "str", "default": "$Default"},
        "set_default": {"type": "bool", "default": False},
        "version_description": {"type": "str", "default": "ec2meta.imds: metadata options"},
        "http_tokens": {"type": "str", "choices": ["optional", "required"]},
        "http_put_response_hop_limit": {"type": "int"},
        "http_endpoint": {"type": "str", "choices": STATES},
        "http_protocol_ipv6": {"type": "str", "choices": STATES},
        "instance_metadata_tags": {"type": "str", "choices": STATES},
    }


def main() -> None:
    module = ImdsModule(
        argument_spec(),
        aws=True,
        requires=["boto3"],
        mutually_exclusive=[("launch_template_id", "launch_template_name")],
        required_one_of=[("launch_template_id", "launch_template_name")],
    )
    params = module.params
    with module.failures_reported():
        for selector in ("launch_template_id", "launch_template_name"):
            if params[selector] is not None and not params[selector].strip():
                raise ImdsConfigError(f"{selector} is empty: give the template's id (lt-...) or its name")
        wanted = validate_requested({name: params[name] for name in TEMPLATE_OPTIONS})
        missing = "No AWS region: set the region option (a launch template belongs to one region)"
        region = check_regions([module.region(missing)])[0]
        ec2 = module.aws_client("ec2", region)
        plan = plan_template(
            ec2,
            module.budget,
            wanted,
            template_id=params["launch_template_id"],
            template_name=params["launch_template_name"],
            source_version=params["source_version"],
            set_default=params["set_default"],
        )
        if module.check_mode:
            creates = "create_version" in plan.actions
            done = {
                "changed": bool(plan.actions),
                "version": None if creates else (plan.reuse_version or plan.source_version),
                "default_version": (plan.new_default if "set_default" in plan.actions else plan.default_version),
            }
        else:
            done = apply_template(ec2, module.budget, plan, params["version_description"])
    result = {
        **done,
        "launch_template_id": plan.template_id,
        "source_version": plan.source_version,
        "metadata_options": plan.desired,
        "changes": plan.changes,
    }
    module.exit_with_diff(plan.current, plan.desired, **result)


if __name__ == "__main__":
    main()
