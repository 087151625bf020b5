# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand-ins of moto_ec2_gaps answer in botocore's shapes (MOTO_GAPS.md): every XML element of a raw answer is
a member of the operation's output shape in botocore's EC2 model, every enum value is one the model lists, and
botocore's own parser reads the answer. The behaviour follows AWS's documentation (no-preference clears,
ImdsSupport only v2.0 and kept by copies, SourceVersion merges)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import boto3
import botocore.session
import moto_ec2_gaps
import pytest
import requests
from botocore.parsers import create_parser

MODEL = botocore.session.get_session().get_service_model("ec2")
REGION = "me-south-1"


@pytest.fixture(autouse=True)
def clean():
    moto_ec2_gaps.reset_defaults()
    yield
    moto_ec2_gaps.reset_defaults()
    moto_ec2_gaps.clear_faults()


@pytest.fixture
def regional(moto_endpoint):
    return boto3.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def check_element(element, shape, path="") -> None:
    """``element`` (XML) has only what ``shape`` allows, with values of its type and enum."""
    where = f"{path}/{local(element.tag)}"
    if shape.type_name == "structure":
        names = {member.serialization.get("name", name): member for name, member in shape.members.items()}
        for child in element:
            if not path and local(child.tag) == "requestId":
                continue  # every EC2 answer has it; the model leaves it out
            assert local(child.tag) in names, f"{where}: {local(child.tag)} is not a member of {shape.name}"
            check_element(child, names[local(child.tag)], where)
    elif shape.type_name == "list":
        for child in element:
            assert local(child.tag) == "item", where
            check_element(child, shape.member, where)
    elif shape.type_name == "string" and shape.enum:
        assert element.text in shape.enum, f"{where}: {element.text!r} not in {shape.enum}"
    elif shape.type_name == "integer":
        int(element.text)
    elif shape.type_name == "boolean":
        assert element.text in ("true", "false"), where


def raw(moto_endpoint, action: str, whole: bool = True, **parameters) -> dict:
    """Send ``action`` as the EC2 query protocol does, check the XML against the model, and parse it as botocore."""
    body = {"Action": action, "Version": MODEL.api_version, **parameters}
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261201/{REGION}/ec2/aws4_request"}
    response = requests.post(moto_endpoint, data=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    operation = MODEL.operation_model(action)
    root = ET.fromstring(response.content)  # noqa: S314 - our own moto on 127.0.0.1
    if operation.output_shape is None:  # ModifyImageAttribute: the model has no output
        assert {local(child.tag) for child in root} <= {"requestId", "return"}
        return {}
    if whole:
        check_element(root, operation.output_shape)
    else:
        # moto's own part of the answer is moto's business (it answers rootDeviceType=standard, outside the
        # model): only what the stand-in adds is checked.
        image_shape = MODEL.shape_for("Image").members["ImdsSupport"]
        for found in root.iter():
            if local(found.tag) == image_shape.serialization.get("name", "ImdsSupport"):
                assert found.text in (*image_shape.enum, "v2.0") if image_shape.enum else found.text == "v2.0"
    parsed = create_parser("ec2").parse(
        {"body": response.content, "headers": response.headers, "status_code": 200}, operation.output_shape
    )
    return parsed


def test_account_defaults_answer_in_botocores_shape(moto_endpoint):
    assert raw(moto_endpoint, "GetInstanceMetadataDefaults")["AccountLevel"] == {"ManagedBy": "account"}
    changed = raw(
        moto_endpoint,
        "ModifyInstanceMetadataDefaults",
        HttpTokens="required",
        HttpPutResponseHopLimit="2",
        HttpTokensEnforced="enabled",
    )
    assert changed["Return"] is True
    level = raw(moto_endpoint, "GetInstanceMetadataDefaults")["AccountLevel"]
    assert level == {
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
        "HttpTokensEnforced": "enabled",
        "ManagedBy": "account",
    }
    raw(moto_endpoint, "ModifyInstanceMetadataDefaults", HttpTokens="no-preference", HttpPutResponseHopLimit="-1")
    assert raw(moto_endpoint, "GetInstanceMetadataDefaults")["AccountLevel"] == {
        "HttpTokensEnforced": "enabled",
        "ManagedBy": "account",
    }


@pytest.mark.parametrize(
    "parameters",
    [{"HttpTokens": "sometimes"}, {"HttpPutResponseHopLimit": 65}, {"HttpPutResponseHopLimit": 0}, {}],
)
def test_account_defaults_refuse_what_aws_refuses(regional, parameters):
    with pytest.raises(regional.exceptions.ClientError) as raised:
        regional.modify_instance_metadata_defaults(**parameters)  # botocore leaves enums to the server
    assert raised.value.response["Error"]["Code"] in ("InvalidParameterValue", "InvalidParameterCombination")


def test_a_declarative_policy_is_reported_and_refuses_changes(moto_endpoint, regional):
    moto_ec2_gaps.set_managed_by_policy("123456789012", REGION, "Managed by the organization")
    level = raw(moto_endpoint, "GetInstanceMetadataDefaults")["AccountLevel"]
    assert level == {"ManagedBy": "declarative-policy", "ManagedExceptionMessage": "Managed by the organization"}
    with pytest.raises(regional.exceptions.ClientError):
        regional.modify_instance_metadata_defaults(HttpTokens="required")


def test_image_imds_support_answers_in_botocores_shape_and_copies_keep_it(moto_endpoint, regional):
    image = regional.register_image(Name="gaps-image", ImdsSupport="v2.0")["ImageId"]
    attribute = raw(moto_endpoint, "DescribeImageAttribute", ImageId=image, Attribute="imdsSupport")
    assert attribute["ImdsSupport"] == {"Value": "v2.0"}
    described = raw(moto_endpoint, "DescribeImages", whole=False, **{"ImageId.1": image})
    assert described["Images"][0]["ImdsSupport"] == "v2.0"
    plain = regional.register_image(Name="gaps-plain")["ImageId"]
    assert raw(moto_endpoint, "DescribeImageAttribute", ImageId=plain, Attribute="imdsSupport")["ImdsSupport"] == {}
    raw(moto_endpoint, "ModifyImageAttribute", ImageId=plain, **{"ImdsSupport.Value": "v2.0"})
    copy = regional.copy_image(SourceImageId=plain, SourceRegion=REGION, Name="gaps-copy")["ImageId"]
    assert regional.describe_images(ImageIds=[copy])["Images"][0]["ImdsSupport"] == "v2.0"
    with pytest.raises(regional.exceptions.ClientError):
        regional.modify_image_attribute(ImageId=plain, ImdsSupport={"Value": "v1.0"})


def test_source_version_keeps_what_the_new_version_does_not_set(moto_endpoint, regional):
    template = regional.create_launch_template(
        LaunchTemplateName="gaps-source",
        LaunchTemplateData={"InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "optional"}},
    )["LaunchTemplate"]["LaunchTemplateId"]
    created = raw(
        moto_endpoint,
        "CreateLaunchTemplateVersion",
        LaunchTemplateId=template,
        SourceVersion="1",
        **{"LaunchTemplateData.MetadataOptions.HttpTokens": "required"},
    )
    data = created["LaunchTemplateVersion"]["LaunchTemplateData"]
    assert data == {"InstanceType": "t3.micro", "MetadataOptions": {"HttpTokens": "required"}}
    regional.delete_launch_template(LaunchTemplateId=template)


def test_injected_faults_come_back_as_aws_errors(regional):
    moto_ec2_gaps.inject_fault("DescribeLaunchTemplates", "UnauthorizedOperation", times=1)
    with pytest.raises(regional.exceptions.ClientError) as raised:
        regional.describe_launch_templates()
    assert raised.value.response["Error"]["Code"] == "UnauthorizedOperation"
    regional.describe_launch_templates()  # once only


def test_spot_fleet_requests_are_described_as_they_were_given(moto_endpoint, regional):
    image = regional.register_image(Name="spot-gap-ami")["ImageId"]
    template = regional.create_launch_template(
        LaunchTemplateName="spot-gap",
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "optional"},
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    common = {
        "TargetCapacity": 0,
        "IamFleetRole": "arn:aws:iam::123456789012:role/spot",
        "AllocationStrategy": "lowestPrice",
    }
    by_template = regional.request_spot_fleet(
        SpotFleetRequestConfig={
            **common,
            "Type": "request",
            "LaunchTemplateConfigs": [
                {"LaunchTemplateSpecification": {"LaunchTemplateId": template, "Version": "1"},
                 "Overrides": [{"InstanceType": "t3.small"}]}
            ],
        }
    )["SpotFleetRequestId"]  # fmt: skip
    by_ami = regional.request_spot_fleet(
        SpotFleetRequestConfig={**common, "LaunchSpecifications": [{"ImageId": image, "InstanceType": "t3.micro"}]}
    )["SpotFleetRequestId"]
    try:
        answer = raw(moto_endpoint, "DescribeSpotFleetRequests")
        found = {
            item["SpotFleetRequestId"]: item["SpotFleetRequestConfig"] for item in answer["SpotFleetRequestConfigs"]
        }
        # moto alone turns the template configuration into a launch specification and drops the type.
        assert found[by_template]["Type"] == "request"
        assert found[by_template]["LaunchTemplateConfigs"][0]["LaunchTemplateSpecification"] == {
            "LaunchTemplateId": template, "Version": "1"
        }  # fmt: skip
        assert not found[by_template].get("LaunchSpecifications")
        assert found[by_ami]["Type"] == "maintain"  # the API's default
        assert [spec["ImageId"] for spec in found[by_ami]["LaunchSpecifications"]] == [image]
    finally:
        regional.cancel_spot_fleet_requests(SpotFleetRequestIds=[by_template, by_ami], TerminateInstances=False)
        regional.delete_launch_template(LaunchTemplateId=template)
