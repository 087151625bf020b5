# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ec2meta.imds.imds_events: an Event-Driven Ansible source for what EC2 announces to an instance through IMDS."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCUMENTATION = r"""
---
short_description: Events from what EC2 announces through IMDS (Spot, rebalance, maintenance, Auto Scaling)
description:
  - Polls the instance metadata service of the instance it runs on, over IMDSv2 (one token, renewed before it
    expires and when IMDS answers 401), and puts one event on the queue per change, never one per poll.
  - Kinds (O(kinds)) - V(spot_interruption) (C(action), C(time)), V(rebalance_recommendation) (C(notice_time)),
    V(maintenance_scheduled), V(maintenance_cancelled), V(maintenance_completed) (C(code), C(event_id),
    C(not_before), C(not_after), C(state); an end is read from the maintenance history, or from the event leaving
    the scheduled list), V(lifecycle_state) (C(previous), C(state); the first state seen has C(previous=null)),
    V(imds_unavailable) and V(imds_recovered).
  - Every event has C(kind), C(instance_id), C(region), C(identity_known), C(path), C(document) (the answer as
    IMDS gave it, parsed), C(dedupe_key) and C(detected_at).
  - C(instance_id) and C(region) come from the identity document. When it cannot be read, the notices are still
    read and sent, with C(instance_id) and C(region) V(unknown) and C(identity_known=false) (never an id from the
    state file, which may come from another instance); the failed read counts towards V(imds_unavailable) and the
    document is read again at each poll.
  - C(dedupe_key) is C(<kind>:<instance id>:<what makes it new>). With O(state_file) it stays the same for the
    same announcement across restarts. Without it, the lifecycle key (which counts transitions) and the
    availability keys (which count outages) start again from 1 at a restart.
  - An answer that is slow, too large, not in the shape EC2 gives that path, or a refused token never ends the
    source. After O(unavailable_after) failed polls in a row it sends one V(imds_unavailable) event (C(reasons),
    C(failures)), and one V(imds_recovered) event at the next good poll. Each poll takes at most O(poll_timeout)
    seconds, and each answer is capped at 64 KiB.
  - A 404 on the Spot, rebalance or lifecycle path means nothing is announced; a 404 on the maintenance lists
    (which EC2 always serves) leaves them as they were, so a flapping answer never reads as a cancellation.
  - A maintenance event that leaves the scheduled list without a history entry ends (V(maintenance_cancelled), or
    V(maintenance_completed) once its window is over) only when it is missing from 3 successful reads in a row.
    An event that comes back, or whose window changes (also back to an earlier one), is announced again.
    A history that cannot be read does not hold back new scheduled events; it only delays ends.
options:
  interval:
    description: Seconds between polls, from V(1) to V(3600). aws-node-termination-handler polls every 2 seconds
      too.
    type: float
    default: 2
  jitter:
    description: Each pause is O(interval) times a random factor between 1 - O(jitter) and 1 + O(jitter), so a
      fleet started together does not poll together. Between V(0) and V(0.5).
    type: float
    default: 0.1
  kinds:
    description: The kinds of events to send; a kind left out also leaves out the requests only it needs. At
      least one kind must be a notice (not only V(imds_unavailable) and V(imds_recovered)).
    type: list
    elements: str
    default: [spot_interruption, rebalance_recommendation, maintenance_scheduled, maintenance_cancelled,
              maintenance_completed, lifecycle_state, imds_unavailable, imds_recovered]
  state_file:
    description:
      - A file where the source keeps what it has announced (written atomically after each change), so a restart
        does not announce it again. Without it, a restart announces what is current once more.
      - A file written on another instance is ignored, and so is a file while the identity document cannot be
        read. A damaged entry in it is dropped.
      - It must be a regular file (or not exist yet) in an existing directory where the source can create files
        (it writes a new temporary file there and renames it); anything else stops the source before the first
        poll.
    type: path
  unavailable_after:
    description: Failed polls in a row before V(imds_unavailable) is sent.
    type: int
    default: 3
  poll_timeout:
    description: Seconds one poll (every request in it, retries included) may take at most; more than V(0), at
      most V(300).
    type: float
    default: 5
  endpoint:
    description: The IMDS endpoint, as for the modules (C(AWS_EC2_METADATA_SERVICE_ENDPOINT) when unset).
    type: str
  endpoint_mode:
    description: V(IPv4) or V(IPv6), as for the modules.
    type: str
  token_ttl:
    description: Lifetime of the IMDSv2 token in seconds (1 to 21600); the source asks for a new one shortly before.
    type: int
    default: 21600
  allow_imdsv1:
    description:
      - Whether to read without a token when IMDS refuses one with 403, 404 or 405, or never answers the token
        request. The default is V(false) here (the modules' default follows C(AWS_EC2_METADATA_V1_DISABLED)) - a
        source that runs for months should not fall back silently. After a fall back, it asks for a token again
        every 5 minutes.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for one answer; more than V(0), at most V(300).
    type: float
    default: 1
  retries:
    description: Retries of one request on a 429, a 5xx or a dropped connection, within O(poll_timeout); a whole
      number from V(0) to V(10).
    type: int
    default: 1
"""

EXAMPLES = r"""
- name: React to what EC2 announces to this instance
  hosts: localhost
  sources:
    - ec2meta.imds.imds_events:
        interval: 2
        state_file: /var/lib/ec2meta/imds_events.json
        kinds: [spot_interruption, lifecycle_state, maintenance_scheduled, imds_unavailable, imds_recovered]
  rules:
    - name: Drain on a Spot interruption notice
      condition: event.kind == "spot_interruption"
      action:
        run_playbook:
          name: ec2meta.imds.drain
"""


def _collections_root_on_path() -> None:
    """ansible-rulebook loads this file with runpy.run_path: the folder above ansible_collections/ is not on
    sys.path, so the collection's own module_utils could not be imported. Found from this file's place."""
    # Not resolve(): a collection linked into a collections path must be found where it is linked.
    here = Path(os.path.abspath(__file__))
    for parent in here.parents:
        if parent.name == "ansible_collections":
            root = str(parent.parent)
            if root not in sys.path:
                sys.path.insert(0, root)
            return


_collections_root_on_path()

# pylint: disable=wrong-import-position
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import (  # noqa: E402
    client_config_from_params,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.events import (  # noqa: E402
    EVENT_KINDS,
    NOTICE_KINDS,
    EventWatcher,
)

# pylint: enable=wrong-import-position

MIN_INTERVAL = 1.0
# An hour: a source that sleeps longer could never deliver a two-minute Spot notice, and a sleep of inf never ends.
MAX_INTERVAL = 3600.0
MAX_JITTER = 0.5
MAX_POLL_TIMEOUT = 300.0
CLIENT_OPTIONS = ("endpoint", "endpoint_mode", "token_ttl", "allow_imdsv1", "timeout", "retries")
DEFAULTS: dict = {
    "interval": 2.0,
    "jitter": 0.1,
    "kinds": list(EVENT_KINDS),
    "state_file": None,
    "unavailable_after": 3,
    "poll_timeout": 5.0,
    "endpoint": None,
    "endpoint_mode": None,
    "token_ttl": 21600,
    "allow_imdsv1": False,
    "timeout": 1.0,
    "retries": 1,
}


@dataclass(frozen=True)
class SourceSettings:
    interval: float
    jitter: float
    kinds: frozenset
    state_file: str | None
    unavailable_after: int
    poll_timeout: float
    client: dict

    @classmethod
    def from_args(cls, args: dict | None) -> SourceSettings:
        """The source's settings; ValueError naming the argument and the fix for anything it cannot use."""
        given = dict(args or {})
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"imds_events: unknown argument(s) {', '.join(unknown)}; use {', '.join(DEFAULTS)}.")
        values = {**DEFAULTS, **{name: value for name, value in given.items() if value is not None}}
        interval = _number(values, "interval")
        if interval < MIN_INTERVAL:
            raise ValueError(f"imds_events: interval={interval:g} is below the minimum of {MIN_INTERVAL:g} second.")
        if interval > MAX_INTERVAL:
            raise ValueError(f"imds_events: interval={interval:g} is above the maximum of {MAX_INTERVAL:g} seconds.")
        jitter = _number(values, "jitter")
        if not 0 <= jitter <= MAX_JITTER:
            raise ValueError(f"imds_events: jitter={jitter:g} must be between 0 and {MAX_JITTER:g}.")
        kinds = values["kinds"]
        if isinstance(kinds, str) or not isinstance(kinds, list) or not kinds:
            raise ValueError(f"imds_events: kinds must be a non-empty list of {', '.join(EVENT_KINDS)}.")
        wrong = [kind for kind in kinds if not isinstance(kind, str) or kind not in EVENT_KINDS]
        if wrong:
            raise ValueError(f"imds_events: kinds has {wrong!r}; choose from {', '.join(EVENT_KINDS)}.")
        if not set(kinds) & set(NOTICE_KINDS):
            # Only the availability kinds: the source would read no notice path, so it could never report anything.
            raise ValueError(
                f"imds_events: kinds must include at least one of {', '.join(NOTICE_KINDS)}; "
                "imds_unavailable and imds_recovered are about reading those."
            )
        unavailable_after = values["unavailable_after"]
        if isinstance(unavailable_after, bool) or not isinstance(unavailable_after, int) or unavailable_after < 1:
            raise ValueError("imds_events: unavailable_after must be a whole number of polls, 1 or more.")
        poll_timeout = _number(values, "poll_timeout")
        if not 0 < poll_timeout <= MAX_POLL_TIMEOUT:
            raise ValueError(
                f"imds_events: poll_timeout={poll_timeout:g} must be more than 0 and at most "
                f"{MAX_POLL_TIMEOUT:g} seconds."
            )
        for name in ("timeout", "token_ttl"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"imds_events: {name} must be a finite number, not {value!r}.")
        retries = values["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ValueError(f"imds_events: retries must be a whole number from 0 to 10, not {retries!r}.")
        if not isinstance(values["allow_imdsv1"], bool):
            raise ValueError("imds_events: allow_imdsv1 must be true or false.")
        client = {name: values[name] for name in CLIENT_OPTIONS}
        # Checked here, before the first poll: a wrong endpoint or token_ttl is a mistake to report, not an outage.
        try:
            client_config_from_params(**client)
        except ImdsError as error:
            raise ValueError(f"imds_events: {error}") from None
        state_file = _state_file(values["state_file"])
        return cls(
            interval,
            jitter,
            frozenset(kinds),
            state_file,
            unavailable_after,
            poll_timeout,
            client,
        )

    def pause(self) -> float:
        return self.interval * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 - jitter


def _number(values: dict, name: str) -> float:
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"imds_events: {name} must be a finite number, not {value!r}.")
    return float(value)


def _state_file(value: Any) -> str | None:
    """The state file: a regular file (or none yet) in an existing directory the source can create files in,
    tried once here so a file that can never be saved stops the source instead of replaying every restart."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"imds_events: state_file must be a file path (a string), not {value!r}.")
    path = os.path.abspath(os.path.expanduser(value))
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ValueError(f"imds_events: state_file={value!r} is in a directory that does not exist; create it.")
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ValueError(f"imds_events: state_file={value!r} exists and is not a regular file; name a file.")
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".imds_events.", suffix=".probe", dir=directory)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        raise ValueError(
            f"imds_events: state_file={value!r}: cannot create files in {directory} ({error.strerror}); "
            "name a file in a directory the source can write."
        ) from None
    return path


def new_watcher(settings: SourceSettings) -> EventWatcher:
    return EventWatcher(
        lambda: ImdsClient(client_config_from_params(**settings.client)),
        kinds=settings.kinds,
        state_file=settings.state_file,
        unavailable_after=settings.unavailable_after,
        poll_timeout=settings.poll_timeout,
    )


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Poll until cancelled. Only bad arguments raise (before the first poll); a poll never does."""
    settings = SourceSettings.from_args(args)
    watcher = new_watcher(settings)
    loop = asyncio.get_running_loop()
    try:
        while True:
            # The client blocks (requests): in a worker thread, so the rulebook's loop keeps running.
            events = await loop.run_in_executor(None, watcher.poll)
            for event in events:
                await queue.put(event)
            await asyncio.sleep(settings.pause())
    finally:
        watcher.close()


if __name__ == "__main__":
    # Try it on an instance (or against the emulator with endpoint=...): prints each event.

    class _PrintQueue:
        async def put(self, event: dict) -> None:
            print(event, flush=True)

    asyncio.run(main(_PrintQueue(), {"endpoint": sys.argv[1]} if len(sys.argv) > 1 else {}))
