# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templates with version histories and the launch_paths phase's template step, for the tests of what launches
from them (groups, fleets) and the benchmarks: one place, so the tests build the same lineage."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (
    apply_template,
    check_users,
    plan_template,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget

OLD = {"ImageId": "ami-0000000000000a001", "InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}}
NEW = {"ImageId": "ami-0000000000000b002", "InstanceType": "m7i.large", "MetadataOptions": {"HttpTokens": "required"}}

LAUNCH_DATA = st.fixed_dictionaries(
    {
        "ImageId": st.sampled_from(["ami-0000000000000a001", "ami-0000000000000b002"]),
        "InstanceType": st.sampled_from(["t3.micro", "m7i.large", "c7g.xlarge"]),
    },
    optional={
        "KeyName": st.sampled_from(["ops", "batch"]),
        "MetadataOptions": st.fixed_dictionaries(
            {},
            optional={
                "HttpTokens": st.sampled_from(["optional", "required"]),
                "HttpPutResponseHopLimit": st.integers(1, 3),
            },
        ),
    },
)


def make_template(ec2: Any, versions: list, default: int = 1) -> str:
    """A template with ``versions`` (LaunchTemplateData, in order) and ``default`` as its default version."""
    name = f"lineage-{uuid.uuid4().hex[:12]}"
    made = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=versions[0])
    template_id = made["LaunchTemplate"]["LaunchTemplateId"]
    for data in versions[1:]:
        ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data)
    if default != 1:
        ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(default))
    return template_id


def template_step(ec2: Any, template_id: str, users: list) -> dict:
    """The launch_paths phase's template step (launch_template_metadata_options, versions=in_use)."""
    wanted = {"http_tokens": "required"}
    plan = plan_template(ec2, AwsBudget(300), wanted, template_id=template_id, users=check_users(users))
    return apply_template(ec2, AwsBudget(300), plan, "ec2meta.imds: metadata options")


def without_options(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "MetadataOptions"}
