# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 Fleets and Spot Fleet requests in the launch-path audit (issue 27, item 2), the verdict table, and values
the audit does not know (item 4): against moto with the stand-ins of MOTO_GAPS.md, and the pure rules."""

from __future__ import annotations

import boto3
import moto_ec2_gaps
import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.account_defaults import AccountDefaults
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import (
    LAUNCH_PATH_KINDS,
    NOT_AUDITED,
    PATH_VERDICT_NAMES,
    PATH_VERDICTS,
    SEVERITY,
    Account,
    FleetFacts,
    audit_launch_paths,
    judge,
    launch_options,
    readiness_from,
    verdict_table,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget, aws_client

REGION = "ca-central-1"
NONE = {"http_tokens": None, "http_put_response_hop_limit": None, "http_endpoint": None}
ROLE = "arn:aws:iam::123456789012:role/spot-fleet"


def test_the_verdict_table_is_complete_and_ordered():
    assert tuple(row["name"] for row in verdict_table()) == PATH_VERDICT_NAMES
    assert set(SEVERITY) == set(PATH_VERDICT_NAMES)
    for row in verdict_table():
        assert row["meaning"]
        assert row["advice"]
        assert isinstance(row["blocks_enforcement"], bool)
    blocking = {row.name for row in PATH_VERDICTS if row.blocks_enforcement}
    assert blocking == {"unknown", "launch_refused", "allows_imdsv1"}


@pytest.mark.parametrize(
    ("launch", "enforced", "verdict", "blocks"),
    [
        ({"http_tokens": "optional"}, True, "launch_refused", True),
        ({"http_tokens": "optional"}, False, "allows_imdsv1", True),
        ({}, True, "launch_refused", True),  # EC2's own default, optional, under enforcement
        ({"http_tokens": "required"}, True, "enforced", False),
        # Enforcement looks at the tokens only: a disabled endpoint with tokens optional is still refused.
        ({"http_tokens": "optional", "http_endpoint": "disabled"}, True, "launch_refused", True),
        ({"http_tokens": "optional", "http_endpoint": "disabled"}, False, "allows_imdsv1", True),
        ({"http_tokens": "required", "http_endpoint": "disabled"}, True, "endpoint_disabled", False),
    ],
)
def test_under_enforcement_a_path_that_allows_imdsv1_is_launch_refused(launch, enforced, verdict, blocks):
    judged = judge({**NONE, **launch}, Account(dict(NONE), enforced), {})
    assert (judged["verdict"], judged["blocks_enforcement"]) == (verdict, blocks)
    if verdict == "launch_refused":
        assert "refuses every launch from it now" in judged["verdict_reason"]


@pytest.mark.parametrize(
    "block",
    [
        {"HttpTokens": "bogus"},
        {"HttpTokens": "Required"},
        {"HttpEndpoint": "Enabled", "HttpTokens": "optional"},
        {"HttpPutResponseHopLimit": -7, "HttpTokens": "bogus"},
        {"HttpTokens": {"nested": "object"}},
    ],
)
def test_a_value_the_audit_does_not_know_is_unknown_and_blocks(block):
    judged = judge(launch_options(block), Account(dict(NONE)), {})
    assert judged["verdict"] == "unknown"
    assert judged["blocks_enforcement"] is True
    assert "not a value the API documents" in judged["verdict_reason"]


@pytest.mark.parametrize("hop_limit", [-7, 0, 65, "2", 2.5, True])
def test_a_hop_limit_outside_the_model_is_unknown(hop_limit):
    judged = judge(launch_options({"HttpPutResponseHopLimit": hop_limit, "HttpTokens": "required"}), Account({}), {})
    assert judged["effective"]["http_put_response_hop_limit"] is None
    assert judged["sources"]["http_put_response_hop_limit"].startswith("unknown: HttpPutResponseHopLimit")


def fleet(kind, **fields):
    if kind == "ec2_fleets":
        return {
            "FleetId": "fleet-1",
            "FleetState": fields.get("state", "active"),
            "Type": fields.get("type"),
            "FulfilledCapacity": fields.get("fulfilled"),
            "TargetCapacitySpecification": {"TotalTargetCapacity": fields.get("target")},
            "ActivityStatus": fields.get("activity"),
        }
    return {
        "SpotFleetRequestId": "sfr-1",
        "SpotFleetRequestState": fields.get("state", "active"),
        "ActivityStatus": fields.get("activity"),
        "SpotFleetRequestConfig": {
            "Type": fields.get("type"),
            "FulfilledCapacity": fields.get("fulfilled"),
            "TargetCapacity": fields.get("target"),
        },
    }


@pytest.mark.parametrize("kind", ["ec2_fleets", "spot_fleet_requests"])
@pytest.mark.parametrize(
    ("fields", "launches"),
    [
        ({"type": "maintain", "fulfilled": 2, "target": 2}, True),
        ({"type": None, "fulfilled": 2, "target": 2}, True),  # the API's default type is maintain
        ({"type": "request", "fulfilled": 2, "target": 2}, False),  # one-time and done: never replenishes
        ({"type": "request", "fulfilled": 1, "target": 2}, True),  # still to launch the rest
        ({"type": "request", "fulfilled": None, "target": 2}, True),  # cannot tell: fail closed
        ({"type": "request", "fulfilled": 1, "target": 2, "activity": "fulfilled"}, False),
        ({"type": "instant", "fulfilled": 0, "target": 2}, False),
        ({"type": "sometimes", "fulfilled": 2, "target": 2}, True),
        ({"type": "maintain", "state": "cancelled_running"}, False),
        ({"type": "maintain", "state": "deleted_running"}, False),
        ({"type": "maintain", "state": "modifying"}, True),
        ({"type": "maintain", "state": "paused"}, True),  # a state this collection does not know
        ({"type": "maintain", "state": ["active"]}, True),
    ],
)
def test_which_fleets_still_launch(kind, fields, launches):
    found, why = FleetFacts.of(kind, fleet(kind, **fields)).launches()
    assert found is launches
    assert why


# ----------------------------------------------------------------------------- against moto


@pytest.fixture
def fleets(moto_endpoint):
    """Templates and fleets of every kind, in a region of their own. Capacity 0: moto launches nothing."""
    moto_ec2_gaps.reset_defaults()
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    plain = ec2.register_image(Name="fleet-plain-ami")["ImageId"]
    v2 = ec2.register_image(Name="fleet-v2-ami", ImdsSupport="v2.0")["ImageId"]
    # Version 1 allows IMDSv1; the default and latest (2) require tokens: only a fleet pinned to 1 uses it.
    pinned = ec2.create_launch_template(
        LaunchTemplateName="fleet-pinned",
        LaunchTemplateData={
            "ImageId": plain,
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "optional"},
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(
        LaunchTemplateId=pinned,
        LaunchTemplateData={
            "ImageId": plain,
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "required"},
        },
    )
    ec2.modify_launch_template(LaunchTemplateId=pinned, DefaultVersion="2")
    from_ami = ec2.create_launch_template(
        LaunchTemplateName="fleet-from-ami", LaunchTemplateData={"ImageId": v2, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    capacity = {"TotalTargetCapacity": 0, "DefaultTargetCapacityType": "on-demand"}

    def ec2_fleet(fleet_type, spec, overrides=None, name=None):
        config = {"LaunchTemplateSpecification": spec}
        if overrides:
            config["Overrides"] = overrides
        tags = [{"ResourceType": "fleet", "Tags": [{"Key": "Name", "Value": name}]}] if name else []
        return ec2.create_fleet(
            Type=fleet_type,
            TargetCapacitySpecification=capacity,
            LaunchTemplateConfigs=[config],
            TagSpecifications=tags,
        )["FleetId"]

    made = {
        "plain": plain,
        "pinned": pinned,
        "from_ami": from_ami,
        "maintain_v1": ec2_fleet("maintain", {"LaunchTemplateId": pinned, "Version": "1"}, name="batch <b>"),
        "request_v1": ec2_fleet("request", {"LaunchTemplateId": pinned, "Version": "1"}),
        "maintain_default": ec2_fleet("maintain", {"LaunchTemplateName": "fleet-pinned", "Version": "$Default"}),
        # The template relies on its AMI's ImdsSupport; one override launches another AMI, which has none.
        "override_ami": ec2_fleet(
            "maintain",
            {"LaunchTemplateId": from_ami, "Version": "$Latest"},
            [{"InstanceType": "t3.small"}, {"InstanceType": "t3.large", "ImageId": plain}],
        ),
    }
    spot = {"TargetCapacity": 0, "IamFleetRole": ROLE, "AllocationStrategy": "lowestPrice"}
    made["spot_ami"] = ec2.request_spot_fleet(
        SpotFleetRequestConfig={**spot, "LaunchSpecifications": [{"ImageId": plain, "InstanceType": "t3.micro"}]}
    )["SpotFleetRequestId"]
    made["spot_template"] = ec2.request_spot_fleet(
        SpotFleetRequestConfig={
            **spot,
            "Type": "maintain",
            "LaunchTemplateConfigs": [
                {"LaunchTemplateSpecification": {"LaunchTemplateId": pinned, "Version": "2"},
                 "Overrides": [{"InstanceType": "t3.small"}]}
            ],
        }
    )["SpotFleetRequestId"]  # fmt: skip
    yield made
    ec2.delete_fleets(
        FleetIds=[made[key] for key in ("maintain_v1", "request_v1", "maintain_default", "override_ami")],
        TerminateInstances=False,  # capacity 0: nothing to terminate, and moto refuses to terminate nothing
    )
    ec2.cancel_spot_fleet_requests(
        SpotFleetRequestIds=[made["spot_ami"], made["spot_template"]], TerminateInstances=False
    )
    for template in (pinned, from_ami):
        ec2.delete_launch_template(LaunchTemplateId=template)
    moto_ec2_gaps.reset_defaults()


def run_audit(moto_endpoint, include=LAUNCH_PATH_KINDS, defaults=None):
    budget = AwsBudget(120)
    connection = {"endpoint_url": moto_endpoint, "region": REGION, "budget": budget}
    return audit_launch_paths(
        aws_client("ec2", **connection),
        aws_client("autoscaling", **connection),
        budget,
        REGION,
        list(include),
        defaults,
    )


def by(items, key):
    return {item[key]: item for item in items}


def test_every_fleet_launch_path_is_audited(moto_endpoint, fleets):
    found = run_audit(moto_endpoint)
    ec2_fleets = by(found["ec2_fleets"], "fleet_id")
    pinned = ec2_fleets[fleets["maintain_v1"]]
    assert (pinned["verdict"], pinned["blocks_enforcement"], pinned["launches_new_instances"]) == (
        "allows_imdsv1", True, True
    )  # fmt: skip
    assert pinned["name"] == "batch <b>"
    assert pinned["launch_paths"][0]["version"] == 1
    assert pinned["launch_paths"][0]["sources"]["http_tokens"] == "launch_parameters"

    request = ec2_fleets[fleets["request_v1"]]
    assert (request["verdict"], request["blocks_enforcement"], request["type"]) == ("not_launching", False, "request")
    assert request["launch_paths"][0]["verdict"] == "allows_imdsv1"  # reported, but it launches nothing more

    assert ec2_fleets[fleets["maintain_default"]]["verdict"] == "enforced"
    assert ec2_fleets[fleets["maintain_default"]]["launch_paths"][0]["version"] == 2

    override = ec2_fleets[fleets["override_ami"]]
    paths = {path["kind"]: path for path in override["launch_paths"]}
    assert paths["launch_template"]["verdict"] == "enforced"  # the template's AMI has ImdsSupport v2.0
    assert paths["launch_template_override"]["image_id"] == fleets["plain"]
    assert paths["launch_template_override"]["verdict"] == "allows_imdsv1"
    assert override["verdict"] == "allows_imdsv1"

    spot = by(found["spot_fleet_requests"], "spot_fleet_request_id")
    by_ami = spot[fleets["spot_ami"]]
    assert by_ami["launch_paths"][0]["kind"] == "launch_specification"
    assert by_ami["launch_paths"][0]["sources"]["http_tokens"] == "aws_default"  # no MetadataOptions, no default
    assert (by_ami["verdict"], by_ami["blocks_enforcement"], by_ami["type"]) == ("allows_imdsv1", True, "maintain")
    assert spot[fleets["spot_template"]]["verdict"] == "enforced"

    # The template's version 1 is used by a fleet that launches: it is read, named and blocks the template.
    template = by(found["launch_templates"], "launch_template_id")[fleets["pinned"]]
    versions = {item["version"]: item for item in template["versions"]}
    assert f"ec2_fleet:{fleets['maintain_v1']}" in versions[1]["roles"]
    assert f"ec2_fleet:{fleets['request_v1']}" not in versions[1]["roles"]
    assert template["blocks_enforcement"] is True

    assert found["launch_path_summary"]["ec2_fleets"]["not_launching"] == 1
    assert found["not_audited"]["launch_paths"] == list(NOT_AUDITED)
    assert found["not_audited"]["coverage"] == "none"
    assert found["api_calls"]["ec2:DescribeFleets"] == 1
    assert found["api_calls"]["ec2:DescribeSpotFleetRequests"] == 1

    blockers = {(item["kind"], item["id"]) for item in readiness_from([], found)["blockers"]}
    assert ("ec2_fleet", fleets["maintain_v1"]) in blockers
    assert ("spot_fleet_request", fleets["spot_ami"]) in blockers
    assert ("ec2_fleet", fleets["request_v1"]) not in blockers


def test_a_spot_fleet_launch_specification_takes_the_account_default(moto_endpoint, fleets):
    required = AccountDefaults(REGION, {"http_tokens": "required"})
    spot = by(
        run_audit(moto_endpoint, ["spot_fleet_requests"], required)["spot_fleet_requests"], "spot_fleet_request_id"
    )
    path = spot[fleets["spot_ami"]]["launch_paths"][0]
    assert (path["verdict"], path["sources"]["http_tokens"]) == ("enforced", "account_defaults")


def test_under_enforcement_the_fleets_that_allow_imdsv1_are_launch_refused(moto_endpoint, fleets):
    enforced = AccountDefaults(REGION, {"http_tokens_enforced": "enabled"})
    found = run_audit(moto_endpoint, ["ec2_fleets", "spot_fleet_requests", "launch_templates"], enforced)
    assert by(found["ec2_fleets"], "fleet_id")[fleets["maintain_v1"]]["verdict"] == "launch_refused"
    assert by(found["spot_fleet_requests"], "spot_fleet_request_id")[fleets["spot_ami"]]["verdict"] == "launch_refused"
    template = by(found["launch_templates"], "launch_template_id")[fleets["pinned"]]
    assert template["verdict"] == "launch_refused"
    assert "fail" in template["verdict_reason"] or "refuses" in template["verdict_reason"]
    assert found["not_audited"]["coverage"] == "enforcement"
