# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import gzip
import json
import socket
import time

import pytest

from ansible_collections.ec2meta.imds.plugins.modules import metadata_facts


def test_gathers_everything_by_default(emulator, run_module):
    result = run_module(metadata_facts, {"endpoint": emulator.url})
    ec2 = result["ansible_facts"]["ec2"]
    assert result["changed"] is False
    assert ec2["instance_id"] == emulator.metadata["instance-id"]
    assert ec2["availability_zone"] == emulator.metadata["placement"]["availability-zone"]
    assert ec2["availability_zone_id"] == emulator.metadata["placement"]["availability-zone-id"]
    assert ec2["tags"] == emulator.tags
    assert ec2["iam"]["role_name"] == emulator.iam["role_name"]
    assert ec2["user_data"]["text"] == emulator.user_data.decode()
    assert ec2["imds_version"] == 2
    assert not [secret for secret in emulator.issued_secrets if secret in json.dumps(result)]


def test_check_mode_gathers_the_same(emulator, run_module):
    args = {"endpoint": emulator.url, "gather_subset": ["min", "placement", "tags"]}
    checked = run_module(metadata_facts, args, check_mode=True)
    normal = run_module(metadata_facts, args)
    assert checked["changed"] is False
    assert checked["ansible_facts"]["ec2"]["instance_id"] == emulator.metadata["instance-id"]
    assert checked["ansible_facts"] == normal["ansible_facts"]


def test_flatten_adds_amazon_aws_names(emulator, run_module):
    facts = run_module(metadata_facts, {"endpoint": emulator.url, "flatten": True})["ansible_facts"]
    assert facts["ansible_ec2_instance_id"] == emulator.metadata["instance-id"]
    assert facts["ansible_ec2_security_groups"] == "web,ssh"
    assert facts["ansible_ec2_instance_tags"] == emulator.tags
    assert not [name for name in facts if name.endswith(("accesskeyid", "secretaccesskey", "_token"))]


def test_bad_subset_fails_naming_the_valid_ones(emulator, run_module):
    result = run_module(metadata_facts, {"endpoint": emulator.url, "gather_subset": ["hardware"]})
    assert result["failed"] is True
    assert "unknown subset 'hardware'" in result["msg"]
    assert "placement" in result["msg"]
    assert emulator.counters["total"] == 0, "nothing is sent for a bad option"


@pytest.mark.parametrize(
    ("user_data", "text", "base64", "compressed"),
    [
        (gzip.compress(b"#!/bin/sh\necho hi\n", mtime=0), "#!/bin/sh\necho hi\n", None, True),
        (b"\x00\xff\x10", None, "AP8Q", False),
    ],
)
def test_user_data_formats(emulator, run_module, user_data, text, base64, compressed):
    emulator.set_user_data(user_data)
    ec2 = run_module(metadata_facts, {"endpoint": emulator.url, "gather_subset": ["user_data"]})["ansible_facts"]["ec2"]
    assert ec2["user_data"]["text"] == text
    assert ec2["user_data"]["base64"] == base64
    assert ec2["user_data"]["compressed"] is compressed


def test_imdsv1_when_the_token_request_is_refused(emulator, run_module):
    emulator.add_fault("status", path="/latest/api/token", method="PUT", status=404)
    ec2 = run_module(metadata_facts, {"endpoint": emulator.url})["ansible_facts"]["ec2"]
    assert ec2["imds_version"] == 1
    assert emulator.counters["get_v1"] > 0
    assert emulator.counters["get_v2"] == 0


def test_throttling_is_retried(emulator, run_module):
    emulator.add_fault("status", status=429, count=3)
    result = run_module(metadata_facts, {"endpoint": emulator.url, "gather_subset": ["min", "placement"]})
    assert result["ansible_facts"]["ec2"]["region"] == "eu-west-1"


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_unreachable_fails_fast_with_a_clear_message(run_module):
    started = time.monotonic()
    result = run_module(metadata_facts, {"endpoint": _closed_port()})
    # Connection refused is not retried into the default total_timeout; generous for a loaded machine.
    assert time.monotonic() - started < 10
    assert result["failed"] is True
    assert result["reason"] == "unreachable"
    assert "probably not an EC2 instance" in result["msg"]


def test_unreachable_reported_when_asked(run_module):
    result = run_module(metadata_facts, {"endpoint": _closed_port(), "on_unavailable": "report"})
    assert "failed" not in result
    ec2 = result["ansible_facts"]["ec2"]
    assert ec2["available"] is False
    assert ec2["reason"] == "unreachable"


def test_endpoint_disabled(emulator, run_module):
    emulator.set_options(http_endpoint="disabled")
    failed = run_module(metadata_facts, {"endpoint": emulator.url})
    assert failed["failed"] is True
    assert "http_endpoint=disabled" in failed["msg"]
    reported = run_module(metadata_facts, {"endpoint": emulator.url, "on_unavailable": "report"})
    assert "failed" not in reported
    # report turns the same failure into facts: the same message, not a vaguer one
    assert reported["ansible_facts"]["ec2"] == {"available": False, "reason": "endpoint_disabled", "msg": failed["msg"]}


def test_disabled_by_environment(emulator, run_module, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    failed = run_module(metadata_facts, {"endpoint": emulator.url})
    assert failed["failed"] is True
    assert "AWS_EC2_METADATA_DISABLED=true" in failed["msg"]
    reported = run_module(metadata_facts, {"endpoint": emulator.url, "on_unavailable": "report"})
    assert "failed" not in reported
    assert reported["ansible_facts"]["ec2"]["available"] is False
    assert reported["ansible_facts"]["ec2"]["reason"] == "disabled_by_environment"
    assert emulator.counters["total"] == 0  # turned off means not asked at all


def test_token_required_failure_is_not_hidden_by_report(emulator, run_module):
    emulator.set_options(http_tokens="required", http_put_response_hop_limit=1, client_hops=2)
    result = run_module(
        metadata_facts, {"endpoint": emulator.url, "allow_imdsv1": False, "timeout": 0.3, "on_unavailable": "report"}
    )
    assert result["failed"] is True
    assert "hop limit" in result["msg"]
