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
    MAINTENANCE_GONE_AFTER,
    REGION,
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


def set_identity_document(emulator, value):
    with emulator._lock:
        emulator.dynamic.setdefault("instance-identity", {})["document"] = value


SPOT_NOTICE = {"action": "terminate", "time": "2030-01-01T00:00:00Z"}


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
    # Missing from the list is an end only after MAINTENANCE_GONE_AFTER successful polls in a row.
    assert [watcher.poll() for _poll in range(MAINTENANCE_GONE_AFTER - 1)] == [[]] * (MAINTENANCE_GONE_AFTER - 1)
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


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spot/instance-action", {"$json": {"action": ["x"], "time": 5}}),
        ("spot/instance-action", {"$json": {"action": "terminate", "time": 5}}),
        ("spot/instance-action", {"$json": {"action": "terminate"}}),
        ("events/recommendations/rebalance", {"$json": ["2026-01-01T00:00:00Z"]}),
        ("events/maintenance/scheduled", {"$json": [{"Code": "system-reboot", "State": "active"}]}),
        ("events/maintenance/scheduled", {"$json": {"EventId": "instance-event-1"}}),
        ("autoscaling/target-lifecycle-state", "Terminated; rm"),
    ],
)
def test_facts_report_a_notice_they_cannot_read_as_unknown_and_it_is_due(quiet, make_client, path, value):
    """Fail closed (#4 of the adversarial test): an unreadable announcement is never "nothing announced"."""
    from ansible_collections.ec2meta.imds.plugins.filter.events_due import events_due
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather

    quiet.set_metadata(path, value)
    announced_events = gather(make_client(), frozenset({"identity", "events"}))["events"]["announced"]
    unknown = [event for event in announced_events if event["kind"] == "unknown"]
    assert [event["path"] for event in unknown] == [f"meta-data/{path}"]
    assert unknown[0]["reason"] == "bad_response"
    assert unknown[0] in events_due(announced_events, 0)


@pytest.mark.parametrize(
    ("identity", "subsets"),
    [
        ({"$json": {}}, {"identity", "events"}),
        ({"$json": {"instanceId": "x", "region": "eu-west-1"}}, {"identity", "events"}),
        ({"$json": {"instanceId": "i-0a1b2c3d4e5f60718"}}, {"identity", "events"}),
        (None, {"events"}),
    ],
)
def test_facts_without_an_identity_still_announce_with_unknown_instance(quiet, make_client, identity, subsets):
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import gather

    quiet.schedule_spot_notice(0)
    if identity is not None:
        set_identity_document(quiet, identity)
    announced_events = gather(make_client(), frozenset(subsets))["events"]["announced"]
    spot = [event for event in announced_events if event["kind"] == "spot_interruption"]
    assert [(event["instance_id"], event["region"], event["identity_known"]) for event in spot] == [
        ("unknown", "unknown", False)
    ]


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


# ------------------------------------------------------------------------------------------ adversarial test fixes
@pytest.mark.parametrize(
    "damaged",
    [
        {"instance-event-1": {"Code": "system-reboot"}},
        {"instance-event-1": {"EventId": 5}},
        {"5": {"EventId": 5}},
        {"instance-event-1": {"EventId": "instance-event-2"}},
        {"instance-event-1": ["EventId"]},
        {"instance-event-1": "instance-event-1"},
        {"instance-event-1": None},
    ],
)
def test_a_damaged_scheduled_entry_in_the_state_file_is_dropped(quiet, tmp_path, damaged):
    """#1: a damaged entry neither raises every poll (hiding the Spot notice) nor makes a false end."""
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"version": 1, "instance_id": INSTANCE_ID, "scheduled": damaged}))
    quiet.set_metadata("spot/instance-action", {"$json": SPOT_NOTICE})
    watcher = watcher_for(quiet, state_file=str(state_file), unavailable_after=1)
    events = [event for _poll in range(MAINTENANCE_GONE_AFTER + 1) for event in watcher.poll()]
    assert sorted(kinds_of(events)) == ["lifecycle_state", "spot_interruption"]


@pytest.mark.parametrize(
    "region",
    ["eu-west-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1", "us-iso-east-1", "eusc-de-east-1", "ap-southeast-5"],
)
def test_every_partitions_region_names_are_read(quiet, region):
    """#2: the identity check accepts every AWS partition's region names."""
    assert REGION.match(region)
    quiet.update_identity_document(region=region)
    quiet.set_metadata("spot/instance-action", {"$json": SPOT_NOTICE})
    events = watcher_for(quiet, unavailable_after=1).poll()
    assert sorted(kinds_of(events)) == ["lifecycle_state", "spot_interruption"]
    assert {event["region"] for event in events} == {region}


@pytest.mark.parametrize("region", ["", "eu", "EU-WEST-1", "eu-west-1; rm", "eu-west-", "toolongname-west-1"])
def test_region_names_of_no_partition_are_refused(region):
    assert not REGION.match(region)


def test_drain_playbook_checks_the_region_with_the_same_pattern():
    import pathlib

    import yaml

    playbook = pathlib.Path(__file__).resolve().parents[4] / "playbooks" / "drain.yml"
    conditions = yaml.safe_load(playbook.read_text())[0]["tasks"][0]["ansible.builtin.assert"]["that"]
    assert f"drain_region is match('{REGION.pattern.replace(chr(92) + 'd', '[0-9]')}')" in conditions


@pytest.mark.parametrize(
    "identity",
    [{"$json": {}}, {"$json": []}, "not json", {"$json": {"instanceId": "i-0a1b2c3d4e5f60718", "region": 5}}, None],
)
def test_an_unreadable_identity_document_does_not_hide_the_notices(quiet, identity):
    """#3: the notices are read and sent with instance and region "unknown" (and identity_known false)."""
    if identity is None:
        quiet.add_fault("status", path="/latest/dynamic/instance-identity/document", status=404)
    else:
        set_identity_document(quiet, identity)
    quiet.set_metadata("spot/instance-action", {"$json": SPOT_NOTICE})
    watcher = watcher_for(quiet, unavailable_after=1)
    events = watcher.poll()
    assert sorted(kinds_of(events)) == ["imds_unavailable", "lifecycle_state", "spot_interruption"]
    spot = events[kinds_of(events).index("spot_interruption")]
    assert (spot["instance_id"], spot["region"], spot["identity_known"]) == ("unknown", "unknown", False)
    # Once the document reads, the same notice is not news again; a new one carries the real instance.
    quiet.clear_faults()
    set_identity_document(quiet, {"$json": {"instanceId": INSTANCE_ID, "region": "eu-west-1"}})
    assert kinds_of(watcher.poll()) == ["imds_recovered"]
    quiet.schedule_lifecycle_state(0, "Terminated")
    (lifecycle,) = watcher.poll()
    assert (lifecycle["instance_id"], lifecycle["identity_known"]) == (INSTANCE_ID, True)


def test_an_unreadable_identity_never_takes_the_instance_from_a_state_file(quiet, tmp_path):
    """A state file can come from another instance (baked into the image): its id is never used unchecked."""
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"version": 1, "instance_id": "i-0ffffffffffffffff", "seen": []}))
    set_identity_document(quiet, "not json")
    quiet.set_metadata("spot/instance-action", {"$json": SPOT_NOTICE})
    events = watcher_for(quiet, state_file=str(state_file)).poll()
    assert {event["instance_id"] for event in events} == {"unknown"}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 404},
        {"kind": "body", "body": "{}"},
        {"kind": "body", "body": "[" * 5000 + "]" * 5000},
        {"kind": "body", "body": json.dumps([{"EventId": str(n), "State": "completed"} for n in range(101)])},
    ],
)
def test_a_failing_history_does_not_hide_the_scheduled_list_or_cost_a_token_per_poll(quiet, fault):
    """#6 and #7: scheduled maintenance is still announced; the token is kept while only one path fails."""
    kind = fault.pop("kind")
    quiet.add_fault(kind, path="/latest/meta-data/events/maintenance/history", **fault)
    watcher = watcher_for(quiet, unavailable_after=1)
    assert sorted(kinds_of(watcher.poll())) == ["imds_unavailable", "lifecycle_state"]
    quiet.schedule_maintenance(0, event_id="instance-event-0aaaaaaaaaaaaaaaa")
    quiet.reset_counters()
    events = [event for _poll in range(5) for event in watcher.poll()]
    assert kinds_of(events) == ["maintenance_scheduled"]
    assert quiet.counters["token_put"] == 0
    # Without the history, a disappearance is not decided: no end while the history cannot be read.
    quiet.set_metadata("events/maintenance/scheduled", {"$json": []})
    assert [event for _poll in range(MAINTENANCE_GONE_AFTER + 1) for event in watcher.poll()] == []


def entry_at(event_id, hours):
    start = datetime.now(timezone.utc) + timedelta(hours=hours)
    text = start.strftime("%d %b %Y %H:%M:%S GMT")
    return {"EventId": event_id, "Code": "system-reboot", "NotBefore": text, "NotAfter": text, "State": "active"}


@pytest.mark.parametrize("gap", range(1, MAINTENANCE_GONE_AFTER))
def test_a_maintenance_list_briefly_empty_is_not_a_cancellation(quiet, gap):
    """#8: an event missing for fewer than MAINTENANCE_GONE_AFTER successful polls has not ended."""
    entry = entry_at("instance-event-0c", 5)
    quiet.set_metadata("events/maintenance/scheduled", {"$json": [entry]})
    watcher = watcher_for(quiet)
    assert "maintenance_scheduled" in kinds_of(watcher.poll())
    quiet.set_metadata("events/maintenance/scheduled", {"$json": []})
    assert [event for _poll in range(gap) for event in watcher.poll()] == []
    quiet.set_metadata("events/maintenance/scheduled", {"$json": [entry]})
    assert [event for _poll in range(MAINTENANCE_GONE_AFTER + 1) for event in watcher.poll()] == []


def test_a_maintenance_event_that_returns_or_is_moved_back_is_announced_again(quiet):
    """#8: after its end an event that comes back is news, and so is its next end; A -> B -> A is announced."""
    first, moved = entry_at("instance-event-0d", 5), entry_at("instance-event-0d", 9)
    quiet.set_metadata("events/maintenance/scheduled", {"$json": [first]})
    watcher = watcher_for(quiet)
    watcher.poll()
    windows = []
    for entry in (moved, first):
        quiet.set_metadata("events/maintenance/scheduled", {"$json": [entry]})
        (event,) = watcher.poll()
        windows.append((event["kind"], event["not_before"]))
    assert windows == [("maintenance_scheduled", moved["NotBefore"]), ("maintenance_scheduled", first["NotBefore"])]
    for _round in range(2):
        quiet.set_metadata("events/maintenance/scheduled", {"$json": []})
        ended = [event for _poll in range(MAINTENANCE_GONE_AFTER) for event in watcher.poll()]
        assert kinds_of(ended) == ["maintenance_cancelled"]
        quiet.set_metadata("events/maintenance/scheduled", {"$json": [first]})
        assert kinds_of(watcher.poll()) == ["maintenance_scheduled"]


def test_a_history_entry_that_has_not_ended_is_not_a_schedule(quiet):
    watcher = watcher_for(quiet)
    watcher.poll()
    quiet.set_metadata("events/maintenance/history", {"$json": [entry_at("instance-event-0e", 5)]})
    assert watcher.poll() == []


@pytest.mark.parametrize("planted", ["symlink", "file"])
def test_the_state_file_is_written_through_a_new_unpredictable_temporary_file(quiet, tmp_path, planted):
    """#9: the old temporary name <state_file>.tmp<pid>, planted beforehand, is never written through."""
    import os

    victim = tmp_path / "victim"
    victim.write_text("precious")
    state_file = tmp_path / "state.json"
    old_name = tmp_path / f"state.json.tmp{os.getpid()}"
    if planted == "symlink":
        old_name.symlink_to(victim)
    else:
        old_name.write_text("planted")
    watcher_for(quiet, state_file=str(state_file)).poll()
    assert victim.read_text() == "precious"
    assert not state_file.is_symlink()
    assert json.loads(state_file.read_text())["version"] == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["victim", "state.json", old_name.name])
    assert (state_file.stat().st_mode & 0o077) == 0


@pytest.mark.parametrize("hours", [float("nan"), float("inf"), -1, 1e9, 87601])
def test_events_due_refuses_hours_it_cannot_use_naming_them(hours):
    """#12: an AnsibleFilterError naming the argument, never a raw ValueError or OverflowError."""
    from ansible.errors import AnsibleFilterError

    from ansible_collections.ec2meta.imds.plugins.filter.events_due import events_due

    with pytest.raises(AnsibleFilterError, match="hours must be"):
        events_due([], hours)


@pytest.mark.parametrize(
    "event",
    [{"kind": "lifecycle_state"}, {"kind": "spot_interruption", "starts_at": ["x"]}, {"kind": "unknown"}],
)
def test_events_due_counts_an_event_it_cannot_read_as_due(event):
    from ansible_collections.ec2meta.imds.plugins.filter.events_due import events_due

    assert events_due([event], 0) == [event]
