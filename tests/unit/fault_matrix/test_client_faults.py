# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix for the client: each scenario asserts the exact outcome, and ends by its budget's deadline.

A scenario about a timeout uses a short one (FAST) against a server that never answers or answers ten times later.
Every other scenario uses a patient timeout: on a loaded machine a healthy answer can take longer than 0.3 s, and a
short timeout would turn it into a retry the scenario did not ask for (retry and token counts would be off by one).
"""

from __future__ import annotations

import json
import socket

import pytest
from imds_emulator import ImdsEmulator

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsBadResponse,
    ImdsServerError,
    ImdsThrottled,
    ImdsTimeout,
    ImdsTokenRequired,
    ImdsTokenUnavailable,
    ImdsUnreachable,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.read_paths import read_paths

from .conftest import budget_for

INSTANCE_ID = "i-0a1b2c3d4e5f60718"
FAST = {"timeout": 0.3, "retries": 2}
FAST_BUDGET = budget_for(0.3, 2)
PATIENT = {"timeout": 10.0, "retries": 2}


def _client(endpoint: str, **options) -> ImdsClient:
    return ImdsClient(client_config_from_params(endpoint=endpoint, environ={}, **{**PATIENT, **options}))


@pytest.mark.fault(budget=FAST_BUDGET)
def test_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ImdsUnreachable, match="connection refused"):
        _client(f"http://127.0.0.1:{port}").get("meta-data/instance-id")


@pytest.mark.fault(budget=0.3 + 0.5)
def test_connect_black_hole_fails_after_one_connect_timeout(blackhole_endpoint):
    # Not retried: a host that does not answer a SYN within the timeout is not there.
    with pytest.raises(ImdsUnreachable, match=r"no connection within 0.3s"):
        _client(blackhole_endpoint, **FAST).get("meta-data/instance-id")


@pytest.mark.fault(budget=0.3 + 0.5)
def test_token_put_black_hole_with_v1_allowed_answers_by_v1(emulator):
    emulator.add_fault("blackhole", path="/latest/api/token")
    client = _client(emulator.url, **FAST)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert (client.imds_version, emulator.counters["get_v1"]) == (1, 1)


@pytest.mark.fault(budget=0.3 + 0.5)
def test_token_put_black_hole_with_v1_refused(emulator):
    emulator.add_fault("blackhole", path="/latest/api/token")
    with pytest.raises(ImdsTokenUnavailable, match="http_put_response_hop_limit to 2"):
        _client(emulator.url, allow_imdsv1=False, **FAST).get("meta-data/instance-id")
    assert emulator.counters["get_v1"] == 0


@pytest.mark.fault(budget=FAST_BUDGET)
@pytest.mark.parametrize("status", [403, 404, 405])
def test_token_put_refused_falls_back(emulator, status):
    emulator.add_fault("status", path="/latest/api/token", status=status)
    client = _client(emulator.url)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.imds_version == 1


@pytest.mark.fault(budget=FAST_BUDGET)
def test_token_put_400_is_an_error_without_fallback(emulator):
    emulator.add_fault("status", path="/latest/api/token", status=400)
    with pytest.raises(ImdsBadResponse, match="malformed"):
        _client(emulator.url).get("meta-data/instance-id")
    assert emulator.counters["get_v1"] == 0


@pytest.mark.fault(budget=FAST_BUDGET)
def test_expired_token_mid_crawl_is_renewed_once(emulator):
    client = _client(emulator.url)
    client.get("meta-data/ami-id")
    emulator.expire_tokens()
    result = walk(client, dirs=["meta-data/placement"], missing_ok=False)
    subtree = result.values["meta-data/placement"]
    assert subtree["region"] == "eu-west-1"
    assert emulator.counters["token_put"] == 2


@pytest.mark.fault(budget=FAST_BUDGET)
def test_v1_against_required_tokens(emulator):
    emulator.set_options(http_tokens="required")
    emulator.add_fault("status", path="/latest/api/token", status=404)
    with pytest.raises(ImdsTokenRequired, match=r"requires IMDSv2 \(http_tokens=required\)"):
        _client(emulator.url).get("meta-data/instance-id")


@pytest.mark.fault(budget=FAST_BUDGET)
def test_429_burst_then_success(emulator):
    emulator.add_fault("status", path="/latest/meta-data/*", status=429, count=2)
    client = _client(emulator.url)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.stats["retries"] == 2


@pytest.mark.fault(budget=FAST_BUDGET)
def test_throttled_by_rate(emulator):
    # One request a second: the retry, 0.25 s after a 429, meets the same window unless a request took 0.75 s.
    emulator.set_options(throttle_rps=1)
    client = _client(emulator.url, retries=1)

    def read_ten_times():
        for _attempt in range(10):
            client.get("meta-data/ami-id")

    with pytest.raises(ImdsThrottled, match="429"):
        read_ten_times()


@pytest.mark.fault(budget=8.0)  # about three throttled windows of at most 1.75 s each, with room to spare
def test_throttled_crawl_goes_single_file_and_finishes(emulator):
    # 26 requests against 10 a second with 8 workers: when every worker backed off on its own, a request met the
    # full window on all 4 attempts nearly every time. One at a time, its backoff outlasts the window.
    emulator.set_options(throttle_rps=10)
    client = ImdsClient(client_config_from_params(endpoint=emulator.url, environ={}, timeout=10.0))
    result = walk(client, dirs=["meta-data/network"], missing_ok=False)
    subtree = result.values["meta-data/network"]
    assert subtree == emulator.metadata["network"]
    assert emulator.counters["status_429"] > 0
    assert client.stats["retries"] == emulator.counters["status_429"]


@pytest.mark.fault(budget=FAST_BUDGET)
def test_500_then_503_then_success(emulator):
    emulator.add_fault("status", path="/latest/meta-data/instance-id", status=500, count=1)
    emulator.add_fault("status", path="/latest/meta-data/instance-id", status=503, count=1)
    assert _client(emulator.url).get_text("meta-data/instance-id") == INSTANCE_ID


@pytest.mark.fault(budget=FAST_BUDGET)
def test_500_forever(emulator):
    emulator.add_fault("status", path="/latest/meta-data/instance-id", status=500)
    with pytest.raises(ImdsServerError, match="500 after 2 retries"):
        _client(emulator.url).get("meta-data/instance-id")


@pytest.mark.fault(budget=FAST_BUDGET)
def test_empty_200_body(emulator):
    emulator.add_fault("body", path="/latest/dynamic/instance-identity/document", body="")
    client = _client(emulator.url)
    with pytest.raises(ImdsBadResponse, match="0 bytes that are not valid JSON"):
        client.get_json("dynamic/instance-identity/document")


@pytest.mark.fault(budget=FAST_BUDGET)
def test_connection_reset_once_is_retried(emulator):
    emulator.add_fault("reset", path="/latest/meta-data/instance-id", count=1)
    client = _client(emulator.url)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.stats["retries"] == 1


@pytest.mark.fault(budget=FAST_BUDGET)
def test_connection_reset_forever(emulator):
    emulator.add_fault("reset", path="/latest/meta-data/instance-id")
    with pytest.raises(ImdsUnreachable, match="reset"):
        _client(emulator.url).get("meta-data/instance-id")


@pytest.mark.fault(budget=FAST_BUDGET)
def test_truncated_body_is_retried(emulator):
    emulator.add_fault("truncate", path="/latest/meta-data/instance-id", count=1)
    client = _client(emulator.url)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.stats["retries"] == 1


@pytest.mark.fault(budget=FAST_BUDGET)
def test_truncated_body_forever(emulator):
    emulator.add_fault("truncate", path="/latest/meta-data/instance-id")
    with pytest.raises(ImdsBadResponse, match="in the middle of the answer"):
        _client(emulator.url).get("meta-data/instance-id")


@pytest.mark.fault(budget=FAST_BUDGET)
def test_answer_slower_than_the_timeout(emulator):
    emulator.add_fault("delay", path="/latest/meta-data/instance-id", seconds=30)
    with pytest.raises(ImdsTimeout, match=r"within timeout=0\.3s"):
        _client(emulator.url, **FAST).get("meta-data/instance-id")


@pytest.mark.fault(budget=FAST_BUDGET)
@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ("{not json", ImdsBadResponse),
        ('{"Code": "AccessDenied", "Message": "no"}', {"Code": "AccessDenied", "Message": "no"}),
    ],
)
def test_invalid_json_and_code_message_documents(emulator, body, outcome):
    emulator.add_fault("body", path="/latest/dynamic/instance-identity/document", body=body)
    client = _client(emulator.url)
    if isinstance(outcome, dict):
        # The client returns the document; role_credentials_info judges a {Code, Message} answer.
        assert client.get_json("dynamic/instance-identity/document") == outcome
    else:
        with pytest.raises(outcome):
            client.get_json("dynamic/instance-identity/document")


@pytest.mark.fault(budget=FAST_BUDGET)
def test_tag_keys_with_reserved_characters(emulator):
    tags = {"team:owner": "a", "mail@": "b", "a+b": "c", "k=v": "d"}
    emulator.set_tags(tags)
    client = _client(emulator.url)
    assert {key: client.get_text(f"meta-data/tags/instance/{key}") for key in tags} == tags
    assert walk(client, dirs=["meta-data/tags/instance"], missing_ok=False).values["meta-data/tags/instance"] == tags


@pytest.mark.fault(budget=FAST_BUDGET)
def test_tags_off(emulator):
    emulator.set_options(instance_metadata_tags="disabled")
    values = read_paths(_client(emulator.url), ["meta-data/tags/instance/"], recursive=True, default=None)
    assert values == {"meta-data/tags/instance/": None}


@pytest.mark.fault(budget=FAST_BUDGET)
@pytest.mark.parametrize(
    "payload", [None, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"\x00\xffbinary", "caf\xe9".encode("latin-1")]
)
def test_user_data_shapes_come_back_byte_for_byte(emulator, payload):
    emulator.set_user_data(payload)
    # As metadata_facts reads it: the walk, with user-data kept as bytes.
    result = walk(_client(emulator.url), leaves=["user-data"], transform=lambda path, body: body)
    assert result.values.get("user-data") == payload
    assert result.missing == ([] if payload is not None else ["user-data"])


@pytest.mark.fault(budget=FAST_BUDGET)
def test_listing_entry_that_404s(emulator):
    emulator.add_fault("status", path="/latest/meta-data/placement/availability-zone-id", status=404)
    result = walk(_client(emulator.url), dirs=["meta-data/placement"], missing_ok=False)
    subtree = result.values["meta-data/placement"]
    assert result.missing == ["meta-data/placement/availability-zone-id"]
    assert subtree["availability-zone"] == "eu-west-1a"


@pytest.mark.fault(budget=FAST_BUDGET)
def test_public_keys_index_form(emulator):
    emulator.set_metadata(
        "public-keys", {"0=deploy": {"openssh-key": "ssh-ed25519 AAA deploy"}, "1=ops": {"openssh-key": "k"}}
    )
    tree = walk(_client(emulator.url), dirs=["meta-data/public-keys"], missing_ok=False).values["meta-data/public-keys"]
    assert tree == {"0=deploy": {"openssh-key": "ssh-ed25519 AAA deploy"}, "1=ops": {"openssh-key": "k"}}


@pytest.mark.fault(budget=FAST_BUDGET)
def test_redirect_to_another_host_is_not_followed(emulator):
    with ImdsEmulator() as other_host:
        emulator.add_fault("redirect", path="/latest/meta-data/instance-id", location=f"{other_host.url}/steal")
        with pytest.raises(ImdsBadResponse, match="redirect"):
            _client(emulator.url).get("meta-data/instance-id")
        assert other_host.counters["total"] == 0, "the token must never reach another host"


@pytest.mark.fault(budget=FAST_BUDGET)
def test_http_proxy_variables_are_ignored(emulator, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert _client(emulator.url).get_text("meta-data/instance-id") == INSTANCE_ID


@pytest.mark.fault(budget=FAST_BUDGET)
def test_ipv6_endpoint():
    with ImdsEmulator(host="::1") as emulator6:
        client = _client(f"http://[::1]:{emulator6.port}")
        assert client.get_json("dynamic/instance-identity/document")["instanceId"] == INSTANCE_ID


@pytest.mark.fault(budget=FAST_BUDGET)
def test_http_10_connection_close(emulator):
    emulator.set_options(http10=True)
    client = _client(emulator.url)
    assert [client.get_text("meta-data/instance-id") for _attempt in range(3)] == [INSTANCE_ID] * 3
    assert json.loads(client.get_text("dynamic/instance-identity/document"))["region"] == "eu-west-1"
