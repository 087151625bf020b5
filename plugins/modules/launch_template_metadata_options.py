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
  - Launch template versions cannot be changed, and every version created becomes the template's V($Latest). This
    module gives a version a B(successor) - a new version made from it by number (C(CreateLaunchTemplateVersion)
    with C(SourceVersion), so EC2 keeps every other parameter) with only its metadata options changed - and keeps
    every alias on the launch data it had - whenever it creates a version, the successor of the V($Latest) version is
    created last (a plain copy with the options when that version already has them), so V($Latest) still launches
    the AMI, instance type and everything else it launched before.
  - With O(versions=in_use) every version that V($Default), V($Latest) and O(users) resolve to gets its successor,
    and V($Default) moves to the successor of its version. Users pinned to a version number keep it (their
    successor is made and named in RV(lineage), moving them is a decision of its own). This is the campaign's
    launch_paths phase.
  - With O(versions=source) (the default) O(source_version) gets its successor, and with O(set_default) that
    successor becomes the default version.
  - The new versions are read back before V($Default) moves; one that is not its source's launch data with only the
    metadata options changed fails the task (C(launch_data_changed)) and V($Default) stays.
  - Idempotent. A version that has the options already is its own successor; a version for which an earlier run
    made a successor (its launch data with the options) gets that one, and nothing is created.
  - >-
    Each version it creates says in its description which version it was made from (V(ec2meta.imds: successor of
    version 2; ...)). A run reads these to know which lineage V($Latest) users follow - the newest version the module
    did not make - so when a run failed between its creations and left V($Latest) on the successor of another
    version, running the task again creates the right successor last and V($Latest) launches what it launched before.
  - When a creation fails after others went through, the module tries once to create the successor of the
    V($Latest) version (so V($Latest) keeps its launch data), then fails saying where V($Default) and V($Latest)
    point (RV(aliases), RV(latest_launch_data_of)); V($Default) is not moved. Run the task again to finish.
  - Each created version must get the next number; when another party creates a version meanwhile the module does
    not create the last version (which would take V($Latest) from theirs), does not move V($Default), and fails
    with C(concurrent_change); running the task again plans from the versions there are then.
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
  versions:
    description:
      - Which versions get a successor.
      - V(in_use) - every version that V($Default), V($Latest) and O(users) resolve to, and V($Default) moves to the
        successor of its version. O(source_version) and O(set_default) do not apply.
      - V(source) - the version O(source_version) (and V($Latest)'s, created last, when it is another version).
    type: str
    choices: [source, in_use]
    default: source
  users:
    description:
      - With O(versions=in_use), what launches from the template and which version it names, for example the
        groups and fleets the audit (M(ec2meta.imds.metadata_options_info)) lists in its C(launch_templates[].users).
      - V($Default) and V($Latest) are always kept on their lineage, listed or not.
    type: list
    elements: dict
    suboptions:
      kind:
        description: What the user is, for example V(auto_scaling_group), V(ec2_fleet), V(spot_fleet).
        type: str
        required: true
      name:
        description: The user's name or ID.
        type: str
        required: true
      version:
        description: The version as the user names it, V($Default), V($Latest) or a number; unset means V($Default).
        type: raw
  source_version:
    description:
      - With O(versions=source), the version to give a successor, V($Default), V($Latest) or a version number.
        Unset means V($Default).
    type: str
  set_default:
    description:
      - With O(versions=source), make the successor of O(source_version) the template's default version. Unset means
        V(false).
    type: bool
  version_description:
    description:
      - >-
        The description of a version the module creates, after V(ec2meta.imds: successor of version N;) (which
        the module reads on later runs); at most 255 characters in all.
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
    C(ec2:CreateLaunchTemplateVersion) and C(ec2:ModifyLaunchTemplate) (to move V($Default)).
  - Between the first and the last version it creates, V($Latest) is briefly another version; a failure there
    leaves it so and the message says which version to make the latest again.
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
- name: Every version in use gets a successor that requires IMDSv2; web-asg stays on the lineage of $Latest
  ec2meta.imds.launch_template_metadata_options:
    region: eu-west-1
    launch_template_name: web
    versions: in_use
    users:
      - kind: auto_scaling_group
        name: web-asg
        version: $Latest
      - kind: auto_scaling_group
        name: legacy-asg
        version: "1"
    http_tokens: required
  delegate_to: localhost
  run_once: true

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
  description: The version RV(metadata_options) and RV(changes) describe - O(source_version) with
    O(versions=source), the default version with O(versions=in_use).
  returned: success
  type: int
  sample: 3
version:
  description: The successor of RV(source_version) (created, reused, or the version itself); null in check mode
    when it would be created.
  returned: success
  type: int
  sample: 4
version_created:
  description: RV(version), when this run created it.
  returned: when the successor of RV(source_version) was created
  type: int
  sample: 4
versions_created:
  description: The versions this run created, in the order created (the last one is V($Latest)). Empty in check mode.
  returned: success and failure
  type: list
  elements: int
  sample: [4, 5]
default_version:
  description: The default version after the task; null in check mode when it would be a version not created yet.
  returned: success and failure
  type: int
  sample: 4
latest_version:
  description: The latest version after the task; null in check mode when it would be created.
  returned: success and failure
  type: int
  sample: 5
latest_launch_data_of:
  description: After a failure, the version whose launch data (AMI, instance type, ...) V($Latest) launches now;
    when it is not the version V($Latest) pointed to before the task (in RV(aliases)), groups on V($Latest)
    launch other data until the task is run again.
  returned: failure
  type: int
  sample: 2
metadata_options:
  description: The metadata options of RV(version) (in check mode, what they would be).
  returned: success
  type: dict
  sample: {"http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": "enabled",
           "http_protocol_ipv6": null, "instance_metadata_tags": null}
changes:
  description: The options that differ from RV(source_version).
  returned: success
  type: dict
  sample: {"http_tokens": "required"}
lineage:
  description: Per version in use, oldest first - its successor and who uses it.
  returned: success and failure
  type: list
  elements: dict
  contains:
    old_version:
      description: The version in use before the task.
      type: int
    new_version:
      description: Its successor; null when not created (yet, or in check mode, or C(missing)).
      type: int
    action:
      description: V(kept) (it has the options), V(reused) (an earlier run made the successor), V(create),
        V(copy) (it has the options but is V($Latest) and another version got a successor), V(missing) (a user
        names a version that does not exist).
      type: str
    changes:
      description: The options its successor changes.
      type: dict
    users:
      description: Who launches from it - C(kind), C(name), C(version) as the user names it, and C(moved) - true
        for users of V($Default) and V($Latest), which now launch from the successor; false for users pinned to the
        number, which still launch from RV(lineage[].old_version).
      type: list
      elements: dict
  sample: [{"old_version": 1, "new_version": 3, "action": "create", "changes": {"http_tokens": "required"},
            "users": [{"kind": "alias", "name": "$Default", "version": "$Default", "moved": true}]},
           {"old_version": 2, "new_version": 4, "action": "create", "changes": {"http_tokens": "required"},
            "users": [{"kind": "alias", "name": "$Latest", "version": "$Latest", "moved": true},
                      {"kind": "auto_scaling_group", "name": "web-asg", "version": "$Latest", "moved": true}]}]
aliases:
  description: Where V($Default) and V($Latest) point, C(before) and C(after) the task (null after in check mode
    for a version not created yet), and whether the alias C(moved) (in check mode, would move).
  returned: success and failure
  type: dict
  sample: {"$Default": {"before": 1, "after": 3, "moved": true}, "$Latest": {"before": 2, "after": 4, "moved": true}}
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import check_regions  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (  # noqa: E402
    TEMPLATE_OPTIONS,
    apply_template,
    check_users,
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
        "versions": {"type": "str", "choices": ["source", "in_use"], "default": "source"},
        "users": {
            "type": "list",
            "elements": "dict",
            "options": {
                "kind": {"type": "str", "required": True},
                "name": {"type": "str", "required": True},
                "version": {"type": "raw"},
            },
        },
        "source_version": {"type": "str"},
        "set_default": {"type": "bool"},
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
        users = check_users(params["users"] or []) if params["versions"] == "in_use" else None
        if users is None and params["users"] is not None:
            raise ImdsConfigError(
                "users applies to versions: in_use (every version in use gets its successor); with versions: source "
                "only source_version gets one. Set versions: in_use or leave users out"
            )
        source_version = params["source_version"] or ("$Default" if users is None else None)
        missing = "No AWS region: set the region option (a launch template belongs to one region)"
        region = check_regions([module.region(missing)])[0]
        ec2 = module.aws_client("ec2", region)
        plan = plan_template(
            ec2,
            module.budget,
            wanted,
            template_id=params["launch_template_id"],
            template_name=params["launch_template_name"],
            source_version=source_version,
            set_default=bool(params["set_default"]),
            users=users,
        )
        if module.check_mode:
            done = {"changed": plan.creates or plan.moves_default, "versions_created": []}
        else:
            done = apply_template(ec2, module.budget, plan, params["version_description"])
    aliases = plan.aliases()
    source = plan.source
    result = {
        **done,
        "launch_template_id": plan.template_id,
        "source_version": plan.source_version,
        "version": source.new_version,
        "default_version": aliases["$Default"]["after"],
        "latest_version": aliases["$Latest"]["after"],
        "metadata_options": source.desired,
        "changes": source.changes,
        "lineage": plan.lineage(),
        "aliases": aliases,
    }
    if source.creates and source.new_version is not None:
        result["version_created"] = source.new_version
    before = {**source.current, "default_version": plan.default_version, "latest_version": plan.latest_version}
    after = {**source.desired, "default_version": result["default_version"], "latest_version": result["latest_version"]}
    module.exit_with_diff(before, after, **result)


if __name__ == "__main__":
    main()
