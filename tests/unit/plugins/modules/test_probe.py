# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe through main(), against the emulator."""

from __future__ import annotations

import json

import pytest
from imds_emulator import ImdsEmulator

from ansible_collections.ec2meta.imds.plugins.modules import probe

INSTANCE_ID = "i-0a1b2c3d4e5f60718"


@pytest.fixture
def run(run_module, emulator):
    def runner(check_mode: bool = False, **args) -> dict:
        # Never the real IPv6 address in tests: skip the check unless a loopback emulator is given.
        args.setdefault("check_ipv6", False)
        return run_module(probe, {"endpoint": emulator.url, "timeout": 0.5, **args}, check_mode=check_mode)

    return runner


def by_name(result: dict) -> dict:
    return {finding["name"]: finding for finding in result["findings"]}


def test_reports_findings_and_never_fails(emulator, run):
    emulator.set_options(instance_metadata_tags="disabled")
    result = run()
    assert not result.get("failed")
    assert result["changed"] is False
    assert result["reachable"]
    assert result["tokens_work"]
    assert result["v1_allowed"] is True
    assert result["tags_enabled"] is False
    assert result["role_attached"] is True
    assert result["instance_id"] == INSTANCE_ID
    assert result["problems"] == ["v1_disabled", "tags_enabled"]
    assert by_name(result)["v1_disabled"]["fix"] == {
        "ansible": f"ec2meta.imds.metadata_options: {{instance_id: {INSTANCE_ID}, http_tokens: required}}",
        "aws_cli": f"aws ec2 modify-instance-metadata-options --instance-id {INSTANCE_ID} --http-tokens required",
    }
    assert "fix" not in by_name(result)["tokens_work"]
    for secret in emulator.issued_secrets:
        assert secret not in json.dumps(result)


def test_check_mode_is_the_same_probe(emulator, run):
    result = run(check_mode=True)
    assert result["changed"] is False
    assert result["tokens_work"]
    assert emulator.counters["token_put"] == 1


def test_require_met(emulator, run):
    emulator.set_options(http_tokens="required")
    result = run(require=["reachable", "tokens_work", "v1_disabled", "role_attached", "tags_enabled"])
    assert not result.get("failed"), result.get("msg")


def test_require_v1_disabled_fails_with_the_fix(emulator, run):
    result = run(require=["tokens_work", "v1_disabled"])
    assert result["failed"]
    assert result["reason"] == "requirement_unmet"
    assert result["unmet"] == ["v1_disabled"]
    assert "v1_disabled failed: IMDSv1 is allowed" in result["msg"]
    assert f"--instance-id {INSTANCE_ID} --http-tokens required" in result["msg"]
    # The whole report comes with the failure.
    assert result["v1_allowed"] is True
    assert result["findings"]


def test_require_on_a_disabled_endpoint(emulator, run):
    emulator.set_options(http_endpoint="disabled")
    result = run(require=["endpoint_enabled", "role_attached"])
    assert result["unmet"] == ["endpoint_enabled", "role_attached"]
    assert "--http-endpoint enabled" in result["msg"]
    assert "role_attached could not be checked" in result["msg"]


def test_require_through_a_hop_limit(emulator, run):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=1, http_tokens="required")
    result = run(require=["tokens_work", "hop_limit_ok"], timeout=0.3)
    assert result["unmet"] == ["tokens_work", "hop_limit_ok"]
    assert "--http-put-response-hop-limit 2" in result["msg"]


def test_require_v1_disabled_needs_the_v1_check(emulator, run):
    result = run(require=["v1_disabled"], check_imdsv1=False)
    assert result["failed"]
    assert "check_imdsv1=true" in result["msg"]
    assert emulator.counters["total"] == 0


def test_require_ipv6_needs_the_ipv6_check(emulator, run):
    result = run(require=["ipv6_reachable"])
    assert result["failed"]
    assert "check_ipv6=true" in result["msg"]


@pytest.mark.parametrize("args", [{"require": ["v1_disabled"], "check_imdsv1": False}, {"require": ["ipv6_reachable"]}])
def test_require_that_cannot_be_checked_is_an_invalid_option(emulator, run, args):
    result = run(**args)
    assert result["failed"]
    assert result["reason"] == "invalid_option"
    assert result["msg"].startswith("require: ")
    assert emulator.counters["total"] == 0


def test_require_unknown_name(emulator, run):
    result = run(require=["v1_enabled"])
    assert result["failed"]
    assert "require" in result["msg"]
    assert "v1_disabled" in result["msg"]


def test_ipv6_through_a_loopback_emulator(emulator, run):
    with ImdsEmulator(host="::1") as ipv6:
        url = ipv6.url
        result = run(check_ipv6=True, ipv6_endpoint=url, require=["ipv6_reachable"])
    assert not result.get("failed"), result.get("msg")
    assert result["ipv6_reachable"] is True
    assert result["ipv6_endpoint"] == url


def test_bad_endpoint_option(emulator, run):
    result = run(endpoint="169.254.169.254")
    assert result["failed"]
    assert result["reason"] == "invalid_option"
    assert "endpoint" in result["msg"]


def test_unreachable_is_a_finding_not_a_failure(run_module):
    result = run_module(probe, {"endpoint": "http://127.0.0.1:9", "timeout": 0.3, "check_ipv6": False})
    assert not result.get("failed")
    assert result["reachable"] is False
    assert result["problems"] == ["reachable"]


def test_with_an_endpoint_given_the_probe_contacts_nothing_else(run_module, emulator):
    # The network guard fails this test if anything else (e.g. fd00:ec2::254) is contacted.
    result = run_module(probe, {"endpoint": emulator.url})
    assert result["ipv6_endpoint"] is None
    assert f"the endpoint is {emulator.url}" in result["ipv6_not_checked"]
    ipv6 = next(finding for finding in result["findings"] if finding["name"] == "ipv6_reachable")
    assert (ipv6["ok"], ipv6["message"]) == (None, f"not checked: {result['ipv6_not_checked']}")


def test_an_explicit_ipv6_endpoint_is_checked(run_module, emulator):
    result = run_module(probe, {"endpoint": emulator.url, "ipv6_endpoint": emulator.url})
    assert (result["ipv6_endpoint"], result["ipv6_reachable"], result["ipv6_not_checked"]) == (emulator.url, True, None)


def test_metadata_disabled_by_environment_is_a_finding_not_a_failure(run_module, emulator, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run_module(probe, {"endpoint": emulator.url})
    assert "failed" not in result
    assert result["requests"] == 0
    assert emulator.counters["total"] == 0
    reachable = next(finding for finding in result["findings"] if finding["name"] == "reachable")
    assert (reachable["ok"], reachable["severity"]) == (False, "warning")
    assert "AWS_EC2_METADATA_DISABLED" in reachable["message"]
    required = run_module(probe, {"endpoint": emulator.url, "require": ["reachable"]})
    assert (required["failed"], required["reason"]) == (True, "requirement_unmet")
