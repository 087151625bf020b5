# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The imds_events source: main(queue, args) against the emulator, loaded the way ansible-rulebook loads it
(runpy.run_path), and the hostile-IMDS table: no answer ends the source, each outage is one event each way."""

from __future__ import annotations

import asyncio
import os
import runpy
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.events import EventWatcher

REPO_ROOT = Path(__file__).resolve().parents[4]
LINKED_SOURCE = (
    REPO_ROOT / ".build/collections/ansible_collections/ec2meta/imds/extensions/eda/plugins/event_source/imds_events.py"
)
SOURCE = runpy.run_path(str(REPO_ROOT / "extensions/eda/plugins/event_source/imds_events.py"))
SPOT_PATH = "/latest/meta-data/spot/instance-action"
TOKEN_PATH = "/latest/api/token"


@pytest.fixture
def quiet(emulator):
    emulator.clear_announcements()
    emulator.set_options(http_tokens="required")
    return emulator


async def _collect(args: dict, until, timeout: float = 20.0) -> list:
    """Run main() until ``until(events)`` holds (or ``timeout``), then cancel it as ansible-rulebook does."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(SOURCE["main"](queue, args))
    events: list = []
    ends = time.monotonic() + timeout
    try:
        while not until(events) and time.monotonic() < ends:
            try:
                events.append(await asyncio.wait_for(queue.get(), max(0.1, ends - time.monotonic())))
            except asyncio.TimeoutError:
                break
            assert not task.done(), "the source ended"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return events


def kinds_of(events):
    return [event["kind"] for event in events]


def test_source_loads_from_a_collections_path_with_runpy_alone():
    """As ansible-rulebook does: a fresh interpreter, no collection finder, only the file's own path."""
    code = (
        f"import runpy; print(sorted(runpy.run_path({str(LINKED_SOURCE)!r})['SourceSettings'].from_args({{}}).kinds))"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "spot_interruption" in result.stdout


def test_notice_timeline_reaches_the_queue_once_each(quiet):
    quiet.schedule_spot_notice(1.5, action="terminate")
    quiet.schedule_maintenance(1.0, cancel_after=1.5)
    quiet.schedule_lifecycle_state(2.0, "Terminated")
    wanted = {"spot_interruption", "maintenance_scheduled", "maintenance_cancelled"}

    def done(events):
        return wanted <= set(kinds_of(events)) and kinds_of(events).count("lifecycle_state") == 2

    events = asyncio.run(_collect({"endpoint": quiet.url, "interval": 1, "jitter": 0}, done))
    kinds = kinds_of(events)
    assert done(events), kinds
    assert len(kinds) == len(set(kinds)) + 1  # every kind once, lifecycle twice (InService, then Terminated)
    lifecycle = [(event["previous"], event["state"]) for event in events if event["kind"] == "lifecycle_state"]
    assert lifecycle == [(None, "InService"), ("InService", "Terminated")]
    assert {event["instance_id"] for event in events} == {"i-0a1b2c3d4e5f60718"}
    assert len({event["dedupe_key"] for event in events}) == len(events)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"interval": 0.5}, "interval=0.5 is below the minimum"),
        ({"interval": "2"}, "interval must be a finite number"),
        ({"jitter": 0.9}, "jitter=0.9 must be between"),
        ({"kinds": ["spot"]}, "kinds has"),
        ({"kinds": "spot_interruption"}, "kinds must be a non-empty list"),
        ({"unavailable_after": 0}, "unavailable_after"),
        ({"allow_imdsv1": "yes"}, "allow_imdsv1 must be true or false"),
        ({"token_ttl": 0}, "token_ttl"),
        ({"intervall": 2}, "unknown argument"),
        ({"state_file": "/nonexistent-ec2meta/state.json"}, "directory that does not exist"),
        # Finite and bounded (#5 of the adversarial test): a sleep of inf never ends.
        ({"interval": float("inf")}, "interval must be a finite number"),
        ({"interval": 1e300}, "interval=1e[+]300 is above the maximum"),
        ({"interval": 3601}, "interval=3601 is above the maximum"),
        ({"jitter": float("nan")}, "jitter must be a finite number"),
        ({"poll_timeout": float("inf")}, "poll_timeout must be a finite number"),
        ({"poll_timeout": 1e9}, "poll_timeout=1e[+]09 must be more than 0 and at most"),
        ({"timeout": float("inf")}, "timeout must be a finite number"),
        ({"timeout": 1e9}, "timeout"),
        # retries named (#13)
        ({"retries": "x"}, "retries must be a whole number"),
        ({"retries": 1.5}, "retries must be a whole number"),
        ({"retries": True}, "retries must be a whole number"),
        # only availability kinds would never report anything (#14)
        ({"kinds": ["imds_unavailable"]}, "kinds must include at least one of"),
        ({"kinds": ["imds_unavailable", "imds_recovered"]}, "kinds must include at least one of"),
        ({"kinds": [["spot_interruption"]]}, "kinds has"),
        # a state file the source could never save (#10)
        ({"state_file": "/"}, "exists and is not a regular file"),
        ({"state_file": "/proc/version"}, "cannot create files in /proc"),
        ({"state_file": ["a"]}, "state_file must be a file path"),
        ({"state_file": 123}, "state_file must be a file path"),
    ],
)
def test_bad_arguments_fail_before_any_request(emulator, args, message):
    with pytest.raises(ValueError, match=message):
        asyncio.run(_collect({"endpoint": emulator.url, **args}, lambda events: False, timeout=1))
    assert emulator.counters["total"] == 0


def test_a_state_file_that_is_a_directory_or_in_one_without_write_access_is_refused(emulator, tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(ValueError, match="is not a regular file"):
        SOURCE["SourceSettings"].from_args({"state_file": str(tmp_path / "dir")})
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:
        with pytest.raises(ValueError, match="cannot create files in"):
            SOURCE["SourceSettings"].from_args({"state_file": str(locked / "state.json")})
    settings = SOURCE["SourceSettings"].from_args({"state_file": str(tmp_path / "state.json")})
    assert settings.state_file == str(tmp_path / "state.json")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dir", "locked"]


def test_imdsv1_is_used_only_when_allowed(quiet):
    quiet.set_options(http_tokens="optional")
    quiet.add_fault("status", path=TOKEN_PATH, status=404)
    quiet.schedule_spot_notice(0)
    refused = asyncio.run(_collect({"endpoint": quiet.url, "unavailable_after": 1}, bool, timeout=5))
    assert kinds_of(refused) == ["imds_unavailable"]
    assert refused[0]["reasons"] == ["token_unavailable"]
    allowed = asyncio.run(
        _collect({"endpoint": quiet.url, "allow_imdsv1": True}, lambda events: len(events) >= 2, timeout=5)
    )
    assert sorted(kinds_of(allowed)) == ["lifecycle_state", "spot_interruption"]


# ------------------------------------------------------------------------------------------ hostile IMDS
# Attack class -> the fault(s) the emulator plays on the Spot path (or the token PUT). Every row must end in one
# imds_unavailable, then (faults cleared) one imds_recovered and the notice that was waiting.
HOSTILE = {
    "slow_body": [("slow_body", {"path": SPOT_PATH, "interval": 0.2})],
    "slow_trickle_under_the_cap": [("slow_body", {"path": SPOT_PATH, "length": 1000, "interval": 0.2})],
    "slow_headers": [("slow_headers", {"path": SPOT_PATH, "interval": 0.2})],
    "silent": [("blackhole", {"path": SPOT_PATH, "seconds": 5})],
    "huge_body": [("huge_body", {"path": SPOT_PATH, "length": 50 * 1024 * 1024})],
    "endless_body": [("endless_body", {"path": SPOT_PATH})],
    "compression_bomb": [("compressed_body", {"path": SPOT_PATH, "inflated": 64 * 1024 * 1024})],
    "malformed_json": [("body", {"path": SPOT_PATH, "body": '{"action": "terminate", "time": '})],
    "duplicate_keys": [("body", {"path": SPOT_PATH, "body": '{"action": "stop", "action": "terminate", "time": "t"}'})],
    "wrong_shape": [("body", {"path": SPOT_PATH, "body": '["terminate"]'})],
    "deep_json": [("body", {"path": SPOT_PATH, "body": "[" * 5000 + "]" * 5000})],
    "not_http": [("garbage", {"path": SPOT_PATH})],
    "long_header": [("long_header", {"path": SPOT_PATH})],
    "reset": [("reset_after_headers", {"path": SPOT_PATH})],
    "server_error": [("status", {"path": SPOT_PATH, "status": 500})],
    "throttled": [("status", {"path": SPOT_PATH, "status": 429})],
    "redirect": [("redirect", {"path": SPOT_PATH})],
    "token_refused_403": [("status", {"path": TOKEN_PATH, "status": 403})],
    "token_refused_404": [("status", {"path": TOKEN_PATH, "status": 404})],
    "token_garbage": [("body", {"path": TOKEN_PATH, "body": "tok\r\nen"})],
    "token_always_401": [("status", {"path": SPOT_PATH, "status": 401})],
}
# An unreadable identity document is an outage too, but the notices still flow (with instance "unknown"):
# test_an_unreadable_identity_document_does_not_hide_the_notices in tests/unit/plugins/module_utils/test_events.py.


def hostile_watcher(emulator, state_file=None):
    def factory():
        return ImdsClient(client_config_from_params(endpoint=emulator.url, allow_imdsv1=False, timeout=0.3, retries=1))

    return EventWatcher(factory, state_file=state_file, unavailable_after=2, poll_timeout=1.5)


class TestHostileImds:
    @pytest.mark.parametrize("attack", sorted(HOSTILE))
    def test_attack_is_one_outage_then_recovery_and_the_notice(self, quiet, attack):
        quiet.schedule_spot_notice(0)
        watcher = hostile_watcher(quiet)
        assert "spot_interruption" in kinds_of(watcher.poll())
        quiet.set_metadata("spot", None)
        for kind, spec in HOSTILE[attack]:
            quiet.add_fault(kind, **spec)
        # The token the first poll got must go, or the token attacks would never be asked for one.
        quiet.expire_tokens()
        quiet.schedule_metadata(
            0, "spot/instance-action", {"$json": {"action": "stop", "time": "2030-01-01T00:00:00Z"}}
        )
        tracemalloc.start()
        during = []
        try:
            for _poll in range(4):
                started = time.monotonic()
                during += watcher.poll()
                # Bounded time: poll_timeout plus one read (timeout) at most; generous for a busy machine.
                assert time.monotonic() - started < 1.5 + 0.3 + 2.0
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 8 * 1024 * 1024, f"{attack}: {peak} bytes"
        assert kinds_of(during) == ["imds_unavailable"], attack
        assert during[0]["reasons"]
        quiet.clear_faults()
        after = watcher.poll() + watcher.poll()
        kinds = kinds_of(after)
        assert kinds.count("imds_recovered") == 1, (attack, kinds)
        assert ("stop" in [event.get("action") for event in after]) is True, (attack, kinds)
        watcher.close()

    def test_404_flapping_makes_no_events(self, quiet):
        quiet.schedule_spot_notice(0)
        quiet.schedule_maintenance(0)
        watcher = hostile_watcher(quiet)
        first = kinds_of(watcher.poll())
        assert sorted(first) == ["lifecycle_state", "maintenance_scheduled", "spot_interruption"]
        later = []
        for poll in range(12):
            if poll % 2 == 0:
                quiet.add_fault("status", path="/latest/meta-data/*", status=404, count=5)
            later += watcher.poll()
            quiet.clear_faults()
        assert later == []

    def test_source_keeps_polling_through_a_hostile_answer(self, quiet):
        """Through main(): the attack, the outage event, then the notice once the service is sane again."""
        quiet.add_fault("huge_body", path=SPOT_PATH, length=30 * 1024 * 1024, count=3)
        quiet.schedule_spot_notice(0)
        events = asyncio.run(
            _collect(
                {"endpoint": quiet.url, "interval": 1, "jitter": 0, "unavailable_after": 1, "retries": 0},
                lambda events: "spot_interruption" in kinds_of(events),
            )
        )
        kinds = kinds_of(events)
        assert "imds_recovered" in kinds, kinds
        assert kinds.index("imds_unavailable") < kinds.index("imds_recovered") < kinds.index("spot_interruption")
        assert kinds.count("imds_unavailable") == 1


def test_documentation_and_arguments_agree():
    import yaml

    options = yaml.safe_load(SOURCE["DOCUMENTATION"])["options"]
    assert set(options) == set(SOURCE["DEFAULTS"])
    for name, option in options.items():
        documented = option.get("default")
        actual = SOURCE["DEFAULTS"][name]
        assert documented == actual or (isinstance(actual, float) and documented == int(actual)), name
    assert options["kinds"]["default"] == list(SOURCE["EVENT_KINDS"])
