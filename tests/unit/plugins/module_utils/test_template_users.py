# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's users of a template: what launch_template_metadata_options (versions=in_use) keeps on its lineage."""

from __future__ import annotations

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import Template, template_users

TEMPLATES = {"lt-1": Template("lt-1", "web", 1, 3), "lt-2": Template("lt-2", "other", 1, 1)}


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
    users = template_users(groups, {}, TEMPLATES)
    assert users["lt-1"] == [
        {"kind": "auto_scaling_group", "name": "on-latest", "version": "$Latest"},
        {"kind": "auto_scaling_group", "name": "pinned", "version": "2"},
        {"kind": "auto_scaling_group", "name": "no-version", "version": "$Default"},
        {"kind": "auto_scaling_group", "name": "mixed", "version": "1"},
    ]
    assert users["lt-2"] == [
        {"kind": "auto_scaling_group", "name": "elsewhere", "version": "$Latest"},
        {"kind": "auto_scaling_group", "name": "mixed", "version": "$Default"},
    ]


def test_fleets_that_still_launch_are_users_and_those_that_do_not_are_not():
    def ec2_fleet(fleet_id: str, state: str, **spec) -> dict:
        config = {"LaunchTemplateSpecification": spec}
        return {"FleetId": fleet_id, "FleetState": state, "Type": "maintain", "LaunchTemplateConfigs": [config]}

    spot = {
        "SpotFleetRequestId": "sfr-1",
        "SpotFleetRequestState": "active",
        "SpotFleetRequestConfig": {
            "Type": "maintain",
            "LaunchTemplateConfigs": [{"LaunchTemplateSpecification": {"LaunchTemplateName": "web", "Version": "2"}}],
        },
    }
    fleets = {
        "ec2_fleets": [
            ec2_fleet("fleet-live", "active", LaunchTemplateId="lt-1", Version="$Latest"),
            ec2_fleet("fleet-gone", "deleted", LaunchTemplateId="lt-1", Version="1"),
        ],
        "spot_fleet_requests": [spot],
    }
    assert template_users([], fleets, TEMPLATES)["lt-1"] == [
        {"kind": "ec2_fleet", "name": "fleet-live", "version": "$Latest"},
        {"kind": "spot_fleet_request", "name": "sfr-1", "version": "2"},
    ]
