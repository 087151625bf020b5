# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moves of groups and fleets against answers the planners must not trust (adv30 #3, #5, #6, #7, #9): a move changes
only template versions, so what cannot be sent back whole is refused before any write, and a read-back that differs
anywhere else fails with unexpected_change. Stand-in clients give the parsed answers; the installed botocore model
is the real one."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import fleet_moves, group_moves
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.answer_shapes import unparsed_members
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError

WANTED = {
    "http_tokens": "required",
    "http_put_response_hop_limit": None,
    "http_endpoint": None,
    "http_protocol_ipv6": None,
    "instance_metadata_tags": None,
}
V1 = {"ImageId": "ami-1", "InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}}
V2 = {"ImageId": "ami-1", "InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "required"}}
PINNED = {"LaunchTemplateId": "lt-1", "Version": "1"}


class Ec2:
    """Template lt-1: version 2 is version 1 with tokens required. Fleets as given; ModifyFleet applies ``drift``."""

    def __init__(self, fleets: list | None = None, drift=None):
        self.fleets, self.drift, self.modified = fleets or [], drift, []

    def describe_launch_templates(self, **kwargs):
        return {"LaunchTemplates": [{"LaunchTemplateId": "lt-1", "LaunchTemplateName": "t", "LatestVersionNumber": 2}]}

    def describe_launch_template_versions(self, **kwargs):
        versions = [(1, V1), (2, V2)]
        return {
            "LaunchTemplateVersions": [
                {"LaunchTemplateId": "lt-1", "VersionNumber": number, "LaunchTemplateData": data}
                for number, data in versions
            ]
        }

    def describe_fleets(self, **kwargs):
        return {"Fleets": copy.deepcopy(self.fleets)}

    def modify_fleet(self, **kwargs):
        self.modified.append(kwargs)
        for fleet in self.fleets:
            fleet["LaunchTemplateConfigs"] = copy.deepcopy(kwargs["LaunchTemplateConfigs"])
            if self.drift:
                self.drift(fleet)
        return {"Return": True}


class AutoScaling:
    def __init__(self, groups: list, drift=None):
        self.groups, self.drift, self.updated = groups, drift, []

    def describe_auto_scaling_groups(self, **kwargs):
        return {"AutoScalingGroups": copy.deepcopy(self.groups)}

    def update_auto_scaling_group(self, **kwargs):
        self.updated.append(kwargs)
        group = self.groups[0]
        for member in ("LaunchTemplate", "MixedInstancesPolicy"):
            if member in kwargs:
                group[member] = copy.deepcopy(kwargs[member])
        if self.drift:
            self.drift(group)
        return {}


def mixed(overrides=None, distribution=None, **template) -> dict:
    policy = {"LaunchTemplate": {"LaunchTemplateSpecification": {**PINNED, **template}, "Overrides": overrides or []}}
    if distribution is not None:
        policy["InstancesDistribution"] = distribution
    return {"AutoScalingGroupName": "g", "MixedInstancesPolicy": policy}


def move_group(autoscaling: AutoScaling) -> dict:
    plan = group_moves.plan_group(autoscaling, Ec2(), AwsBudget(30), "g", WANTED)
    return group_moves.apply_group(autoscaling, AwsBudget(30), plan)


# Members a newer API has that this botocore does not model, in every structure of the policy the move sends back.
@pytest.mark.parametrize(
    ("group", "member"),
    [
        (mixed([{"InstanceType": "m6g.large", "FutureImage": "ami-arm"}]), "Overrides[0].FutureImage"),
        (mixed([{"InstanceType": "c5.large", "InstanceRequirements": {"VCpuCount": {"Min": 2}, "Gpu": 1}}]), "Gpu"),
        (mixed(distribution={"OnDemandBaseCapacity": 1, "DistributionSegments": ["a"]}), "DistributionSegments"),
        (mixed(Pinned="yes"), "LaunchTemplateSpecification.Pinned"),
        ({**mixed(), "MixedInstancesPolicy": {**mixed()["MixedInstancesPolicy"], "Weights": {}}}, "Weights"),
        ({"AutoScalingGroupName": "g", "LaunchTemplate": {**PINNED, "Alias": "x"}}, "LaunchTemplate.Alias"),
    ],
)
def test_a_member_this_botocore_cannot_send_back_is_refused_before_any_write(group, member):
    autoscaling = AutoScaling([group])
    with pytest.raises(ImdsError, match="Nothing was changed") as caught:
        move_group(autoscaling)
    assert caught.value.reason == "unmodelled_member"
    assert member in str(caught.value)
    assert autoscaling.updated == []


# Values of another shape than UpdateAutoScalingGroup takes (adv30 #8): refused as unsendable, nothing sent.
@pytest.mark.parametrize("overrides", [{"InstanceType": "c5.large"}, "c5.large", [None, {"InstanceType": "c5.large"}]])
def test_overrides_of_another_shape_are_refused_before_any_write(overrides):
    group = mixed()
    group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"] = overrides
    autoscaling = AutoScaling([group])
    with pytest.raises(ImdsError) as caught:
        move_group(autoscaling)
    assert caught.value.reason == "unmodelled_member"
    assert autoscaling.updated == []


def _drop_weight(group):
    group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"][0].pop("WeightedCapacity")


def _other_distribution(group):
    group["MixedInstancesPolicy"]["InstancesDistribution"]["OnDemandBaseCapacity"] = 0


def _other_template(group):
    group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] = "lt-9"


def _onto_configuration(group):
    group["LaunchConfigurationName"] = "someone-elses"


@pytest.mark.parametrize(
    ("drift", "field"),
    [
        (_drop_weight, "Overrides[0].WeightedCapacity"),
        (_other_distribution, "InstancesDistribution.OnDemandBaseCapacity"),
        (_other_template, "LaunchTemplateSpecification.LaunchTemplateId"),
        (_onto_configuration, "LaunchConfigurationName"),
    ],
)
def test_a_group_that_reads_back_changed_beyond_the_versions_fails_naming_the_field(drift, field):
    group = mixed([{"InstanceType": "t3.small", "WeightedCapacity": "2"}], {"OnDemandBaseCapacity": 1})
    with pytest.raises(ImdsError) as caught:
        move_group(AutoScaling([group], drift))
    assert caught.value.reason == "unexpected_change"
    assert field in str(caught.value)
    assert "by hand" in str(caught.value)
    assert caught.value.result["changed"] is True


def test_a_group_move_that_changes_only_the_version_passes_the_whole_comparison():
    group = mixed([{"InstanceType": "t3.small", "WeightedCapacity": "2"}], {"OnDemandBaseCapacity": 1})
    autoscaling = AutoScaling([group])
    assert move_group(autoscaling) == {"changed": True}
    assert autoscaling.groups[0]["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"] == {
        "LaunchTemplateId": "lt-1",
        "Version": "2",
    }


# Versions that are not ASCII decimal digits (adv30 #5): a typed bad_response, never int() on them.
@pytest.mark.parametrize("version", ["²", "٣", "\uff11", " 1", "+1", "1.0", "0x1", "", "$Newest", True, 1.0, ["1"]])
def test_a_version_that_is_no_number_or_alias_is_a_bad_response(version):
    autoscaling = AutoScaling([{"AutoScalingGroupName": "g", "LaunchTemplate": {**PINNED, "Version": version}}])
    with pytest.raises(ImdsError) as caught:
        move_group(autoscaling)
    assert caught.value.reason == "bad_response"
    assert autoscaling.updated == []


def test_a_version_answered_as_a_number_is_read_by_its_value_and_not_sent_back():
    """adv30 #6: never "it follows $Default or $Latest" for a pinned version answered as 1; the move would send a
    member of another type than the input's back, so it is refused."""
    autoscaling = AutoScaling([{"AutoScalingGroupName": "g", "LaunchTemplate": {**PINNED, "Version": 1}}])
    assert group_moves._pinned_number(autoscaling.groups[0]["LaunchTemplate"]) == 1
    with pytest.raises(ImdsError) as caught:
        move_group(autoscaling)
    assert caught.value.reason == "unmodelled_member"
    assert "LaunchTemplate.Version (not a string)" in str(caught.value)
    assert "follows" not in str(caught.value)
    assert autoscaling.updated == []


def test_two_groups_answered_for_one_name_are_a_bad_response():
    """adv30 #7: not "does not exist"."""
    group = {"AutoScalingGroupName": "g", "LaunchTemplate": PINNED}
    with pytest.raises(ImdsError) as caught:
        move_group(AutoScaling([group, group]))
    assert caught.value.reason == "bad_response"


def fleet(*configs) -> dict:
    return {"FleetId": "fleet-1", "Type": "maintain", "FleetState": "active", "LaunchTemplateConfigs": list(configs)}


def move_fleet(ec2: Ec2) -> dict:
    plan = fleet_moves.plan_fleet(ec2, AwsBudget(30), "ec2_fleets", "fleet-1", WANTED)
    return fleet_moves.apply_fleet(ec2, AwsBudget(30), plan)


PINNED_CONFIG = {"LaunchTemplateSpecification": PINNED, "Overrides": [{"InstanceType": "t3.small", "Priority": 1.0}]}


# A template config that is not an object, or a member ModifyFleet does not take (adv30 #9): the list replaces the
# fleet's, so leaving it out would drop it; the fleet is refused whole.
@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("an entry this reader does not understand", "LaunchTemplateConfigs[1] (not a structure)"),
        (None, "LaunchTemplateConfigs[1] (not a structure)"),
        ([PINNED_CONFIG], "LaunchTemplateConfigs[1] (not a structure)"),
        ({"LaunchTemplateSpecification": PINNED, "Overrides": [{"FutureZone": "x"}]}, "Overrides[0].FutureZone"),
        ({"LaunchTemplateSpecification": {**PINNED, "Pin": 1}}, "LaunchTemplateSpecification.Pin"),
    ],
)
def test_a_fleet_config_that_cannot_be_sent_back_whole_refuses_the_fleet(extra, named):
    ec2 = Ec2([fleet(PINNED_CONFIG, extra)])
    with pytest.raises(ImdsError) as caught:
        move_fleet(ec2)
    assert caught.value.reason == "unmodelled_member"
    assert named in str(caught.value)
    assert ec2.modified == []


def _fleet_override_dropped(fleet_answer):
    fleet_answer["LaunchTemplateConfigs"][0]["Overrides"][0].pop("Priority")


def _fleet_override_added(fleet_answer):
    fleet_answer["LaunchTemplateConfigs"][0]["Overrides"].append({"InstanceType": "m7i.48xlarge"})


@pytest.mark.parametrize(
    ("drift", "field"),
    [(_fleet_override_dropped, "[0].Overrides[0].Priority"), (_fleet_override_added, "[0].Overrides")],
)
def test_a_fleet_that_reads_back_changed_beyond_the_versions_fails_naming_the_field(drift, field):
    with pytest.raises(ImdsError) as caught:
        move_fleet(Ec2([fleet(copy.deepcopy(PINNED_CONFIG))], drift))
    assert caught.value.reason == "unexpected_change"
    assert field in str(caught.value)


def test_a_fleet_move_that_changes_only_the_version_passes():
    ec2 = Ec2([fleet(copy.deepcopy(PINNED_CONFIG))])
    assert move_fleet(ec2) == {"changed": True}
    assert ec2.modified[0]["LaunchTemplateConfigs"][0]["Overrides"] == PINNED_CONFIG["Overrides"]


class Ec2WithoutSuccessor(Ec2):
    def describe_launch_template_versions(self, **kwargs):
        answer = super().describe_launch_template_versions(**kwargs)
        answer["LaunchTemplateVersions"][1]["LaunchTemplateData"] = {**V2, "ImageId": "ami-2"}
        return answer


def test_a_fleet_left_on_its_version_is_not_called_a_group():
    """adv30 #29: the rows of a fleet say what was left without naming a group."""
    ec2 = Ec2WithoutSuccessor([fleet(copy.deepcopy(PINNED_CONFIG))])
    plan = fleet_moves.plan_fleet(ec2, AwsBudget(30), "ec2_fleets", "fleet-1", WANTED)
    assert [spec.action for spec in plan.specs] == ["no_successor"]
    assert "group" not in " ".join(plan.as_dict()["left"])
    assert "left on this version" in plan.as_dict()["left"][0]


AUTOSCALING_ANSWER = """<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
<DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>g</AutoScalingGroupName>
<MixedInstancesPolicy><LaunchTemplate><Overrides><member><InstanceType>m6g.large</InstanceType>{override}</member>
</Overrides></LaunchTemplate></MixedInstancesPolicy>
<Instances><member><LaunchTemplate><Elsewhere>x</Elsewhere></LaunchTemplate></member></Instances>
</member></AutoScalingGroups></DescribeAutoScalingGroupsResult>
<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>"""
FLEETS_ANSWER = """<DescribeFleetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>
<fleetSet><item><fleetId>fleet-1</fleetId><launchTemplateConfigs><item><overrides><item>
<instanceType>t3.small</instanceType>{override}</item></overrides></item></launchTemplateConfigs></item></fleetSet>
</DescribeFleetsResponse>"""


def _operation(service: str, operation: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(operation)


# What botocore would leave out of the parsed answer: every element of the raw XML its model has no member for.
@pytest.mark.parametrize(
    ("answer", "service", "operation", "override", "found"),
    [
        (AUTOSCALING_ANSWER, "autoscaling", "DescribeAutoScalingGroups", "", []),
        (AUTOSCALING_ANSWER, "autoscaling", "DescribeAutoScalingGroups", "<WeightedCapacity>2</WeightedCapacity>", []),
        (
            AUTOSCALING_ANSWER,
            "autoscaling",
            "DescribeAutoScalingGroups",
            "<FutureImage>ami-1</FutureImage>",
            ["AutoScalingGroups[0].MixedInstancesPolicy.LaunchTemplate.Overrides[0].FutureImage"],
        ),
        (FLEETS_ANSWER, "ec2", "DescribeFleets", "<priority>1.0</priority>", []),
        (
            FLEETS_ANSWER,
            "ec2",
            "DescribeFleets",
            "<futureZone>x</futureZone>",
            ["fleetSet[0].launchTemplateConfigs[0].overrides[0].futureZone"],
        ),
    ],
)
def test_the_raw_answer_names_what_the_installed_model_would_leave_out(answer, service, operation, override, found):
    paths = unparsed_members(answer.format(override=override).encode(), _operation(service, operation))
    assert [path for path in paths if "Instances[" not in path] == found
    if service == "autoscaling":
        assert not [path for path in paths if group_moves.SENT_MEMBERS.search(path) and "Instances[" in path]


def _members_not_taken(answered, taken, path: str) -> list:
    if answered.type_name == "structure":
        return [
            found
            for name, member in answered.members.items()
            for found in (
                _members_not_taken(member, taken.members[name], f"{path}.{name}")
                if name in taken.members
                else [f"{path}.{name}"]
            )
        ]
    if answered.type_name == "list":
        return _members_not_taken(answered.member, taken.member, f"{path}[]")
    return [] if answered.type_name == taken.type_name else [f"{path} ({answered.type_name})"]


# Every member the describe answers is one the write takes in this botocore: an answer of the model's own shape is
# never refused as unsendable, so the refusal is only for what a newer API added.
@pytest.mark.parametrize(
    ("service", "describe", "answered", "write", "member"),
    [
        ("autoscaling", "DescribeAutoScalingGroups", ["AutoScalingGroups", "MixedInstancesPolicy"],
         "UpdateAutoScalingGroup", "MixedInstancesPolicy"),
        ("autoscaling", "DescribeAutoScalingGroups", ["AutoScalingGroups", "LaunchTemplate"],
         "UpdateAutoScalingGroup", "LaunchTemplate"),
        ("ec2", "DescribeFleets", ["Fleets", "LaunchTemplateConfigs"], "ModifyFleet", "LaunchTemplateConfigs"),
        ("ec2", "DescribeSpotFleetRequests",
         ["SpotFleetRequestConfigs", "SpotFleetRequestConfig", "LaunchTemplateConfigs"],
         "ModifySpotFleetRequest", "LaunchTemplateConfigs"),
    ],
)  # fmt: skip
def test_what_the_installed_model_answers_the_write_takes(service, describe, answered, write, member):
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(describe).output_shape
    for name in answered:
        shape = shape.members[name]
        shape = shape.member if shape.type_name == "list" and name != answered[-1] else shape
    assert _members_not_taken(shape, model.operation_model(write).input_shape.members[member], member) == []


class ChangingAutoScaling(AutoScaling):
    """The group changes after the plan read it (adv30 #4): the second describe answers the change."""

    def __init__(self, groups: list, change):
        super().__init__(groups)
        self.change, self.reads = change, 0

    def describe_auto_scaling_groups(self, **kwargs):
        self.reads += 1
        if self.reads == 2:
            self.change(self.groups[0])
        return super().describe_auto_scaling_groups(**kwargs)


def _switched_template(group):
    group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] = "lt-9"


def _override_added(group):
    group["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"].append({"InstanceType": "c7g.large"})


def _moved_already(group):
    group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] = "2"


@pytest.mark.parametrize("change", [_switched_template, _override_added, _moved_already])
def test_a_group_changed_after_the_plan_is_not_overwritten(change):
    autoscaling = ChangingAutoScaling([mixed([{"InstanceType": "t3.small"}])], change)
    with pytest.raises(ImdsError) as caught:
        move_group(autoscaling)
    assert caught.value.reason == "concurrent_change"
    assert autoscaling.updated == []


def test_a_fleet_changed_after_the_plan_is_not_overwritten():
    class ChangingEc2(Ec2):
        reads = 0

        def describe_fleets(self, **kwargs):
            self.reads += 1
            if self.reads == 2:
                self.fleets[0]["LaunchTemplateConfigs"][0]["Overrides"].append({"InstanceType": "c7g.large"})
            return super().describe_fleets(**kwargs)

    ec2 = ChangingEc2([fleet(copy.deepcopy(PINNED_CONFIG))])
    with pytest.raises(ImdsError) as caught:
        move_fleet(ec2)
    assert caught.value.reason == "concurrent_change"
    assert ec2.modified == []
