# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_imds_support and launch_template_metadata_options through main(), against moto (MOTO_GAPS.md)."""

from __future__ import annotations

import uuid

import boto3
import moto_ec2_gaps
import pytest
from ansible.module_utils.basic import AnsibleModule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (
    ConcurrentChange,
    apply_template,
    check_users,
    plan_template,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget, AwsError
from ansible_collections.ec2meta.imds.plugins.modules import image_imds_support, launch_template_metadata_options

REGION = "eu-west-2"


@pytest.fixture
def warnings_seen(monkeypatch):
    seen: list = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: seen.append(warning))
    return seen


@pytest.fixture
def regional_ec2(moto_endpoint):
    return boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)


def args(moto_endpoint, **options):
    return {"endpoint_url": moto_endpoint, "region": REGION, **options}


def support(ec2, image_id):
    return ec2.describe_image_attribute(ImageId=image_id, Attribute="imdsSupport")["ImdsSupport"].get("Value")


def test_images_are_marked_with_check_mode_diff_and_the_warning_every_time(
    run_module, moto_endpoint, regional_ec2, warnings_seen
):
    first = regional_ec2.register_image(Name="golden-a")["ImageId"]
    second = regional_ec2.register_image(Name="golden-b", ImdsSupport="v2.0")["ImageId"]
    options = args(moto_endpoint, image_ids=[first, second])

    checked = run_module(image_imds_support, options, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert [(i["image_id"], i["before"], i["changed"]) for i in checked["images"]] == [
        (first, None, True),
        (second, "v2.0", False),
    ]
    assert checked["diff"]["after"][first] == "v2.0"
    assert support(regional_ec2, first) is None  # check mode sent nothing
    assert "cannot be unset" in warnings_seen[-1]

    done = run_module(image_imds_support, options)
    assert done["changed"] is True
    assert support(regional_ec2, first) == "v2.0"
    assert "copy of the AMI inherits it" in warnings_seen[-1]
    again = run_module(image_imds_support, options)
    assert again["changed"] is False
    assert len(warnings_seen) == 3  # warned in every mode


def test_an_unknown_image_fails_before_anything_changes(run_module, moto_endpoint, regional_ec2):
    known = regional_ec2.register_image(Name="golden-c")["ImageId"]
    result = run_module(image_imds_support, args(moto_endpoint, image_ids=[known, "ami-00000000000000000"]))
    assert result["reason"] == "image_not_found"
    assert "ami-00000000000000000" in result["msg"]
    assert support(regional_ec2, known) is None
    bad = run_module(image_imds_support, args(moto_endpoint, image_ids=["lt-123"]))
    assert bad["reason"] == "invalid_option"
    elsewhere = run_module(image_imds_support, {**args(moto_endpoint, image_ids=[known]), "region": "xx-nowhere-9"})
    assert elsewhere["reason"] == "invalid_option"
    assert "Unknown AWS region" in elsewhere["msg"]


def test_a_refused_modify_names_the_iam_action_and_what_was_changed(run_module, moto_endpoint, regional_ec2):
    image = regional_ec2.register_image(Name="golden-d")["ImageId"]
    moto_ec2_gaps.inject_fault("ModifyImageAttribute", "UnauthorizedOperation")
    try:
        result = run_module(image_imds_support, args(moto_endpoint, image_ids=[image]))
    finally:
        moto_ec2_gaps.clear_faults()
    assert result["reason"] == "unauthorized"
    assert "ec2:ModifyImageAttribute" in result["msg"]
    assert result["images_changed"] == []


@pytest.fixture
def template(regional_ec2):
    data = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}}
    created = regional_ec2.create_launch_template(LaunchTemplateName=f"web-{id(data)}", LaunchTemplateData=data)
    template_id = created["LaunchTemplate"]["LaunchTemplateId"]
    yield template_id
    regional_ec2.delete_launch_template(LaunchTemplateId=template_id)


def version_data(ec2, template_id, version):
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[str(version)])
    return versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]


def test_a_new_version_changes_only_the_metadata_options_and_is_idempotent(
    run_module, moto_endpoint, regional_ec2, template
):
    options = args(moto_endpoint, launch_template_id=template, http_tokens="required", http_put_response_hop_limit=2)
    checked = run_module(launch_template_metadata_options, options, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["version"] is None
    assert checked["diff"]["before"]["http_tokens"] == "optional"
    template_info = regional_ec2.describe_launch_templates(LaunchTemplateIds=[template])["LaunchTemplates"][0]
    assert template_info["LatestVersionNumber"] == 1

    done = run_module(launch_template_metadata_options, options)
    assert done["changed"] is True
    assert done["version_created"] == 2
    assert done["default_version"] == 1  # set_default is false
    data = version_data(regional_ec2, template, 2)
    assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}
    assert data["InstanceType"] == "t3.micro"  # kept from the source version
    assert data["ImageId"] == "ami-12c6146b"

    # $Default is still version 1 (optional): the latest already is the fix, so nothing new is created.
    again = run_module(launch_template_metadata_options, options)
    assert again["changed"] is False
    assert again["version"] == 2
    made_default = run_module(launch_template_metadata_options, {**options, "set_default": True})
    assert made_default["changed"] is True
    assert made_default["default_version"] == 2
    assert run_module(launch_template_metadata_options, {**options, "set_default": True})["changed"] is False
    assert (
        regional_ec2.describe_launch_templates(LaunchTemplateIds=[template])["LaunchTemplates"][0][
            "LatestVersionNumber"
        ]
        == 2
    )


@pytest.mark.parametrize(
    ("options", "reason", "text"),
    [
        ({"launch_template_id": "lt-0000000000000000f"}, "launch_template_not_found", "lt-0000000000000000f"),
        ({"launch_template_name": "no-such-template"}, "launch_template_not_found", "no-such-template"),
        ({"source_version": "99"}, "launch_template_not_found", "99"),
        ({"source_version": "newest"}, "invalid_option", "source_version"),
        ({"http_put_response_hop_limit": 65}, "invalid_option", "http_put_response_hop_limit"),
        ({"region": "eu-nowhere-1"}, "invalid_option", "Unknown AWS region 'eu-nowhere-1'"),
    ],
)
def test_bad_input(run_module, moto_endpoint, template, options, reason, text):
    target = {} if "launch_template_name" in options else {"launch_template_id": template}
    result = run_module(
        launch_template_metadata_options, args(moto_endpoint, **{**target, "http_tokens": "required", **options})
    )
    assert result["failed"] is True
    assert result["reason"] == reason, result["msg"]
    assert text in result["msg"]


def test_a_refused_create_names_the_iam_action_and_changes_nothing(run_module, moto_endpoint, regional_ec2, template):
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "UnauthorizedOperation")
    try:
        options = args(moto_endpoint, launch_template_id=template, http_tokens="required", set_default=True)
        result = run_module(launch_template_metadata_options, options)
    finally:
        moto_ec2_gaps.clear_faults()
    assert result["reason"] == "unauthorized"
    assert "ec2:CreateLaunchTemplateVersion" in result["msg"]
    assert result["changed"] is False
    info = regional_ec2.describe_launch_templates(LaunchTemplateIds=[template])["LaunchTemplates"][0]
    assert (info["LatestVersionNumber"], info["DefaultVersionNumber"]) == (1, 1)


# ----------------------------------------------------------------------------- lineage (issue 27, item 1)

OLD = {"ImageId": "ami-0000000000000a001", "InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}}
NEW = {"ImageId": "ami-0000000000000b002", "InstanceType": "m7i.large", "MetadataOptions": {"HttpTokens": "required"}}


def make_template(ec2, versions: list, default: int) -> str:
    """A template with ``versions`` (LaunchTemplateData, in order) and ``default`` as its default version."""
    name = f"lineage-{uuid.uuid4().hex[:12]}"
    template_id = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=versions[0])["LaunchTemplate"][
        "LaunchTemplateId"
    ]
    for data in versions[1:]:
        ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data)
    if default != 1:
        ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(default))
    return template_id


def launches(ec2, template_id, spec: str) -> tuple:
    """(version number, LaunchTemplateData) that a launch naming ``spec`` ($Default, $Latest, a number) uses now."""
    found = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[spec])
    version = found["LaunchTemplateVersions"][0]
    return version["VersionNumber"], version["LaunchTemplateData"]


def without_options(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "MetadataOptions"}


def numbers(ec2, template_id) -> tuple:
    info = ec2.describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"][0]
    return info["DefaultVersionNumber"], info["LatestVersionNumber"]


def test_a_group_on_latest_keeps_its_ami_and_type_when_the_default_is_fixed(run_module, moto_endpoint, regional_ec2):
    """The finding: $Default v1 (old AMI, t3.micro, optional), $Latest v2 (new AMI, m7i.large, required), a group
    on $Latest. The old phase's call (from $Default, set as default) made v3 = v1 + required the latest too."""
    template = make_template(regional_ec2, [OLD, NEW], default=1)
    old_call = args(
        moto_endpoint, launch_template_id=template, http_tokens="required", source_version="$Default", set_default=True
    )
    done = run_module(launch_template_metadata_options, old_call)
    _number, latest = launches(regional_ec2, template, "$Latest")
    assert (latest["ImageId"], latest["InstanceType"]) == (NEW["ImageId"], "m7i.large")  # old code: OLD's
    assert latest["MetadataOptions"]["HttpTokens"] == "required"
    _number, default = launches(regional_ec2, template, "$Default")
    assert without_options(default) == without_options(OLD)
    assert default["MetadataOptions"]["HttpTokens"] == "required"
    assert done["changed"] is True
    assert [(row["old_version"], row["new_version"], row["action"]) for row in done["lineage"]] == [
        (1, 3, "create"),
        (2, 4, "copy"),  # v2 has the options already, but creating v3 would have taken $Latest away from it
    ]
    assert done["aliases"] == {
        "$Default": {"before": 1, "after": 3, "moved": True},
        "$Latest": {"before": 2, "after": 4, "moved": True},
    }


def test_the_campaign_call_lists_each_old_version_its_successor_and_its_users(run_module, moto_endpoint, regional_ec2):
    template = make_template(regional_ec2, [OLD, {**OLD, "InstanceType": "t3.small"}, NEW], default=1)
    users = [
        {"kind": "auto_scaling_group", "name": "web-asg", "version": "$Latest"},
        {"kind": "auto_scaling_group", "name": "legacy-asg", "version": "2"},
        {"kind": "ec2_fleet", "name": "fleet-0123", "version": "$Default"},
    ]
    options = args(moto_endpoint, launch_template_id=template, http_tokens="required", versions="in_use", users=users)
    checked = run_module(launch_template_metadata_options, options, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["versions_created"] == []
    assert [(row["old_version"], row["new_version"], row["action"]) for row in checked["lineage"]] == [
        (1, None, "create"),
        (2, None, "create"),
        (3, None, "copy"),
    ]
    assert checked["diff"]["before"]["latest_version"] == 3
    assert numbers(regional_ec2, template) == (1, 3)

    done = run_module(launch_template_metadata_options, options)
    assert done["versions_created"] == [4, 5, 6]  # $Latest's successor last
    pinned = done["lineage"][1]
    assert (pinned["old_version"], pinned["new_version"]) == (2, 5)
    assert pinned["users"] == [{**users[1], "moved": False}]  # named with its successor, not moved
    assert {"kind": "ec2_fleet", "name": "fleet-0123", "version": "$Default", "moved": True} in done["lineage"][0][
        "users"
    ]
    assert numbers(regional_ec2, template) == (4, 6)
    assert launches(regional_ec2, template, "2")[1]["MetadataOptions"]["HttpTokens"] == "optional"

    again = run_module(launch_template_metadata_options, options)
    assert again["changed"] is False
    assert [(row["old_version"], row["new_version"], row["action"]) for row in again["lineage"]] == [
        (2, 5, "reused"),
        (4, 4, "kept"),
        (6, 6, "kept"),
    ]
    assert numbers(regional_ec2, template) == (4, 6)


def test_check_mode_sends_no_create_or_modify(run_module, moto_endpoint, regional_ec2):
    template = make_template(regional_ec2, [OLD, NEW, OLD], default=2)
    # Any Create or Modify call check mode sent would fail the task.
    for action in ("CreateLaunchTemplateVersion", "ModifyLaunchTemplate"):
        moto_ec2_gaps.inject_fault(action, "DryRunOperation", "check mode sent it")
    try:
        for options in (
            {"versions": "in_use", "users": [{"kind": "auto_scaling_group", "name": "a", "version": "1"}]},
            {"source_version": "1", "set_default": True},
        ):
            options = args(moto_endpoint, launch_template_id=template, http_tokens="required", **options)
            result = run_module(launch_template_metadata_options, options, check_mode=True)
            assert result.get("failed") is not True, result
            assert result["changed"] is True
    finally:
        moto_ec2_gaps.clear_faults()
    assert numbers(regional_ec2, template) == (2, 3)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"versions": "in_use", "source_version": "1"}, "source_version and set_default are for versions=source"),
        ({"users": [{"kind": "auto_scaling_group", "name": "a", "version": "1"}]}, "users applies to versions: in_use"),
        ({"versions": "in_use", "users": [{"kind": "auto_scaling_group", "name": "a", "version": "v1"}]}, "users[0]"),
    ],
)
def test_lineage_options_that_do_not_fit_are_refused(run_module, moto_endpoint, regional_ec2, options, text):
    template = make_template(regional_ec2, [OLD], default=1)
    result = run_module(
        launch_template_metadata_options,
        args(moto_endpoint, launch_template_id=template, http_tokens="required", **options),
    )
    assert result["reason"] == "invalid_option"
    assert text in result["msg"]
    assert numbers(regional_ec2, template) == (1, 1)


def test_a_refused_create_leaves_every_alias_where_it_was(run_module, moto_endpoint, regional_ec2):
    template = make_template(regional_ec2, [OLD, NEW], default=1)
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "UnauthorizedOperation", times=1)
    try:
        options = args(moto_endpoint, launch_template_id=template, http_tokens="required", versions="in_use")
        result = run_module(launch_template_metadata_options, options)
    finally:
        moto_ec2_gaps.clear_faults()
    assert result["reason"] == "unauthorized"
    assert result["changed"] is False
    assert result["versions_created"] == []
    assert numbers(regional_ec2, template) == (1, 2)


LAUNCH_DATA = st.fixed_dictionaries(
    {
        "ImageId": st.sampled_from(["ami-0000000000000a001", "ami-0000000000000b002", "ami-0000000000000c003"]),
        "InstanceType": st.sampled_from(["t3.micro", "m7i.large", "c7g.xlarge"]),
    },
    optional={
        "KeyName": st.sampled_from(["ops", "batch"]),
        "MetadataOptions": st.fixed_dictionaries(
            {},
            optional={
                "HttpTokens": st.sampled_from(["optional", "required"]),
                "HttpPutResponseHopLimit": st.integers(1, 3),
            },
        ),
    },
)


def campaign_phase(ec2, template_id: str, users: list) -> tuple:
    """The launch_paths phase's call, through module_utils with one client: main() would cost a client a run."""
    wanted = {"http_tokens": "required"}
    plan = plan_template(ec2, AwsBudget(300), wanted, template_id=template_id, users=check_users(users))
    return plan, apply_template(ec2, AwsBudget(300), plan, "ec2meta.imds: metadata options")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_every_user_launches_the_same_data_but_the_metadata_options(regional_ec2, data):
    """Random templates (2-6 versions, random default; $Latest is the last, as EC2 makes it) and users on $Default,
    $Latest and numbers: after the phase every user resolves to the launch data it resolved to before, in every
    field but MetadataOptions; users of $Default and $Latest get tokens required (their other options kept), pinned
    users their very version; a second run changes nothing."""
    versions = data.draw(st.lists(LAUNCH_DATA, min_size=2, max_size=6), label="versions")
    default = data.draw(st.integers(1, len(versions)), label="default")
    spec = st.one_of(st.sampled_from(["$Default", "$Latest"]), st.integers(1, len(versions)).map(str))
    users = [
        {"kind": "auto_scaling_group", "name": f"group-{index}", "version": version}
        for index, version in enumerate(data.draw(st.lists(spec, max_size=4), label="users"))
    ]
    template = make_template(regional_ec2, versions, default)
    everyone = [*users, {"kind": "alias", "name": "$Default", "version": "$Default"}]
    everyone.append({"kind": "alias", "name": "$Latest", "version": "$Latest"})
    before = {user["name"]: launches(regional_ec2, template, user["version"]) for user in everyone}

    plan, done = campaign_phase(regional_ec2, template, users)
    if done["versions_created"]:
        assert numbers(regional_ec2, template)[1] == done["versions_created"][-1]
    for user in everyone:
        old_number, old_data = before[user["name"]]
        number, launched = launches(regional_ec2, template, user["version"])
        assert without_options(launched) == without_options(old_data), user
        if user["version"].isdigit():
            assert (number, launched) == (old_number, old_data), user  # pinned: not moved
            continue
        assert launched["MetadataOptions"] == {**old_data.get("MetadataOptions", {}), "HttpTokens": "required"}, user
    successors = {row["old_version"]: row["new_version"] for row in plan.lineage()}
    assert set(successors) == {before[user["name"]][0] for user in everyone}
    data_before = dict(before.values())
    for old_number, new_number in successors.items():  # a pinned user's successor is ready for it too
        _same, successor = launches(regional_ec2, template, str(new_number))
        assert without_options(successor) == without_options(data_before[old_number])
        assert successor["MetadataOptions"]["HttpTokens"] == "required"

    _plan, again = campaign_phase(regional_ec2, template, users)
    assert again == {"changed": False, "versions_created": []}


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_a_failure_midway_then_a_rerun_keeps_every_user_on_its_launch_data(regional_ec2, data):
    """Issue 27 (second review, 4): the same random templates and users; a creation fails after a random number of
    them went through (and the attempt to restore $Latest fails too, or not). After the task is run again every user
    resolves to the launch data it resolved to before, in every field but MetadataOptions."""
    versions = data.draw(st.lists(LAUNCH_DATA, min_size=2, max_size=6), label="versions")
    default = data.draw(st.integers(1, len(versions)), label="default")
    spec = st.one_of(st.sampled_from(["$Default", "$Latest"]), st.integers(1, len(versions)).map(str))
    users = [
        {"kind": "auto_scaling_group", "name": f"group-{index}", "version": version}
        for index, version in enumerate(data.draw(st.lists(spec, max_size=4), label="users"))
    ]
    template = make_template(regional_ec2, versions, default)
    everyone = [*users, {"kind": "alias", "name": "$Default", "version": "$Default"}]
    everyone.append({"kind": "alias", "name": "$Latest", "version": "$Latest"})
    before = {user["name"]: launches(regional_ec2, template, user["version"]) for user in everyone}
    after = data.draw(st.integers(0, len(versions)), label="creations before the failure")
    failures = data.draw(st.integers(1, 2), label="failures in a row")

    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "InternalError", times=failures, after=after)
    failed: dict = {}
    try:
        campaign_phase(regional_ec2, template, users)
    except AwsError as error:
        failed = error.result
    finally:
        moto_ec2_gaps.clear_faults()
    if failed:  # the failure says where $Latest is
        assert failed["latest_version"] == numbers(regional_ec2, template)[1]
    campaign_phase(regional_ec2, template, users)

    for user in everyone:
        old_number, old_data = before[user["name"]]
        number, launched = launches(regional_ec2, template, user["version"])
        assert without_options(launched) == without_options(old_data), (user, after, failures)
        if user["version"].isdigit():
            assert (number, launched) == (old_number, old_data), user
        else:
            assert launched["MetadataOptions"]["HttpTokens"] == "required", user
    _plan, again = campaign_phase(regional_ec2, template, users)
    assert again == {"changed": False, "versions_created": []}


def test_a_version_that_is_not_its_source_copied_is_caught_before_the_default_moves(
    run_module, moto_endpoint, regional_ec2, monkeypatch
):
    """The module relies on EC2 copying the source version (SourceVersion, only MetadataOptions sent). moto alone
    does not (tests/emulator/MOTO_GAPS.md); with its own create back, the read-back check must stop the task."""
    from moto.ec2.responses import EC2Response
    from moto.ec2.responses.launch_templates import LaunchTemplates

    template = make_template(regional_ec2, [OLD, NEW], default=1)
    monkeypatch.setattr(EC2Response, "create_launch_template_version", LaunchTemplates.create_launch_template_version)
    options = args(moto_endpoint, launch_template_id=template, http_tokens="required", versions="in_use")
    result = run_module(launch_template_metadata_options, options)
    assert result["reason"] == "launch_data_changed"
    assert "$Default was not moved" in result["msg"]
    assert result["versions_created"] == [3, 4]
    assert numbers(regional_ec2, template) == (1, 4)


def test_a_failure_between_the_creations_puts_latest_back_before_failing(run_module, moto_endpoint, regional_ec2):
    """Issue 27 (second review, 4): the second creation fails; the run tries once more to create $Latest's own
    successor, so $Latest keeps its AMI and type, fails naming where the aliases are, and a re-run finishes."""
    template = make_template(regional_ec2, [OLD, NEW], default=1)
    in_use = args(moto_endpoint, launch_template_id=template, http_tokens="required", versions="in_use")
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "InternalError", times=1, after=1)
    try:
        result = run_module(launch_template_metadata_options, in_use)
    finally:
        moto_ec2_gaps.clear_faults()
    assert result["failed"] is True
    assert result["versions_created"] == [3, 4]
    assert "test.." not in result["msg"]
    assert f"$Latest of {template} is version 4, the successor of version 2" in result["msg"]
    assert "$Default was not moved (still version 1)" in result["msg"]
    assert result["aliases"]["$Default"] == {"before": 1, "after": 1, "moved": False}
    assert numbers(regional_ec2, template) == (1, 4)
    assert without_options(launches(regional_ec2, template, "$Latest")[1]) == without_options(NEW)

    again = run_module(launch_template_metadata_options, in_use)
    assert again["versions_created"] == []
    assert numbers(regional_ec2, template) == (3, 4)


def test_a_rerun_after_a_failure_midway_puts_latest_back_on_its_lineage(run_module, moto_endpoint, regional_ec2):
    """Issue 27 (second review, 4): creation 2 and the attempt to restore both fail, so $Latest is version 3 (made
    from $Default's version 1: the old AMI and type). The failure says so plainly; the re-run must not take v3 as
    $Latest's successor ("reused"/"kept") but create version 2's successor last."""
    template = make_template(regional_ec2, [OLD, NEW], default=1)
    in_use = args(moto_endpoint, launch_template_id=template, http_tokens="required", versions="in_use")
    in_use["users"] = [{"kind": "auto_scaling_group", "name": "web", "version": "$Latest"}]
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "InternalError", times=2, after=1)
    try:
        result = run_module(launch_template_metadata_options, in_use)
    finally:
        moto_ec2_gaps.clear_faults()
    assert result["versions_created"] == [3]
    assert f"$Latest of {template} now points to version 3, made from version 1, not from version 2" in result["msg"]
    assert "launch version 1's launch data (its AMI and instance type) until this task is run again" in result["msg"]
    assert (result["latest_version"], result["latest_launch_data_of"], result["default_version"]) == (3, 1, 1)
    assert result["aliases"]["$Latest"] == {"before": 2, "after": 3, "moved": True}
    assert numbers(regional_ec2, template) == (1, 3)

    again = run_module(launch_template_metadata_options, in_use)
    assert again.get("failed") is not True, again
    assert [(row["old_version"], row["new_version"], row["action"]) for row in again["lineage"]] == [
        (1, 3, "reused"),
        (2, 4, "copy"),  # NEW has tokens required already; only a version created last is $Latest
    ]
    assert numbers(regional_ec2, template) == (3, 4)
    latest = launches(regional_ec2, template, "$Latest")[1]
    assert without_options(latest) == without_options(NEW)
    assert latest["MetadataOptions"]["HttpTokens"] == "required"
    assert run_module(launch_template_metadata_options, in_use)["changed"] is False


def test_each_created_version_names_its_source_in_its_description(regional_ec2):
    template = make_template(regional_ec2, [OLD, NEW], default=1)
    _plan, done = campaign_phase(regional_ec2, template, [])
    assert done["versions_created"] == [3, 4]
    found = regional_ec2.describe_launch_template_versions(LaunchTemplateId=template, Versions=["3", "4"])
    described = {v["VersionNumber"]: v["VersionDescription"] for v in found["LaunchTemplateVersions"]}
    assert described == {
        3: "ec2meta.imds: successor of version 1; ec2meta.imds: metadata options",
        4: "ec2meta.imds: successor of version 2; ec2meta.imds: metadata options",
    }


def test_a_version_someone_makes_meanwhile_stays_latest(regional_ec2):
    """Issue 27 (second review, 6): a version created between the plan and its creations is not taken off
    $Latest by the copy of the old $Latest; the run stops before the last creation with concurrent_change."""
    template = make_template(regional_ec2, [OLD, {**OLD, "InstanceType": "t3.small"}], default=1)
    plan = plan_template(regional_ec2, AwsBudget(300), {"http_tokens": "required"}, template_id=template, users=[])
    regional_ec2.create_launch_template_version(LaunchTemplateId=template, LaunchTemplateData=NEW)  # v3, CI's
    with pytest.raises(ConcurrentChange) as raised:
        apply_template(regional_ec2, AwsBudget(300), plan, "ec2meta.imds: metadata options")
    assert "Someone else created a version" in str(raised.value)
    assert raised.value.reason == "concurrent_change"
    assert raised.value.result["versions_created"] == [4]  # v1's successor, numbered 4 not 3: stopped there
    assert numbers(regional_ec2, template) == (1, 4)  # $Default not moved, no copy of version 2 made after theirs
    # The re-run plans from what is there: version 4 is v1's successor, the successor of version 3 (theirs) is last.
    plan, done = campaign_phase(regional_ec2, template, [])
    assert plan.latest_from == 3
    assert done["versions_created"] == [5]
    assert without_options(launches(regional_ec2, template, "$Latest")[1]) == without_options(NEW)
    assert without_options(launches(regional_ec2, template, "$Default")[1]) == without_options(OLD)


def test_the_last_creation_is_not_made_when_the_latest_moved_meanwhile(regional_ec2):
    template = make_template(regional_ec2, [OLD], default=1)
    plan = plan_template(regional_ec2, AwsBudget(300), {"http_tokens": "required"}, template_id=template, users=[])
    regional_ec2.create_launch_template_version(LaunchTemplateId=template, LaunchTemplateData=NEW)
    with pytest.raises(ConcurrentChange) as raised:
        apply_template(regional_ec2, AwsBudget(300), plan, "ec2meta.imds: metadata options")
    assert raised.value.result["versions_created"] == []
    assert "the latest version before the last creation is version 2, not version 1" in str(raised.value)
    assert numbers(regional_ec2, template) == (1, 2)
    assert launches(regional_ec2, template, "$Latest")[1] == NEW


def test_a_hop_limit_the_api_does_not_document_is_not_copied_into_a_successor(run_module, moto_endpoint):
    """Issue 27 (second review, 8): a version with HttpPutResponseHopLimit -7 got a successor with -7 in it."""
    from botocore.config import Config

    lax = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION, config=Config(parameter_validation=False))
    template = make_template(
        lax, [{**OLD, "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": -7}}], 1
    )
    options = args(moto_endpoint, launch_template_id=template, http_tokens="required", versions="in_use")
    for check_mode in (True, False):
        refused = run_module(launch_template_metadata_options, options, check_mode=check_mode)
        assert refused["reason"] == "unknown_option_value", refused
        assert "HttpPutResponseHopLimit is -7" in refused["msg"]
        assert "http_put_response_hop_limit" in refused["msg"]
    assert numbers(lax, template) == (1, 1)
    fixed = run_module(launch_template_metadata_options, {**options, "http_put_response_hop_limit": 2})
    assert fixed["versions_created"] == [2]
    assert launches(lax, template, "$Latest")[1]["MetadataOptions"] == {
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
    }


def test_the_note_on_latest_survives_a_huge_error_message_and_the_message_stays_bounded(regional_ec2):
    """Issue 27 (second review): the $Latest note was appended after the 4,000-character bound, with ".."."""
    template = make_template(regional_ec2, [OLD, NEW], default=1)
    plan = plan_template(regional_ec2, AwsBudget(300), {"http_tokens": "required"}, template_id=template, users=[])
    moto_ec2_gaps.inject_fault("CreateLaunchTemplateVersion", "InternalError", "word " * 3000 + ".", times=2, after=1)
    try:
        with pytest.raises(AwsError) as raised:
            apply_template(regional_ec2, AwsBudget(300), plan, "ec2meta.imds: metadata options")
    finally:
        moto_ec2_gaps.clear_faults()
    message = str(raised.value)
    assert len(message) <= 4100
    assert f"$Latest of {template} now points to version 3, made from version 1" in message
    assert ".." not in message.replace("...", "")
