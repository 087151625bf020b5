# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's users of a template: what launch_template_metadata_options (versions=in_use) keeps on its lineage."""

from __future__ import annotations

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import Template, template_users

WEB = Template("lt-1", "web", 1, 3)
OTHER = Template("lt-2", "other", 1, 1)
TEMPLATES = {"lt-1": WEB, "lt-2": OTHER}


def group(name: str, **spec) -> dict:
    return {"AutoScalingGroupName": name, "LaunchTemplate": spec}


def test_each_group_names_the_version_as_it_names_it():
    groups = [
        group("on-latest", LaunchTemplateId="lt-1", Version="$Latest"),
        group("pinned", LaunchTemplateName="web", Version="2"),
        group("no-version", LaunchTemplateId="lt-1"),
        group("elsewhere", LaunchTemplateId="lt-2", Version="$Latest"),
        {
            "AutoScalingGroupName": "mixed",
            "MixedInstancesPolicy": {
                "LaunchTemplate": {
                    "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-2"},
                    "Overrides": [{"LaunchTemplateSpecification": {"LaunchTemplateId": "lt-1", "Version": "1"}}],
                }
            },
        },
    ]
    assert template_users(WEB, groups, TEMPLATES) == [
        {"kind": "auto_scaling_group", "name": "on-latest", "version": "$Latest"},
        {"kind": "auto_scaling_group", "name": "pinned", "version": "2"},
        {"kind": "auto_scaling_group", "name": "no-version", "version": "$Default"},
        {"kind": "auto_scaling_group", "name": "mixed", "version": "1"},
    ]
    assert template_users(OTHER, groups, TEMPLATES) == [
        {"kind": "auto_scaling_group", "name": "elsewhere", "version": "$Latest"},
        {"kind": "auto_scaling_group", "name": "mixed", "version": "$Default"},
    ]
