# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_launch_template (issue 30, item 3): maintain EC2 Fleets and Spot Fleet requests pinned to a version number
move to its successor; request and instant fleets are reported only. Against moto with the ModifyFleet and
ModifySpotFleetRequest stand-ins (MOTO_GAPS.md)."""

from __future__ import annotations

import boto3
import moto_ec2_gaps
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from launch_lineage import LAUNCH_DATA, NEW, OLD, make_template, template_step, without_options

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.fleet_moves import (
    apply_fleet,
    fleet_specifications,
    plan_fleet,
    read_fleet,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget
from ansible_collections.ec2meta.imds.plugins.modules import fleet_launch_template

REGION = "eu-west-3"
CAPACITY = {"TotalTargetCapacity": 0, "DefaultTargetCapacityType": "on-demand"}
ROLE = "arn:aws:iam::123456789012:role/spot-fleet"


@pytest.fixture
def ec2(moto_endpoint):
    return boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)


def args(moto_endpoint, **options):
    return {"endpoint_url": moto_endpoint, "region": REGION, **options}


def ec2_fleet(ec2, fleet_type: str, *specs: dict) -> str:
    configs = [
        {"LaunchTemplateSpecification": spec, "Overrides": [{"InstanceType": "t3.small"}, {"InstanceType": "t3.large"}]}
        for spec in specs
    ]
    return ec2.create_fleet(Type=fleet_type, TargetCapacitySpecification=CAPACITY, LaunchTemplateConfigs=configs)[
        "FleetId"
    ]


def spot_fleet(ec2, *specs: dict) -> str:
    configs = [{"LaunchTemplateSpecification": spec, "Overrides": [{"InstanceType": "t3.small"}]} for spec in specs]
    config = {"TargetCapacity": 0, "IamFleetRole": ROLE, "AllocationStrategy": "lowestPrice", "Type": "maintain"}
    return ec2.request_spot_fleet(SpotFleetRequestConfig={**config, "LaunchTemplateConfigs": configs})[
        "SpotFleetRequestId"
    ]


def resolved(ec2, kind: str, fleet: dict) -> list:
    found = []
    for path, spec in fleet_specifications(kind, fleet):
        version = spec.get("Version") or "$Default"
        answer = ec2.describe_launch_template_versions(LaunchTemplateId=spec["LaunchTemplateId"], Versions=[version])
        found.append((path, answer["LaunchTemplateVersions"][0]["LaunchTemplateData"]))
    return found


def without_versions(kind: str, fleet: dict) -> str:
    text = repr({key: value for key, value in fleet.items() if key not in ("FulfilledCapacity", "Instances")})
    for _path, spec in fleet_specifications(kind, fleet):
        text = text.replace(f"'Version': '{spec.get('Version')}'", "'Version': ''")
    return text


def fleet_now(ec2, kind: str, fleet_id: str) -> dict:
    return read_fleet(ec2, AwsBudget(60), kind, fleet_id)


@pytest.mark.parametrize("kind", ["ec2_fleets", "spot_fleet_requests"])
def test_a_maintain_fleet_moves_to_the_successor_and_nothing_else(run_module, moto_endpoint, ec2, kind):
    web = make_template(ec2, [OLD, NEW])
    other = make_template(ec2, [{**OLD, "InstanceType": "c7g.xlarge"}])
    specs = ({"LaunchTemplateId": web, "Version": "1"}, {"LaunchTemplateId": other, "Version": "$Latest"})
    fleet_id = ec2_fleet(ec2, "maintain", *specs) if kind == "ec2_fleets" else spot_fleet(ec2, *specs)
    before_fleet = fleet_now(ec2, kind, fleet_id)
    before = resolved(ec2, kind, before_fleet)

    left = run_module(fleet_launch_template, args(moto_endpoint, fleet_id=fleet_id, kind=kind))
    assert left["changed"] is False  # no successor yet: left alone
    assert [row["action"] for row in left["pinned"]] == ["no_successor"]

    template_step(ec2, web, [{"kind": kind[:-1], "name": fleet_id, "version": "1"}])
    action = "ModifyFleet" if kind == "ec2_fleets" else "ModifySpotFleetRequest"
    moto_ec2_gaps.inject_fault(action, "DryRunOperation", "check mode sent it")
    try:
        checked = run_module(
            fleet_launch_template, args(moto_endpoint, fleet_id=fleet_id, kind=kind), check_mode=True, diff=True
        )
    finally:
        moto_ec2_gaps.clear_faults()
    assert checked.get("failed") is not True, checked
    assert checked["changed"] is True
    assert checked["diff"] == {"before": {"launch_template_configs[0]": 1}, "after": {"launch_template_configs[0]": 3}}
    assert fleet_now(ec2, kind, fleet_id) == before_fleet

    done = run_module(fleet_launch_template, args(moto_endpoint, fleet_id=fleet_id, kind=kind))
    assert done.get("failed") is not True, done
    assert done["moves"] == [f"launch_template_configs[0]: {web} version 1 -> 3"]
    after_fleet = fleet_now(ec2, kind, fleet_id)
    assert without_versions(kind, after_fleet) == without_versions(kind, before_fleet)
    now = resolved(ec2, kind, after_fleet)
    assert [(path, without_options(data)) for path, data in now] == [
        (path, without_options(data)) for path, data in before
    ]
    assert now[0][1]["MetadataOptions"]["HttpTokens"] == "required"
    again = run_module(fleet_launch_template, args(moto_endpoint, fleet_id=fleet_id, kind=kind))
    assert again["changed"] is False


@pytest.mark.parametrize("fleet_type", ["request", "instant"])
def test_request_and_instant_fleets_are_reported_only(run_module, moto_endpoint, ec2, fleet_type):
    web = make_template(ec2, [OLD])
    fleet_id = ec2_fleet(ec2, fleet_type, {"LaunchTemplateId": web, "Version": "1"})
    template_step(ec2, web, [{"kind": "ec2_fleet", "name": fleet_id, "version": "1"}])
    moto_ec2_gaps.inject_fault("ModifyFleet", "UnauthorizedOperation", "a request fleet was modified")
    try:
        done = run_module(fleet_launch_template, args(moto_endpoint, fleet_id=fleet_id))
    finally:
        moto_ec2_gaps.clear_faults()
    assert done.get("failed") is not True, done
    assert done["changed"] is False
    assert done["note"].startswith("reported only: type ")


def test_a_fleet_that_does_not_exist_fails_with_its_reason(run_module, moto_endpoint):
    done = run_module(fleet_launch_template, args(moto_endpoint, fleet_id="fleet-00000000-0000-0000-0000-000000000000"))
    assert done["failed"] is True
    assert done["reason"] == "fleet_not_found"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_every_fleet_launches_the_same_data_but_the_metadata_options(ec2, data):
    """Random templates and maintain fleets of both kinds (one or two template configs, each version $Default,
    $Latest or a number): after the template step and a move of every fleet, each config resolves to the launch data
    it resolved to before in every field but MetadataOptions, requires tokens, and nothing but versions changed."""
    versions = data.draw(st.lists(LAUNCH_DATA, min_size=2, max_size=4), label="versions")
    template_id = make_template(ec2, versions, data.draw(st.integers(1, len(versions)), label="default"))
    version = st.one_of(st.sampled_from(["$Default", "$Latest"]), st.integers(1, len(versions)).map(str))
    fleets = []
    for _index in range(data.draw(st.integers(1, 3), label="fleets")):
        specs = [
            {"LaunchTemplateId": template_id, "Version": data.draw(version)}
            for _n in range(data.draw(st.integers(1, 2)))
        ]
        kind = data.draw(st.sampled_from(["ec2_fleets", "spot_fleet_requests"]), label="kind")
        fleets.append((kind, ec2_fleet(ec2, "maintain", *specs) if kind == "ec2_fleets" else spot_fleet(ec2, *specs)))
    before = {fleet_id: fleet_now(ec2, kind, fleet_id) for kind, fleet_id in fleets}
    launched = {fleet_id: resolved(ec2, kind, before[fleet_id]) for kind, fleet_id in fleets}
    users = [
        {"kind": kind[:-1], "name": fleet_id, "version": spec["Version"]}
        for kind, fleet_id in fleets
        for _path, spec in fleet_specifications(kind, before[fleet_id])
    ]
    template_step(ec2, template_id, users)
    for kind, fleet_id in fleets:
        wanted = {"http_tokens": "required"}
        apply_fleet(ec2, AwsBudget(60), plan_fleet(ec2, AwsBudget(60), kind, fleet_id, wanted))
    for kind, fleet_id in fleets:
        after = fleet_now(ec2, kind, fleet_id)
        assert without_versions(kind, after) == without_versions(kind, before[fleet_id])
        for (path, now), (_same, old) in zip(resolved(ec2, kind, after), launched[fleet_id]):
            assert without_options(now) == without_options(old), (fleet_id, path)
            assert now["MetadataOptions"] == {**old.get("MetadataOptions", {}), "HttpTokens": "required"}
