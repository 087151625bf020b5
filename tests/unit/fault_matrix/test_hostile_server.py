# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile or broken IMDS: every plugin ends in time, holds little memory, and fails with a typed reason.

Each scenario is a row: the fault, where it is injected, the reason every reader must report, and words the
message must contain. Every row runs against the client, the metadata module, metadata_facts, the probe and the
lookup, and each must end by DEADLINE.

Two timers never race. A row whose reason is a timeout drips its answer for 30 s (a byte or a header line every
0.1 s) to a reader whose per-read timeout is its ``total_timeout`` (1 s): every read waits at most the time left,
so only the deadline can end it, however late a drip comes. Every other row has a patient ``total_timeout`` (60 s)
that a loaded machine cannot reach before the cap or the broken answer ends the read. DEADLINE (20 s) is twenty
times the short ``total_timeout``: load slows a read that ends at 1 s by a few seconds, while a reader that ignored
its deadline would wait for the server's 30 s.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from operator import attrgetter

import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError
from ansible_collections.ec2meta.imds.plugins.module_utils._imds import crawl
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.read_paths import read_paths
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import (
    MAX_BODY_BYTES,
    MAX_CRAWL_DEPTH,
    MAX_LISTING_ENTRIES,
    MAX_TOKEN_BYTES,
    MAX_USER_DATA_BYTES,
)
from ansible_collections.ec2meta.imds.plugins.modules import metadata, metadata_facts, probe

TOTAL = 1.0
# For the rows that end in a timeout: per-read timeout and total_timeout are one, so no read outlives the total.
SHORT = {"timeout": TOTAL, "total_timeout": TOTAL}
# For every other row: the cap or the broken answer ends the read long before these.
PATIENT = {"timeout": 10.0, "total_timeout": 60.0}
DEADLINE = 20.0
TOKEN = "/latest/api/token"
INSTANCE_ID = "/latest/meta-data/instance-id"
# Every real answer fits in 2 MiB of Python allocations with room to spare; the scenarios below offer gigabytes.
MEMORY_CAP = 4 * 1024 * 1024

# (id, fault kind, path, params, reason, words in the message)
SCENARIOS = [
    ("slow body", "slow_body", INSTANCE_ID, {"length": 1000, "interval": 0.1}, "timeout", f"total_timeout={TOTAL:g}s"),
    ("slow token body", "slow_body", TOKEN, {"length": 500, "interval": 0.1}, "timeout", f"total_timeout={TOTAL:g}s"),
    ("body over its length", "huge_body", INSTANCE_ID, {}, "bad_response", f"cap of {MAX_BODY_BYTES} bytes"),
    ("slow headers", "slow_headers", INSTANCE_ID, {"interval": 0.1}, "timeout", f"total_timeout={TOTAL:g}s"),
    ("slow token headers", "slow_headers", TOKEN, {"interval": 0.1}, "timeout", f"total_timeout={TOTAL:g}s"),
    ("endless chunked body", "endless_body", INSTANCE_ID, {}, "bad_response", f"cap of {MAX_BODY_BYTES} bytes"),
    ("endless token", "endless_body", TOKEN, {}, "bad_response", f"cap of {MAX_TOKEN_BYTES} bytes"),
    ("50 MB token", "huge_body", TOKEN, {"length": 50_000_000}, "bad_response", f"cap of {MAX_TOKEN_BYTES} bytes"),
    ("20 MB value", "huge_body", INSTANCE_ID, {"length": 20_000_000}, "bad_response", f"cap of {MAX_BODY_BYTES} bytes"),
    ("gzip bomb", "compressed_body", INSTANCE_ID, {"inflated": 64_000_000}, "bad_response", "Content-Encoding: gzip"),
    ("garbage", "garbage", INSTANCE_ID, {}, "bad_response", "not a valid HTTP answer"),
    ("header too long", "long_header", INSTANCE_ID, {}, "bad_response", "too long"),
    ("reset after headers", "reset_after_headers", INSTANCE_ID, {}, "bad_response", "middle of the answer"),
]
IDS = [row[0] for row in SCENARIOS]


def _options(reason: str) -> dict:
    return SHORT if reason == "timeout" else PATIENT


def _read_with_client(emulator, options: dict):
    with ImdsClient(client_config_from_params(endpoint=emulator.url, environ={}, **options)) as client:
        client.get("meta-data/instance-id")


def _module_result(run_module, module, emulator, options: dict, **args):
    result = run_module(module, {"endpoint": emulator.url, **options, **args})
    assert result.get("failed"), result
    return result


@pytest.mark.parametrize(("name", "kind", "path", "params", "reason", "words"), SCENARIOS, ids=IDS)
def test_client(emulator, name, kind, path, params, reason, words):
    emulator.add_fault(kind, path=path, **params)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ImdsError) as caught:
            _read_with_client(emulator, _options(reason))
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.reason == reason, str(caught.value)
    assert words in str(caught.value)
    assert "probably not an EC2 instance" not in str(caught.value)
    assert elapsed < DEADLINE, f"{name} took {elapsed:.2f}s"
    assert peak < MEMORY_CAP, f"{name} held {peak} bytes"


@pytest.mark.parametrize(("name", "kind", "path", "params", "reason", "words"), SCENARIOS, ids=IDS)
@pytest.mark.parametrize("module", [metadata, metadata_facts], ids=["metadata", "metadata_facts"])
def test_modules(run_module, emulator, module, name, kind, path, params, reason, words):
    emulator.add_fault(kind, path=path, **params)
    args = {"path": "meta-data/instance-id"} if module is metadata else {}
    started = time.monotonic()
    result = _module_result(run_module, module, emulator, _options(reason), **args)
    assert time.monotonic() - started < DEADLINE
    assert result["reason"] == reason, result["msg"]
    assert words in result["msg"]


@pytest.mark.parametrize(("name", "kind", "path", "params", "reason", "words"), SCENARIOS, ids=IDS)
def test_lookup(emulator, name, kind, path, params, reason, words):
    emulator.add_fault(kind, path=path, **params)
    lookup = lookup_loader.get("ec2meta.imds.metadata")
    started = time.monotonic()
    with pytest.raises(AnsibleLookupError, match=words.replace("(", r"\(")):
        lookup.run(["meta-data/instance-id"], {}, endpoint=emulator.url, **_options(reason))
    assert time.monotonic() - started < DEADLINE


@pytest.mark.parametrize(("name", "kind", "path", "params", "reason", "words"), SCENARIOS, ids=IDS)
def test_probe_ends_in_time_with_bounded_output(run_module, emulator, name, kind, path, params, reason, words):
    emulator.add_fault(kind, path=path, **params)
    started = time.monotonic()
    result = run_module(probe, {"endpoint": emulator.url, **_options(reason)})
    # The probe reports what it saw rather than failing; its own requests share one total_timeout.
    assert time.monotonic() - started < DEADLINE
    assert "findings" in result, result
    assert len(json.dumps(result)) < 20_000


# ------------------------------------------------------------------------------------------------ crawls


def test_wide_listing_stops_at_the_entry_cap(emulator, make_client):
    emulator.set_metadata("wide", {f"d{index}": {"x": "1"} for index in range(MAX_LISTING_ENTRIES + 1000)})
    client = make_client(**PATIENT)
    with pytest.raises(ImdsError) as caught:
        walk(client, dirs=["meta-data"])
    assert caught.value.reason == "bad_response"
    assert f"cap of {MAX_LISTING_ENTRIES} entries" in str(caught.value)
    assert "meta-data/wide/" in str(caught.value)
    # The listing is refused whole: not one of its directories is read.
    assert not [path for path in emulator.path_counts if path.startswith("GET /latest/meta-data/wide/d")]


def test_deep_tree_stops_at_the_depth_cap_without_recursion_error(emulator, run_module):
    # Every directory under deep/ lists a sub-directory: a tree with no bottom, deeper than Python's recursion limit.
    emulator.set_metadata("deep", {"d": {}})
    emulator.add_fault("endless_tree", path="/latest/meta-data/deep/*")
    result = _module_result(run_module, metadata, emulator, PATIENT, path="meta-data/deep", recursive=True)
    assert result["reason"] == "bad_response"
    assert f"cap of {MAX_CRAWL_DEPTH} levels" in result["msg"]
    result = _module_result(run_module, metadata_facts, emulator, PATIENT)
    assert result["reason"] == "bad_response"


def test_crawl_stops_starting_requests_at_the_deadline(emulator, make_client):
    # 300 leaves of 0.5 s each, 8 at a time: 19 s of work against a total_timeout of 1 s. The per-read timeout is
    # the total, so only the deadline can end the crawl; it must stop asking once the deadline has passed.
    emulator.set_metadata("many", {f"leaf{index}": "v" for index in range(300)})
    emulator.add_fault("delay", path="/latest/meta-data/many/*", seconds=0.5)
    client = make_client(timeout=TOTAL, total_timeout=TOTAL)
    started = time.monotonic()
    with pytest.raises(ImdsError) as caught:
        walk(client, dirs=["meta-data/many"])
    assert time.monotonic() - started < DEADLINE
    assert caught.value.reason == "timeout"
    assert f"total_timeout={TOTAL:g}s" in str(caught.value)
    # Counted by the client as it starts each request: no lag of the server's threads on a loaded machine.
    asked = client.stats["requests"]
    time.sleep(1.0)
    assert client.stats["requests"] == asked, "requests went on after the crawl gave up"
    assert asked < 300


def test_listing_with_a_name_as_leaf_and_directory_takes_the_directory(emulator, run_module):
    # As one third-party IMDS serves iam/: the same entry listed with and without the slash.
    emulator.add_fault("body", path="/latest/meta-data/iam/", body="info\nsecurity-credentials\nsecurity-credentials/")
    for _attempt in range(5):
        result = run_module(metadata_facts, {"endpoint": emulator.url, "gather_subset": ["iam"]})
        assert "failed" not in result, result
        iam = result["ansible_facts"]["ec2"]["iam"]
        assert iam["role_name"] == "web-server-role"


@pytest.mark.parametrize(
    "paths",
    [["meta-data/placement/region", "meta-data/placement"], ["meta-data/placement", "meta-data/placement/region"]],
)
def test_overlapping_paths_return_both(emulator, make_client, paths):
    values = read_paths(make_client(), paths)
    assert values["meta-data/placement/region"] == "eu-west-1"
    assert "region" in values["meta-data/placement"].splitlines()


# ------------------------------------------------------------------------------------------------ liveness


def test_connect_timeouts_from_a_live_endpoint_are_retried(emulator, run_module):
    # IMDS limits connections: after three, it stops accepting for 2.5 s (backlog 1), then recovers.
    emulator.stall_accepts(after=3, seconds=2.5)
    result = run_module(metadata_facts, {"endpoint": emulator.url})
    assert "failed" not in result, result.get("msg")
    assert result["ansible_facts"]["ec2"]["instance_id"] == emulator.metadata["instance-id"]


def test_silent_listener_is_unreachable_after_two_timeouts(emulator, make_client):
    emulator.add_fault("blackhole")
    client = make_client(timeout=0.3, total_timeout=60)
    started = time.monotonic()
    with pytest.raises(ImdsError) as caught:
        client.get("meta-data/instance-id")
    assert caught.value.reason == "unreachable"
    assert "never answered" in str(caught.value)
    # The black hole holds 30 s and total_timeout is 60 s: only giving up after two attempts ends this early.
    assert time.monotonic() - started < DEADLINE
    assert client.stats["requests"] == 2


# ------------------------------------------------------------------------------------------------ secrets


def test_a_token_with_a_line_break_is_refused_and_never_quoted(emulator, make_client):
    emulator.add_fault("body", path=TOKEN, body="TOKENLEAK1\r\nX-Evil: injected")
    with pytest.raises(ImdsError) as caught:
        make_client(**PATIENT).get("meta-data/instance-id")
    assert caught.value.reason == "bad_response"
    assert "TOKENLEAK1" not in str(caught.value)
    assert "injected" not in str(caught.value)


# ------------------------------------------------------------------------------------------------ caps per path


def test_user_data_has_its_own_cap(emulator, make_client):
    emulator.set_user_data(b"#!/bin/sh\n" + b"x" * (MAX_BODY_BYTES // 2))
    with pytest.raises(ImdsError, match=f"cap of {MAX_USER_DATA_BYTES} bytes"):
        make_client().get("user-data")
    emulator.set_user_data(b"#!/bin/sh\n" + b"x" * 16_000)
    assert len(make_client().get("user-data")) == 16_010


# ------------------------------------------------------------------------------------------------ the inline walk
# With one worker, or one or two leaves (metadata with one path, metadata_facts gather_subset=min), the walk starts
# no threads: the walking thread makes the requests itself. Every row above, and every fault the emulator answers
# with itself, must end there as it ends in the pool: same reason, in time, no traceback, no token in the result.

IDENTITY = "/latest/dynamic/instance-identity/document"
FAST = {"timeout": 0.3, "retries": 2, "total_timeout": 60.0}
LEAKED = "TOKENLEAK1"
# (id, fault kind, path, params, client options, reason, words in the message)
ANSWER_FAULTS = [
    ("silent value", "blackhole", INSTANCE_ID, {}, FAST, "timeout", "within timeout=0.3s"),
    ("silent token, v1 refused", "blackhole", TOKEN, {}, {**FAST, "allow_imdsv1": False}, "token_unavailable", "hop"),
    ("past total_timeout", "delay", INSTANCE_ID, {"seconds": 30}, SHORT, "timeout", f"total_timeout={TOTAL:g}s"),
    ("resets", "reset", INSTANCE_ID, {}, PATIENT, "unreachable", "stopped taking connections"),
    ("token resets", "reset", TOKEN, {}, PATIENT, "unreachable", "reset"),
    ("truncated", "truncate", INSTANCE_ID, {}, PATIENT, "bad_response", "middle of the answer"),
    ("500 forever", "status", INSTANCE_ID, {"status": 500}, PATIENT, "server_error", "500 after"),
    ("429 forever", "status", INSTANCE_ID, {"status": 429}, PATIENT, "throttled", "(429)"),
    ("token refused", "status", INSTANCE_ID, {"status": 401}, PATIENT, "token_required", "(401) twice"),
    ("403", "status", INSTANCE_ID, {"status": 403}, PATIENT, "endpoint_disabled", "403"),
    (
        "token with a line break",
        "body",
        TOKEN,
        {"body": f"{LEAKED}\r\nX-Evil: injected"},
        PATIENT,
        "bad_response",
        "token",
    ),
    ("empty token", "body", TOKEN, {"body": ""}, PATIENT, "bad_response", "token that is empty"),
    ("non-ASCII token", "body", TOKEN, {"body": f"{LEAKED}\u00e9"}, PATIENT, "bad_response", "token that is empty"),
    ("token 400", "status", TOKEN, {"status": 400}, PATIENT, "bad_response", "malformed (400)"),
    ("token 500", "status", TOKEN, {"status": 500}, PATIENT, "server_error", "500 after"),
    (
        "redirect",
        "redirect",
        INSTANCE_ID,
        {"location": "http://127.0.0.2:9/latest/"},
        PATIENT,
        "bad_response",
        "redirect",
    ),
    (
        "token redirect",
        "redirect",
        TOKEN,
        {"location": f"http://127.0.0.2:9/{LEAKED}"},
        PATIENT,
        "bad_response",
        "redirect",
    ),
]
ALL_FAULTS = [
    (name, kind, path, params, _options(reason), reason, words) for name, kind, path, params, reason, words in SCENARIOS
]
ALL_FAULTS += ANSWER_FAULTS
ALL_IDS = [row[0] for row in ALL_FAULTS]
# Faults that end once (a retry, a new token, IMDSv1, a missing value): the walk succeeds, inline as in the pool.
# (id, fault kind, path, params, client options)
PASSING_FAULTS = [
    ("silent token, v1 allowed", "blackhole", TOKEN, {}, {"timeout": 2.0, "retries": 2, "total_timeout": 60.0}),
    ("token 404", "status", TOKEN, {"status": 404}, PATIENT),
    ("value 404", "status", INSTANCE_ID, {"status": 404}, PATIENT),
    ("one reset", "reset", INSTANCE_ID, {"count": 1}, PATIENT),
    ("one truncation", "truncate", INSTANCE_ID, {"count": 1}, PATIENT),
    ("two 503", "status", INSTANCE_ID, {"status": 503, "count": 2}, PATIENT),
    ("token expired once", "status", INSTANCE_ID, {"status": 401, "count": 1}, PATIENT),
]


@pytest.fixture
def thread_starts(monkeypatch):
    """How many times a walk started its worker threads."""
    started = []
    original = attrgetter("_Crawl._start_workers")(crawl)  # private: no protected-access for pylint

    def record(self, workers):
        started.append(workers)
        original(self, workers)

    monkeypatch.setattr(f"{crawl.__name__}._Crawl._start_workers", record)
    return started


def _fault_at(emulator, kind, path, params, target=INSTANCE_ID):
    """The fault on ``path``, with the row's value path moved to ``target`` (the path the reader asks for)."""
    emulator.clear_faults()
    emulator.add_fault(kind, path=target if path == INSTANCE_ID else path, **params)


def _walk_outcome(client, **seeds) -> tuple:
    try:
        result = walk(client, **seeds)
    except ImdsError as error:
        return ("failed", error.reason, str(error), error.details().get("url"))
    return ("ok", result.tree, sorted(result.missing), result.values, result.requests, client.imds_version)


@pytest.mark.parametrize(("name", "kind", "path", "params", "options", "reason", "words"), ALL_FAULTS, ids=ALL_IDS)
@pytest.mark.parametrize(
    ("module", "args", "target"),
    [
        (metadata_facts, {"gather_subset": ["min"]}, IDENTITY),
        (metadata, {"path": "meta-data/instance-id"}, INSTANCE_ID),
        (metadata, {"path": ["meta-data/instance-id", "meta-data/ami-id"]}, INSTANCE_ID),
    ],
    ids=["metadata_facts min", "metadata one path", "metadata two paths"],
)
def test_inline_readers(
    run_module, emulator, thread_starts, module, args, target, name, kind, path, params, options, reason, words
):
    _fault_at(emulator, kind, path, params, target)
    started = time.monotonic()
    result = _module_result(run_module, module, emulator, options, **args)
    assert time.monotonic() - started < DEADLINE
    assert thread_starts == [], "not the inline path"
    assert result["reason"] == reason, result["msg"]
    assert words in result["msg"]
    assert LEAKED not in json.dumps(result)


@pytest.mark.parametrize(("name", "kind", "path", "params", "options", "reason", "words"), ALL_FAULTS, ids=ALL_IDS)
def test_one_worker_walks_a_directory_as_the_pool_does(
    make_client, emulator, thread_starts, name, kind, path, params, options, reason, words
):
    outcomes = {}
    for workers in (1, 8):
        _fault_at(emulator, kind, path, params)
        client = make_client(**options)
        started = time.monotonic()
        outcomes[workers] = _walk_outcome(client, dirs=["meta-data"], max_workers=workers)
        assert time.monotonic() - started < DEADLINE, workers
        asked = client.stats["requests"]
        assert outcomes[workers][:2] == ("failed", reason), outcomes[workers]
        assert words in outcomes[workers][2]
        assert LEAKED not in outcomes[workers][2]
        time.sleep(0.2)
        assert client.stats["requests"] == asked, "requests went on after the walk gave up"
    assert thread_starts == [8]
    if reason != "timeout":  # a loaded machine may run out of time at another path first
        assert outcomes[1] == outcomes[8]


@pytest.mark.parametrize(
    ("name", "kind", "path", "params", "options"), PASSING_FAULTS, ids=[row[0] for row in PASSING_FAULTS]
)
@pytest.mark.parametrize(
    "seeds",
    [
        {"dirs": ["meta-data/placement"], "leaves": ["meta-data/instance-id"]},
        {"leaves": ["meta-data/instance-id"]},
        {"leaves": ["meta-data/instance-id", "user-data"]},
    ],
    ids=["directory", "one leaf", "two leaves"],
)
def test_inline_and_pooled_walks_agree(make_client, emulator, monkeypatch, seeds, name, kind, path, params, options):
    outcomes = {}
    for pooled in (False, True):
        # The pool for the same seeds: one worker per seed at least, and the leaves-only shortcut turned off.
        monkeypatch.setattr(f"{crawl.__name__}._nothing_to_overlap", lambda seeds, pooled=pooled: not pooled)
        _fault_at(emulator, kind, path, params)
        outcomes[pooled] = _walk_outcome(make_client(**options), **seeds, max_workers=8 if pooled else 1)
    assert outcomes[False][0] == "ok", outcomes[False]
    assert outcomes[False] == outcomes[True]
