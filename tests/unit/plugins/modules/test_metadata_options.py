# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options through main(), against moto in server mode (and the emulator for discovery)."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
import yaml
from moto_helpers import EC2_DEFAULT_METADATA_OPTIONS as DEFAULTS
from moto_link import link_emulator

from ansible_collections.ec2meta.imds.plugins.modules import metadata_options


@pytest.fixture
def args(moto_endpoint, instance_id):
    """Arguments of a task delegated to a controller: explicit instance and region."""
    return {"instance_id": instance_id, "region": "eu-west-1", "endpoint_url": moto_endpoint}


def moto_options(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["MetadataOptions"]


def test_change_then_no_change(run_module, args, ec2, instance_id):
    first = run_module(metadata_options, {**args, "http_tokens": "required", "http_put_response_hop_limit": 2})
    assert first["changed"] is True, first
    assert first["instance_id"] == instance_id
    assert first["metadata_options"] == {
        **DEFAULTS,
        "http_tokens": "required",
        "http_put_response_hop_limit": 2,
        "state": "applied",
    }
    assert moto_options(ec2, instance_id)["HttpTokens"] == "required"
    assert moto_options(ec2, instance_id)["HttpPutResponseHopLimit"] == 2
    second = run_module(metadata_options, {**args, "http_tokens": "required", "http_put_response_hop_limit": 2})
    assert second["changed"] is False
    assert second["metadata_options"] == first["metadata_options"]
    assert "diff" not in second


def test_nothing_requested_reports_current_options(run_module, args):
    result = run_module(metadata_options, args)
    assert result["changed"] is False
    assert result["metadata_options"] == {**DEFAULTS, "state": "applied"}


def test_check_mode_changes_nothing(run_module, args, ec2, instance_id):
    result = run_module(metadata_options, {**args, "instance_metadata_tags": "enabled"}, check_mode=True)
    assert result["changed"] is True
    assert result["metadata_options"]["instance_metadata_tags"] == "enabled"
    assert moto_options(ec2, instance_id)["InstanceMetadataTags"] == "disabled"


def test_diff_shows_before_and_after(run_module, args):
    result = run_module(metadata_options, {**args, "http_endpoint": "disabled"}, diff=True)
    assert result["diff"] == {"before": DEFAULTS, "after": {**DEFAULTS, "http_endpoint": "disabled"}}


def test_wait_returns_the_applied_state(run_module, args):
    result = run_module(metadata_options, {**args, "http_protocol_ipv6": "enabled", "wait": True, "wait_timeout": 10})
    assert result["changed"] is True
    assert result["metadata_options"]["state"] == "applied"
    assert result["metadata_options"]["http_protocol_ipv6"] == "enabled"


def test_discovers_instance_and_region_from_imds(run_module, emulator, moto_endpoint, ec2, instance_id, make_client):
    """End to end: the module "on the instance" finds the moto instance through the linked emulator."""
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
    before = requests.get(f"{emulator.url}/latest/meta-data/instance-id", timeout=2)
    assert (before.status_code, before.text) == (200, instance_id)
    result = run_module(
        metadata_options, {"endpoint": emulator.url, "endpoint_url": moto_endpoint, "http_tokens": "required"}
    )
    assert result["changed"] is True, result
    assert (result["instance_id"], result["region"]) == (instance_id, "eu-west-1")
    assert moto_options(ec2, instance_id)["HttpTokens"] == "required"
    # IMDSv1 is now refused by the emulator, because moto says so.
    after = requests.get(f"{emulator.url}/latest/meta-data/instance-id", timeout=2)
    assert after.status_code == 401


@pytest.mark.parametrize("bad_id", ["i-00000000000000000", "not-an-instance"])
def test_unknown_instance(run_module, args, bad_id):
    result = run_module(metadata_options, {**args, "instance_id": bad_id, "http_tokens": "required"})
    assert result["failed"] is True
    assert result["reason"] == "instance_not_found"
    assert f"Instance '{bad_id}' was not found in region eu-west-1: check instance_id" in result["msg"]


@pytest.mark.parametrize("hop_limit", [0, 65])
def test_hop_limit_is_checked_before_any_call(run_module, hop_limit):
    # Nothing listens on port 9: a call would fail with a connection error, not this message.
    result = run_module(
        metadata_options,
        {
            "instance_id": "i-0123456789abcdef0",
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:9",
            "http_put_response_hop_limit": hop_limit,
        },
    )
    assert result["failed"] is True
    assert result["reason"] == "invalid_option"
    assert "http_put_response_hop_limit must be an integer from 1 to 64" in result["msg"]


def test_wait_timeout_must_be_positive(run_module, args):
    result = run_module(metadata_options, {**args, "wait": True, "wait_timeout": 0})
    assert "wait_timeout must be at least 1 second" in result["msg"]


def test_no_region(run_module, monkeypatch, tmp_path, moto_endpoint):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run_module(metadata_options, {"instance_id": "i-0123456789abcdef0", "endpoint_url": moto_endpoint})
    assert result["failed"] is True
    assert result["reason"] == "no_region"
    assert "No AWS region for instance i-0123456789abcdef0: set the region option" in result["msg"]


def test_region_from_the_environment(run_module, args, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = run_module(metadata_options, {key: value for key, value in args.items() if key != "region"})
    assert result["region"] == "eu-west-1"
    assert result["changed"] is False


def test_no_credentials(run_module, args, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    # Otherwise botocore would ask the real IMDS for instance role credentials.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run_module(metadata_options, {**args, "http_tokens": "required"})
    assert result["failed"] is True
    assert result["reason"] == "no_credentials"
    assert "No AWS credentials found for ec2:DescribeInstances" in result["msg"]
    assert "AWS_ACCESS_KEY_ID" in result["msg"]


def test_imds_discovery_failure_says_how_to_run_on_a_controller(run_module, emulator, moto_endpoint):
    emulator.set_options(http_endpoint="disabled")
    result = run_module(metadata_options, {"endpoint": emulator.url, "endpoint_url": moto_endpoint, "retries": 0})
    assert result["failed"] is True
    assert result["reason"] == "endpoint_disabled"
    assert "set instance_id and region" in result["msg"]


def test_missing_boto3(run_module, monkeypatch, args):
    monkeypatch.setattr(metadata_options, "HAS_BOTO3", False)
    result = run_module(metadata_options, {**args, "http_tokens": "required"})
    assert result["failed"] is True
    assert "boto3" in result["msg"]


@pytest.fixture
def describe_only_keys(moto_endpoint):
    """Keys of an IAM user that may describe but not modify; moto enforces IAM until the test ends."""
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = "describe-only"
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="describe",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()
    try:
        yield {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}
    finally:
        requests.post(f"{moto_endpoint}/moto-api/reset-auth", data=b"inf", timeout=5).raise_for_status()
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.delete_user_policy(UserName=name, PolicyName="describe")
        iam.delete_user(UserName=name)


def test_unauthorized_names_the_iam_action(run_module, args, describe_only_keys, ec2, instance_id):
    result = run_module(metadata_options, {**args, **describe_only_keys, "http_tokens": "required"})
    assert result["failed"] is True
    assert result["reason"] == "unauthorized"
    assert "lack the IAM permission ec2:ModifyInstanceMetadataOptions" in result["msg"]
    assert describe_only_keys["secret_key"] not in json.dumps(result)


def test_every_option_is_documented_with_its_type():
    from ansible_collections.ec2meta.imds.plugins.doc_fragments import aws, client

    documented = {}
    for text in (client.ModuleDocFragment.DOCUMENTATION, aws.ModuleDocFragment.DOCUMENTATION):
        documented.update(yaml.safe_load(text)["options"])
    # The module's own entries override a fragment's, as ansible-doc merges them.
    documented.update(yaml.safe_load(metadata_options.DOCUMENTATION)["options"])
    spec = metadata_options.argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("choices") == option.get("choices"), name
        assert documented[name].get("aliases", []) == option.get("aliases", []), name


def test_return_documents_the_result_keys():
    returned = yaml.safe_load(metadata_options.RETURN)
    assert {"instance_id", "region", "metadata_options", "diff"} <= set(returned)
    assert set(returned["metadata_options"]["contains"]) == set(DEFAULTS) | {"state"}
