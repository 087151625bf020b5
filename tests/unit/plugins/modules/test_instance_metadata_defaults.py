# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""instance_metadata_defaults through main(), against moto with the account-defaults stand-in (MOTO_GAPS.md)."""

from __future__ import annotations

import boto3
import moto_ec2_gaps
import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ec2meta.imds.plugins.modules import instance_metadata_defaults

ACCOUNT = "123456789012"


@pytest.fixture
def warnings_seen(monkeypatch):
    """The module's warnings (ansible routes them to its display, not the JSON result, in-process)."""
    seen: list = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: seen.append(warning))
    return seen


@pytest.fixture(autouse=True)
def clean_defaults():
    moto_ec2_gaps.reset_defaults()
    moto_ec2_gaps.clear_faults()
    yield
    moto_ec2_gaps.reset_defaults()
    moto_ec2_gaps.clear_faults()


def client(moto_endpoint, region, service="ec2"):
    return boto3.client(service, endpoint_url=moto_endpoint, region_name=region)


def level(moto_endpoint, region):
    return client(moto_endpoint, region).get_instance_metadata_defaults()["AccountLevel"]


def args(moto_endpoint, **options):
    return {"endpoint_url": moto_endpoint, "aws_timeout": 120, **options}


def test_reads_sets_and_is_idempotent_with_diff(run_module, moto_endpoint):
    regions = ["eu-north-1", "eu-south-1"]
    read = run_module(instance_metadata_defaults, args(moto_endpoint, regions=regions))
    assert read["changed"] is False
    assert [item["region"] for item in read["regions"]] == regions
    assert read["regions"][0]["before"]["http_tokens"] is None

    wanted = {"http_tokens": "required", "http_put_response_hop_limit": 2}
    checked = run_module(instance_metadata_defaults, args(moto_endpoint, regions=regions, **wanted), check_mode=True)
    assert checked["changed"] is True
    assert "HttpTokens" not in level(moto_endpoint, "eu-north-1")  # check mode sent nothing

    first = run_module(instance_metadata_defaults, args(moto_endpoint, regions=regions, **wanted), diff=True)
    assert first["changed"] is True
    assert first["diff"]["before"]["eu-north-1"]["http_tokens"] is None
    assert first["diff"]["after"]["eu-north-1"]["http_tokens"] == "required"
    for region in regions:
        assert level(moto_endpoint, region)["HttpTokens"] == "required"
        assert level(moto_endpoint, region)["HttpPutResponseHopLimit"] == 2
    again = run_module(instance_metadata_defaults, args(moto_endpoint, regions=regions, **wanted))
    assert again["changed"] is False

    cleared = run_module(
        instance_metadata_defaults, args(moto_endpoint, region="eu-north-1", http_tokens="no-preference")
    )
    assert cleared["changed"] is True
    assert "HttpTokens" not in level(moto_endpoint, "eu-north-1")
    assert level(moto_endpoint, "eu-north-1")["HttpPutResponseHopLimit"] == 2  # left alone


def test_a_declarative_policy_owns_the_defaults(run_module, moto_endpoint, warnings_seen):
    moto_ec2_gaps.set_managed_by_policy(
        ACCOUNT, "eu-west-3", "Set by the security team's policy", {"HttpTokens": "optional"}
    )
    result = run_module(instance_metadata_defaults, args(moto_endpoint, region="eu-west-3", http_tokens="required"))
    assert result["changed"] is False
    entry = result["regions"][0]
    assert entry["managed_by"] == "declarative-policy"
    assert entry["managed_exception_message"] == "Set by the security team's policy"
    assert any("declarative policy" in warning for warning in warnings_seen)
    assert level(moto_endpoint, "eu-west-3")["HttpTokens"] == "optional"


def test_enforcement_is_refused_while_anything_allows_imdsv1_and_no_region_changes(
    run_module, moto_endpoint, warnings_seen
):
    # sa-east-1: an instance with tokens optional; us-west-1: nothing at all (ready).
    ec2 = client(moto_endpoint, "sa-east-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    try:
        result = run_module(
            instance_metadata_defaults,
            args(moto_endpoint, regions=["us-west-1", "sa-east-1"], http_tokens_enforced="enabled"),
        )
        assert result["failed"] is True
        assert result["reason"] == "enforcement_not_ready"
        assert instance in result["msg"]
        assert "allow_refused_launches" in result["msg"]
        assert result["readiness"]["ready"] is False
        # us-west-1 was ready and planned first, but nothing is sent while another region refuses.
        assert "HttpTokensEnforced" not in level(moto_endpoint, "us-west-1")
        assert "HttpTokensEnforced" not in level(moto_endpoint, "sa-east-1")

        forced = run_module(
            instance_metadata_defaults,
            args(moto_endpoint, region="sa-east-1", http_tokens_enforced="enabled", allow_refused_launches=True),
        )
        assert forced["changed"] is True
        assert any("allow_refused_launches" in warning for warning in warnings_seen)
        assert level(moto_endpoint, "sa-east-1")["HttpTokensEnforced"] == "enabled"
    finally:
        ec2.terminate_instances(InstanceIds=[instance])


def test_enforcement_in_a_ready_region(run_module, moto_endpoint):
    result = run_module(
        instance_metadata_defaults, args(moto_endpoint, region="us-west-1", http_tokens_enforced="enabled")
    )
    assert result["changed"] is True, result
    readiness = result["regions"][0]["readiness"]
    assert readiness == {
        "ready": True,
        "blockers": [],
        "instance_summary": readiness["instance_summary"],
        "launch_path_summary": readiness["launch_path_summary"],
        "not_audited": readiness["not_audited"],
        "account_defaults": {**readiness["account_defaults"], "http_tokens_enforced": "enabled"},
    }
    assert readiness["not_audited"]["coverage"] == "none"  # judged with enforcement still off
    assert level(moto_endpoint, "us-west-1")["HttpTokensEnforced"] == "enabled"


def test_an_optional_launch_template_blocks_enforcement(run_module, moto_endpoint):
    ec2 = client(moto_endpoint, "ap-south-1")
    template = ec2.create_launch_template(
        LaunchTemplateName="blocks-enforcement", LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}}
    )["LaunchTemplate"]["LaunchTemplateId"]
    try:
        result = run_module(
            instance_metadata_defaults, args(moto_endpoint, region="ap-south-1", http_tokens_enforced="enabled")
        )
        assert result["reason"] == "enforcement_not_ready"
        assert template in result["msg"]
    finally:
        ec2.delete_launch_template(LaunchTemplateId=template)


@pytest.mark.parametrize(
    ("options", "reason", "text"),
    [
        ({"regions": ["eu-nowhere-1"]}, "invalid_option", "Unknown AWS region 'eu-nowhere-1'"),
        ({"regions": ["not a region"]}, "invalid_option", "is not an AWS region name"),
        ({"region": "eu-west-1", "http_put_response_hop_limit": 65}, "invalid_option", "http_put_response_hop_limit"),
        ({"region": "eu-west-1", "imdsv1_usage_window": 0}, "invalid_option", "imdsv1_usage_window"),
    ],
)
def test_bad_input(run_module, moto_endpoint, options, reason, text):
    result = run_module(instance_metadata_defaults, args(moto_endpoint, **options))
    assert result["failed"] is True
    assert result["reason"] == reason
    assert text in result["msg"]


def test_access_denied_names_the_iam_action(run_module, moto_endpoint):
    moto_ec2_gaps.inject_fault("GetInstanceMetadataDefaults", "UnauthorizedOperation")
    result = run_module(instance_metadata_defaults, args(moto_endpoint, region="eu-west-1"))
    assert result["reason"] == "unauthorized"
    assert "ec2:GetInstanceMetadataDefaults" in result["msg"]


def test_throttled_modify_fails_clearly_and_reports_what_changed(run_module, moto_endpoint):
    moto_ec2_gaps.inject_fault("ModifyInstanceMetadataDefaults", "RequestLimitExceeded")
    result = run_module(
        instance_metadata_defaults, args(moto_endpoint, regions=["eu-north-1", "eu-south-1"], http_tokens="required")
    )
    assert result["reason"] == "throttled"
    assert "ec2:ModifyInstanceMetadataDefaults" in result["msg"]
    assert result["changed"] is False
    assert result["regions_not_changed"] == ["eu-north-1", "eu-south-1"]
    assert "HttpTokens" not in level(moto_endpoint, "eu-north-1")


def test_every_region_that_is_not_ready_is_named(run_module, moto_endpoint):
    made = {}
    for region in ("eu-central-1", "af-south-1"):
        ec2 = client(moto_endpoint, region)
        made[region] = ec2.create_launch_template(
            LaunchTemplateName="not-ready", LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}}
        )["LaunchTemplate"]["LaunchTemplateId"]
    try:
        result = run_module(
            instance_metadata_defaults,
            args(moto_endpoint, regions=list(made), http_tokens="required", http_tokens_enforced="enabled"),
        )
        assert result["reason"] == "enforcement_not_ready"
        assert result["regions_refused"] == ["eu-central-1", "af-south-1"]
        assert all(template in result["msg"] for template in made.values())
        assert set(result["readiness"]) == set(made)
        for region in made:
            assert "HttpTokens" not in level(moto_endpoint, region)  # nothing sent, not even the other option
    finally:
        for region, template in made.items():
            client(moto_endpoint, region).delete_launch_template(LaunchTemplateId=template)


# ------------------------------------------------------------------ issue 27: fleets, the state the task leaves


def test_an_ec2_fleet_and_a_spot_fleet_block_enforcement(run_module, moto_endpoint):
    # The template's default and latest require tokens; only the maintain fleet, pinned to version 1, allows IMDSv1.
    # The Spot Fleet launches an AMI without ImdsSupport and the account has no default: it allows IMDSv1 too.
    region = "ap-southeast-1"
    ec2 = client(moto_endpoint, region)
    image = ec2.register_image(Name="fleet-legacy")["ImageId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="fleet-pinned",
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "optional"},
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(
        LaunchTemplateId=template,
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "required"},
        },
    )
    ec2.modify_launch_template(LaunchTemplateId=template, DefaultVersion="2")
    fleet = ec2.create_fleet(
        Type="maintain",
        TargetCapacitySpecification={"TotalTargetCapacity": 0, "DefaultTargetCapacityType": "on-demand"},
        LaunchTemplateConfigs=[{"LaunchTemplateSpecification": {"LaunchTemplateId": template, "Version": "1"}}],
    )["FleetId"]
    spot = ec2.request_spot_fleet(
        SpotFleetRequestConfig={
            "TargetCapacity": 0,
            "IamFleetRole": "arn:aws:iam::123456789012:role/spot-fleet",
            "AllocationStrategy": "lowestPrice",
            "LaunchSpecifications": [{"ImageId": image, "InstanceType": "t3.micro"}],
        }
    )["SpotFleetRequestId"]
    try:
        result = run_module(
            instance_metadata_defaults, args(moto_endpoint, region=region, http_tokens_enforced="enabled")
        )
        assert result.get("reason") == "enforcement_not_ready", result
        assert fleet in result["msg"]
        assert spot in result["msg"]
        blockers = {item["id"]: item for item in result["readiness"]["blockers"]}
        assert blockers[fleet]["kind"] == "ec2_fleet"
        assert blockers[spot]["verdict"] == "allows_imdsv1"
        # Its default and latest require tokens; version 1 is read, and blocks, because the fleet launches it.
        assert blockers[template]["verdict"] == "allows_imdsv1"
        assert "HttpTokensEnforced" not in level(moto_endpoint, region)
    finally:
        ec2.delete_fleets(FleetIds=[fleet], TerminateInstances=False)
        ec2.cancel_spot_fleet_requests(SpotFleetRequestIds=[spot], TerminateInstances=False)
        ec2.delete_launch_template(LaunchTemplateId=template)


@pytest.fixture
def inherits_the_default(moto_endpoint):
    """ap-southeast-2: a launch configuration that sets no metadata options, on an AMI without ImdsSupport, and a
    group on it (one that no group uses launches nothing, issue 30): it launches with whatever the account default
    says."""
    region = "ap-southeast-2"
    ec2, autoscaling = client(moto_endpoint, region), client(moto_endpoint, region, "autoscaling")
    image = ec2.register_image(Name="inherits-default")["ImageId"]
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc-inherits", ImageId=image, InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg-inherits", LaunchConfigurationName="lc-inherits",
        AvailabilityZones=[f"{region}a"], MinSize=0, MaxSize=1,
    )  # fmt: skip
    yield region
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName="asg-inherits", ForceDelete=True)
    autoscaling.delete_launch_configuration(LaunchConfigurationName="lc-inherits")


def test_required_and_enforced_in_one_task_is_judged_on_the_defaults_after_it(
    run_module, moto_endpoint, inherits_the_default
):
    region = inherits_the_default
    result = run_module(
        instance_metadata_defaults,
        args(moto_endpoint, region=region, http_tokens="required", http_tokens_enforced="enabled"),
    )
    assert result["changed"] is True, result
    readiness = result["regions"][0]["readiness"]
    assert readiness["ready"] is True
    assert readiness["account_defaults"]["http_tokens"] == "required"
    assert readiness["not_audited"]["launch_paths"]
    assert level(moto_endpoint, region)["HttpTokensEnforced"] == "enabled"


def test_enforcement_alone_is_refused_where_a_path_inherits_an_optional_default(
    run_module, moto_endpoint, inherits_the_default
):
    result = run_module(
        instance_metadata_defaults, args(moto_endpoint, region=inherits_the_default, http_tokens_enforced="enabled")
    )
    assert result["reason"] == "enforcement_not_ready"
    assert "lc-inherits" in result["msg"]


def test_optional_and_enforced_in_one_task_is_refused(run_module, moto_endpoint, inherits_the_default):
    result = run_module(
        instance_metadata_defaults,
        args(moto_endpoint, region=inherits_the_default, http_tokens="optional", http_tokens_enforced="enabled"),
    )
    assert result["failed"] is True
    assert result["reason"] == "http_tokens_lowered_under_enforcement"
    assert "HttpTokensEnforced" not in level(moto_endpoint, inherits_the_default)
    assert "HttpTokens" not in level(moto_endpoint, inherits_the_default)


@pytest.mark.parametrize("lowered", ["optional", "no-preference"])
def test_lowering_http_tokens_under_enforcement_is_refused_with_its_own_reason(run_module, moto_endpoint, lowered):
    region = "ap-northeast-3"
    client(moto_endpoint, region).modify_instance_metadata_defaults(HttpTokens="required", HttpTokensEnforced="enabled")
    result = run_module(instance_metadata_defaults, args(moto_endpoint, region=region, http_tokens=lowered))
    assert result["failed"] is True
    assert result["reason"] == "http_tokens_lowered_under_enforcement"
    assert "allow_refused_launches" in result["msg"]
    assert level(moto_endpoint, region)["HttpTokens"] == "required"
    # Turning enforcement off in the same task lowers nothing under enforcement.
    off = run_module(
        instance_metadata_defaults,
        args(moto_endpoint, region=region, http_tokens=lowered, http_tokens_enforced="disabled"),
        check_mode=True,
    )
    assert off["changed"] is True, off
    forced = run_module(
        instance_metadata_defaults,
        args(moto_endpoint, region=region, http_tokens=lowered, allow_refused_launches=True),
        check_mode=True,
    )
    assert forced["changed"] is True, forced


def test_enforcement_over_a_default_that_is_optional_already_is_refused_like_in_one_task(run_module, moto_endpoint):
    """Issue 27 (second review, 12): the default is optional already and the task sets only http_tokens_enforced;
    nothing audited inherits the default, but every launch that relies on it (RunInstances callers the audit cannot
    see) would be refused. The end state is the one refused when reached in one task, so it is refused alike."""
    region = "me-central-1"  # no test launches anything here
    moto_ec2_gaps.reset_defaults()
    client(moto_endpoint, region).modify_instance_metadata_defaults(HttpTokens="optional")
    for check_mode in (True, False):
        result = run_module(
            instance_metadata_defaults,
            args(moto_endpoint, region=region, http_tokens_enforced="enabled"),
            check_mode=check_mode,
        )
        assert result.get("failed") is True, result
        assert result["reason"] == "http_tokens_lowered_under_enforcement"
        assert (
            f"Refusing to turn on http_tokens_enforced in {region} while the default http_tokens is optional"
            in (result["msg"])
        )
    assert "HttpTokensEnforced" not in level(moto_endpoint, region)
    # Setting required in the same task makes the same region ready.
    fixed = run_module(
        instance_metadata_defaults,
        args(moto_endpoint, region=region, http_tokens="required", http_tokens_enforced="enabled"),
        check_mode=True,
    )
    assert fixed.get("failed") is not True, fixed
    moto_ec2_gaps.reset_defaults()
