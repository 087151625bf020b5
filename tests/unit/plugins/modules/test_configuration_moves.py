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

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import configuration_moves
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.configuration_moves import (
    CONFIGURATION_FIELDS,
    MADE_FROM_TAG,
    TEMPLATE_NAME,
    planned_template_name,
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


def group_of(autoscaling, group: str) -> dict:
    return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]


SMALL = {"ImageId": "ami-0000000000000a001", "InstanceType": "t3.micro"}


def test_a_template_of_the_planned_name_someone_else_made_is_never_adopted(run_module, moto_endpoint, clients):
    """adv30 #19: same name, same data, but no mark: its owner controls what the group would launch."""
    ec2, autoscaling = clients
    configuration, group = group_on(autoscaling, **SMALL)
    planned = run_module(
        launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group), check_mode=True
    )
    ec2.create_launch_template(
        LaunchTemplateName=f"{configuration}-imdsv2",
        VersionDescription="ec2meta.imds: made from a launch configuration",  # the description is no mark
        LaunchTemplateData=planned["launch_template_data"],
    )
    done = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert done["failed"] is True
    assert done["reason"] == "launch_template_name_taken"
    assert MADE_FROM_TAG in done["msg"]
    assert group_of(autoscaling, group)["LaunchConfigurationName"] == configuration


def test_a_template_that_did_not_read_back_as_planned_is_resumed_by_the_next_run(
    run_module, moto_endpoint, clients, monkeypatch
):
    """adv30 #15: the first run creates the template and fails naming what differs (never "Nothing was changed");
    the next one recognises its own template by the mark and finishes."""
    ec2, autoscaling = clients
    configuration, group = group_on(autoscaling, **SMALL)
    real = configuration_moves.read_versions

    def answered_otherwise(*arguments, **keywords):
        return {number: {**data, "KeyName": "not-planned"} for number, data in real(*arguments, **keywords).items()}

    monkeypatch.setattr(configuration_moves, "read_versions", answered_otherwise)
    first = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    monkeypatch.undo()
    assert first["failed"] is True
    assert first["reason"] == "template_not_as_planned"
    assert first["changed"] is True
    assert "KeyName" in first["msg"]
    assert "Nothing was changed" not in first["msg"]
    assert group_of(autoscaling, group)["LaunchConfigurationName"] == configuration
    tags = ec2.describe_launch_templates(LaunchTemplateIds=[first["launch_template_id"]])["LaunchTemplates"][0]["Tags"]
    assert {"Key": MADE_FROM_TAG, "Value": configuration} in tags

    second = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert second.get("failed") is not True, second
    assert second["changed"] is True
    assert group_of(autoscaling, group)["LaunchTemplate"]["LaunchTemplateId"] == first["launch_template_id"]
    third = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert third["changed"] is False


def test_our_template_whose_default_moved_is_not_resumed_and_says_what_differs(run_module, moto_endpoint, clients):
    ec2, autoscaling = clients
    _configuration, group = group_on(autoscaling, **SMALL)
    moto_ec2_gaps.inject_fault("UpdateAutoScalingGroup", "ValidationError", "injected")
    try:
        first = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    finally:
        moto_ec2_gaps.clear_faults()
    assert first["failed"] is True
    template = first["launch_template_id"]
    ec2.create_launch_template_version(
        LaunchTemplateId=template, LaunchTemplateData={"ImageId": "ami-0000000000000c003"}
    )
    ec2.modify_launch_template(LaunchTemplateId=template, DefaultVersion="2")
    second = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert second["failed"] is True
    assert second["reason"] == "template_not_as_planned"
    assert "$Default (version 2" in second["msg"]
    assert "delete the template" in second["msg"]


def test_a_configuration_with_an_unused_device_moves_in_one_run(run_module, moto_endpoint, clients):
    """adv30 #15's case: Auto Scaling answers a NoDevice mapping with an empty Ebs, which says nothing."""
    _ec2, autoscaling = clients
    _configuration, group = group_on(
        autoscaling, **SMALL, BlockDeviceMappings=[{"DeviceName": "/dev/sdc", "NoDevice": True}]
    )
    done = run_module(launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=group))
    assert done.get("failed") is not True, done
    assert "LaunchTemplate" in group_of(autoscaling, group)


IDS = ["sg-0123456789abcdef0", "sg-0fedcba9876543210"]


# adv30 #16: IDs to SecurityGroupIds, names to SecurityGroups; names only where EC2 takes them (the default VPC).
@pytest.mark.parametrize(
    ("groups", "subnets", "carried"),
    [
        (IDS, "", {"SecurityGroupIds": IDS}),
        (IDS, "subnet-1", {"SecurityGroupIds": IDS}),
        (["web", "db"], "", {"SecurityGroups": ["web", "db"]}),
        ([IDS[0], "web"], "", {"SecurityGroupIds": [IDS[0]], "SecurityGroups": ["web"]}),
        (["web", IDS[1], "db"], "", {"SecurityGroupIds": [IDS[1]], "SecurityGroups": ["web", "db"]}),
        ([IDS[0], "web"], "subnet-1,subnet-2", None),
        (["web"], "subnet-1", None),
    ],
)
def test_security_groups_by_id_and_by_name_go_where_ec2_takes_them(groups, subnets, carried):
    group = {"VPCZoneIdentifier": subnets} if subnets else {}
    data, refused = template_data({"ImageId": "ami-1", "SecurityGroups": groups}, {"http_tokens": "required"}, group)
    if carried is None:
        assert list(refused) == ["SecurityGroups"]
        assert "only security group IDs" in refused["SecurityGroups"]
    else:
        assert refused == {}
        assert {key: data[key] for key in ("SecurityGroupIds", "SecurityGroups") if key in data} == carried


# adv30 #18: a configuration name that is no template name gets a valid one, the same every run, never shared.
NAMES = ["web server lc", "lc:prod", "lc@1", "x" * 126, "é-lc", "a", "lc prod", "lc:prod " * 30]


@pytest.mark.parametrize("name", NAMES)
def test_a_configuration_name_that_is_no_template_name_gets_a_valid_one(name):
    derived = planned_template_name(name)
    assert TEMPLATE_NAME.match(derived)
    assert derived == planned_template_name(name)
    assert derived.endswith("-imdsv2")


def test_derived_template_names_differ_for_different_configurations():
    names = {*NAMES, "lc_prod", "lc-prod", "lc/prod"}
    assert len({planned_template_name(name) for name in names}) == len(names)
    assert planned_template_name("web-lc") == "web-lc-imdsv2"  # a valid name is kept as it was


def test_a_group_on_a_configuration_whose_name_is_no_template_name_moves(run_module, moto_endpoint, clients):
    _ec2, autoscaling = clients
    configuration = f"web server {uuid.uuid4().hex[:8]}"
    autoscaling.create_launch_configuration(LaunchConfigurationName=configuration, **SMALL)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=f"g-{configuration[-8:]}", LaunchConfigurationName=configuration, **ZONES
    )
    done = run_module(
        launch_configuration_template, args(moto_endpoint, auto_scaling_group_name=f"g-{configuration[-8:]}")
    )
    assert done.get("failed") is not True, done
    assert done["launch_template_name"] == planned_template_name(configuration)
