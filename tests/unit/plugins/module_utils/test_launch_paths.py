# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The launch-path audit: AWS's precedence as a table, and every launch path kind against moto (with the stand-ins
of MOTO_GAPS.md for the account defaults and AMI ImdsSupport)."""

from __future__ import annotations

import boto3
import moto_ec2_gaps
import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import (
    AccountDefaults,
    parse_defaults,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import (
    AWS_DEFAULTS,
    PATH_VERDICT_NAMES,
    Account,
    Unread,
    audit_launch_paths,
    judge,
    launch_options,
    readiness_from,
    resolve,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBadResponse, AwsBudget, aws_client

NONE = {"http_tokens": None, "http_put_response_hop_limit": None, "http_endpoint": None}
V2 = {"http_tokens": "required", "http_put_response_hop_limit": 2}


# launch parameters, account defaults, image layer -> (http_tokens, its source, hop limit, its source)
PRECEDENCE_CASES = [
    ({}, {}, {}, ("optional", "aws_default", 1, "aws_default")),
    ({}, {}, V2, ("required", "image", 2, "image")),
    # The account's default wins over the AMI (AWS: "if ImdsSupport is v2.0 but the account level default is set").
    ({}, {"http_tokens": "optional"}, V2, ("optional", "account_defaults", 2, "image")),
    (
        {},
        {"http_tokens": "required", "http_put_response_hop_limit": 3},
        {},
        ("required", "account_defaults", 3, "account_defaults"),
    ),
    ({"http_tokens": "optional"}, {"http_tokens": "required"}, V2, ("optional", "launch_parameters", 2, "image")),
    ({"http_tokens": "required"}, {}, Unread("AMI gone"), ("required", "launch_parameters", None, "unknown: AMI gone")),
    ({}, {}, Unread("resolved from SSM"), (None, "unknown: resolved from SSM", None, "unknown: resolved from SSM")),
]


@pytest.mark.parametrize(("launch", "account", "image", "expected"), PRECEDENCE_CASES)
def test_each_value_follows_awss_precedence(launch, account, image, expected):
    effective, sources = resolve(
        {
            "launch_parameters": {**NONE, **launch},
            "account_defaults": {**NONE, **account},
            "image": image,
            "aws_default": AWS_DEFAULTS,
        }
    )
    assert (
        effective["http_tokens"],
        sources["http_tokens"],
        effective["http_put_response_hop_limit"],
        sources["http_put_response_hop_limit"],
    ) == expected
    assert effective["http_endpoint"] == "enabled"  # no layer but EC2's own sets it here


@pytest.mark.parametrize(
    ("launch", "image", "verdict", "blocks"),
    [
        ({"http_tokens": "required"}, {}, "enforced", False),
        ({"http_tokens": "optional"}, V2, "allows_imdsv1", True),
        ({"http_endpoint": "disabled", "http_tokens": "required"}, {}, "endpoint_disabled", False),
        ({}, Unread("no AMI"), "unknown", True),
    ],
)
def test_verdicts_fail_closed(launch, image, verdict, blocks):
    judged = judge({**NONE, **launch}, Account(dict(NONE)), image)
    assert judged["verdict"] == verdict
    assert judged["verdict"] in PATH_VERDICT_NAMES
    assert judged["blocks_enforcement"] is blocks


@pytest.mark.parametrize(
    ("block", "blocks"),
    [({"HttpTokens": "sometimes"}, True), ({"HttpTokens": 1}, True), ({"HttpEndpoint": ["enabled"]}, False)],
)
def test_a_launch_value_the_api_does_not_document_is_unknown_not_unset(block, blocks):
    # Taken as unset, it would fall through to the account default (required) and read as enforced.
    judged = judge(
        launch_options(block), Account({**NONE, "http_tokens": "required", "http_put_response_hop_limit": 1}), {}
    )
    assert judged["verdict"] == "unknown"
    assert judged["blocks_enforcement"] is blocks  # enforcement looks at the tokens only
    assert "not a value the API documents" in judged["verdict_reason"]


def test_a_strange_hop_limit_is_unknown_and_does_not_hide_the_tokens():
    judged = judge(launch_options({"HttpPutResponseHopLimit": "2", "HttpTokens": "required"}), Account(dict(NONE)), {})
    assert judged["effective"]["http_put_response_hop_limit"] is None
    assert judged["sources"]["http_put_response_hop_limit"].startswith("unknown: HttpPutResponseHopLimit")
    assert judged["verdict"] == "unknown"  # issue 27 (second review, 8): a value the audit does not know
    assert judged["blocks_enforcement"] is False  # the tokens alone are known to be required


@pytest.mark.parametrize(
    "block",
    [
        {"HttpPutResponseHopLimit": -7},
        {"HttpPutResponseHopLimit": 0},
        {"HttpPutResponseHopLimit": 65},
        {"HttpPutResponseHopLimit": 99999},
        {"HttpPutResponseHopLimit": True},
        {"HttpPutResponseHopLimit": 2.5},
        {"HttpEndpoint": "Enabled"},
        {"HttpProtocolIpv6": "yes"},
        {"InstanceMetadataTags": 1},
    ],
)
def test_every_field_outside_its_documented_domain_makes_the_path_unknown_naming_it(block):
    """Issue 27 (second review, 8): with tokens required, a garbage value in any other field was "enforced"."""
    judged = judge(launch_options({"HttpTokens": "required", **block}), Account(dict(NONE)), {})
    assert judged["verdict"] == "unknown", judged
    (field,) = block
    assert f"{field} is " in judged["verdict_reason"]
    assert "not a value the API documents" in judged["verdict_reason"]
    fine = judge(launch_options({"HttpTokens": "required", "HttpPutResponseHopLimit": 64}), Account(dict(NONE)), {})
    assert fine["verdict"] == "enforced"


def test_readiness_fails_closed():
    required = {"metadata_options": {"http_tokens": "required"}}
    assert readiness_from([{**required, "verdict": "enforced"}], {})["ready"] is True
    for instance in (
        {**required, "verdict": "unknown"},
        {"metadata_options": {"http_tokens": "optional"}, "verdict": "ready"},
        {"metadata_options": {}, "verdict": "enforced"},
    ):
        assert readiness_from([instance], {})["ready"] is False
    assert readiness_from([], {"launch_templates": [{"launch_template_id": "lt-1"}]})["ready"] is False


@pytest.mark.parametrize(
    "level",
    [
        {"HttpTokens": "sometimes"},
        {"HttpPutResponseHopLimit": 65},
        {"HttpPutResponseHopLimit": "2"},
        {"HttpTokensEnforced": True},
        {"ManagedBy": "someone"},
        "not an object",
    ],
)
def test_a_defaults_answer_outside_the_model_is_refused(level):
    with pytest.raises(AwsBadResponse):
        parse_defaults({"AccountLevel": level}, "eu-west-1")


def test_a_defaults_answer_in_the_model_is_read():
    found = parse_defaults({"AccountLevel": {"HttpTokens": "required", "HttpPutResponseHopLimit": -1}}, "eu-west-1")
    assert found.values["http_tokens"] == "required"
    assert found.values["http_put_response_hop_limit"] is None  # -1 is no preference
    assert parse_defaults({}, "eu-west-1").values == dict.fromkeys(found.values)


# ----------------------------------------------------------------------------- against moto

REGION = "ap-northeast-2"


@pytest.fixture
def region_fleet(moto_endpoint):
    """In a region of their own: AMIs with and without ImdsSupport, templates, groups, launch configurations."""
    moto_ec2_gaps.reset_defaults()
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=REGION)
    v2 = ec2.register_image(Name="imdsv2-ami", ImdsSupport="v2.0")["ImageId"]
    plain = ec2.register_image(Name="plain-ami")["ImageId"]
    made = {"ami_v2": v2, "ami_plain": plain}

    def template(name, *versions):
        first = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=versions[0])
        template_id = first["LaunchTemplate"]["LaunchTemplateId"]
        for data in versions[1:]:
            ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data)
        made[name] = template_id
        return template_id

    template("optional", {"ImageId": v2, "MetadataOptions": {"HttpTokens": "optional"}})
    template("from-ami", {"ImageId": v2})
    template("plain", {"ImageId": plain})
    template("ssm", {"ImageId": "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"})
    # Default version 1 allows IMDSv1, the latest (2) requires tokens.
    template("moved-on", {"ImageId": plain, "MetadataOptions": {"HttpTokens": "optional"}},
             {"ImageId": plain, "MetadataOptions": {"HttpTokens": "required"}})  # fmt: skip
    zones = {"AvailabilityZones": [f"{REGION}a"], "MinSize": 0, "MaxSize": 1}
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="on-latest", LaunchTemplate={"LaunchTemplateId": made["moved-on"], "Version": "$Latest"},
        **zones,
    )  # fmt: skip
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="on-default", LaunchTemplate={"LaunchTemplateName": "moved-on"}, **zones
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="mixed",
        MixedInstancesPolicy={
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": made["moved-on"], "Version": "2"},
                "Overrides": [
                    {"InstanceType": "t3.micro"},
                    {"InstanceType": "t3.small", "LaunchTemplateSpecification": {"LaunchTemplateId": made["plain"]}},
                ],
            }
        },
        **zones,
    )
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc-required", ImageId=plain, InstanceType="t3.micro",
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
    )  # fmt: skip
    autoscaling.create_launch_configuration(LaunchConfigurationName="lc-plain", ImageId=plain, InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="on-lc", LaunchConfigurationName="lc-plain", **zones)
    yield made
    for name in ("on-latest", "on-default", "mixed", "on-lc"):
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    for name in ("lc-required", "lc-plain"):
        autoscaling.delete_launch_configuration(LaunchConfigurationName=name)
    for name in ("optional", "from-ami", "plain", "ssm", "moved-on"):
        ec2.delete_launch_template(LaunchTemplateId=made[name])
    moto_ec2_gaps.reset_defaults()


def run_audit(moto_endpoint, include=("launch_templates", "auto_scaling_groups", "launch_configurations", "images",
                                      "account_defaults")):  # fmt: skip
    budget = AwsBudget(120)
    connection = {"endpoint_url": moto_endpoint, "region": REGION, "budget": budget}
    return audit_launch_paths(
        aws_client("ec2", **connection), aws_client("autoscaling", **connection), budget, REGION, list(include)
    )


def by(items, key):
    return {item[key]: item for item in items}


def test_templates_groups_and_configurations_get_what_the_next_launch_would_get(moto_endpoint, region_fleet):
    found = run_audit(moto_endpoint)
    templates = by(found["launch_templates"], "launch_template_name")
    assert templates["optional"]["verdict"] == "allows_imdsv1"
    assert templates["optional"]["versions"][0]["sources"]["http_tokens"] == "launch_parameters"
    assert templates["from-ami"]["verdict"] == "enforced"
    assert templates["from-ami"]["versions"][0]["sources"] == {
        "http_tokens": "image", "http_put_response_hop_limit": "image", "http_endpoint": "aws_default"
    }  # fmt: skip
    assert templates["plain"]["verdict"] == "allows_imdsv1"
    assert templates["plain"]["versions"][0]["sources"]["http_tokens"] == "aws_default"
    assert templates["ssm"]["verdict"] == "unknown"
    assert "resolved from SSM" in templates["ssm"]["verdict_reason"]
    moved = templates["moved-on"]
    assert (moved["default_version"], moved["latest_version"], moved["verdict"]) == (1, 2, "allows_imdsv1")
    roles = {item["version"]: item for item in moved["versions"]}
    assert roles[2]["verdict"] == "enforced"
    assert "auto_scaling_group:on-latest" in roles[2]["roles"]
    assert "auto_scaling_group:on-default" in roles[1]["roles"]

    groups = by(found["auto_scaling_groups"], "auto_scaling_group_name")
    assert groups["on-latest"]["verdict"] == "enforced"
    assert groups["on-latest"]["launch_paths"][0]["version"] == 2
    assert groups["on-default"]["verdict"] == "allows_imdsv1"
    assert groups["on-default"]["launch_paths"][0]["version_requested"] == "$Default"
    # Mixed instances: version 2 requires tokens, but the override launches from "plain", which allows IMDSv1.
    assert [path["kind"] for path in groups["mixed"]["launch_paths"]] == [
        "mixed_instances_policy", "mixed_instances_override"
    ]  # fmt: skip
    assert groups["mixed"]["verdict"] == "allows_imdsv1"
    assert groups["on-lc"]["verdict"] == "allows_imdsv1"

    configurations = by(found["launch_configurations"], "launch_configuration_name")
    assert configurations["lc-required"]["verdict_if_used"] == "enforced"  # no group uses it
    assert configurations["lc-plain"]["verdict"] == "allows_imdsv1"
    images = by(found["images"], "image_id")
    assert images[region_fleet["ami_v2"]]["imds_support"] == "v2.0"
    assert images[region_fleet["ami_plain"]]["verdict"] == "allows_imdsv1"
    assert found["account_defaults"]["verdict"] == "no_preference"
    assert found["launch_path_summary"]["launch_templates"]["allows_imdsv1"] == 3
    assert found["api_calls"]["ec2:DescribeLaunchTemplateVersions"] == 5  # one call a template


def test_the_account_default_comes_between_the_launch_and_the_ami(moto_endpoint, region_fleet):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    ec2.modify_instance_metadata_defaults(HttpTokens="required")
    templates = by(run_audit(moto_endpoint)["launch_templates"], "launch_template_name")
    assert templates["plain"]["verdict"] == "enforced"
    assert templates["plain"]["versions"][0]["sources"]["http_tokens"] == "account_defaults"
    assert templates["optional"]["verdict"] == "allows_imdsv1"  # the template's own value still wins
    ec2.modify_instance_metadata_defaults(HttpTokens="optional")
    templates = by(run_audit(moto_endpoint)["launch_templates"], "launch_template_name")
    assert templates["from-ami"]["verdict"] == "allows_imdsv1"  # the account's optional beats the AMI's v2.0
    assert templates["from-ami"]["versions"][0]["sources"]["http_tokens"] == "account_defaults"


def test_a_group_on_a_deleted_template_is_unknown(moto_endpoint, region_fleet):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    ec2.delete_launch_template(LaunchTemplateId=region_fleet["moved-on"])
    try:
        groups = by(run_audit(moto_endpoint, ["auto_scaling_groups"])["auto_scaling_groups"], "auto_scaling_group_name")
        assert groups["on-latest"]["verdict"] == "unknown"
        assert "does not exist" in groups["on-latest"]["verdict_reason"]
        assert groups["on-latest"]["blocks_enforcement"] is True
    finally:
        region_fleet["moved-on"] = ec2.create_launch_template(
            LaunchTemplateName="moved-on", LaunchTemplateData={"ImageId": region_fleet["ami_plain"]}
        )["LaunchTemplate"]["LaunchTemplateId"]


@pytest.mark.parametrize(
    ("action", "code", "reason", "iam"),
    [
        ("DescribeLaunchTemplates", "UnauthorizedOperation", "unauthorized", "ec2:DescribeLaunchTemplates"),
        ("DescribeAutoScalingGroups", "AccessDenied", "unauthorized", "autoscaling:DescribeAutoScalingGroups"),
        ("DescribeImages", "UnauthorizedOperation", "unauthorized", "ec2:DescribeImages"),
        ("GetInstanceMetadataDefaults", "UnauthorizedOperation", "unauthorized", "ec2:GetInstanceMetadataDefaults"),
        ("DescribeLaunchConfigurations", "Throttling", "throttled", "autoscaling:DescribeLaunchConfigurations"),
    ],
)
def test_a_refused_read_fails_with_its_reason_and_iam_action(moto_endpoint, region_fleet, action, code, reason, iam):
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError

    moto_ec2_gaps.inject_fault(action, code)
    try:
        with pytest.raises(AwsError) as raised:
            run_audit(moto_endpoint)
    finally:
        moto_ec2_gaps.clear_faults()
    assert raised.value.reason == reason
    assert iam in str(raised.value)


def test_account_defaults_object_round_trip():
    defaults = AccountDefaults("eu-west-1", {"http_tokens": "required"}, "declarative-policy", "policy says")
    assert defaults.managed_by_policy is True
    assert defaults.as_dict()["managed_exception_message"] == "policy says"


def test_a_launch_configuration_no_group_uses_launches_nothing_and_does_not_block_enforcement(
    moto_endpoint, region_fleet
):
    """Issue 30, item 5: lc-required has no group, lc-plain has on-lc. Old code: every configuration that allowed
    IMDSv1 blocked enforcement, also after its last group had moved."""
    autoscaling = boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=REGION)
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="lc-orphan", ImageId=region_fleet["ami_plain"], InstanceType="t3.micro"
    )
    try:
        found = run_audit(moto_endpoint, include=("launch_configurations",))
    finally:
        autoscaling.delete_launch_configuration(LaunchConfigurationName="lc-orphan")
    configurations = by(found["launch_configurations"], "launch_configuration_name")
    orphan = configurations["lc-orphan"]
    assert (orphan["verdict"], orphan["blocks_enforcement"], orphan["used_by"]) == ("not_launching", False, [])
    assert orphan["verdict_if_used"] == "allows_imdsv1"
    assert "no Auto Scaling group uses it" in orphan["verdict_reason"]
    used = configurations["lc-plain"]
    assert (used["verdict"], used["blocks_enforcement"], used["used_by"]) == ("allows_imdsv1", True, ["on-lc"])
    assert found["api_calls"]["autoscaling:DescribeAutoScalingGroups"] == 1
    ready = readiness_from([], {"launch_configurations": found["launch_configurations"]})
    assert [blocker["id"] for blocker in ready["blockers"]] == ["lc-plain"]
