# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""auto_scaling_group_launch_template (issue 30, item 1): groups pinned to a version number move to its successor,
against moto."""

from __future__ import annotations

import copy
import uuid

import boto3
import moto_ec2_gaps
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from launch_lineage import LAUNCH_DATA, NEW, OLD, make_template, template_step, without_options

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.group_moves import apply_group, plan_group
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import template_specifications
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget
from ansible_collections.ec2meta.imds.plugins.modules import auto_scaling_group_launch_template

REGION = "eu-west-3"
ZONES = {"AvailabilityZones": [f"{REGION}a"], "MinSize": 0, "MaxSize": 2}


@pytest.fixture
def clients(moto_endpoint):
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    return ec2, boto3.client("autoscaling", endpoint_url=moto_endpoint, region_name=REGION)


def args(moto_endpoint, **options):
    return {"endpoint_url": moto_endpoint, "region": REGION, **options}


def make_group(autoscaling, **launch) -> str:
    name = f"asg-{uuid.uuid4().hex[:12]}"
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=name, **launch, **ZONES)
    return name


def described(autoscaling, name: str) -> dict:
    return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def resolved(ec2, group: dict) -> list:
    """Per template specification of the group (as the audit reads them): the launch data it launches now."""
    found = []
    for kind, spec in template_specifications(group):
        version = spec.get("Version") or "$Default"
        answer = ec2.describe_launch_template_versions(LaunchTemplateId=spec["LaunchTemplateId"], Versions=[version])
        found.append((kind, answer["LaunchTemplateVersions"][0]["LaunchTemplateData"]))
    return found


def without_versions(group: dict) -> dict:
    """The group as described, every template specification's Version blanked: what a move must keep."""
    kept = {key: value for key, value in group.items() if key not in ("Instances", "CreatedTime")}
    text = repr(kept)
    for _kind, spec in template_specifications(group):
        text = text.replace(f"'Version': '{spec.get('Version')}'", "'Version': ''")
    return {"group": text}


def test_pinned_groups_and_overrides_move_to_the_successor_and_nothing_else(run_module, moto_endpoint, clients):
    ec2, autoscaling = clients
    web = make_template(ec2, [OLD, NEW, {**OLD, "InstanceType": "t3.small"}])
    other = make_template(ec2, [OLD])
    pinned = make_group(autoscaling, LaunchTemplate={"LaunchTemplateId": web, "Version": "1"})
    mixed = make_group(
        autoscaling,
        MixedInstancesPolicy={
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": web, "Version": "3"},
                "Overrides": [
                    {"InstanceType": "t3.micro"},
                    {"InstanceType": "t3.small", "LaunchTemplateSpecification": {"LaunchTemplateId": other,
                                                                                 "Version": "1"}},
                ],
            },
            "InstancesDistribution": {"OnDemandBaseCapacity": 1, "OnDemandPercentageAboveBaseCapacity": 50},
        },
    )  # fmt: skip
    latest = make_group(autoscaling, LaunchTemplate={"LaunchTemplateId": web, "Version": "$Latest"})
    groups = {name: described(autoscaling, name) for name in (pinned, mixed, latest)}
    before = {name: resolved(ec2, group) for name, group in groups.items()}

    template_step(ec2, web, [{"kind": "auto_scaling_group", "name": "g", "version": v} for v in ("1", "3", "$Latest")])
    template_step(ec2, other, [{"kind": "auto_scaling_group", "name": "g", "version": "1"}])

    moto_ec2_gaps.inject_fault("UpdateAutoScalingGroup", "DryRunOperation", "check mode sent it")
    try:
        checked = run_module(
            auto_scaling_group_launch_template,
            args(moto_endpoint, auto_scaling_group_name=mixed),
            check_mode=True,
            diff=True,
        )
    finally:
        moto_ec2_gaps.clear_faults()
    assert checked.get("failed") is not True, checked
    assert checked["changed"] is True
    assert checked["diff"]["before"] == {"mixed_instances_override[1]": 1, "mixed_instances_policy": 3}
    assert described(autoscaling, mixed) == groups[mixed]

    for name in (pinned, mixed, latest):
        done = run_module(auto_scaling_group_launch_template, args(moto_endpoint, auto_scaling_group_name=name))
        assert done.get("failed") is not True, done
        assert done["changed"] is (name != latest)
        assert done["left"] == []
    assert "follows $Default or $Latest" in done["note"]

    for name, group in groups.items():
        after = described(autoscaling, name)
        assert without_versions(after) == without_versions(group)  # the fleet rule: only versions changed
        now = resolved(ec2, after)
        assert [(kind, without_options(data)) for kind, data in now] == [
            (kind, without_options(data)) for kind, data in before[name]
        ]
        assert all(data["MetadataOptions"]["HttpTokens"] == "required" for _kind, data in now)
    assert described(autoscaling, pinned)["LaunchTemplate"]["Version"] == "4"  # successor of 1 (template step)

    for name in (pinned, mixed):
        again = run_module(auto_scaling_group_launch_template, args(moto_endpoint, auto_scaling_group_name=name))
        assert again["changed"] is False
        assert {row["action"] for row in again["pinned"]} == {"kept"}


def test_a_group_whose_pinned_version_has_no_successor_is_left_alone(run_module, moto_endpoint, clients):
    ec2, autoscaling = clients
    web = make_template(ec2, [OLD, NEW])
    pinned = make_group(autoscaling, LaunchTemplate={"LaunchTemplateId": web, "Version": "1"})
    group = described(autoscaling, pinned)
    done = run_module(auto_scaling_group_launch_template, args(moto_endpoint, auto_scaling_group_name=pinned))
    assert done["changed"] is False
    assert done["pinned"][0]["action"] == "no_successor"
    assert "run the template step" in done["left"][0]
    # Version 2 requires tokens but has other launch data: never a successor of version 1.
    assert described(autoscaling, pinned) == group


def test_a_group_that_does_not_exist_fails_with_its_reason(run_module, moto_endpoint):
    done = run_module(auto_scaling_group_launch_template, args(moto_endpoint, auto_scaling_group_name="no-such"))
    assert done["failed"] is True
    assert done["reason"] == "auto_scaling_group_not_found"


def test_a_refused_update_names_the_iam_action(run_module, moto_endpoint, clients):
    ec2, autoscaling = clients
    web = make_template(ec2, [OLD])
    pinned = make_group(autoscaling, LaunchTemplate={"LaunchTemplateId": web, "Version": "1"})
    template_step(ec2, web, [{"kind": "auto_scaling_group", "name": pinned, "version": "1"}])
    moto_ec2_gaps.inject_fault("UpdateAutoScalingGroup", "AccessDenied")
    try:
        done = run_module(auto_scaling_group_launch_template, args(moto_endpoint, auto_scaling_group_name=pinned))
    finally:
        moto_ec2_gaps.clear_faults()
    assert done["failed"] is True
    assert "autoscaling:UpdateAutoScalingGroup" in done["msg"]
    assert described(autoscaling, pinned)["LaunchTemplate"]["Version"] == "1"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_every_group_launches_the_same_data_but_the_metadata_options(clients, data):
    """Random templates (2-5 versions) and groups (one template, or a mixed-instances policy with an override on a
    second template; each version $Default, $Latest or a number): after the template step and a move of every
    group, each specification of each group resolves to the launch data it resolved to before in every field but
    MetadataOptions, requires tokens, and nothing of the group but versions changed; a second move changes nothing."""
    ec2, autoscaling = clients
    templates = []
    for _index in range(2):
        versions = data.draw(st.lists(LAUNCH_DATA, min_size=2, max_size=5), label="versions")
        default = data.draw(st.integers(1, len(versions)), label="default")
        templates.append((make_template(ec2, versions, default), len(versions)))

    def spec(which: int) -> dict:
        template_id, count = templates[which]
        version = data.draw(st.one_of(st.sampled_from(["$Default", "$Latest"]), st.integers(1, count).map(str)))
        return {"LaunchTemplateId": template_id, "Version": version}

    names = []
    for _index in range(data.draw(st.integers(1, 3), label="groups")):
        if data.draw(st.booleans(), label="mixed"):
            override = {"InstanceType": "t3.small", "LaunchTemplateSpecification": spec(1)}
            policy = {"LaunchTemplate": {"LaunchTemplateSpecification": spec(0), "Overrides": [override]}}
            names.append(make_group(autoscaling, MixedInstancesPolicy=policy))
        else:
            names.append(make_group(autoscaling, LaunchTemplate=spec(data.draw(st.integers(0, 1)))))
    groups = {name: described(autoscaling, name) for name in names}
    before = {name: resolved(ec2, group) for name, group in groups.items()}

    for template_id, _count in templates:
        users = [
            {"kind": "auto_scaling_group", "name": name, "version": spec["Version"]}
            for name, group in groups.items()
            for _kind, spec in template_specifications(group)
            if spec["LaunchTemplateId"] == template_id
        ]
        template_step(ec2, template_id, users)
    for name in names:
        apply_group(
            autoscaling, AwsBudget(300), plan_group(autoscaling, ec2, AwsBudget(300), name, {"http_tokens": "required"})
        )

    for name, group in groups.items():
        after = described(autoscaling, name)
        assert without_versions(after) == without_versions(group)
        now = resolved(ec2, after)
        for (kind, launched), (_same, old) in zip(now, before[name]):
            assert without_options(launched) == without_options(old), (name, kind)
            assert launched["MetadataOptions"] == {**old.get("MetadataOptions", {}), "HttpTokens": "required"}
        plan = plan_group(autoscaling, ec2, AwsBudget(300), name, {"http_tokens": "required"})
        assert plan.moves == [], plan.as_dict()
        assert plan.left == [], plan.as_dict()


def _older_botocore(monkeypatch, shape: str, member: str) -> None:
    """The module's clients load a model without ``shape.member``: a botocore released before AWS added it."""
    import botocore.loaders

    original = botocore.loaders.Loader.load_service_model

    def without_member(self, service_name, type_name, api_version=None):
        model = original(self, service_name, type_name, api_version)
        if service_name == "autoscaling" and type_name == "service-2":
            model = copy.deepcopy(model)
            model["shapes"][shape]["members"].pop(member)
        return model

    monkeypatch.setattr(botocore.loaders.Loader, "load_service_model", without_member)


# adv30 #3: botocore leaves out of the parsed answer what its model lacks; sending that back would drop it (an
# override's AMI, a distribution's strategy). Each member of the policy, left out of the model in turn.
ARM_OVERRIDE = {"Overrides": [{"InstanceType": "m6g.large", "ImageId": "ami-arm6400"}]}
WEIGHTED_OVERRIDE = {"Overrides": [{"InstanceType": "t3.small", "WeightedCapacity": "2"}]}
SPOT_STRATEGY = {"InstancesDistribution": {"SpotAllocationStrategy": "capacity-optimized"}}


@pytest.mark.parametrize(
    ("shape", "member", "policy"),
    [
        ("LaunchTemplateOverrides", "ImageId", ARM_OVERRIDE),
        ("LaunchTemplateOverrides", "WeightedCapacity", WEIGHTED_OVERRIDE),
        ("InstancesDistribution", "SpotAllocationStrategy", SPOT_STRATEGY),
    ],
)
def test_a_member_the_installed_botocore_does_not_model_refuses_the_move(
    run_module, moto_endpoint, clients, monkeypatch, shape, member, policy
):
    ec2, autoscaling = clients
    web = make_template(ec2, [OLD])
    template_step(ec2, web, [{"kind": "auto_scaling_group", "name": "any", "version": "1"}])
    launch = {"LaunchTemplateSpecification": {"LaunchTemplateId": web, "Version": "1"}}
    distribution = (
        {"InstancesDistribution": policy["InstancesDistribution"]} if "InstancesDistribution" in policy else {}
    )
    overrides = {"Overrides": policy["Overrides"]} if "Overrides" in policy else {}
    name = make_group(autoscaling, MixedInstancesPolicy={"LaunchTemplate": {**launch, **overrides}, **distribution})
    before = described(autoscaling, name)
    _older_botocore(monkeypatch, shape, member)
    done = run_module(auto_scaling_group_launch_template, args(moto_endpoint, auto_scaling_group_name=name))
    assert done["failed"] is True
    assert done["reason"] == "unmodelled_member"
    assert member in done["msg"]
    assert "Nothing was changed" in done["msg"]
    assert described(autoscaling, name) == before
