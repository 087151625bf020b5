# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options_info through main(), against moto in server mode with metrics seeded in its CloudWatch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ec2meta.imds.plugins.modules import metadata_options_info


@pytest.fixture
def cloudwatch(moto_endpoint):
    return boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="eu-west-1")


def seed(cloudwatch, instance_id, metric, value, ago=timedelta(hours=2)):
    cloudwatch.put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": datetime.now(timezone.utc) - ago,
                "Value": float(value),
                "Unit": "Count",
            }
        ],
    )


def launch(ec2, count=1, **tags):
    specification = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    reservation = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=count, MaxCount=count, TagSpecifications=specification if tags else []
    )
    return [instance["InstanceId"] for instance in reservation["Instances"]]


@pytest.fixture
def fleet(ec2, cloudwatch):
    """One instance per verdict, tagged with a run-unique Audit tag so the test sees only its own."""
    run = datetime.now().strftime("%H%M%S%f")
    ids = dict(zip(VERDICT_ORDER, launch(ec2, len(VERDICT_ORDER), Audit=run)))
    seed(cloudwatch, ids["uses_imdsv1"], "MetadataNoToken", 7)
    seed(cloudwatch, ids["uses_imdsv1"], "MetadataNoToken", 2, ago=timedelta(days=20))  # outside the window
    seed(cloudwatch, ids["ready"], "MetadataNoToken", 0)
    seed(cloudwatch, ids["enforced"], "MetadataNoTokenRejected", 0)
    seed(cloudwatch, ids["enforced_with_rejections"], "MetadataNoTokenRejected", 3)
    seed(cloudwatch, ids["endpoint_disabled"], "MetadataNoToken", 0)
    # The witness has an hour that MetadataNoToken lacks: that hour is unknown, not zero.
    seed(cloudwatch, ids["unknown"], "MetadataNoToken", 0)
    seed(cloudwatch, ids["unknown"], "StatusCheckFailed", 0, ago=timedelta(hours=5))
    # too_recent: nothing at all, and moto launched it a moment ago.
    for name in ("enforced", "enforced_with_rejections"):
        ec2.modify_instance_metadata_options(InstanceId=ids[name], HttpTokens="required", HttpEndpoint="enabled")
    ec2.modify_instance_metadata_options(InstanceId=ids["endpoint_disabled"], HttpEndpoint="disabled")
    return run, ids


VERDICT_ORDER = [
    "ready",
    "uses_imdsv1",
    "enforced",
    "enforced_with_rejections",
    "endpoint_disabled",
    "unknown",
    "too_recent",
]


def test_audit_gives_each_instance_its_verdict(run_module, moto_endpoint, fleet):
    run, ids = fleet
    result = run_module(
        metadata_options_info, {"region": "eu-west-1", "endpoint_url": moto_endpoint, "filters": {"tag:Audit": run}}
    )
    assert result["changed"] is False
    verdicts = {entry["instance_id"]: entry["verdict"] for entry in result["instances"]}
    assert verdicts == {instance_id: name for name, instance_id in ids.items()}
    assert result["summary"] == dict.fromkeys(VERDICT_ORDER, 1)
    used = next(entry for entry in result["instances"] if entry["verdict"] == "uses_imdsv1")
    assert used["imdsv1_usage"]["calls"] == 7
    assert used["verdict_reason"].startswith("7 IMDSv1 call(s) since ")
    rejected = next(entry for entry in result["instances"] if entry["verdict"] == "enforced_with_rejections")
    assert rejected["imdsv1_usage"]["rejected"] == 3
    assert rejected["metadata_options"]["http_tokens"] == "required"
    unknown = next(entry for entry in result["instances"] if entry["verdict"] == "unknown")
    assert "StatusCheckFailed for 1 hour(s) without MetadataNoToken" in unknown["verdict_reason"]
    assert unknown["imdsv1_usage"]["calls_state"] == "unknown"
    assert result["api_calls"] == {"ec2:DescribeInstances": 1, "cloudwatch:GetMetricData": 1}


def test_audit_runs_in_check_mode_and_by_instance_ids(run_module, moto_endpoint, fleet):
    _run, ids = fleet
    result = run_module(
        metadata_options_info,
        {"region": "eu-west-1", "endpoint_url": moto_endpoint, "instance_ids": [ids["uses_imdsv1"]]},
        check_mode=True,
    )
    assert [entry["instance_id"] for entry in result["instances"]] == [ids["uses_imdsv1"]]
    assert result["summary"]["uses_imdsv1"] == 1


def test_a_longer_window_sees_older_calls(run_module, moto_endpoint, fleet):
    _run, ids = fleet
    args = {"region": "eu-west-1", "endpoint_url": moto_endpoint, "instance_ids": [ids["uses_imdsv1"]]}
    result = run_module(metadata_options_info, {**args, "imdsv1_usage_window": 30})
    assert result["instances"][0]["imdsv1_usage"]["calls"] == 9
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run_module(metadata_options_info, {**args, "imdsv1_usage_since": since})
    assert result["instances"][0]["imdsv1_usage"]["calls"] == 0
    assert result["instances"][0]["imdsv1_usage"]["since"] == since


@pytest.fixture
def warnings(monkeypatch):
    # Caught at the source: ansible routes warnings to its display once a controller plugin was loaded in-process.
    caught: list = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: caught.append(warning))
    return caught


def test_asked_about_a_switch_too_soon_it_warns_when_to_ask_again(run_module, moto_endpoint, fleet, warnings):
    _run, ids = fleet
    since = datetime.now(timezone.utc) - timedelta(minutes=3)
    args = {"region": "eu-west-1", "endpoint_url": moto_endpoint, "instance_ids": [ids["too_recent"]]}
    result = run_module(metadata_options_info, {**args, "imdsv1_usage_since": since.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert result["instances"][0]["verdict"] == "too_recent"
    assert len(warnings) == 1
    ask_again = (since.replace(microsecond=0) + timedelta(minutes=75)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Too early to tell whether IMDS refused, or answered, IMDSv1 calls since" in warnings[0]
    assert ids["too_recent"] in warnings[0]
    assert f"again after {ask_again}" in warnings[0]


def test_a_verdict_known_or_a_window_of_days_gives_no_warning(run_module, moto_endpoint, fleet, warnings):
    _run, ids = fleet
    args = {"region": "eu-west-1", "endpoint_url": moto_endpoint}
    since = (datetime.now(timezone.utc) - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    known = run_module(
        metadata_options_info, {**args, "instance_ids": [ids["uses_imdsv1"]], "imdsv1_usage_since": since}
    )
    assert known["instances"][0]["verdict"] != "too_recent"
    days = run_module(metadata_options_info, {**args, "instance_ids": [ids["too_recent"]]})
    assert days["instances"][0]["verdict"] == "too_recent"
    assert warnings == []


def test_terminated_instances_only_when_asked(run_module, moto_endpoint, ec2):
    run = datetime.now().strftime("T%H%M%S%f")
    live, gone = launch(ec2, 2, Audit=run)
    ec2.terminate_instances(InstanceIds=[gone])
    args = {"region": "eu-west-1", "endpoint_url": moto_endpoint, "filters": {"tag:Audit": run}}
    listed = run_module(metadata_options_info, args)
    assert [entry["instance_id"] for entry in listed["instances"]] == [live]
    listed = run_module(metadata_options_info, {**args, "include_terminated": True})
    assert {entry["instance_id"]: entry["state"] for entry in listed["instances"]} == {
        live: "running",
        gone: "terminated",
    }


def test_every_page_is_read(run_module, moto_endpoint, ec2, monkeypatch):
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws import ec2 as _ec2_api

    monkeypatch.setattr(_ec2_api, "PAGE_SIZE", 5)
    run = datetime.now().strftime("P%H%M%S%f")
    # moto pages by reservation: one instance each.
    ids = [launch(ec2, 1, Audit=run)[0] for _launch in range(12)]
    result = run_module(
        metadata_options_info, {"region": "eu-west-1", "endpoint_url": moto_endpoint, "filters": {"tag:Audit": run}}
    )
    assert sorted(entry["instance_id"] for entry in result["instances"]) == sorted(ids)
    assert result["api_calls"]["ec2:DescribeInstances"] == 3


@pytest.mark.parametrize(
    ("args", "reason", "text"),
    [
        ({"instance_ids": ["i-00000000000000000"]}, "instance_not_found", "i-00000000000000000' was not found"),
        ({"filters": {"tag:Env": {"a": 1}}}, "invalid_option", "filters: 'tag:Env' must be a string or a list"),
        ({"imdsv1_usage_window": 0}, "invalid_option", "imdsv1_usage_window must be a whole number of days"),
        ({"imdsv1_usage_since": "last week"}, "invalid_option", "imdsv1_usage_since must be an ISO 8601 time"),
    ],
)
def test_bad_input_and_unknown_instances(run_module, moto_endpoint, args, reason, text):
    result = run_module(metadata_options_info, {"region": "eu-west-1", "endpoint_url": moto_endpoint, **args})
    assert result["failed"] is True
    assert result["reason"] == reason
    assert text in result["msg"]


def test_documented_options_match_the_spec():
    from ansible_collections.ec2meta.imds.plugins.doc_fragments import aws
    from ansible_collections.ec2meta.imds.plugins.module_utils._module import compose_argument_spec

    documented = yaml.safe_load(aws.ModuleDocFragment.DOCUMENTATION)["options"]
    documented.update(yaml.safe_load(metadata_options_info.DOCUMENTATION)["options"])
    spec = compose_argument_spec(metadata_options_info.argument_spec(), aws=True)
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
    notes = " ".join(yaml.safe_load(metadata_options_info.DOCUMENTATION)["notes"])
    assert "ec2:DescribeInstances" in notes
    assert "cloudwatch:GetMetricData" in notes
