# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options over many instances (instance_ids, filters): through main() against moto, and against the
throttling stand-in (tests/emulator/throttling_ec2.py) in front of it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from ansible.module_utils.basic import AnsibleModule
from throttling_ec2 import ThrottlingEc2

from ansible_collections.ec2meta.imds.plugins.modules import metadata_options


@pytest.fixture
def warnings_seen(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: seen.append(warning))
    return seen


def launch(ec2, count: int, tag: str, tokens: str = "optional") -> list:
    reservation = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=count,
        MaxCount=count,
        InstanceType="t3.micro",
        MetadataOptions={"HttpTokens": tokens},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Batch", "Value": tag}]}],
    )
    return [instance["InstanceId"] for instance in reservation["Instances"]]


def seed(moto_endpoint, instance_ids, calls: float) -> None:
    boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="eu-west-1").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "MetadataNoToken",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": datetime.now(timezone.utc) - timedelta(hours=3),
                "Value": calls,
                "Unit": "Count",
            }
            for instance_id in instance_ids
        ],
    )


def tokens_of(ec2, instance_ids) -> dict:
    reservations = ec2.describe_instances(InstanceIds=list(instance_ids))["Reservations"]
    return {i["InstanceId"]: i["MetadataOptions"]["HttpTokens"] for r in reservations for i in r["Instances"]}


@pytest.fixture
def fleet(ec2, moto_endpoint):
    """Six instances under one fresh tag: 3 ready (zeros in CloudWatch), 2 calling IMDSv1, 1 already required."""
    tag = uuid.uuid4().hex
    ready, calling = launch(ec2, 3, tag), launch(ec2, 2, tag)
    required = launch(ec2, 1, tag, tokens="required")
    seed(moto_endpoint, ready, 0.0)
    seed(moto_endpoint, calling, 4.0)
    return {"tag": tag, "ready": ready, "calling": calling, "required": required}


def base_args(moto_endpoint, **extra):
    return {"region": "eu-west-1", "endpoint_url": moto_endpoint, "http_tokens": "required", **extra}


def by_id(result) -> dict:
    return {entry["instance_id"]: entry for entry in result["instances"]}


def test_many_instances_in_one_task_each_decided_as_alone(run_module, ec2, moto_endpoint, fleet):
    ids = fleet["ready"] + fleet["calling"] + fleet["required"]
    result = run_module(metadata_options, base_args(moto_endpoint, instance_ids=ids))
    assert result["failed"] is True
    assert result["reason"] == "instances_not_changed"
    assert "2 of 6 instance(s) were refused or failed (imdsv1_in_use:" in result["msg"]
    assert result["changed"] is True
    entries = by_id(result)
    assert [entries[i]["status"] for i in ids] == ["changed"] * 3 + ["refused"] * 2 + ["unchanged"]
    assert {entries[i]["reason"] for i in fleet["calling"]} == {"imdsv1_in_use"}
    assert "CloudWatch counted 4 IMDSv1 call(s)" in entries[fleet["calling"][0]]["msg"]
    assert result["summary"] == {
        "changed": 3,
        "unchanged": 1,
        "refused": 2,
        "failed": 0,
        "selected": 6,
        "modify_calls_needed": 3,
        "seconds_the_bucket_needs": 0.0,
    }
    # One GetMetricData for the five instances the change would require tokens on, one Describe before, one after.
    assert result["api_calls"] == {
        "ec2:DescribeInstances": 2,
        "cloudwatch:GetMetricData": 1,
        "ec2:ModifyInstanceMetadataOptions": 3,
    }
    assert tokens_of(ec2, ids) == {**dict.fromkeys(fleet["ready"] + fleet["required"], "required"),
                                   **dict.fromkeys(fleet["calling"], "optional")}  # fmt: skip

    # Once the callers are fixed (here: the refusal overridden), a re-run changes only what is left.
    again = run_module(metadata_options, base_args(moto_endpoint, instance_ids=ids, imdsv1_usage_check="warn"))
    assert again["changed"] is True
    assert [by_id(again)[i]["status"] for i in ids] == ["unchanged"] * 3 + ["changed"] * 2 + ["unchanged"]
    assert again["api_calls"]["ec2:ModifyInstanceMetadataOptions"] == 2


def test_filters_select_and_check_mode_sends_nothing(run_module, ec2, moto_endpoint, fleet, warnings_seen):
    args = base_args(moto_endpoint, filters={"tag:Batch": fleet["tag"]}, imdsv1_usage_check="warn")
    result = run_module(metadata_options, args, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["summary"]["changed"] == 5
    assert result["summary"]["modify_calls_needed"] == 5
    assert result["api_calls"]["ec2:ModifyInstanceMetadataOptions"] == 0
    assert all(by_id(result)[i]["metadata_options"]["state"] is None for i in fleet["ready"])
    assert set(result["diff"]["after"]) == set(fleet["ready"] + fleet["calling"])
    assert result["diff"]["before"][fleet["ready"][0]]["http_tokens"] == "optional"
    assert len(warnings_seen) == 2  # the two IMDSv1 callers, switched (would be) under warn
    assert set(tokens_of(ec2, fleet["ready"] + fleet["calling"]).values()) == {"optional"}


def test_an_unknown_id_fails_alone(run_module, ec2, moto_endpoint, fleet):
    missing = "i-0000000000000dead"
    result = run_module(metadata_options, base_args(moto_endpoint, instance_ids=[missing, *fleet["ready"]]))
    assert result["failed"] is True
    assert by_id(result)[missing]["reason"] == "instance_not_found"
    assert [by_id(result)[i]["status"] for i in fleet["ready"]] == ["changed"] * 3
    assert set(tokens_of(ec2, fleet["ready"]).values()) == {"required"}


def test_wait_polls_all_in_one_round(run_module, moto_endpoint, fleet):
    result = run_module(metadata_options, base_args(moto_endpoint, instance_ids=fleet["ready"], wait=True))
    assert result["changed"] is True, result
    assert {entry["metadata_options"]["state"] for entry in result["instances"]} == {"applied"}
    assert result["api_calls"]["ec2:DescribeInstances"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"instance_ids": []}, "instance_ids is empty and filters is not set"),
        ({"instance_ids": ["i-1", ""]}, "every item must be an instance ID"),
        ({"instance_ids": ["i-1"], "modify_rate": 0}, "modify_rate must be a number of requests a second above 0"),
        ({"instance_ids": ["i-1"], "modify_rate": 1e-6}, "modify_rate must be at least 0.1 requests a second"),
        ({"instance_ids": ["i-1"], "modify_rate": 0.09}, "modify_rate must be at least 0.1 requests a second"),
        ({"instance_ids": ["i-1"], "modify_burst": 0}, "modify_burst must be a whole number"),
        (
            {"instance_ids": ["i-1"], "filters": {"instance-id": "i-2"}},
            "filters holds instance-id and instance_ids is set too",
        ),
        ({"instance_ids": ["i-1"], "max_concurrency": 11}, "max_concurrency must be a whole number from 1 to 10"),
        ({"instance_ids": ["i-1"], "instance_id": "i-1"}, "mutually exclusive"),
    ],
)
def test_bad_batch_options_are_refused_before_any_call(run_module, extra, message):
    result = run_module(metadata_options, base_args("http://127.0.0.1:9", **extra))
    assert result["failed"] is True
    assert message in result["msg"]


def test_throttled_by_ec2s_bucket_the_limiter_slows_down_and_every_change_goes_through(
    run_module, ec2, moto_endpoint, fleet
):
    # A bucket far smaller than the limiter believes: EC2 throttles, the limiter halves its rate and retries.
    proxy = ThrottlingEc2(moto_endpoint, {"ModifyInstanceMetadataOptions": (2, 4.0)})
    try:
        ids = launch(ec2, 12, fleet["tag"])
        args = base_args(
            proxy.url, instance_ids=ids, imdsv1_usage_check="skip", modify_rate=40, modify_burst=12, max_concurrency=6
        )
        result = run_module(metadata_options, args)
    finally:
        proxy.stop()
    assert result.get("failed") is not True, result
    assert result["summary"]["changed"] == 12
    assert proxy.throttled["ModifyInstanceMetadataOptions"] > 0
    assert result["rate_limiter"]["throttled"] == proxy.throttled["ModifyInstanceMetadataOptions"]
    assert result["rate_limiter"]["final_rate"] < 40
    assert (
        result["api_calls"]["ec2:ModifyInstanceMetadataOptions"]
        == 12 + proxy.throttled["ModifyInstanceMetadataOptions"]
    )
    assert set(tokens_of(ec2, ids).values()) == {"required"}


def test_return_documents_every_key_of_the_many_instance_result(run_module, moto_endpoint, fleet):
    import yaml

    returned = yaml.safe_load(metadata_options.RETURN)
    result = run_module(metadata_options, base_args(moto_endpoint, instance_ids=fleet["ready"]), diff=True)
    assert set(result) - {"invocation", "warnings", "changed"} <= set(returned)
    for key in ("instances", "summary", "rate_limiter"):
        item = result[key][0] if key == "instances" else result[key]
        assert set(item) == set(returned[key]["contains"]), key
