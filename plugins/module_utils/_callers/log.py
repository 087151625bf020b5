# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Which program on a host calls IMDS, from the trace log of AWS's IMDS packet analyzer. Private to the collection.

The analyzer (https://github.com/aws/aws-imds-packet-analyzer, an eBPF tracer) writes one line per request to IMDS::

    [<time>] [<LEVEL>] [{MISSING PAYLOAD} ]<version> (pid:<pid>:<comm> argv:<argv>)[ called by -> (pid:...)
        [ -> (pid:...)[ -> (pid:...)]]][ Req details: <request line>, <header>, <header>...]

The forms it has written, all read here (the versions are its CHANGELOG's):

* 1.0.0: the time is ``2023-03-28T10:05:00`` (its logging.conf), no request details, the log is
  ``/var/log/imds-trace.log``; a parent entry could carry pid 0.
* 1.1.0 to 1.3.0: the time is ``2023-06-19 11:51:49,123`` (Python's default), the log is
  ``/var/log/imds/imds-trace.log`` rotated at 1 MiB into ``.1`` to ``.5``, and `` Req details:`` follows with the
  request's lines joined by ``, ``. Tokens in those details were written as sent.
* 1.4.0 and later: the whole message is lower-cased (``imdsv1(!)``, ``req details: get /latest/...``) and each
  ``x-aws-ec2-metadata-token: ...==`` is replaced by ``**token redacted**``. From 1.5.0 IMDSv2 lines are written
  too (before, only IMDSv1 and missing-payload lines reached the file).
* A process that ended before the analyzer read its ``/proc/<pid>/cmdline`` is ``(pid:<pid> Unable to get argv
  information)``: no name, no argv.
* ``{MISSING PAYLOAD}`` (level ERROR): the analyzer saw a request but not its bytes, so it could not tell the
  version and wrote ``IMDSv1(!)``; here that is version ``unknown``.

Every text taken from a line goes through :func:`scrub_tokens`; a line that does not parse is counted, never shown.
Reading is bounded by :class:`LogLimits`: bytes (inflated bytes for ``.gz``), lines, line length, distinct callers
and wall time, each counted as the bytes are read, inside a line too; every regex here is linear in the line's
length (``test_masking.py`` checks their shape). Only regular files are opened: a FIFO or a device is refused.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.gz import GzipLines
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.scrub import drop_cut_token, scrub_tokens
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._host_files import NotRegularFile, open_regular
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import readable

ANALYZER_URL = "https://github.com/aws/aws-imds-packet-analyzer"
DEFAULT_LOG_PATH = "/var/log/imds/imds-trace.log"
# The unit its activate-tracer-service.sh installs.
ANALYZER_SERVICE = "imds_tracer_tool.service"

# Python's RotatingFileHandler names imds-trace.log.1 (newest) to .5; logrotate adds a compression suffix, or with
# dateext names them imds-trace.log-20261201. Only .gz is read: the others are listed as skipped, never ignored.
_ROTATED = re.compile(r"(?:\.(\d{1,4})|-(\d{8}))(\.[A-Za-z0-9]{1,5})?\Z")
_UNREAD_COMPRESSIONS = (".xz", ".bz2", ".zst", ".lz4", ".lzma", ".lz", ".br", ".Z", ".zip", ".7z")


@dataclass(frozen=True)
class LogLimits:
    # The analyzer keeps 6 MiB of log by default; a hand-made logging.conf may keep far more.
    max_bytes: int = 512 * 1024 * 1024
    max_lines: int = 10_000_000
    # argv can be long (a JVM's class path); the request details are at most 31 KiB.
    max_line_bytes: int = 256 * 1024
    max_callers: int = 1000
    max_seconds: float = 60.0
    # logrotate and gzip write one member; concatenated files a few. Millions of empty members are an attack.
    max_gzip_members: int = 10_000
    # Tokens registered with no_log_values. Each adds about five forms, and Ansible's masking at exit costs forms
    # times strings, outside any budget; the texts are masked by shape whatever the count, so beyond this the
    # second net is not widened, and the summary says so.
    max_tokens: int = 100
    # Per caller: distinct pids, user agents, paths kept; and the length of one text (argv) in the result.
    max_values: int = 10
    max_text: int = 4096


class TokenSet(set):
    """The tokens taken out of the texts, for no_log_values: at most ``cap``; the others are counted in
    ``not_kept``, masked in the texts all the same."""

    def __init__(self, cap: int):
        super().__init__()
        self.cap = cap
        self.not_kept = 0

    def update(self, *others: Any) -> None:
        for other in others:
            for token in other:
                if token in self:
                    continue
                if len(self) < self.cap:
                    self.add(token)
                else:
                    self.not_kept += 1


@dataclass
class ChainEntry:
    pid: int
    name: str | None
    argv: str | None

    def as_dict(self) -> dict:
        return {"pid": self.pid, "name": self.name, "argv": self.argv}


@dataclass
class TraceLine:
    time: datetime
    version: str  # v1, v2, unknown
    missing_payload: bool
    chain: list  # of ChainEntry, the caller first
    method: str | None = None
    path: str | None = None
    user_agent: str | None = None


_PREFIX = re.compile(r"\[([0-9T:, .-]{19,32})\] \[([A-Z]{1,10})\] (.*)\Z", re.DOTALL)
_VERSION = re.compile(r"(\{MISSING PAYLOAD\} )?(IMDSv1\(!\)|IMDSv2) (?=\(pid:)", re.IGNORECASE)
_REQUEST = re.compile(r" req details: ", re.IGNORECASE)
_LINK = re.compile(r"\) (?:called by )?-> (?=\(pid:\d)", re.IGNORECASE)
_ENTRY = re.compile(
    r"\(pid:(\d{1,10})(?::(.{0,64}?) argv:(.*)| unable to get argv information)\)\Z", re.IGNORECASE | re.DOTALL
)
_HEADER_SPLIT = re.compile(r", (?=[A-Za-z0-9-]{1,64}: |\*\*token redacted\*\*)")
_REQUEST_LINE = re.compile(r"([A-Za-z]{3,7}) (\S{1,2048}) http/\d", re.IGNORECASE)
# 2023-03-28T10:05:00 (1.0.0's logging.conf) or 2023-06-19 11:51:49,123 (Python's default, 1.1.0 on).
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:,(\d{3}))?\Z")
MAX_CHAIN = 4


def parse_time(text: str) -> datetime | None:
    """The analyzer's time (the host's local time, as Python's logging writes it), made aware; None if not one."""
    match = _TIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, millis = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), int(millis or 0) * 1000)
        return moment.astimezone()
    except (ValueError, OverflowError, OSError):
        return None


def _clip(text: str, limits: LogLimits) -> str:
    return text if len(text) <= limits.max_text else text[: limits.max_text] + "..."


# The same argv comes back on every call of a program: scrub it once. Bounded; emptied when full.
_SCRUBBED: dict = {}
_SCRUBBED_MAX = 4096


def _scrubbed(text: str, limits: LogLimits, tokens: set) -> str:
    key = (text, limits.max_text)
    cached = _SCRUBBED.get(key)
    if cached is None:
        found: set = set()
        cached = (_clip(scrub_tokens(readable(text), found), limits), frozenset(found))
        if len(_SCRUBBED) >= _SCRUBBED_MAX:
            _SCRUBBED.clear()
        if len(text) <= limits.max_text:
            _SCRUBBED[key] = cached
    tokens.update(cached[1])
    return cached[0]


def _entry(text: str, limits: LogLimits, tokens: set) -> ChainEntry | None:
    match = _ENTRY.match(text)
    if not match:
        return None
    name, argv = match.group(2), match.group(3)
    return ChainEntry(
        pid=int(match.group(1)),
        name=None if name is None else _scrubbed(name, limits, tokens),
        argv=None if argv is None else _scrubbed(argv, limits, tokens),
    )


def _chain(text: str, limits: LogLimits, tokens: set) -> list | None:
    pieces = _LINK.split(text)
    if len(pieces) > MAX_CHAIN:  # an argv that itself holds ") -> (pid:": it belongs to the last entry
        kept = MAX_CHAIN - 1
        pieces = [*pieces[:kept], ") -> ".join(pieces[kept:])]
    entries = []
    for index, piece in enumerate(pieces):
        entry = _entry(piece if index == len(pieces) - 1 else piece + ")", limits, tokens)
        if entry is None:
            return None
        entries.append(entry)
    return entries


def _request(details: str, line: TraceLine, limits: LogLimits, tokens: set) -> None:
    parts = _HEADER_SPLIT.split(details)
    request = _REQUEST_LINE.match(parts[0])
    if request:
        line.method = request.group(1).upper()
        line.path = _scrubbed(request.group(2), limits, tokens)
    for part in parts[1:]:
        name, _sep, value = part.partition(": ")
        if name.lower() == "user-agent":
            line.user_agent = _scrubbed(value.rstrip(", "), limits, tokens)


def parse_line(
    text: str, limits: LogLimits = LogLimits(), tokens: set | None = None, cut: bool = False
) -> TraceLine | None:
    """One log line (without its newline) as a :class:`TraceLine`, or None when it is not an analyzer line.
    Tokens taken out of its texts are added to ``tokens``. A ``cut`` line (longer than the cap) loses its last
    run of token characters, which may be the start of a token."""
    tokens = set() if tokens is None else tokens
    prefix = _PREFIX.match(drop_cut_token(text) if cut else text)
    if not prefix:
        return None
    moment = parse_time(prefix.group(1))
    version = _VERSION.match(prefix.group(3))
    if moment is None or not version:
        return None
    after_version = version.end()
    message = prefix.group(3)[after_version:]
    request = _REQUEST.search(message)
    chain_text = message[: request.start()] if request else message
    chain_text = chain_text.rstrip()
    if not request and not chain_text.endswith(")"):  # cut short (a crash, a cap): its caller still counts
        chain_text += ")"
    chain = _chain(chain_text, limits, tokens)
    if not chain:
        return None
    missing = version.group(1) is not None
    level_version = "unknown" if missing else "v2" if version.group(2).lower() == "imdsv2" else "v1"
    line = TraceLine(time=moment, version=level_version, missing_payload=missing, chain=chain)
    if request:
        after_chain = request.end()
        _request(message[after_chain:], line, limits, tokens)
    return line


# ---------------------------------------------------------------------------------------------------------------
# Grouping


@dataclass
class Caller:
    line: TraceLine  # the latest occurrence
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    pids: list = field(default_factory=list)
    user_agents: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    log_files: list = field(default_factory=list)

    def add(self, line: TraceLine, log_file: str, limits: LogLimits) -> None:
        self.count += 1
        if self.first_seen is None or line.time < self.first_seen:
            self.first_seen = line.time
        if self.last_seen is None or line.time >= self.last_seen:
            self.last_seen = line.time
            self.line = line
        for values, value in (
            (self.pids, line.chain[0].pid),
            (self.user_agents, line.user_agent),
            (self.paths, line.path),
            (self.log_files, log_file),
        ):
            if value is not None and value not in values and len(values) < limits.max_values:
                values.append(value)

    def as_dict(self) -> dict:
        caller = self.line.chain[0]
        return {
            "imds_version": self.line.version,
            "missing_payload": self.line.missing_payload,
            "pid": caller.pid,
            "name": caller.name,
            "argv": caller.argv,
            "parents": [entry.as_dict() for entry in self.line.chain[1:]],
            "pids": sorted(self.pids),
            "user_agents": self.user_agents,
            "paths": self.paths,
            "method": self.line.method,
            "count": self.count,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "log_files": self.log_files,
        }


def caller_key(line: TraceLine) -> tuple:
    """A calling program: its version, its name and argv, and the names of its parents. Pids change with every
    run of a cron job, so they are not part of it."""
    caller = line.chain[0]
    return (line.version, caller.name, caller.argv, tuple(entry.name for entry in line.chain[1:]))


_VERSION_ORDER = {"v1": 0, "unknown": 1, "v2": 2}


# ---------------------------------------------------------------------------------------------------------------
# Reading


def log_files(log_path: str) -> list:
    """The log and its rotated siblings, newest first: ``imds-trace.log``, ``.1``, ``.2``... then ``-YYYYMMDD``,
    each compressed or not."""
    directory, base = os.path.split(log_path)
    rotated = []
    try:
        names = os.listdir(directory or ".")
    except OSError:
        names = []
    after_base = len(base)
    for name in names:
        if name.startswith(base):
            match = _ROTATED.match(name[after_base:])
            number, day, suffix = match.groups() if match else (None, None, None)
            if match and suffix in (None, ".gz", *_UNREAD_COMPRESSIONS):
                rotated.append((0, int(number), name) if number else (1, -int(day), name))
    return [log_path] + [os.path.join(directory, name) for _kind, _order, name in sorted(rotated)]


@contextmanager
def _open(path: str, budget: _Budget) -> Iterator[Any]:
    """The file's bytes, inflated for ``.gz`` (its compressed bytes counted too); only a regular file is opened
    (no FIFO, device or socket)."""
    with open_regular(path) as stream:
        yield GzipLines(stream, budget.compressed, budget.limits.max_gzip_members) if path.endswith(".gz") else stream


@dataclass
class _Budget:
    """Bytes are counted as they are read (inflated bytes for a ``.gz`` file) and the clock is read with each
    piece, so no line, however long, and no compressed stream, however well it packs, outruns a limit."""

    limits: LogLimits
    deadline: float
    bytes_read: int = 0
    compressed_read: int = 0
    lines: int = 0
    stopped: str | None = None

    def compressed(self, size: int) -> bool:
        """Count ``size`` compressed bytes just read from a ``.gz`` file, against the same cap; False once a limit
        is reached. Zero padding, a long header or empty members inflate to nothing: they are counted here."""
        if self.stopped is None:
            if self.compressed_read + size > self.limits.max_bytes:
                self.stopped = "max_bytes"
            elif time.monotonic() > self.deadline:
                self.stopped = "max_seconds"
            else:
                self.compressed_read += size
        return self.stopped is None

    def read(self, size: int) -> bool:
        """Count ``size`` bytes just read; False once a limit is reached (``stopped`` says which)."""
        if self.stopped is None:
            if self.bytes_read + size > self.limits.max_bytes:
                self.stopped = "max_bytes"
            elif time.monotonic() > self.deadline:
                self.stopped = "max_seconds"
            else:
                self.bytes_read += size
        return self.stopped is None

    def line(self) -> bool:
        """Count one line; False once max_lines lines were read."""
        if self.stopped is None and self.lines >= self.limits.max_lines:
            self.stopped = "max_lines"
        self.lines += self.stopped is None
        return self.stopped is None


def _lines(stream: Any, budget: _Budget) -> Iterator[tuple]:
    """(text, cut) per line, each at most max_line_bytes; the rest of a longer line is read, counted and dropped,
    a bounded piece at a time."""
    limit = budget.limits.max_line_bytes
    while True:
        raw = stream.readline(limit)
        if not raw or not budget.read(len(raw)):
            return
        cut = len(raw) == limit and not raw.endswith(b"\n")
        while cut:
            rest = stream.readline(limit)
            if not budget.read(len(rest)):
                return
            if not rest or rest.endswith(b"\n"):
                break
        if not budget.line():
            return
        yield raw.rstrip(b"\r\n").decode("utf-8", "replace"), cut


@dataclass
class _Grouping:
    """The callers found so far, the tokens taken out of their texts, and how many lines of each kind were seen."""

    limits: LogLimits
    since: datetime | None
    only_v1: bool
    callers: dict = field(default_factory=dict)
    tokens: TokenSet = field(init=False)
    counts: dict = field(
        default_factory=lambda: {
            "parsed": 0,
            "unparsed": 0,
            "cut": 0,
            "before_since": 0,
            "callers_dropped": 0,
            "v2_skipped": 0,
        }
    )

    def __post_init__(self) -> None:
        self.tokens = TokenSet(self.limits.max_tokens)

    def take(self, text: str, cut: bool, log_file: str) -> None:
        """Count one line and add it to its caller, unless it is filtered out or the callers are full."""
        counts = self.counts
        counts["cut"] += cut
        line = parse_line(text, self.limits, self.tokens, cut)
        if line is None:
            counts["unparsed"] += 1
            return
        counts["parsed"] += 1
        if self.since is not None and line.time < self.since:
            counts["before_since"] += 1
            return
        if self.only_v1 and line.version == "v2":
            counts["v2_skipped"] += 1
            return
        key = caller_key(line)
        caller = self.callers.get(key)
        if caller is None:
            if len(self.callers) >= self.limits.max_callers:
                counts["callers_dropped"] += 1
                return
            caller = self.callers[key] = Caller(line=line)
        caller.add(line, log_file, self.limits)


def _read_file(path: str, budget: _Budget, grouping: _Grouping) -> dict:
    """Read one log file into ``grouping``; its entry of the summary's ``files``, with the error that stopped it."""
    # The path is log_path's, or a sibling's whose suffix the rotation pattern allows: the user's own option, which
    # Ansible echoes in module_args anyway, not text from the host, so it is not masked (a directory such as
    # attack28logs/ looked like a token part and came back as <token redacted>).
    entry: dict = {"path": path, "bytes_read": 0, "error": None}
    start = budget.bytes_read
    compression = next((suffix for suffix in _UNREAD_COMPRESSIONS if path.endswith(suffix)), None)
    if compression:
        entry["error"] = f"skipped: compressed with {compression[1:]}, which is not read; decompress it to read it"
        return entry
    try:
        with _open(path, budget) as stream:
            for text, cut in _lines(stream, budget):
                grouping.take(text, cut, entry["path"])
            if isinstance(stream, GzipLines):
                budget.stopped = budget.stopped or stream.stopped
                entry["error"] = stream.trailing
    except FileNotFoundError:
        entry["error"] = "not found"
    except NotRegularFile as error:
        entry["error"] = f"unreadable: {error}; only a regular file is read"
    except PermissionError:
        entry["error"] = "permission denied: the analyzer's log is readable by root only; use become: true"
    except (OSError, EOFError, zlib.error) as error:
        entry["error"] = scrub_tokens(f"unreadable: {error.__class__.__name__}: {error}"[:300])
    entry["bytes_read"] = budget.bytes_read - start
    return entry


def _summary(log_path: str, files: list, budget: _Budget, counts: dict, tokens: TokenSet) -> dict:
    # A missing rotated file is no news: only the log itself is reported as not found.
    found = [entry for entry in files if entry["error"] != "not found" or entry["path"] == log_path]
    read_ok = any(entry["error"] is None for entry in found)
    return {
        "path": log_path,
        "found": read_ok,
        "files": found,
        "bytes_read": budget.bytes_read,
        "compressed_bytes_read": budget.compressed_read,
        "lines_read": budget.lines,
        "lines_parsed": counts["parsed"],
        "lines_unparsed": counts["unparsed"],
        "lines_cut": counts["cut"],
        "lines_before_since": counts["before_since"],
        "lines_v2_skipped": counts["v2_skipped"],
        "callers_dropped": counts["callers_dropped"],
        "tokens_cap_reached": tokens.not_kept > 0,
        "stopped": budget.stopped or ("max_callers" if counts["callers_dropped"] else None),
        "complete": all(
            (
                read_ok,
                not budget.stopped,
                not counts["callers_dropped"],
                all(entry["error"] is None for entry in found),
            )
        ),
    }


def read_callers(
    log_path: str = DEFAULT_LOG_PATH,
    since: datetime | None = None,
    only_v1: bool = False,
    limits: LogLimits = LogLimits(),
) -> tuple:
    """(callers, summary, tokens): the callers found in the log and its rotated files, the v1 ones first, then by
    count; a summary of what was read (``complete`` false when a file could not be read or a limit stopped it);
    and the tokens taken out of the texts (for no_log_values)."""
    budget = _Budget(limits=limits, deadline=time.monotonic() + limits.max_seconds)
    grouping = _Grouping(limits=limits, since=since, only_v1=only_v1)
    files = []
    for path in log_files(log_path):
        files.append(_read_file(path, budget, grouping))
        if budget.stopped:
            break
    ordered = sorted(
        grouping.callers.values(), key=lambda c: (_VERSION_ORDER[c.line.version], -c.count, str(c.line.chain[0]))
    )
    summary = _summary(log_path, files, budget, grouping.counts, grouping.tokens)
    return [caller.as_dict() for caller in ordered], summary, grouping.tokens


def parse_since(value: Any) -> datetime | None:
    """The ``since`` option: an ISO 8601 time (``2026-11-20T15:00:00Z``); without a zone it is the host's local
    time, as the analyzer's own times are."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        # Year 1 east of UTC or year 9999 west of it has no UTC time: OverflowError.
        return moment.astimezone() if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ImdsConfigError(
            f"since must be an ISO 8601 time like 2026-11-20T15:00:00Z between the years 1 and 9999 in UTC, "
            f"not {str(value)[:64]!r}"
        ) from None


def check_limits(limits: LogLimits) -> None:
    for name in ("max_bytes", "max_seconds"):
        value = getattr(limits, name)
        if value <= 0:
            option = {"max_bytes": "max_log_bytes", "max_seconds": "time_budget"}[name]
            raise ImdsConfigError(f"{option} must be greater than 0, not {value}")
