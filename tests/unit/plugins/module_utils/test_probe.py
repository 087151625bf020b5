# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's findings against the emulator in each situation it must recognise."""

from __future__ import annotations

import socket

import pytest
from imds_emulator import ImdsEmulator

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._probe.findings import FINDINGS, unmet_message
from ansible_collections.ec2meta.imds.plugins.module_utils._probe.run import check_required, probe

INSTANCE_ID = "i-0a1b2c3d4e5f60718"


def run(endpoint: str, check_imdsv1: bool = True, ipv6_endpoint: str | None = None, **options):
    options.setdefault("timeout", 0.5)
    return probe(client_config_from_params(endpoint=endpoint, environ={}, **options), check_imdsv1, ipv6_endpoint)


def findings(report) -> dict:
    return {finding.name: finding for finding in report.findings}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_default_instance(emulator):
    report = run(emulator.url)
    assert [finding.name for finding in report.findings] == list(FINDINGS)
    assert report.reachable
    assert report.tokens_work
    assert not report.endpoint_disabled
    assert report.v1_allowed is True
    assert report.tags_enabled is True
    assert report.role_attached is True
    assert report.instance_profile_arn == "arn:aws:iam::123456789012:instance-profile/web-server-profile"
    assert report.instance_id == INSTANCE_ID
    assert report.latency_ms is not None
    assert report.latency_ms > 0
    assert report.problems == ["v1_disabled"]
    v1 = findings(report)["v1_disabled"]
    assert v1.severity == "warning"
    assert v1.fix_ansible == f"ec2meta.imds.metadata_options: {{instance_id: {INSTANCE_ID}, http_tokens: required}}"
    assert v1.fix_aws_cli == (
        f"aws ec2 modify-instance-metadata-options --instance-id {INSTANCE_ID} --http-tokens required"
    )
    # One token, one deliberate request without a token, three with the token.
    assert emulator.counters["token_put"] == 1
    assert emulator.counters["get_v1"] == 1
    assert emulator.counters["get_v2"] == 2
    assert report.requests == 4


def test_v1_refused(emulator):
    emulator.set_options(http_tokens="required")
    report = run(emulator.url)
    assert report.v1_allowed is False
    assert report.problems == []
    assert findings(report)["v1_disabled"].ok is True
    assert emulator.counters["rejected"] == 1


def test_skipping_the_v1_check_sends_no_request_without_a_token(emulator):
    report = run(emulator.url, check_imdsv1=False)
    assert report.v1_allowed is None
    assert findings(report)["v1_disabled"].ok is None
    assert emulator.counters["get_v1"] == 0
    assert emulator.counters["rejected"] == 0
    assert report.tags_enabled is True


def test_endpoint_disabled(emulator):
    emulator.set_options(http_endpoint="disabled")
    report = run(emulator.url)
    assert report.reachable
    assert report.endpoint_disabled
    assert not report.tokens_work
    assert report.tags_enabled is None
    assert report.role_attached is None
    finding = findings(report)["endpoint_enabled"]
    assert finding.ok is False
    assert finding.severity == "error"
    assert finding.fix_aws_cli.endswith("--http-endpoint enabled")
    assert "http_endpoint: enabled" in finding.fix_ansible
    assert report.problems == ["endpoint_enabled"]


def test_endpoint_disabled_without_the_v1_check(emulator):
    emulator.set_options(http_endpoint="disabled")
    report = run(emulator.url, check_imdsv1=False)
    assert report.endpoint_disabled


def test_token_put_refused_by_a_proxy_is_not_a_disabled_endpoint(emulator):
    emulator.add_fault("status", path="/latest/api/token", status=403)
    report = run(emulator.url)
    assert not report.endpoint_disabled
    assert not report.tokens_work
    assert findings(report)["tokens_work"].ok is False
    assert "X-Forwarded-For" in findings(report)["tokens_work"].message
    # IMDSv1 still reads the rest.
    assert report.tags_enabled is True


@pytest.mark.parametrize(("http_tokens", "v1_allowed"), [("optional", True), ("required", False)])
def test_hop_limit_too_low(emulator, http_tokens, v1_allowed):
    emulator.set_options(http_tokens=http_tokens, client_hops=2, http_put_response_hop_limit=1)
    report = run(emulator.url, timeout=0.3)
    assert report.token_put_timed_out
    assert report.hop_limit_suspected
    assert report.v1_allowed is v1_allowed
    hop = findings(report)["hop_limit_ok"]
    assert hop.ok is False
    assert hop.fix_aws_cli.endswith("--http-put-response-hop-limit 2")
    assert "http_put_response_hop_limit: 2" in hop.fix_ansible
    assert "tokens_work" in report.problems
    assert "hop_limit_ok" in report.problems
    # The held PUT was sent once: a read timeout on the token request is not retried.
    assert report.requests <= 5


def test_hop_limit_without_the_v1_check_says_likely(emulator):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=1)
    report = run(emulator.url, check_imdsv1=False, timeout=0.3)
    assert report.hop_limit_suspected
    assert "likely, not certain" in findings(report)["hop_limit_ok"].message


def test_hop_limit_fine_for_containers_at_two(emulator):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=2)
    report = run(emulator.url)
    assert report.tokens_work
    assert not report.hop_limit_suspected


def test_throttled_then_answered(emulator):
    emulator.add_fault("status", path="/latest/meta-data/iam/info", status=429, count=1)
    report = run(emulator.url)
    assert report.throttled
    assert report.role_attached is True  # the retry got through
    assert findings(report)["not_throttled"].ok is False
    assert "not_throttled" in report.problems


def test_throttled_for_good(emulator):
    emulator.add_fault("status", path="/latest/meta-data/tags/instance", status=429)
    report = run(emulator.url, retries=1)
    assert report.throttled
    assert report.tags_enabled is None


def test_tags_off(emulator):
    emulator.set_options(instance_metadata_tags="disabled")
    report = run(emulator.url)
    assert report.tags_enabled is False
    tags = findings(report)["tags_enabled"]
    assert tags.ok is False
    assert tags.severity == "info"
    assert tags.fix_aws_cli.endswith("--instance-metadata-tags enabled")


def test_no_role(emulator):
    emulator.set_role(None)
    report = run(emulator.url)
    assert report.role_attached is False
    role = findings(report)["role_attached"]
    assert role.ok is False
    assert f"associate-iam-instance-profile --instance-id {INSTANCE_ID}" in role.fix_aws_cli


def test_unreachable():
    report = run(f"http://127.0.0.1:{free_port()}")
    assert not report.reachable
    assert report.problems == ["reachable"]
    assert all(finding.ok is None for name, finding in findings(report).items() if name != "reachable")
    assert report.latency_ms is None


def test_ipv6_endpoint_on_loopback(emulator):
    with ImdsEmulator(host="::1") as ipv6:
        report = run(emulator.url, ipv6_endpoint=ipv6.url)
        assert report.ipv6_reachable is True
        assert findings(report)["ipv6_reachable"].ok is True
        assert ipv6.counters["token_put"] == 1
    assert report.ipv6_endpoint.startswith("http://[::1]:")


def test_ipv6_endpoint_unreachable(emulator):
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
    report = run(emulator.url, ipv6_endpoint=f"http://[::1]:{port}")
    assert report.ipv6_reachable is False
    finding = findings(report)["ipv6_reachable"]
    assert finding.ok is False
    assert finding.fix_aws_cli.endswith("--http-protocol-ipv6 enabled")


def test_bad_ipv6_endpoint_names_the_option(emulator):
    with pytest.raises(ImdsConfigError, match="ipv6_endpoint"):
        run(emulator.url, ipv6_endpoint="fd00:ec2::254")


def test_no_token_value_in_the_report(emulator):
    report = run(emulator.url)
    text = repr(report.as_dict())
    assert "X-aws-ec2-metadata-token" not in text
    for secret in emulator.issued_secrets:
        assert secret not in text


@pytest.mark.parametrize(
    ("required", "check_imdsv1", "ipv6", "message"),
    [
        (["bogus"], True, None, "unknown finding"),
        (["v1_disabled"], False, None, "check_imdsv1=true"),
        (["ipv6_reachable"], True, None, "check_ipv6=true"),
    ],
)
def test_check_required_rejects(required, check_imdsv1, ipv6, message):
    with pytest.raises(ImdsConfigError, match=f"^require: .*{message}") as raised:
        check_required(required, check_imdsv1, ipv6)
    assert raised.value.reason == "invalid_option"


def test_check_required_accepts():
    assert check_required(None, True, None) == []
    assert check_required(["v1_disabled", "ipv6_reachable"], True, "http://[::1]:1") == [
        "v1_disabled",
        "ipv6_reachable",
    ]


def test_unmet_lists_each_finding_with_fixes(emulator):
    emulator.set_options(instance_metadata_tags="disabled")
    report = run(emulator.url)
    unmet = report.unmet(["tokens_work", "v1_disabled", "tags_enabled", "ipv6_reachable"])
    assert [finding.name for finding in unmet] == ["v1_disabled", "tags_enabled", "ipv6_reachable"]
    message = unmet_message(unmet)
    assert "v1_disabled failed" in message
    assert "--http-tokens required" in message
    assert "tags_enabled failed" in message
    assert "instance_metadata_tags: enabled" in message
    assert "ipv6_reachable could not be checked" in message
