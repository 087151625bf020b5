# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_imds_support and launch_template_metadata_options through main(), against moto (MOTO_GAPS.md)."""

from __future__ import annotations

import boto3
import moto_ec2_gaps
import pytest
from ansible.module_utils.basic import AnsibleModule

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
