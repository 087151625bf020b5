# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event watcher (module_utils/_imds/events.py) poll by poll against the emulator: one event per change."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.events import (
    EVENT_KINDS,
    WATCHED_PATHS,
    EventWatcher,
    NoticeShapeError,
    announced,
    due_within,
    parse_lifecycle_state,
    parse_maintenance,
    parse_spot_action,
    parse_time,
    read_identity,
    read_notices,
)

INSTANCE_ID = "i-0a1b2c3d4e5f60718"


@pytest.fixture
def quiet(emulator):
    """The emulator with nothing announced and lifecycle InService."""
    emulator.clear_announcements()
    emulator.set_options(http_tokens="required")
    return emulator


def watcher_for(emulator, **options):
    def factory():
        return ImdsClient(client_config_from_params(endpoint=emulator.url, allow_imdsv1=False, timeout=0.5, retries=0))

    options.setdefault("poll_timeout", 2.0)
    return EventWatcher(factory, **options)


def kinds_of(events):
    return [event["kind"] for event in events]


def test_first_poll_announces_what_is_current_then_nothing_until_a_change(quiet):
    watcher = watcher_for(quiet)
    first = watcher.poll()
    assert kinds_of(first) == ["lifecycle_state"]
    assert first[0]["previous"] is None
    assert first[0]["state"] == "InService"
    assert first[0]["instance_id"] == INSTANCE_ID
    assert first[0]["region"] == "eu-west-1"
    assert [watcher.poll() for _poll in range(3)] == [[], [], []]
    quiet.schedule_spot_notice(0, action="stop")
    events = watcher.poll()
    assert kinds_of(events) == ["spot_interruption"]
    assert events[0]["action"] == "stop"
    assert events[0]["document"]["action"] == "stop"
    assert events[0]["path"] == "meta-data/spot/instance-action"
    assert events[0]["dedupe_key"].startswith(f"spot_interruption:{INSTANCE_ID}:stop:")
    assert [watcher.poll() for _poll in range(3)] == [[], [], []]


def test_lifecycle_transition_old_to_new(quiet):
    watcher = watcher_for(quiet)
    watcher.poll()
    quiet.schedule_lifecycle_state(0, "Terminated")
    (event,) = watcher.poll()
    assert (event["kind"], event["previous"], event["state"]) == ("lifecycle_state", "InService", "Terminated")
    assert watcher.poll() == []


def test_maintenance_scheduled_then_cancelled_from_history(quiet):
    watcher = watcher_for(quiet)
    watcher.poll()
    entry = quiet.schedule_maintenance(0, event_id="instance-event-0aaaaaaaaaaaaaaaa")
    (scheduled,) = watcher.poll()
    assert scheduled["kind"] == "maintenance_scheduled"
    assert (scheduled["event_id"], scheduled["code"]) == (entry["EventId"], "system-reboot")
    assert scheduled["not_before"] == entry["NotBefore"]
    assert watcher.poll() == []
    quiet.set_metadata("events/maintenance/scheduled", {"$json": []})
    quiet.set_metadata("events/maintenance/history", {"$json": [{**entry, "State": "canceled"}]})
    (cancelled,) = watcher.poll()
    assert cancelled["kind"] == "maintenance_cancelled"
    assert cancelled["path"] == "meta-data/events/maintenance/history"
    assert watcher.poll() == []


@pytest.mark.parametrize(
    ("not_after", "kind"),
    [(timedelta(hours=-1), "maintenance_completed"), (timedelta(hours=5), "maintenance_cancelled")],
)
def test_maintenance_that_disappears_without_history(quiet, not_after, kind):
    watcher = watcher_for(quiet)
    end = (datetime.now(timezone.utc) + not_after).strftime("%d %b %Y %H:%M:%S GMT")
    entry = {
        "EventId": "instance-event-0b",
        "Code": "system-reboot",
        "NotBefore": end,
        "NotAfter": end,
        "State": "active",
    }
    quiet.set_metadata("events/maintenance/scheduled", {"$json": [entry]})
    assert "maintenance_scheduled" in kinds_of(watcher.poll())
    quiet.set_metadata("events/maintenance/scheduled", {"$json": []})
    assert kinds_of(watcher.poll()) == [kind]
    assert watcher.poll() == []


def test_history_present_at_start_is_not_announced(quiet):
    quiet.set_metadata(
        "events/maintenance/history", {"$json": [{"EventId": "instance-event-old", "State": "completed"}]}
    )
    assert kinds_of(watcher_for(quiet).poll()) == ["lifecycle_state"]


def test_state_file_stops_a_restart_from_replaying(quiet, tmp_path):
    state_file = str(tmp_path / "state.json")
    quiet.schedule_spot_notice(0)
    first = watcher_for(quiet, state_file=state_file)
    assert sorted(kinds_of(first.poll())) == ["lifecycle_state", "spot_interruption"]
    first.close()
    again = watcher_for(quiet, state_file=state_file)
    assert again.poll() == []
    quiet.schedule_lifecycle_state(0, "Terminating:Wait")
    (event,) = again.poll()
    assert event["previous"] == "InService"
    # Without the state file, the same restart announces the current notice once more.
    assert "spot_interruption" in kinds_of(watcher_for(quiet).poll())


@pytest.mark.parametrize("content", ["{not json", '{"version": 99}', '{"version": 1, "seen": 5}', "[]"])
def test_a_damaged_state_file_is_a_fresh_start(quiet, tmp_path, content):
    state_file = tmp_path / "state.json"
    state_file.write_text(content)
    quiet.schedule_spot_notice(0)
    assert "spot_interruption" in kinds_of(watcher_for(quiet, state_file=str(state_file)).poll())
    assert json.loads(state_file.read_text())["version"] == 1


def test_a_state_file_of_another_instance_is_ignored(quiet, tmp_path):
    state_file = str(tmp_path / "state.json")
    quiet.schedule_spot_notice(0)
    watcher_for(quiet, state_file=state_file).poll()
    quiet.update_identity_document(instanceId="i-0ffffffffffffffff")
    assert "spot_interruption" in kinds_of(watcher_for(quiet, state_file=state_file).poll())


def test_kinds_filter_leaves_out_events_and_their_requests(quiet):
    watcher = watcher_for(quiet, kinds=frozenset({"spot_interruption"}))
    quiet.schedule_lifecycle_state(0, "Terminated")
    quiet.reset_counters()
    assert watcher.poll() == []
    asked = {path.split(" ", 1)[1] for path in quiet.path_counts}
    assert asked == {"/latest/dynamic/instance-identity/document", "/latest/meta-data/spot/instance-action"}


def test_one_get_per_path_per_poll_and_one_token(quiet):
    watcher = watcher_for(quiet)
    watcher.poll()
    quiet.reset_counters()
    for _poll in range(10):
        watcher.poll()
    assert quiet.counters["token_put"] == 0
    assert quiet.counters["get_v2"] == 10 * len(WATCHED_PATHS)


def test_expired_token_is_renewed_on_401(quiet):
    watcher = watcher_for(quiet)
    watcher.poll()
    quiet.expire_tokens()
    quiet.reset_counters()
    quiet.schedule_spot_notice(0)
    assert kinds_of(watcher.poll()) == ["spot_interruption"]
    assert quiet.counters["token_put"] == 1


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (parse_spot_action, b"[]"),
        (parse_spot_action, b'{"action": "stop"}'),
        (parse_spot_action, b'{"action": 5, "time": "x"}'),
        (parse_spot_action, b'{"action": "a", "action": "b", "time": "t"}'),
        (parse_maintenance, b'{"EventId": "x"}'),
        (parse_maintenance, b'[{"Code": "x"}]'),
        (parse_maintenance, json.dumps([{"EventId": str(n)} for n in range(101)]).encode()),
        (parse_lifecycle_state, b"InService; rm -rf /"),
        (parse_lifecycle_state, b"x" * 500),
        (parse_lifecycle_state, b""),
    ],
)
def test_answers_not_in_ec2_shape_are_refused(parse, body):
    with pytest.raises(NoticeShapeError):
        parse(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T09:30:00Z", datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)),
        ("21 Jan 2019 09:00:43 GMT", datetime(2019, 1, 21, 9, 0, 43, tzinfo=timezone.utc)),
        ("tomorrow", None),
        (5, None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_due_within_hours(quiet, make_client):
    quiet.schedule_maintenance(0, starts_in_hours=30)
    quiet.schedule_spot_notice(0)
    client = make_client()
    identity = read_identity(client)
    events = announced(identity, read_notices(client, WATCHED_PATHS))
    assert sorted(kinds_of(events)) == ["lifecycle_state", "maintenance_scheduled", "spot_interruption"]
    assert kinds_of(due_within(events, 24)) == ["spot_interruption"]
    assert sorted(kinds_of(due_within(events, 48))) == ["maintenance_scheduled", "spot_interruption"]


def test_event_kinds_are_the_documented_ones():
    assert set(EVENT_KINDS) == {
        "spot_interruption",
        "rebalance_recommendation",
        "maintenance_scheduled",
        "maintenance_cancelled",
        "maintenance_completed",
        "lifecycle_state",
        "imds_unavailable",
        "imds_recovered",
    }


# ------------------------------------------------------------------------------------------ the playbook side
def test_facts_give_the_lifecycle_state_and_the_same_event_documents(quiet, make_client):
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather

    quiet.schedule_spot_notice(0, action="hibernate")
    quiet.schedule_lifecycle_state(0, "Terminating:Wait")
    quiet.set_metadata("events/maintenance/scheduled", {"$json": [{"EventId": "e-1", "State": "canceled"}]})
    ec2 = gather(make_client(), frozenset({"identity", "events"}))
    assert ec2["events"]["target_lifecycle_state"] == "Terminating:Wait"
    facts_events = {event["kind"]: event for event in ec2["events"]["announced"]}
    assert set(facts_events) == {"spot_interruption", "lifecycle_state"}
    source_events = {event["kind"]: event for event in watcher_for(quiet).poll()}
    for kind in facts_events:
        assert facts_events[kind]["dedupe_key"].split(":")[:2] == source_events[kind]["dedupe_key"].split(":")[:2]
        assert facts_events[kind]["document"] == source_events[kind]["document"]
    assert facts_events["spot_interruption"]["dedupe_key"] == source_events["spot_interruption"]["dedupe_key"]
    assert facts_events["spot_interruption"]["starts_at"] == facts_events["spot_interruption"]["time"]


def test_facts_leave_out_a_notice_in_a_shape_ec2_never_gives(quiet, make_client):
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather

    quiet.set_metadata("spot/instance-action", {"$json": {"action": ["x"], "time": 5}})
    quiet.set_metadata("autoscaling", None)
    ec2 = gather(make_client(), frozenset({"identity", "events"}))
    assert ec2["events"]["announced"] == []
    assert ec2["events"]["target_lifecycle_state"] is None


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (1, ["lifecycle_state", "spot_interruption"]),
        (30, ["lifecycle_state", "maintenance_scheduled", "spot_interruption"]),
    ],
)
def test_events_due_filter(quiet, make_client, hours, expected):
    from ansible_collections.ec2meta.imds.plugins.filter.events_due import events_due
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather

    quiet.schedule_spot_notice(0)
    quiet.schedule_maintenance(0, starts_in_hours=20)
    quiet.schedule_lifecycle_state(0, "Terminated")
    announced_events = gather(make_client(), frozenset({"identity", "events"}))["events"]["announced"]
    assert sorted(event["kind"] for event in events_due(announced_events, hours)) == expected


@pytest.mark.parametrize(("events", "hours"), [("x", 1), ([{"no": "kind"}], 1), ([], -1), ([], "6")])
def test_events_due_refuses_what_it_cannot_read(events, hours):
    from ansible.errors import AnsibleFilterError

    from ansible_collections.ec2meta.imds.plugins.filter.events_due import events_due

    with pytest.raises(AnsibleFilterError, match="events_due"):
        events_due(events, hours)


def test_an_event_without_a_readable_time_is_due():
    event = {"kind": "maintenance_scheduled", "starts_at": None}
    assert due_within([event], 0) == [event]


def test_an_imdsv1_fallback_asks_for_a_token_again(quiet):
    quiet.set_options(http_tokens="optional")
    quiet.add_fault("status", path="/latest/api/token", status=404, count=1)

    def factory():
        return ImdsClient(client_config_from_params(endpoint=quiet.url, allow_imdsv1=True, timeout=0.5, retries=0))

    watcher = EventWatcher(factory, poll_timeout=2.0)
    watcher.v1_retry_seconds = 0
    watcher.poll()
    assert quiet.counters["get_v1"] > 0
    quiet.reset_counters()
    watcher.poll()
    assert quiet.counters["token_put"] == 1
    assert quiet.counters["get_v1"] == 0
