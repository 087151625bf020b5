# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Socket reads bounded by a deadline and by byte caps, for both HTTP stacks of the collection (IMDS through
requests, the AWS APIs through botocore). Private to the collection: not a public API.

A per-read socket timeout does not bound a call: a server that sends one byte just before each timeout keeps it
alive for ever. So http.client's response reads through :class:`DeadlineReader`, which gives every socket read
``min(timeout, time left)``, reads nothing after the deadline, and counts the status line and headers against
``MAX_HEADER_BYTES`` and the body against an optional cap. Whoever sends a request puts its limits on the
thread-local :data:`sending` (:func:`send_with`); the response object picks them up as it is created, inside
urllib3, where no argument can reach it.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_HEADER_BYTES


class Deadline:
    """The time left for one whole call, shared by its retries and pages (and by a crawl's workers)."""

    def __init__(self, seconds: float):
        self.expires = time.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        return self.expires - time.monotonic()


@dataclass(frozen=True)
class ReadLimits:
    deadline: Deadline
    timeout: float  # the most one socket read may wait
    body_cap: int | None = None  # None: the caller caps the body itself (the IMDS transport does)


# The limits of the request being sent on this thread.
sending = threading.local()


def send_with(limits: ReadLimits | None) -> None:
    sending.limits = limits


class DeadlineExpired(socket.timeout):
    """A read was due after the deadline."""


class HeadersTooLarge(http.client.HTTPException):
    """The status line and headers (1xx answers included) ran past MAX_HEADER_BYTES."""


class BodyTooLarge(http.client.HTTPException):
    """The body ran past the cap its sender set."""


class DeadlineReader(io.RawIOBase):
    """The socket reader under http.client's response."""

    def __init__(self, raw: Any, sock: Any, limits: ReadLimits):
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._limits = limits
        # Bytes the status line and headers may still take; None once they are read.
        self.header_budget: int | None = MAX_HEADER_BYTES
        self.body_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Any:
        remaining = self._limits.deadline.remaining()
        if remaining <= 0:
            raise DeadlineExpired("the deadline ran out while reading")
        self._sock.settimeout(min(self._limits.timeout, remaining))
        try:
            return self._read(buffer)
        except socket.timeout:
            if self._limits.deadline.remaining() <= 0:
                raise DeadlineExpired("the deadline ran out while reading") from None
            raise

    def _read(self, buffer: Any) -> Any:
        if self.header_budget is None:
            count = self._raw.readinto(buffer)
            self.body_read += count or 0
            cap = self._limits.body_cap
            if cap is not None and self.body_read > cap:
                raise BodyTooLarge(f"an answer over {cap} bytes")
            return count
        if self.header_budget <= 0:
            raise HeadersTooLarge(f"headers over {MAX_HEADER_BYTES} bytes")
        count = self._raw.readinto(memoryview(buffer)[: self.header_budget])
        self.header_budget -= count or 0
        return count

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: Any, *args: Any, **kwargs: Any):
        super().__init__(sock, *args, **kwargs)
        self._reader: DeadlineReader | None = None
        limits = getattr(sending, "limits", None)
        if limits is not None:
            # detach() hands over the socket reader without closing it; nothing is buffered yet.
            self._reader = DeadlineReader(self.fp.detach(), sock, limits)
            self.fp = io.BufferedReader(self._reader)

    def begin(self) -> None:
        super().begin()
        if self._reader is not None:
            self._reader.header_budget = None


def causes(error: BaseException) -> list:
    """The exception and what it wraps (requests, urllib3 and botocore nest them in args, reason, __cause__ and
    __context__)."""
    seen: list = []
    pending = [error]
    while pending and len(seen) < 20:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend(item for item in getattr(current, "args", ()) if isinstance(item, BaseException))
        for attribute in ("reason", "__cause__", "__context__", "error"):
            value = getattr(current, attribute, None)
            if isinstance(value, BaseException):
                pending.append(value)
    return seen
