# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""What EC2 announces to an instance through IMDS, as events: one read of the notice paths, and the events that
a change between two reads makes.

Shared by the Event-Driven Ansible source (extensions/eda/plugins/event_source/imds_events.py), the playbook-side
``scheduled_events`` check and the benchmark, so an event document has one shape wherever it comes from.

Every answer is untrusted: each path is read with the client's caps (size, time), parsed by ``_json`` and checked
for the shape EC2 gives it; an answer of another shape is a failed read of that path, never an event. A 404 on a
notice path means "nothing announced"; on the maintenance lists (which EC2 always serves) it means "unknown this
poll", so a flapping 404 never turns into a cancelled maintenance.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ansible_collections.ec2meta.imds.plugins.module_utils._deadline_io import Deadline
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError, ImdsNotFound, bounded_message
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import (
    IDENTITY_DOCUMENT,
    LIFECYCLE_STATE_PATH,
    MAINTENANCE_HISTORY_PATH,
    MAINTENANCE_SCHEDULED_PATH,
    REBALANCE_PATH,
    SPOT_ACTION_PATH,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._json import RAISE, load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_LISTING_ENTRIES

SPOT_INTERRUPTION = "spot_interruption"
REBALANCE_RECOMMENDATION = "rebalance_recommendation"
MAINTENANCE_SCHEDULED = "maintenance_scheduled"
MAINTENANCE_CANCELLED = "maintenance_cancelled"
MAINTENANCE_COMPLETED = "maintenance_completed"
LIFECYCLE_STATE = "lifecycle_state"
IMDS_UNAVAILABLE = "imds_unavailable"
IMDS_RECOVERED = "imds_recovered"
MAINTENANCE_KINDS = (MAINTENANCE_SCHEDULED, MAINTENANCE_CANCELLED, MAINTENANCE_COMPLETED)
NOTICE_KINDS = (SPOT_INTERRUPTION, REBALANCE_RECOMMENDATION, *MAINTENANCE_KINDS, LIFECYCLE_STATE)
EVENT_KINDS = (*NOTICE_KINDS, IMDS_UNAVAILABLE, IMDS_RECOVERED)
# A maintenance entry's State and the event it makes; any other state is still scheduled.
ENDED_STATES = {
    "canceled": MAINTENANCE_CANCELLED,
    "cancelled": MAINTENANCE_CANCELLED,
    "completed": MAINTENANCE_COMPLETED,
}
# Lifecycle states are words joined by ':' (InService, Warmed:Pending:Wait); anything else is not one.
LIFECYCLE_WORDS = re.compile(r"^[A-Za-z]{1,40}(:[A-Za-z]{1,40}){0,3}$")
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,32}$")
# Every partition's names: eu-west-1, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1.
REGION = re.compile(r"^[a-z]{2,5}(-[a-z]+)+-\d{1,2}$")
# What an event says when the identity document could not be read: never another instance's id (a state file
# can come from the image's build instance), so a drain cannot act on the wrong instance.
UNKNOWN = "unknown"
# Dedupe keys remembered: the newest win. Enough for months of notices, so memory and the state file stay small.
MAX_SEEN_KEYS = 512
# Maintenance entries kept from one list; EC2 lists a handful.
MAX_MAINTENANCE_ENTRIES = min(100, MAX_LISTING_ENTRIES)
# With IMDSv1 allowed, a client that fell back asks for a token again after this long: one refused token PUT must
# not keep a source that runs for months on IMDSv1.
V1_RETRY_SECONDS = 300.0
STATE_VERSION = 1
# Successful polls a scheduled maintenance event must be missing from the list (without a history entry) before
# it is announced as ended: a list that is briefly empty is not a cancellation.
MAINTENANCE_GONE_AFTER = 3
# The failures after which the client (and its token) is replaced: a path that answers 404 or nonsense is no
# reason to ask for a new token every poll.
REBUILD_CLIENT_ON = frozenset(
    {"token_required", "token_unavailable", "unreachable", "timeout", "endpoint_disabled", "internal_error"}
)


class NoticeShapeError(ValueError):
    """An answer that is not in the shape EC2 gives this path."""


@dataclass(frozen=True)
class WatchedPath:
    """One notice path: the kinds it can make and how its answer is read."""

    path: str
    kinds: tuple
    parse: Callable[[bytes], Any]


def _json_document(body: bytes) -> Any:
    try:
        return load_json(body, invalid=RAISE)
    except ValueError as error:
        raise NoticeShapeError(f"not valid JSON ({error})") from None


def _text_field(document: dict, name: str, limit: int = 64) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise NoticeShapeError(f"no usable {name!r} field")
    return value.strip()


def parse_spot_action(body: bytes) -> dict:
    document = _json_document(body)
    if not isinstance(document, dict):
        raise NoticeShapeError("not a JSON object")
    _text_field(document, "action")
    _text_field(document, "time")
    return document


def parse_rebalance(body: bytes) -> dict:
    document = _json_document(body)
    if not isinstance(document, dict):
        raise NoticeShapeError("not a JSON object")
    _text_field(document, "noticeTime")
    return document


def parse_maintenance(body: bytes) -> list:
    document = _json_document(body)
    if not isinstance(document, list):
        raise NoticeShapeError("not a JSON list")
    if len(document) > MAX_MAINTENANCE_ENTRIES:
        raise NoticeShapeError(f"{len(document)} entries, over the cap of {MAX_MAINTENANCE_ENTRIES}")
    for entry in document:
        if not isinstance(entry, dict):
            raise NoticeShapeError("an entry that is not a JSON object")
        _text_field(entry, "EventId", 128)
    return document


def parse_lifecycle_state(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    if not LIFECYCLE_WORDS.match(text):
        raise NoticeShapeError("not a lifecycle state (words joined by ':', e.g. InService)")
    return text


# Read in this order: the most urgent first, so a slow answer on a later path cannot delay a Spot notice.
WATCHED_PATHS = (
    WatchedPath(SPOT_ACTION_PATH, (SPOT_INTERRUPTION,), parse_spot_action),
    WatchedPath(LIFECYCLE_STATE_PATH, (LIFECYCLE_STATE,), parse_lifecycle_state),
    WatchedPath(REBALANCE_PATH, (REBALANCE_RECOMMENDATION,), parse_rebalance),
    WatchedPath(MAINTENANCE_SCHEDULED_PATH, MAINTENANCE_KINDS, parse_maintenance),
    WatchedPath(MAINTENANCE_HISTORY_PATH, (MAINTENANCE_CANCELLED, MAINTENANCE_COMPLETED), parse_maintenance),
)
# A 404 here is "nothing announced"; on the maintenance lists, EC2 always answers, so a 404 is "unknown".
ABSENT_ON_404 = frozenset({SPOT_ACTION_PATH, REBALANCE_PATH, LIFECYCLE_STATE_PATH})
ABSENT = object()


def parse_time(text: Any) -> datetime | None:
    """An IMDS time: ISO 8601 (``2026-11-23T09:30:00Z``) or the maintenance form (``21 Jan 2019 09:00:43 GMT``)."""
    if not isinstance(text, str):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%d %b %Y %H:%M:%S GMT", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Identity:
    instance_id: str
    region: str
    known: bool = True


UNKNOWN_IDENTITY = Identity(UNKNOWN, UNKNOWN, known=False)


def read_identity(client: Any, deadline: Any = None) -> Identity:
    """The instance id and region from the identity document (one GET). NoticeShapeError if they are not there."""
    try:
        document = client.get_json(IDENTITY_DOCUMENT, deadline)
    except ValueError as error:
        raise NoticeShapeError(str(error)) from None
    if not isinstance(document, dict):
        raise NoticeShapeError("the identity document is not a JSON object")
    instance_id, region = document.get("instanceId"), document.get("region")
    if not (isinstance(instance_id, str) and INSTANCE_ID.match(instance_id)):
        raise NoticeShapeError("the identity document has no instanceId of the form i-0123456789abcdef0")
    if not (isinstance(region, str) and REGION.match(region)):
        raise NoticeShapeError("the identity document has no region of the form eu-west-1")
    return Identity(instance_id, region)


@dataclass
class Reading:
    """One read of the notice paths: each path's document (ABSENT on a 404 that means nothing), or why it failed."""

    documents: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)  # path -> (reason, message)

    def has(self, path: str) -> bool:
        return path in self.documents


def read_notices(client: Any, paths: tuple, deadline: Any = None) -> Reading:
    """One GET per path, each bounded by the client's caps and the shared ``deadline``; never raises ImdsError."""
    reading = Reading()
    for watched in paths:
        try:
            reading.documents[watched.path] = watched.parse(client.get(watched.path, deadline))
        except ImdsNotFound:
            if watched.path in ABSENT_ON_404:
                reading.documents[watched.path] = ABSENT
            else:
                reading.failures[watched.path] = ("not_found", f"IMDS answered 404 for {watched.path}")
        except ImdsError as error:
            reading.failures[watched.path] = (error.reason, str(error))
        except NoticeShapeError as error:
            reading.failures[watched.path] = ("bad_response", f"IMDS answered {watched.path} with {error}")
    return reading


def reading_from_tree(tree: dict, paths: tuple = WATCHED_PATHS) -> Reading:
    """The reading of a walked tree (the facts' crawl, keyed ``meta-data``/...): what ``read_notices`` would make
    of the same answers, so the facts and the source build the same event documents."""
    reading = Reading()
    for watched in paths:
        node: Any = tree
        for part in watched.path.split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            if watched.path in ABSENT_ON_404:
                reading.documents[watched.path] = ABSENT
            continue
        try:
            reading.documents[watched.path] = watched.parse(node.encode() if isinstance(node, str) else node)
        except (NoticeShapeError, AttributeError, TypeError) as error:
            reading.failures[watched.path] = ("bad_response", f"IMDS answered {watched.path} with {error}")
    return reading


def watched_paths(kinds: frozenset) -> tuple:
    """The paths that can make one of ``kinds``: a filter that leaves a kind out also leaves its GET out."""
    return tuple(watched for watched in WATCHED_PATHS if kinds & set(watched.kinds))


# ------------------------------------------------------------------------------------------ event documents
def make_event(kind: str, identity: Identity | None, path: str | None, document: Any, key: str, **fields: Any) -> dict:
    """One event document: the same keys for every kind, then the kind's own fields. Without the identity
    document, ``instance_id`` and ``region`` are ``unknown`` and ``identity_known`` is false."""
    identity = identity or UNKNOWN_IDENTITY
    return {
        "kind": kind,
        "instance_id": identity.instance_id,
        "region": identity.region,
        "identity_known": identity.known,
        "path": path,
        "document": document,
        "dedupe_key": f"{kind}:{identity.instance_id}:{key}",
        "detected_at": iso(datetime.now(timezone.utc)),
        **fields,
    }


def spot_event(identity: Identity, document: dict) -> dict:
    action, at = document["action"], document["time"]
    return make_event(SPOT_INTERRUPTION, identity, SPOT_ACTION_PATH, document, f"{action}:{at}", action=action, time=at)


def rebalance_event(identity: Identity, document: dict) -> dict:
    notice_time = document["noticeTime"]
    return make_event(
        REBALANCE_RECOMMENDATION, identity, REBALANCE_PATH, document, notice_time, notice_time=notice_time
    )


def maintenance_event(identity: Identity, entry: dict, path: str, kind: str | None = None) -> dict:
    """A maintenance entry's event: its State decides the kind unless ``kind`` says (an entry that disappeared)."""
    state = str(entry.get("State") or "")
    kind = kind or ENDED_STATES.get(state.lower(), MAINTENANCE_SCHEDULED)
    event_id = entry["EventId"]
    # A rescheduled event (new window) is news; a cancelled and a completed one share the key: one end per event.
    key = f"{event_id}:{entry.get('NotBefore')}:{entry.get('NotAfter')}" if kind == MAINTENANCE_SCHEDULED else event_id
    if kind != MAINTENANCE_SCHEDULED:
        key = f"ended:{key}"
    return make_event(
        kind,
        identity,
        path,
        entry,
        key,
        code=entry.get("Code"),
        event_id=event_id,
        description=entry.get("Description"),
        not_before=entry.get("NotBefore"),
        not_after=entry.get("NotAfter"),
        state=entry.get("State"),
    )


def lifecycle_event(identity: Identity, previous: str | None, state: str, transition: int) -> dict:
    return make_event(
        LIFECYCLE_STATE,
        identity,
        LIFECYCLE_STATE_PATH,
        state,
        f"{transition}:{previous}->{state}",
        previous=previous,
        state=state,
    )


def seen_key(dedupe_key: str) -> str:
    """What the watcher remembers of a dedupe key: without the instance id (a notice sent while the identity was
    unknown is not news once it is read; the state of another instance is dropped whole), and one end per
    maintenance event (cancelled and completed share it)."""
    parts = dedupe_key.split(":", 2)
    if len(parts) < 3:
        return dedupe_key
    kind = MAINTENANCE_CANCELLED if parts[0] == MAINTENANCE_COMPLETED else parts[0]
    return f"{kind}:*:{parts[2]}"


def unreadable_event(identity: Identity, path: str, reason: str, message: str) -> dict:
    """The playbook side's answer for a notice path it could not read: ``unknown``, which events_due counts as due."""
    return make_event(UNKNOWN, identity, path, None, path, reason=reason, message=message)


def announced(identity: Identity, reading: Reading, now: datetime | None = None) -> list:
    """The events of what one reading announces now (no history): the playbook-side answer. A path that could not
    be read is an ``unknown`` event (fail closed), never left out."""
    now = now or datetime.now(timezone.utc)
    events = [
        unreadable_event(identity, path, reason, message)
        for path, (reason, message) in reading.failures.items()
        if path != MAINTENANCE_HISTORY_PATH
    ]
    spot = reading.documents.get(SPOT_ACTION_PATH, ABSENT)
    if spot is not ABSENT:
        events.append(spot_event(identity, spot))
    rebalance = reading.documents.get(REBALANCE_PATH, ABSENT)
    if rebalance is not ABSENT:
        events.append(rebalance_event(identity, rebalance))
    for entry in reading.documents.get(MAINTENANCE_SCHEDULED_PATH) or []:
        event = maintenance_event(identity, entry, MAINTENANCE_SCHEDULED_PATH)
        if event["kind"] == MAINTENANCE_SCHEDULED:
            events.append(event)
    state = reading.documents.get(LIFECYCLE_STATE_PATH, ABSENT)
    if state is not ABSENT:
        events.append(lifecycle_event(identity, None, state, 0))
    for event in events:
        event["starts_at"] = event_start(event, now)
    return events


def event_start(event: dict, now: datetime) -> str | None:
    """When an announced event takes effect: the notice's time, the window's start; None when it has no time."""
    moment = {
        SPOT_INTERRUPTION: lambda: parse_time(event.get("time")),
        REBALANCE_RECOMMENDATION: lambda: parse_time(event.get("notice_time")),
        MAINTENANCE_SCHEDULED: lambda: parse_time(event.get("not_before")),
    }.get(event["kind"], lambda: None)()
    return iso(moment) if moment else None


def due_within(events: list, hours: float, now: datetime | None = None) -> list:
    """The events that take effect before ``now + hours`` (or already have), and every lifecycle state but
    InService; an event whose time cannot be read, and an ``unknown`` one, counts as due (fail closed)."""
    now = now or datetime.now(timezone.utc)
    horizon = now + timedelta(hours=hours)
    due = []
    for event in events:
        if event.get("kind") == LIFECYCLE_STATE:
            if event.get("state") != "InService":
                due.append(event)
            continue
        # An ``unknown`` event (a path that could not be read) has no time, so it is due.
        start = parse_time(event.get("starts_at"))
        if start is None or start <= horizon:
            due.append(event)
    return due


# ------------------------------------------------------------------------------------------ watching over time
@dataclass
class WatchState:
    """What the watcher remembers between polls, and between runs through the state file."""

    instance_id: str | None = None
    seen: list = field(default_factory=list)
    lifecycle: str | None = None
    lifecycle_transitions: int = 0
    scheduled: dict = field(default_factory=dict)  # EventId -> entry, from the last good read
    missing: dict = field(default_factory=dict)  # EventId -> successful polls in a row it was not listed
    history_read: bool = False
    unavailable: bool = False
    outages: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> WatchState:
        """A state from its JSON; anything not in the shape this code writes is a fresh state, and a damaged
        maintenance entry is dropped (its end may go unannounced; a wrong end would be worse)."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return cls()
        try:
            instance_id, lifecycle = data.get("instance_id"), data.get("lifecycle")
            scheduled = {
                key: entry
                for key, entry in dict(data.get("scheduled", {})).items()
                if isinstance(entry, dict) and isinstance(key, str) and entry.get("EventId") == key
            }
            state = cls(
                instance_id=instance_id if isinstance(instance_id, str) and INSTANCE_ID.match(instance_id) else None,
                seen=[seen_key(key) for key in data.get("seen", []) if isinstance(key, str)][-MAX_SEEN_KEYS:],
                lifecycle=lifecycle if isinstance(lifecycle, str) and LIFECYCLE_WORDS.match(lifecycle) else None,
                lifecycle_transitions=int(data.get("lifecycle_transitions", 0)),
                scheduled=scheduled,
                missing={
                    key: count
                    for key, count in dict(data.get("missing", {})).items()
                    if key in scheduled and isinstance(count, int) and not isinstance(count, bool)
                },
                history_read=bool(data.get("history_read")),
                unavailable=bool(data.get("unavailable")),
                outages=int(data.get("outages", 0)),
            )
        except (TypeError, ValueError, OverflowError):
            return cls()
        return state

    def to_dict(self) -> dict:
        return {"version": STATE_VERSION, **asdict(self)}


def load_state(path: str | None) -> WatchState:
    """The state in ``path``; a missing, unreadable or damaged file is a fresh start (events may repeat once)."""
    if not path:
        return WatchState()
    try:
        with open(path, "rb") as handle:
            data = handle.read(4 * 1024 * 1024)
        return WatchState.from_dict(load_json(data, invalid=None))
    except OSError:
        return WatchState()


def save_state(path: str, state: WatchState) -> None:
    """Write the state atomically: a crash mid-write leaves the old file, never half a file. The temporary file is
    new and unpredictable (mkstemp, O_EXCL) in the same directory, so a planted link is never written through."""
    directory, name = os.path.split(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(state.to_dict(), handle, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _window(entry: dict) -> tuple:
    return (entry.get("NotBefore"), entry.get("NotAfter"))


def _ended(entry: dict) -> bool:
    return str(entry.get("State") or "").lower() in ENDED_STATES


class EventWatcher:
    """Polls the notice paths and turns each change into one event. ``poll()`` never raises.

    ``client_factory`` builds an ImdsClient; after a poll with a token or transport failure (REBUILD_CLIENT_ON) the
    client is rebuilt, so a token the service refused or an IMDSv1 fallback is asked about again rather than kept
    for the life of the source; a path answering 404 or nonsense keeps the client and its token.
    """

    def __init__(
        self,
        client_factory: Callable[[], Any],
        kinds: frozenset = frozenset(EVENT_KINDS),
        state_file: str | None = None,
        unavailable_after: int = 3,
        poll_timeout: float = 5.0,
    ):
        self.client_factory = client_factory
        self.kinds = frozenset(kinds)
        self.paths = watched_paths(self.kinds)
        self.state_file = state_file
        self.state = load_state(state_file)
        self.unavailable_after = unavailable_after
        self.poll_timeout = poll_timeout
        self.client: Any = None
        self.identity: Identity | None = None
        self.failed_polls = 0
        self.outage_started: float | None = None
        self.polls = 0
        self.client_started = 0.0
        self.v1_retry_seconds = V1_RETRY_SECONDS

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def poll(self) -> list:
        """One poll: the events of what changed since the last, filtered by kind. Every failure becomes state."""
        self.polls += 1
        before = json.dumps(self.state.to_dict(), sort_keys=True)
        try:
            events, failures = self._poll_once()
        except Exception as error:  # a bug or an answer nothing foresaw: reported as an outage, polling goes on
            events, failures = (
                [],
                {"internal": ("internal_error", bounded_message(f"{type(error).__name__}: {error}", 300))},
            )
        # The change of availability first: a notice read in the poll that recovers comes after the recovery.
        events = self._availability(failures) + events
        on_v1 = getattr(self.client, "imds_version", None) == 1
        rebuild = any(reason in REBUILD_CLIENT_ON for reason, _message in failures.values())
        if rebuild or (on_v1 and time.monotonic() - self.client_started >= self.v1_retry_seconds):
            self.close()
        if self.state_file and json.dumps(self.state.to_dict(), sort_keys=True) != before:
            # A full disk must not stop the source; the next change tries again.
            with contextlib.suppress(OSError):
                save_state(self.state_file, self.state)
        return [event for event in events if event["kind"] in self.kinds]

    def _poll_once(self) -> tuple:
        if self.client is None:
            self.client = self.client_factory()
            self.client_started = time.monotonic()
        deadline = Deadline(self.poll_timeout)
        # The notices first: an identity document that is slow or unreadable must not delay or hide a notice.
        reading = read_notices(self.client, self.paths, deadline)
        failures = dict(reading.failures)
        if self.identity is None:
            try:
                self.identity = read_identity(self.client, deadline)
            except ImdsError as error:
                failures[IDENTITY_DOCUMENT] = (error.reason, str(error))
            except NoticeShapeError as error:
                failures[IDENTITY_DOCUMENT] = ("bad_response", f"IMDS answered {IDENTITY_DOCUMENT} with {error}")
            if self.identity is not None and self.state.instance_id not in (None, self.identity.instance_id):
                # Another instance's state (a file baked into an image): nothing in it is about this one but the
                # outage under way.
                self.state = WatchState(unavailable=self.state.unavailable, outages=self.state.outages)
            elif self.identity is None and self.state.instance_id is not None:
                # A state file that cannot be checked against this instance is not trusted: announcing again is
                # safer than staying silent about a notice another instance saw.
                self.state = WatchState(unavailable=self.state.unavailable, outages=self.state.outages)
            if self.identity is not None:
                self.state.instance_id = self.identity.instance_id
        return self._changes(reading), failures

    def _remember(self, event: dict) -> bool:
        """True when the event is news (its dedupe key was not seen); remembers it."""
        key = seen_key(event["dedupe_key"])
        if key in self.state.seen:
            return False
        self.state.seen.append(key)
        del self.state.seen[:-MAX_SEEN_KEYS]
        return True

    def _forget(self, event: dict) -> None:
        key = seen_key(event["dedupe_key"])
        if key in self.state.seen:
            self.state.seen.remove(key)

    def _changes(self, reading: Reading) -> list:
        identity = self.identity or UNKNOWN_IDENTITY
        candidates = []
        spot = reading.documents.get(SPOT_ACTION_PATH, ABSENT)
        if spot is not ABSENT:
            candidates.append(spot_event(identity, spot))
        rebalance = reading.documents.get(REBALANCE_PATH, ABSENT)
        if rebalance is not ABSENT:
            candidates.append(rebalance_event(identity, rebalance))
        events = [event for event in candidates if self._remember(event)]
        events += self._maintenance(reading, identity)
        events += [event for event in self._lifecycle(reading, identity) if self._remember(event)]
        return events

    def _maintenance(self, reading: Reading, identity: Identity) -> list:
        """News from the maintenance lists. A scheduled entry is news when it is not in the remembered list or its
        window changed (so an event that ends and comes back, or a reschedule back to an earlier window, is
        announced again); an end comes from the history, or from the event missing MAINTENANCE_GONE_AFTER
        successful polls in a row. Without the history this poll, new entries are still announced; ends wait."""
        if not reading.has(MAINTENANCE_SCHEDULED_PATH):
            return []
        state = self.state
        wants_ends = bool(self.kinds & {MAINTENANCE_CANCELLED, MAINTENANCE_COMPLETED})
        history_known = reading.has(MAINTENANCE_HISTORY_PATH)
        events, ends = [], []
        current = {}
        for entry in reading.documents[MAINTENANCE_SCHEDULED_PATH]:
            if _ended(entry):
                ends.append(maintenance_event(identity, entry, MAINTENANCE_SCHEDULED_PATH))
                continue
            current[entry["EventId"]] = entry
            known = state.scheduled.get(entry["EventId"])
            if known is None or _window(known) != _window(entry):
                event = maintenance_event(identity, entry, MAINTENANCE_SCHEDULED_PATH)
                # Back after an end: its next end is news again.
                self._forget(maintenance_event(identity, entry, MAINTENANCE_SCHEDULED_PATH, MAINTENANCE_CANCELLED))
                events.append(event)
        # A history entry is an end (never a schedule), and the live list wins over it.
        history = [
            entry
            for entry in reading.documents.get(MAINTENANCE_HISTORY_PATH) or []
            if _ended(entry) and entry["EventId"] not in current
        ]
        history_ends = [maintenance_event(identity, entry, MAINTENANCE_HISTORY_PATH) for entry in history]
        if history_known and wants_ends and not state.history_read:
            # The first history read is the past: remembered, not announced.
            for event in history_ends:
                self._remember(event)
            state.history_read = True
        ends += history_ends
        history_ids = {entry["EventId"] for entry in history}
        can_decide = history_known or not wants_ends
        now = datetime.now(timezone.utc)
        kept, missing = dict(current), {}
        for event_id, entry in state.scheduled.items():
            if event_id in current or event_id in history_ids:
                continue
            if not can_decide:
                kept[event_id] = entry
                missing[event_id] = state.missing.get(event_id, 0)
                continue
            count = state.missing.get(event_id, 0) + 1
            if count < MAINTENANCE_GONE_AFTER:
                kept[event_id], missing[event_id] = entry, count
                continue
            # Gone from the list for good and not in the history: over if its window has ended, else cancelled.
            ends_at = parse_time(entry.get("NotAfter"))
            kind = MAINTENANCE_COMPLETED if ends_at is not None and ends_at <= now else MAINTENANCE_CANCELLED
            ends.append(maintenance_event(identity, entry, MAINTENANCE_SCHEDULED_PATH, kind))
        state.scheduled, state.missing = kept, missing
        return events + [event for event in ends if self._remember(event)]

    def _lifecycle(self, reading: Reading, identity: Identity) -> list:
        state = reading.documents.get(LIFECYCLE_STATE_PATH, ABSENT)
        # A 404 (no Auto Scaling group, or a flapping answer) changes nothing: only a new state is news.
        if state is ABSENT or state == self.state.lifecycle:
            return []
        previous = self.state.lifecycle
        self.state.lifecycle = state
        self.state.lifecycle_transitions += 1
        return [lifecycle_event(identity, previous, state, self.state.lifecycle_transitions)]

    def _availability(self, failures: dict) -> list:
        """imds_unavailable after ``unavailable_after`` failed polls in a row, imds_recovered on the next good one:
        at most one event per change of state."""
        state = self.state
        if failures:
            self.failed_polls += 1
            if self.outage_started is None:
                self.outage_started = time.monotonic()
            if state.unavailable or self.failed_polls < self.unavailable_after:
                return []
            state.unavailable = True
            state.outages += 1
            reasons = sorted({reason for reason, _message in failures.values()})
            return [
                make_event(
                    IMDS_UNAVAILABLE,
                    self.identity,
                    None,
                    None,
                    str(state.outages),
                    reasons=reasons,
                    failures={path: message for path, (_reason, message) in failures.items()},
                    failed_polls=self.failed_polls,
                )
            ]
        self.failed_polls = 0
        started, self.outage_started = self.outage_started, None
        if not state.unavailable:
            return []
        state.unavailable = False
        return [
            make_event(
                IMDS_RECOVERED,
                self.identity,
                None,
                None,
                str(state.outages),
                outage_seconds=round(time.monotonic() - started, 1) if started is not None else None,
            )
        ]
