# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's timed announcements (schedule_metadata and the scenarios built on it), in-process and through
the control route."""

from __future__ import annotations

import json
import time

import requests

SPOT = "/latest/meta-data/spot/instance-action"


def _get(emulator, path: str) -> requests.Response:
    return requests.get(f"{emulator.url}{path}", timeout=2)


def test_a_change_appears_when_due_and_not_before(emulator):
    emulator.clear_announcements()
    due = emulator.schedule_spot_notice(0.6, action="stop")
    assert _get(emulator, SPOT).status_code == 404
    time.sleep(max(0.0, due - time.monotonic()) + 0.05)
    answer = _get(emulator, SPOT)
    assert answer.status_code == 200
    assert json.loads(answer.text)["action"] == "stop"


def test_maintenance_scheduled_then_cancelled_moves_to_history(emulator):
    emulator.clear_announcements()
    entry = emulator.schedule_maintenance(0, event_id="instance-event-1", cancel_after=0.3)
    scheduled = "/latest/meta-data/events/maintenance/scheduled"
    history = "/latest/meta-data/events/maintenance/history"
    assert [item["EventId"] for item in json.loads(_get(emulator, scheduled).text)] == [entry["EventId"]]
    time.sleep(0.4)
    assert json.loads(_get(emulator, scheduled).text) == []
    assert json.loads(_get(emulator, history).text) == [{**entry, "State": "canceled"}]


def test_schedule_control_route(emulator):
    emulator.clear_announcements()
    answer = requests.post(
        f"{emulator.url}/_emulator/schedule",
        json={"after": 0, "path": "autoscaling/target-lifecycle-state", "value": "Terminated"},
        timeout=2,
    )
    assert answer.status_code == 200
    assert answer.json()["due_in"] <= 0
    assert _get(emulator, "/latest/meta-data/autoscaling/target-lifecycle-state").text == "Terminated"
    assert requests.post(f"{emulator.url}/_emulator/schedule", json={"after": 1}, timeout=2).status_code == 400
