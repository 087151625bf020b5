# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metadata_options and metadata_options_info against a hostile EC2 + CloudWatch API (tests/emulator/hostile_aws.py).

Each answer class asserts three things: the reason the module ends with, that nothing was modified (read from the
endpoint's own record of ModifyInstanceMetadataOptions calls), and that the module ended within its aws_timeout
plus a margin generous enough for a loaded machine (the budget's own precision is measured in
benchmarks/hostile_aws.py, not here).
"""

from __future__ import annotations

import time

import pytest
from ansible.module_utils.basic import AnsibleModule
from hostile_aws import AUDIT_SCENARIOS, INSTANCE_ID, SCENARIOS, HostileAws

from ansible_collections.ec2meta.imds.plugins.modules import metadata_options, metadata_options_info

AWS_TIMEOUT = 6
# Ending at all is the claim; a loaded 2-core machine can add tens of seconds to what takes 7 s when idle.
ENDS_WITHIN = AWS_TIMEOUT + 10 + 45
# An answer too large, endless or too slow is one class of outcome: refused as a bad_response when the module reads
# it to its cap first, as an aws_timeout when the budget runs out first (a loaded machine reads 17 MB slowly). Which
# one comes first is a race; either names the call whose answer was hostile, and nothing else is acceptable.
HOSTILE_ANSWER = ("bad_response", "aws_timeout")


@pytest.fixture(scope="module")
def hostile():
    server = HostileAws()
    yield server
    server.stop()


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def require_tokens(run_module, url, check="fail"):
    return run_module(
        metadata_options,
        {
            "instance_id": INSTANCE_ID,
            "region": "eu-west-1",
            "endpoint_url": url,
            "http_tokens": "required",
            "imdsv1_usage_check": check,
            "aws_timeout": AWS_TIMEOUT,
        },
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_metadata_options_against_each_hostile_answer_class(run_module, hostile, aws_env, scenario):
    hostile.use(scenario)
    started = time.monotonic()
    result = require_tokens(run_module, hostile.url)
    elapsed = time.monotonic() - started
    assert elapsed < ENDS_WITHIN, f"{scenario.name} took {elapsed:.1f}s"
    if scenario.expected_reason == "changed":
        assert result.get("failed") is not True, result
        assert result["changed"] is True
        assert len(hostile.modified) == 1
        return
    assert result["failed"] is True
    if scenario.expected_reason in HOSTILE_ANSWER:
        assert result["reason"] in HOSTILE_ANSWER, result["msg"]
        assert "DescribeInstances" in result["msg"]
    else:
        assert result["reason"] == scenario.expected_reason, result["msg"]
    assert hostile.modified == [], "nothing may be modified"
    assert "changed" not in result or result["changed"] is False


@pytest.mark.parametrize(
    "scenario", [scenario for scenario in SCENARIOS if scenario.expected_reason == "imdsv1_usage_unknown"][:4]
)
def test_under_warn_an_unreadable_answer_switches_with_a_warning_naming_the_cause(
    run_module, hostile, aws_env, scenario, monkeypatch
):
    # Caught at the source: ansible routes warnings to its display once a controller plugin was loaded in-process.
    warnings: list = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: warnings.append(warning))
    hostile.use(scenario)
    result = require_tokens(run_module, hostile.url, check="warn")
    assert result["changed"] is True
    assert len(hostile.modified) == 1
    assert result["imdsv1_usage"]["calls_state"] == "unknown"
    assert any(result["imdsv1_usage"]["calls_cause"] in warning for warning in warnings), warnings
    assert any("imdsv1_usage_check is warn" in warning for warning in warnings)


@pytest.mark.parametrize("name", sorted(AUDIT_SCENARIOS))
def test_the_audit_stops_an_endless_fleet(run_module, hostile, aws_env, name):
    reasons, describe = AUDIT_SCENARIOS[name]
    hostile.use("complete_zero", describe=describe)
    started = time.monotonic()
    result = run_module(
        metadata_options_info, {"region": "eu-west-1", "endpoint_url": hostile.url, "aws_timeout": AWS_TIMEOUT}
    )
    assert time.monotonic() - started < ENDS_WITHIN
    assert result["failed"] is True
    assert result["reason"] in reasons, result["msg"]
    assert hostile.actions.count("DescribeInstances") <= 200


@pytest.mark.parametrize(
    "scenario",
    [scenario for scenario in SCENARIOS if scenario.expected_reason == "imdsv1_usage_unknown"],
    ids=lambda scenario: scenario.name,
)
def test_the_audit_never_calls_an_unreadable_instance_ready(run_module, hostile, aws_env, scenario):
    hostile.use(scenario)
    result = run_module(
        metadata_options_info, {"region": "eu-west-1", "endpoint_url": hostile.url, "aws_timeout": AWS_TIMEOUT}
    )
    if result.get("failed"):
        assert result["reason"] in HOSTILE_ANSWER, result["msg"]
        return
    assert [entry["verdict"] for entry in result["instances"]] == ["unknown"]
    assert result["summary"]["unknown"] == 1
    assert result["summary"]["ready"] == 0


@pytest.mark.parametrize("value", [0, 0.5, -1, float("nan"), float("inf"), 86401])
def test_aws_timeout_must_be_a_sane_number(run_module, aws_env, value):
    result = run_module(
        metadata_options_info, {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9", "aws_timeout": value}
    )
    assert (result["failed"], result["reason"]) == (True, "invalid_option")
    assert "aws_timeout must be a number of seconds from 1 to 86400" in result["msg"]
