# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IMDS client against the running emulator: no mocked requests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from imds_emulator import ImdsEmulator

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsBadResponse,
    ImdsConfigError,
    ImdsEndpointDisabled,
    ImdsNotFound,
    ImdsServerError,
    ImdsThrottled,
    ImdsTimeout,
    ImdsTokenRequired,
    ImdsTokenUnavailable,
    ImdsUnreachable,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import quote_path
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.read_paths import read_paths
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.transport import backoff_pause

INSTANCE_ID = "i-0a1b2c3d4e5f60718"


def test_v2_token_flow_uses_one_token_for_all_requests(emulator, make_client):
    client = make_client()
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.get_text("meta-data/placement/region") == "eu-west-1"
    assert client.get_json("dynamic/instance-identity/document")["instanceId"] == INSTANCE_ID
    assert client.imds_version == 2
    assert emulator.counters["token_put"] == 1
    assert emulator.counters["get_v2"] == 3
    assert emulator.counters["get_v1"] == 0


def test_token_ttl_is_sent_and_echoed(emulator, make_client):
    client = make_client(token_ttl=300)
    client.get("meta-data/ami-id")
    # The client trusts the echoed TTL and renews 10% early.
    assert 260 < client._token_expires - time.monotonic() <= 270


@pytest.mark.parametrize("ttl", [0, -1, 21601, "60", True])
def test_token_ttl_out_of_range_is_refused_before_any_request(emulator, make_client, ttl):
    with pytest.raises(ImdsConfigError, match="token_ttl"):
        make_client(token_ttl=ttl)
    assert emulator.counters["total"] == 0


@pytest.mark.parametrize("ttl", [1, 21600])
def test_token_ttl_bounds_are_accepted(make_client, ttl):
    assert make_client(token_ttl=ttl).get_text("meta-data/instance-type") == "t3.medium"


def test_expired_token_is_replaced_once_on_401(emulator, make_client):
    client = make_client()
    client.get("meta-data/ami-id")
    emulator.expire_tokens()
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert emulator.counters["token_put"] == 2
    assert emulator.counters["rejected"] == 1


def test_token_is_renewed_before_it_expires(emulator, make_client):
    client = make_client(token_ttl=1)
    client.get("meta-data/ami-id")
    time.sleep(1.0)
    client.get("meta-data/ami-id")
    assert emulator.counters["token_put"] == 2
    assert emulator.counters["rejected"] == 0, "the old token should not have been tried"


@pytest.mark.parametrize("status", [403, 404, 405])
def test_token_put_refusals_fall_back_to_v1_when_allowed(emulator, make_client, status):
    emulator.add_fault("status", path="/latest/api/token", status=status)
    client = make_client(allow_imdsv1=True)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.imds_version == 1
    assert str(status) in client.fallback_reason
    assert emulator.counters["get_v1"] == 1


@pytest.mark.parametrize("status", [403, 404, 405])
def test_token_put_refusals_fail_when_v1_is_not_allowed(emulator, make_client, status):
    emulator.add_fault("status", path="/latest/api/token", status=status)
    client = make_client(allow_imdsv1=False)
    with pytest.raises(ImdsTokenUnavailable, match=rf"answered {status}.*IMDSv1 is not allowed"):
        client.get("meta-data/instance-id")
    assert emulator.counters["get_v1"] == 0, "no request without a token may be sent"


def test_v1_disabled_by_environment_variable(emulator, make_client):
    emulator.add_fault("status", path="/latest/api/token", status=404)
    client = make_client(environ={"AWS_EC2_METADATA_V1_DISABLED": "true"})
    assert client.config.allow_imdsv1 is False
    with pytest.raises(ImdsTokenUnavailable):
        client.get("meta-data/instance-id")


def test_option_overrides_v1_environment_variable(make_client):
    client = make_client(allow_imdsv1=True, environ={"AWS_EC2_METADATA_V1_DISABLED": "true"})
    assert client.config.allow_imdsv1 is True


def test_token_put_bad_request_does_not_fall_back(emulator, make_client):
    emulator.add_fault("status", path="/latest/api/token", status=400)
    with pytest.raises(ImdsBadResponse, match="malformed"):
        make_client().get("meta-data/instance-id")
    assert emulator.counters["get_v1"] == 0


def test_hop_limit_too_low_falls_back_to_v1_and_says_why(emulator, make_client):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=1)
    client = make_client(timeout=0.3)
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.imds_version == 1
    assert "hop limit" in client.fallback_reason


def test_hop_limit_too_low_with_v1_refused_names_the_fix(emulator, make_client):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=1)
    started = time.monotonic()
    with pytest.raises(ImdsTokenUnavailable, match="http_put_response_hop_limit to 2"):
        make_client(timeout=0.3, allow_imdsv1=False).get("meta-data/instance-id")
    # One token attempt of 0.3 s, not the default total_timeout of retries; generous for a loaded machine.
    assert time.monotonic() - started < 5.0


def test_tokens_required_and_token_put_timing_out_is_token_required(emulator, make_client):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=1, http_tokens="required")
    with pytest.raises(ImdsTokenRequired, match=r"requires IMDSv2.*hop limit"):
        make_client(timeout=0.3).get("meta-data/instance-id")


def test_endpoint_disabled_is_reported_as_such(emulator, make_client):
    emulator.set_options(http_endpoint="disabled")
    with pytest.raises(ImdsEndpointDisabled, match="http_endpoint=enabled"):
        make_client().get("meta-data/instance-id")


def test_not_found_names_the_path(make_client):
    with pytest.raises(ImdsNotFound, match="meta-data/no-such-thing"):
        make_client().get("meta-data/no-such-thing")


def test_a_missing_path_gives_the_default(emulator, make_client):
    emulator.set_user_data(None)
    assert read_paths(make_client(), ["user-data"], default=None) == {"user-data": None}


def test_user_data_is_returned_as_raw_bytes(emulator, make_client):
    payload = bytes(range(256))
    emulator.set_user_data(payload)
    assert make_client().get("user-data") == payload


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_answers_are_retried(emulator, make_client, status):
    emulator.add_fault("status", path="/latest/meta-data/instance-id", status=status, count=2)
    client = make_client()
    assert client.get_text("meta-data/instance-id") == INSTANCE_ID
    assert client.stats["retries"] == 2


def test_server_error_forever_gives_up_after_retries(emulator, make_client):
    emulator.add_fault("status", path="/latest/meta-data/instance-id", status=500)
    client = make_client(retries=2)
    with pytest.raises(ImdsServerError, match="500 after 2 retries"):
        client.get("meta-data/instance-id")
    assert emulator.path_counts.get("GET /latest/meta-data/instance-id", 0) == 0  # faults answer before counting
    assert client.stats["requests"] == 1 + 3  # token + 3 attempts


@pytest.mark.parametrize(("throttled", "low", "high"), [(False, 0.05, 0.1), (True, 0.1875, 0.25)])
def test_backoff_pause_is_jittered_within_bounds(throttled, low, high):
    pauses = [backoff_pause(1, throttled) for _draw in range(200)]
    assert low <= min(pauses)
    assert max(pauses) <= high
    assert len(set(pauses)) > 100  # jittered, not one fixed value


def test_throttle_backoff_outlasts_the_rate_window():
    # The last of three retries after a 429 must come after IMDS's one-second window, however the jitter falls.
    for _draw in range(200):
        assert sum(backoff_pause(retry, throttled=True) for retry in (1, 2, 3)) > 1.0
    assert max(backoff_pause(10, throttled) for throttled in (False, True) for _draw in range(50)) <= 2.0


def test_throttling_forever_is_reported(emulator, make_client):
    emulator.add_fault("status", path="/latest/meta-data/*", status=429)
    with pytest.raises(ImdsThrottled, match="429"):
        make_client(retries=1).get("meta-data/instance-id")


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_not_retried(emulator, make_client, status):
    emulator.add_fault("status", path="/latest/meta-data/ami-id", status=status)
    client = make_client()
    with pytest.raises(Exception):  # noqa: B017,PT011 - the kind is checked by the tests above
        client.get("meta-data/ami-id")
    assert client.stats["retries"] == 0


def test_slow_answer_times_out_within_budget(emulator, make_client):
    emulator.add_fault("delay", path="/latest/meta-data/ami-id", seconds=30.0)
    client = make_client(timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(ImdsTimeout, match=r"within timeout=0.2s"):
        client.get("meta-data/ami-id")
    # Two attempts of 0.2 s plus one backoff: well under a second on an idle machine. The bound is generous for a
    # loaded one and far below the 30 s answer the timeout has to cut off.
    assert time.monotonic() - started < 10.0
    assert client.stats["retries"] == 1


def test_total_timeout_bounds_the_whole_call(emulator, make_client):
    emulator.add_fault("delay", path="/latest/meta-data/ami-id", seconds=30.0)
    client = make_client(timeout=0.4, retries=10, total_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ImdsTimeout, match=r"total_timeout=0\.5s"):
        client.get("meta-data/ami-id")
    # Eleven attempts of 0.4 s and their backoffs would take over 15 s; generous for a loaded machine.
    assert time.monotonic() - started < 10.0
    assert client.stats["retries"] <= 1


def test_a_retry_that_would_outlast_total_timeout_is_reported_as_total_timeout(emulator, make_client, monkeypatch):
    """Retrying a silent endpoint ends when the next backoff no longer fits in total_timeout: the message names
    total_timeout, not "no answer 11 times" after one attempt (seen on a loaded CI machine)."""
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds import transport

    monkeypatch.setattr(transport, "backoff_pause", lambda attempt, throttled: 1000.0)
    emulator.add_fault("delay", path="/latest/meta-data/ami-id", seconds=30.0)
    client = make_client(timeout=0.4, retries=10, total_timeout=20.0)
    with pytest.raises(ImdsTimeout, match=r"total_timeout=20s ran out"):
        client.get("meta-data/ami-id")
    assert client.stats["retries"] == 1


def test_connection_refused_is_unreachable():
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ImdsClient(client_config_from_params(endpoint=f"http://127.0.0.1:{port}", retries=1, environ={}))
    with pytest.raises(ImdsUnreachable, match=r"connection refused.*not an EC2 instance"):
        client.get("meta-data/instance-id")


def test_redirect_is_not_followed_and_token_stays_home(emulator, make_client):
    with ImdsEmulator() as elsewhere:
        emulator.add_fault("redirect", path="/latest/meta-data/instance-id", location=f"{elsewhere.url}/latest/x")
        with pytest.raises(ImdsBadResponse, match="redirect"):
            make_client().get("meta-data/instance-id")
        assert elsewhere.counters["total"] == 0


def test_proxy_environment_is_ignored(emulator, make_client, monkeypatch):
    seen = []
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen(5)
        proxy.settimeout(0.5)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.getsockname()[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)

        def accept():
            with contextlib.suppress(OSError):
                seen.append(proxy.accept())

        watcher = threading.Thread(target=accept)
        watcher.start()
        assert make_client().get_text("meta-data/instance-id") == INSTANCE_ID
        watcher.join()
    assert seen == []


def test_ipv6_endpoint_url_form_works(make_client):
    with ImdsEmulator(host="::1") as emulator6:
        client = make_client(endpoint=f"http://[::1]:{emulator6.port}")
        assert client.get_text("meta-data/instance-id") == INSTANCE_ID
        assert emulator6.counters["token_put"] == 1


def test_crawl_requests_are_counted(emulator, make_client):
    client = make_client()
    client.get("meta-data/ami-id")
    client.get("meta-data/ami-id")
    assert client.stats["requests"] == 3
    assert client.paths["meta-data/ami-id"] == 2


@pytest.mark.parametrize(
    ("path", "quoted"),
    [
        ("meta-data/instance-id", "meta-data/instance-id"),
        ("/meta-data/tags/instance/team:owner@x+y=z", "meta-data/tags/instance/team:owner@x+y=z"),
        ("meta-data/tags/instance/has space", "meta-data/tags/instance/has%20space"),
        ("meta-data/tags/instance/a?b#c", "meta-data/tags/instance/a%3Fb%23c"),
    ],
)
def test_quote_path(path, quoted):
    assert quote_path(path) == quoted


@pytest.mark.parametrize("path", ["../secret", "meta-data/../../x", "http://evil/x", "meta-data\\x"])
def test_quote_path_refuses_escapes(path):
    with pytest.raises(ImdsConfigError):
        quote_path(path)
