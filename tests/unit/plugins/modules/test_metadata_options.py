# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options through main(), against moto in server mode (and the emulator for discovery)."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
import yaml
from ansible.module_utils.basic import AnsibleModule
from moto_helpers import EC2_DEFAULT_METADATA_OPTIONS as DEFAULTS
from moto_link import link_emulator

from ansible_collections.ec2meta.imds.plugins.module_utils._aws import session
from ansible_collections.ec2meta.imds.plugins.modules import metadata_options


@pytest.fixture
def warnings_seen(monkeypatch):
    """The warnings the module gives: ansible routes them to its display instead of the result once a controller
    plugin was loaded in the process (another test's lookup, say), so they are caught at the source."""
    seen: list[str] = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: seen.append(warning))
    return seen


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


def test_discovers_instance_and_region_from_imds(
    run_module, emulator, moto_endpoint, ec2, instance_id, make_client, warnings_seen
):
    """End to end: the module "on the instance" finds the moto instance through the linked emulator."""
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
    before = requests.get(f"{emulator.url}/latest/meta-data/instance-id", timeout=2)
    assert (before.status_code, before.text) == (200, instance_id)
    on_the_instance = {"endpoint": emulator.url, "endpoint_url": moto_endpoint, "http_tokens": "required"}
    # The IMDSv1 request above is in moto's CloudWatch now: the guard refuses, then warn switches anyway.
    refused = run_module(metadata_options, on_the_instance)
    assert refused["reason"] == "imdsv1_in_use", refused
    assert refused["imdsv1_usage"]["calls"] == 1
    result = run_module(metadata_options, {**on_the_instance, "imdsv1_usage_check": "warn"})
    assert result["changed"] is True, result
    assert f"on {instance_id} while IMDSv1 is in use: CloudWatch counted 1 IMDSv1 call(s)" in warnings_seen[0]
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
    monkeypatch.setattr(session, "HAS_BOTO3", False)
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
    result = run_module(
        metadata_options, {**args, **describe_only_keys, "http_tokens": "required", "imdsv1_usage_check": "skip"}
    )
    assert result["failed"] is True
    assert result["reason"] == "unauthorized"
    assert "lack the IAM permission ec2:ModifyInstanceMetadataOptions" in result["msg"]
    assert describe_only_keys["secret_key"] not in json.dumps(result)


def test_every_option_is_documented_with_its_type():
    from ansible_collections.ec2meta.imds.plugins.doc_fragments import aws, client
    from ansible_collections.ec2meta.imds.plugins.module_utils._module import compose_argument_spec

    documented = {}
    for text in (client.ModuleDocFragment.DOCUMENTATION, aws.ModuleDocFragment.DOCUMENTATION):
        documented.update(yaml.safe_load(text)["options"])
    # The module's own entries override a fragment's, as ansible-doc merges them.
    documented.update(yaml.safe_load(metadata_options.DOCUMENTATION)["options"])
    spec = compose_argument_spec(metadata_options.argument_spec(), imds=True, aws=True)
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


def test_without_cloudwatch_permission_the_guard_fails_naming_it_and_the_way_to_skip(
    run_module, args, describe_only_keys, ec2, instance_id
):
    result = run_module(metadata_options, {**args, **describe_only_keys, "http_tokens": "required"})
    assert result["failed"] is True
    assert result["reason"] == "imdsv1_usage_unknown"
    assert "lack the IAM permission cloudwatch:GetMetricData" in result["msg"]
    assert "never takes 'could not read' for 'not in use'" in result["msg"]
    assert "set imdsv1_usage_check=warn (switch and warn) or skip" in result["msg"]
    assert result["imdsv1_usage"]["calls_state"] == "unknown"


# ----------------------------------------------------------------------------- races, waits, throttling, input


class HookedAfterModify:
    """The module's EC2 client with ``after()`` run right after its ModifyInstanceMetadataOptions."""

    def __init__(self, client, after):
        self._client, self._after = client, after

    def __getattr__(self, name):
        return getattr(self._client, name)

    def modify_instance_metadata_options(self, **kwargs):
        answer = self._client.modify_instance_metadata_options(**kwargs)
        self._after()
        return answer


def hook_ec2(monkeypatch, wrap):
    real = session.aws_client

    def aws_client(service, **kwargs):
        client = real(service, **kwargs)
        return wrap(client) if service == "ec2" else client

    monkeypatch.setattr(session, "aws_client", aws_client)


@pytest.mark.parametrize("wait", [False, True])
def test_overlapping_runs_the_one_whose_option_was_undone_fails(run_module, args, ec2, instance_id, monkeypatch, wait):
    """A sets http_tokens=required; B, which read the options before A's change, sends its whole block between
    A's Modify and A's check, with instance_metadata_tags=enabled and the stale HttpTokens=optional."""

    def run_b():
        ec2.modify_instance_metadata_options(
            InstanceId=instance_id,
            HttpTokens="optional",
            HttpPutResponseHopLimit=1,
            HttpEndpoint="enabled",
            InstanceMetadataTags="enabled",
        )

    hook_ec2(monkeypatch, lambda client: HookedAfterModify(client, run_b))
    result = run_module(
        metadata_options,
        {**args, "http_tokens": "required", "wait": wait, "wait_timeout": 10, "imdsv1_usage_check": "skip"},
    )
    assert result["failed"] is True, result
    assert result["reason"] == "options_overwritten"
    assert result["changed"] is True
    assert "http_tokens: wanted 'required', found 'optional'" in result["msg"]
    assert moto_options(ec2, instance_id)["InstanceMetadataTags"] == "enabled"


class NeverApplied:
    """The module's EC2 client, with DescribeInstances always reporting the options as pending."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def describe_instances(self, **kwargs):
        answer = self._client.describe_instances(**kwargs)
        for reservation in answer["Reservations"]:
            for instance in reservation["Instances"]:
                instance["MetadataOptions"]["State"] = "pending"
        return answer


def test_a_wait_timeout_after_the_change_reports_changed(run_module, args, ec2, instance_id, monkeypatch):
    hook_ec2(monkeypatch, NeverApplied)
    result = run_module(metadata_options, {**args, "http_protocol_ipv6": "enabled", "wait": True, "wait_timeout": 1})
    assert result["failed"] is True
    assert result["reason"] == "wait_timeout"
    assert result["changed"] is True
    assert result["metadata_options"]["state"] == "pending"
    assert moto_options(ec2, instance_id)["HttpProtocolIpv6"] == "enabled"


def test_check_mode_does_not_claim_the_change_is_applied(run_module, args):
    result = run_module(metadata_options, {**args, "http_protocol_ipv6": "enabled"}, check_mode=True)
    assert result["changed"] is True
    assert result["metadata_options"]["state"] is None
    unchanged = run_module(metadata_options, args, check_mode=True)
    assert unchanged["metadata_options"]["state"] == "applied"


@pytest.mark.parametrize("empty", ["", " "])
def test_an_empty_instance_id_is_refused_not_taken_as_unset(run_module, emulator, empty):
    # The emulator would answer a discovery; nothing listens on port 9 for EC2. Neither is asked.
    result = run_module(
        metadata_options,
        {"instance_id": empty, "region": "eu-west-1", "endpoint": emulator.url, "endpoint_url": "http://127.0.0.1:9"},
    )
    assert result["failed"] is True
    assert result["reason"] == "invalid_option"
    assert "instance_id is set but empty" in result["msg"]
    assert emulator.state()["counters"] == {}


THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>"
)


@pytest.fixture
def throttling_proxy(moto_endpoint):
    """EC2 in front of moto that answers the first ``throttle`` requests with 503 RequestLimitExceeded."""
    import http.server
    import threading

    state = {"throttle": 0, "seen": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state["seen"] += 1
            if state["seen"] <= state["throttle"]:
                status, payload, content_type = 503, THROTTLED, "text/xml"
            else:
                headers = {key: value for key, value in self.headers.items() if key.lower() != "host"}
                answer = requests.post(moto_endpoint + self.path, data=body, headers=headers, timeout=10)
                status, payload, content_type = answer.status_code, answer.content, answer.headers["Content-Type"]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_throttling_is_retried(run_module, args, throttling_proxy, ec2, instance_id):
    state, url = throttling_proxy
    state["throttle"] = 2
    result = run_module(metadata_options, {**args, "endpoint_url": url, "instance_metadata_tags": "enabled"})
    assert result["changed"] is True, result
    assert moto_options(ec2, instance_id)["InstanceMetadataTags"] == "enabled"
    # Describe (throttled twice, then answered), Modify, Describe.
    assert state["seen"] == 5


def test_persistent_throttling_says_what_to_do(run_module, args, throttling_proxy, monkeypatch):
    monkeypatch.setattr(session, "MAX_ATTEMPTS", 2)
    state, url = throttling_proxy
    state["throttle"] = 100
    result = run_module(metadata_options, {**args, "endpoint_url": url, "instance_metadata_tags": "enabled"})
    assert result["failed"] is True
    assert result["reason"] == "throttled"
    assert result["aws_error_code"] == "RequestLimitExceeded"
    assert "AWS kept throttling ec2:DescribeInstances (RequestLimitExceeded) after 2 attempts" in result["msg"]
    assert "Run fewer hosts at a time" in result["msg"]
    assert state["seen"] == 2


# ----------------------------------------------------------------------------- the IMDSv1 usage guard


def seed_imdsv1_calls(moto_endpoint, instance_id, calls, hours_ago=5):
    from datetime import datetime, timedelta, timezone

    boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="eu-west-1").put_metric_data(
        Namespace="AWS/EC2",
        MetricData=[
            {
                "MetricName": "MetadataNoToken",
                "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                "Timestamp": datetime.now(timezone.utc) - timedelta(hours=hours_ago),
                "Value": float(calls),
                "Unit": "Count",
            }
        ],
    )


@pytest.mark.parametrize("check_mode", [False, True])
def test_guard_refuses_to_require_tokens_while_imdsv1_is_used(
    run_module, args, moto_endpoint, ec2, instance_id, check_mode
):
    seed_imdsv1_calls(moto_endpoint, instance_id, 12)
    result = run_module(metadata_options, {**args, "http_tokens": "required"}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["reason"] == "imdsv1_in_use"
    assert f"Refusing to require IMDSv2 (http_tokens=required) on {instance_id}" in result["msg"]
    assert "counted 12 IMDSv1 call(s)" in result["msg"]
    assert result["imdsv1_usage"]["calls"] == 12
    assert result["imdsv1_usage"]["window_days"] == 14
    assert result["imdsv1_usage"]["last_seen"] is not None
    assert moto_options(ec2, instance_id)["HttpTokens"] == "optional"


def test_guard_warn_switches_and_reports_what_it_read(run_module, args, moto_endpoint, ec2, instance_id, warnings_seen):
    seed_imdsv1_calls(moto_endpoint, instance_id, 3)
    result = run_module(metadata_options, {**args, "http_tokens": "required", "imdsv1_usage_check": "warn"})
    assert result["changed"] is True
    assert result["imdsv1_usage"]["calls"] == 3
    assert warnings_seen[0].startswith(f"Required IMDSv2 (http_tokens=required) on {instance_id}")
    assert moto_options(ec2, instance_id)["HttpTokens"] == "required"


def test_guard_window_leaves_out_older_calls(run_module, args, moto_endpoint, ec2, instance_id, warnings_seen):
    seed_imdsv1_calls(moto_endpoint, instance_id, 4, hours_ago=3 * 24)
    seed_imdsv1_calls(moto_endpoint, instance_id, 0, hours_ago=2)
    result = run_module(metadata_options, {**args, "http_tokens": "required", "imdsv1_usage_window": 2})
    assert result["changed"] is True, result
    assert result["imdsv1_usage"]["calls"] == 0
    assert warnings_seen == []


def test_guard_does_not_read_for_other_changes(run_module, args, moto_endpoint, instance_id):
    seed_imdsv1_calls(moto_endpoint, instance_id, 5)
    result = run_module(metadata_options, {**args, "instance_metadata_tags": "enabled"})
    assert result["changed"] is True
    assert result["imdsv1_usage"] is None


def test_imdsv1_usage_window_is_checked(run_module, args):
    result = run_module(metadata_options, {**args, "http_tokens": "required", "imdsv1_usage_window": 0})
    assert result["reason"] == "invalid_option"
    assert "imdsv1_usage_window must be a whole number of days from 1 to 455" in result["msg"]
