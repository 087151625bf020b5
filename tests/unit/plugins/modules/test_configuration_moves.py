# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""launch_configuration_template (issue 30, item 2): a group on a launch configuration moves to a launch template
made from it field by field, tokens required; what cannot be carried exactly is refused. Against moto."""

from __future__ import annotations

import base64
import uuid

import boto3
import moto_ec2_gaps
import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.configuration_moves import (
    CONFIGURATION_FIELDS,
    template_data,
)
from ansible_collections.ec2meta.imds.plugins.modules import launch_configuration_template

REGION = "eu-west-3"
ZONES = {"AvailabilityZones": [f"{REGION}a"], "MinSize": 0, "MaxSize": 1}


@pytest.fixture
def clients(moto_endpoint):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    return ec2, boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=REGION)


def args(moto_endpoint, **options):
    return {"endpoint_url": moto_endpoint, "region": REGION, **options}


def group_on(autoscaling, **configuration) -> tuple:
    name = f"lc-{uuid.uuid4().hex[:10]}"
    autoscaling.create_launch_configuration(LaunchConfigurationName=name, **configuration)
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=f"{name}-asg", LaunchConfigurationName=name, **ZONES)
    return name, f"{name}-asg"


FULL_USER_DATA = "#!/bin/sh\necho hi\n"
FULL = {
    "ImageId": "ami-0000000000000a001",
    "InstanceType": "m7i.large",
    "KeyName": "ops",
    "SecurityGroups": ["sg-0123456789abcdef0"],
    "UserData": FULL_USER_DATA,
    "BlockDeviceMappings": [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True}}
    ],
    "InstanceMonitoring": {"Enabled": True},
    "IamInstanceProfile": "arn:aws:iam::123456789012:instance-profile/web",
    "EbsOptimized": True,
    "AssociatePublicIpAddress": True,  # moto answers false when it is not given (MOTO_GAPS.md)
    "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2},
}
# The same launch, as a template: every field compared, tokens required, the hop limit kept.
EXPECTED = {
    "ImageId": "ami-0000000000000a001",
    "InstanceType": "m7i.large",
    "KeyName": "ops",
    "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": True, "Groups": ["sg-0123456789abcdef0"]}],
    # boto3 base64-encodes a launch configuration's user data, and Auto Scaling answers it so; a template takes it
    # base64-encoded: the answer is carried as it is.
    "UserData": base64.b64encode(FULL_USER_DATA.encode()).decode(),
    "BlockDeviceMappings": [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": True}}
    ],
    "Monitoring": {"Enabled": True},
    "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/web"},
    "EbsOptimized": True,
    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
}


def test_a_group_moves_to_a_template_made_from_its_configuration_field_by_field(run_module, moto_endpoint, clients):
    ec2, autoscaling = clients
    configuration, group = group_on(autoscaling, **FULL)
    for action in ("CreateLaunchTemplate", "UpdateAutoScalingGroup"):
        moto_ec2_gaps.inject_fault(action, "DryRunOperation", "check mode sent it")
    try:
        checked = run_module(
            launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group), check_mode=True
        )
    finally:
        moto_ec2_gaps.clear_faults()
    assert checked.get("failed") is not True, checked
    assert checked["changed"] is True
    assert checked["launch_template_data"] == EXPECTED  # check mode shows the template
    assert checked["launch_template_name"] == f"{configuration}-imdsv2"
    assert (
        autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0][
            "LaunchConfigurationName"
        ]
        == configuration
    )
    assert (
        ec2.describe_launch_templates(
            Filters=[{"Name": "launch-template-name", "Values": [f"{configuration}-imdsv2"]}]
        )["LaunchTemplates"]
        == []
    )

    done = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert done.get("failed") is not True, done
    assert done["changed"] is True
    made = ec2.describe_launch_template_versions(LaunchTemplateId=done["launch_template_id"], Versions=["$Default"])
    assert made["LaunchTemplateVersions"][0]["LaunchTemplateData"] == EXPECTED
    after = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    assert after["LaunchTemplate"]["LaunchTemplateId"] == done["launch_template_id"]
    assert "LaunchConfigurationName" not in after

    again = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert again["changed"] is False
    assert again["note"] == "the group launches from a launch template already"


def test_a_field_without_an_exact_equivalent_is_refused_and_the_group_left(run_module, moto_endpoint, clients):
    _ec2, autoscaling = clients
    configuration, group = group_on(
        autoscaling, ImageId="ami-0000000000000a001", InstanceType="t3.micro", SpotPrice="0.05"
    )
    done = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert done.get("failed") is not True, done
    assert done["changed"] is False
    assert list(done["refused"]) == ["SpotPrice"]
    assert "SpotPrice cannot be carried" in done["left"][0]
    after = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    assert after["LaunchConfigurationName"] == configuration


@pytest.mark.parametrize(
    ("configuration", "refused"),
    [
        (
            {"ClassicLinkVPCId": "vpc-1", "ClassicLinkVPCSecurityGroups": ["sg-1"]},
            {"ClassicLinkVPCId", "ClassicLinkVPCSecurityGroups"},
        ),
        ({"AssociatePublicIpAddress": True, "SecurityGroups": ["web"]}, {"AssociatePublicIpAddress"}),
        ({"SomethingNew": "x"}, {"SomethingNew"}),
        ({"AssociatePublicIpAddress": True, "SecurityGroups": ["sg-1"]}, set()),
    ],
)
def test_each_refusal_names_its_field(configuration, refused):
    data, found = template_data({"ImageId": "ami-1", **configuration}, {"http_tokens": "required"})
    assert set(found) == refused
    if not refused and "AssociatePublicIpAddress" in configuration:
        assert data["NetworkInterfaces"] == [{"DeviceIndex": 0, "AssociatePublicIpAddress": True, "Groups": ["sg-1"]}]
        assert "SecurityGroupIds" not in data


def test_every_member_of_botocores_launch_configuration_has_a_row():
    import botocore.session

    model = botocore.session.get_session().get_service_model("autoscaling")
    assert set(model.shape_for("LaunchConfiguration").members) == set(CONFIGURATION_FIELDS)


@pytest.mark.parametrize(
    ("member", "value", "carried"),
    [
        ("PlacementTenancy", "dedicated", {"Placement": {"Tenancy": "dedicated"}}),
        ("IamInstanceProfile", "web", {"IamInstanceProfile": {"Name": "web"}}),
        ("RamdiskId", "ari-1", {"RamDiskId": "ari-1"}),
        ("SecurityGroups", ["default"], {"SecurityGroups": ["default"]}),
        ("BlockDeviceMappings", [{"DeviceName": "/dev/sdb", "NoDevice": True}],
         {"BlockDeviceMappings": [{"DeviceName": "/dev/sdb", "NoDevice": ""}]}),
        ("InstanceMonitoring", {"Enabled": False}, {"Monitoring": {"Enabled": False}}),
    ],
)  # fmt: skip
def test_each_member_goes_to_its_template_equivalent(member, value, carried):
    data, refused = template_data({member: value}, {"http_tokens": "required"})
    assert refused == {}
    assert data == {**carried, "MetadataOptions": {"HttpTokens": "required"}}
