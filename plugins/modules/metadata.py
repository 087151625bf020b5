#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: metadata
short_description: Read paths from the EC2 Instance Metadata Service
version_added: 1.0.0
description:
  - Reads one or more paths of the EC2 Instance Metadata Service (IMDS) of the host it runs on, such as
    C(meta-data/instance-id), C(user-data) or C(dynamic/instance-identity/document).
  - Several paths are read concurrently with one IMDSv2 token.
  - Credential documents (C(meta-data/iam/security-credentials/<role>)) are refused with a message pointing to
    M(ec2meta.imds.role_credentials_info), which returns credentials under C(no_log). With O(recursive=true)
    they are left out of the returned tree.
options:
  path:
    description:
      - A path relative to C(/latest/) (a leading C(/latest/) is accepted too), or a list of them.
      - One path returns RV(value); a list returns RV(by_path).
    type: raw
    required: true
  recursive:
    description:
      - Read each path as a directory and return the whole subtree as a dict (listing names as keys).
    type: bool
    default: false
  parse_json:
    description:
      - Return values that are JSON objects or arrays (the identity document, C(iam/info), spot notices) as data
        instead of text. Other values stay text.
    type: bool
    default: false
  default:
    description:
      - Returned for a path that does not exist on the instance (404) instead of failing.
      - Without it, a missing path fails the task with a message naming it.
    type: raw
extends_documentation_fragment:
  - ec2meta.imds.secret_masking
  # Order matters: on a clash the fragment listed first wins.
  - ec2meta.imds.read_only
  - ansible.builtin.action_common_attributes
  - ec2meta.imds.client
  - ec2meta.imds.action_group
notes:
  - user-data is returned as text, unpacked first when gzip-compressed; binary user-data is returned as base64.
seealso:
  - module: ec2meta.imds.metadata_facts
  - plugin: ec2meta.imds.metadata
    plugin_type: lookup
author:
  - ec2meta.imds maintainers (@ec2meta)
"""

EXAMPLES = r"""
---
- name: Read the instance id
  ec2meta.imds.metadata:
    path: meta-data/instance-id
  register: instance

- name: Use it
  ansible.builtin.debug:
    msg: "{{ instance.value }}"

- name: Read several paths at once
  ec2meta.imds.metadata:
    path:
      - meta-data/placement/region
      - meta-data/placement/availability-zone
  register: place

- name: Show the region
  ansible.builtin.debug:
    msg: "{{ place.by_path['meta-data/placement/region'] }}"

- name: Read the identity document as data
  ec2meta.imds.metadata:
    path: dynamic/instance-identity/document
    parse_json: true
  register: identity

- name: Read a subtree
  ec2meta.imds.metadata:
    path: meta-data/placement
    recursive: true
  register: placement

- name: Tag value, or a default when tags are not exposed
  ec2meta.imds.metadata:
    path: meta-data/tags/instance/Name
    default: unnamed
  register: name_tag
"""

RETURN = r"""
value:
  description:
    - The value of the one O(path) given; a dict with O(recursive=true); O(default) when it does not exist.
  returned: when O(path) is a single path
  type: raw
  sample: i-0a1b2c3d4e5f60718
by_path:
  description:
    - Path (as given, without a leading C(/latest/)) to value, when O(path) is a list.
    - Called C(values) before 1.0.0; renamed because C(result.values) in a template is the dict method of that
      name, not the return value.
  returned: when O(path) is a list
  type: dict
  sample: {"meta-data/placement/region": "eu-west-1", "meta-data/placement/availability-zone": "eu-west-1a"}
imds_version:
  description: Which IMDS version answered (2 with a token, 1 after a fallback).
  returned: success
  type: int
  sample: 2
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.read_paths import MISSING, read_paths  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def main() -> None:
    module = ImdsModule(
        {
            "path": {"type": "raw", "required": True},
            "recursive": {"type": "bool", "default": False},
            "parse_json": {"type": "bool", "default": False},
            "default": {"type": "raw"},
        },
        imds=True,
    )
    params = module.params
    single = isinstance(params["path"], str)
    paths = [params["path"]] if single else params["path"]
    if not isinstance(paths, list) or not paths:
        module.fail_json(msg="path must be a metadata path or a non-empty list of them, e.g. meta-data/instance-id.")
    with module.failures_reported(), module.imds_client() as client:
        by_path = read_paths(
            client,
            paths,
            recursive=params["recursive"],
            parse_json=params["parse_json"],
            default=MISSING if params["default"] is None else params["default"],
        )
    result = {"changed": False, "imds_version": client.imds_version}
    if single:
        result["value"] = next(iter(by_path.values()))
    else:
        result["by_path"] = by_path
    module.exit(**result)


if __name__ == "__main__":
    main()
