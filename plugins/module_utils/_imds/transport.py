# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The one HTTP exchange layer under the client and the probe. Private to the collection: not a public API.

Every request goes through :meth:`Transport.send`, which guarantees, whatever the server does:

- time: every socket read waits at most ``min(timeout, time left)``, and no read starts after the deadline, so
  a call ends by ``total_timeout`` plus at most one scheduling slice (headers sent a byte at a time included);
- memory: the body is read in chunks up to a cap and never inflated (``Accept-Encoding: identity``; a compressed
  answer is a bad response); the status line and headers by ``MAX_HEADER_BYTES``, 1xx answers included;
- liveness: before the endpoint has answered once, connection failures are final and two silent timeouts are
  enough evidence that nothing is there; after it has answered, drops and refusals are transient (IMDS limits
  connections and packet rates) and are retried with backoff, one request at a time;
- no exception: every failure is an :class:`Answer` with a ``failure`` kind, never a requests exception.

The answer keeps the raw status, which the probe needs; the client turns it into data or a typed error.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._deadline_io import (
    Deadline,
    DeadlineResponse,
    HeadersTooLarge,
    ReadLimits,
    causes,
    send_with,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.config import ClientConfig
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_HEADER_BYTES

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
except ImportError:  # create_client / the lookup report the missing library first
    requests = None  # type: ignore[assignment]
    urllib3 = None  # type: ignore[assignment]

USER_AGENT = "ec2meta.imds/1.1.0"
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
BACKOFF_BASE = 0.1
# IMDS throttles by rate over about a second: after a 429 the pauses must add up to more than that window
# (three retries wait at least 0.75 * (0.25 + 0.5 + 1.0) = 1.3 s).
THROTTLE_BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0
CHUNK_BYTES = 16 * 1024
# Before the endpoint has answered once, this many timeouts without a byte mean nothing is there.
SILENT_TIMEOUTS_BEFORE_UNREACHABLE = 2

# Failure kinds an Answer carries. The first four are about the connection; the rest about what came back.
CONNECT_TIMEOUT = "connect_timeout"
REFUSED = "refused"
RESET = "reset"
READ_TIMEOUT = "read_timeout"
TOTAL_TIMEOUT = "total_timeout"
BAD_RESPONSE = "bad_response"
CUT_OFF = "cut_off"
INVALID_REQUEST = "invalid_request"
OTHER = "other"
CONNECTION_FAILURES = (CONNECT_TIMEOUT, REFUSED, RESET)


def header_int(value: Any, digits: int = 20) -> int | None:
    """A header's decimal value, or None. Only ASCII digits, at most ``digits`` of them: str.isdigit() also takes
    Latin-1 superscripts and int() refuses more than 4300 digits, either way a ValueError from a hostile answer."""
    text = str(value or "").strip()
    return int(text) if 0 < len(text) <= digits and text.isascii() and text.isdigit() else None


def backoff_pause(retry: int, throttled: bool) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2, ...): exponential, capped, with jitter.

    After a 429 the jitter stays in [0.75p, p], so the pauses still add up to more than IMDS's rate window.
    """
    base = THROTTLE_BACKOFF_BASE if throttled else BACKOFF_BASE
    pause = min(BACKOFF_CAP, base * 2 ** (retry - 1))
    low = 0.75 if throttled else 0.5
    return pause * random.uniform(low, 1.0)  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True)
class Answer:
    """One exchange's outcome: an HTTP status and body, or ``failure`` (a kind above) with a secret-free detail."""

    status: int | None
    elapsed_ms: float = 0.0
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    failure: str | None = None
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace").strip()


# The answer for a request the deadline left no time to send.
OUT_OF_TIME = Answer(None, failure=TOTAL_TIMEOUT, detail="total_timeout ran out")


if urllib3 is not None:

    class _HTTPConnection(urllib3.connection.HTTPConnection):
        response_class = DeadlineResponse

    class _HTTPSConnection(urllib3.connection.HTTPSConnection):
        response_class = DeadlineResponse

    class _HTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = _HTTPConnection

    class _HTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = _HTTPSConnection


def new_session(config: ClientConfig) -> Any:
    """A requests session for IMDS: direct (no proxy, no .netrc), pooled, deadline-aware, no retries of its own."""
    session = requests.Session()
    # Never take HTTP(S)_PROXY, NO_PROXY or .netrc from the environment: IMDS traffic must go direct.
    session.trust_env = False
    session.proxies = {}
    # IMDS never compresses; asking for identity means a compressed answer is an error, never a bomb to inflate.
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"})
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=config.max_concurrency, max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# ------------------------------------------------------------------------------------------ failure classification
def classify(error: BaseException, deadline: Deadline, answered: bool, timeout: float) -> tuple[str, str]:
    """``(kind, detail)`` for an exception from sending or reading; the detail never quotes headers or bodies."""
    found = causes(error)

    def has(*types: Any) -> bool:
        return any(isinstance(cause, types) for cause in found)

    timeout_types = (socket.timeout, urllib3.exceptions.TimeoutError, requests.exceptions.Timeout)
    if has(*timeout_types) and deadline.remaining() <= 0:
        return TOTAL_TIMEOUT, "total_timeout ran out"
    # Before the timeouts: urllib3's NewConnectionError (a refusal) is a subclass of ConnectTimeoutError.
    if has(ConnectionRefusedError) or "refused" in str(error).lower():
        return REFUSED, "connection refused"
    if has(urllib3.exceptions.ConnectTimeoutError, requests.exceptions.ConnectTimeout):
        return CONNECT_TIMEOUT, f"no connection within {timeout:g}s"
    if has(*timeout_types):
        if answered:
            return CUT_OFF, f"the answer stopped arriving for {timeout:g}s"
        return READ_TIMEOUT, f"no answer within {timeout:g}s"
    if has(http.client.RemoteDisconnected):
        return RESET, "the connection was closed without an answer"
    if has(http.client.IncompleteRead, urllib3.exceptions.IncompleteRead):
        return CUT_OFF, "the connection closed in the middle of the answer"
    if has(HeadersTooLarge):
        return BAD_RESPONSE, f"a status line and headers too long (over the cap of {MAX_HEADER_BYTES} bytes)"
    if has(http.client.LineTooLong):
        return BAD_RESPONSE, "a status or header line too long"
    # A ValueError once the answer is coming (a chunk size http.client cannot take) or urllib3's InvalidHeader
    # (conflicting Content-Length values) is the server's fault, not a request that could not be built.
    malformed = has(urllib3.exceptions.InvalidHeader) or (answered and has(ValueError))
    if malformed or has(
        http.client.HTTPException, urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError
    ):
        return BAD_RESPONSE, "not a valid HTTP answer (bad status line, headers or chunked encoding)"
    if has(ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
        return (CUT_OFF, "the connection was reset in the middle of the answer") if answered else (RESET, "reset")
    if has(requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError):
        # Never quote the exception: it holds the header value, which may be a token.
        return INVALID_REQUEST, "the request could not be built (a header or URL value is not valid HTTP)"
    if answered:
        return CUT_OFF, f"the answer broke off ({error.__class__.__name__})"
    return OTHER, error.__class__.__name__


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000.0, 1)


# ------------------------------------------------------------------------------------------ the transport
class Transport:
    """Sends requests for one client or probe run. Thread-safe: a crawl's workers share it."""

    def __init__(self, config: ClientConfig, session: Any = None):
        self.config = config
        self.session = session or new_session(config)
        # True once the endpoint has sent any HTTP answer in this run.
        self.alive = False
        self.silent_timeouts = 0
        self.throttled = False
        self.stats: Counter = Counter()
        self._lock = threading.Lock()
        # After a 429 or a dropped connection from a live endpoint, one request at a time: one worker backing off
        # is useless while the others keep the rate (or the connection count) up. A request that has the turn
        # keeps it through its backoff, so its last retry comes after IMDS's window has emptied.
        self.one_at_a_time = False
        self._turn = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        url: str,
        headers: dict,
        deadline: Deadline,
        limit: int,
        retry: bool = True,
        retry_read_timeout: bool = True,
    ) -> Answer:
        """One request and its retries (429/5xx; timeouts and drops once the endpoint is alive), within the deadline."""
        attempt = 0
        has_turn = False
        try:
            while True:
                if self.one_at_a_time and not has_turn:
                    if not self._turn.acquire(timeout=max(0.0, deadline.remaining())):
                        return OUT_OF_TIME
                    has_turn = True
                answer = self._attempt(method, url, headers, deadline, limit)
                if not (retry and attempt < self.config.retries and self._retryable(answer, retry_read_timeout)):
                    return answer
                attempt += 1
                throttled = answer.status == 429
                with self._lock:
                    self.stats["retries"] += 1
                    self.throttled = self.throttled or throttled
                    self.one_at_a_time = self.one_at_a_time or throttled or answer.failure in CONNECTION_FAILURES
                pause = backoff_pause(attempt, throttled)
                if pause >= deadline.remaining():
                    # A silent endpoint retried until total_timeout: the deadline, not "no answer N times", ends it.
                    return OUT_OF_TIME if answer.failure == READ_TIMEOUT else answer
                time.sleep(pause)
        finally:
            if has_turn:
                self._turn.release()

    def _retryable(self, answer: Answer, retry_read_timeout: bool) -> bool:
        if answer.status is not None:
            return answer.status in RETRYABLE_STATUSES
        if answer.failure == CUT_OFF:
            return True
        if answer.failure == READ_TIMEOUT:
            return retry_read_timeout and self.alive
        return answer.failure in CONNECTION_FAILURES and self.alive

    def _attempt(self, method: str, url: str, headers: dict, deadline: Deadline, limit: int) -> Answer:
        remaining = deadline.remaining()
        if remaining <= 0:
            return OUT_OF_TIME
        timeout = min(self.config.timeout, remaining)
        with self._lock:
            self.stats["requests"] += 1
            if method == "PUT":
                self.stats["token_requests"] += 1
        started = time.monotonic()
        send_with(ReadLimits(deadline, self.config.timeout))
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
            )
        except Exception as error:  # every requests/urllib3/socket failure becomes a kind; see classify
            return self._failed(error, deadline, started, timeout, answered=False)
        finally:
            send_with(None)
        self._mark_alive()
        try:
            body, problem = self._read_body(response, limit)
        except Exception as error:  # as above, while reading the body
            response.close()
            return self._failed(error, deadline, started, timeout, answered=True)
        if problem:
            response.close()
            return Answer(response.status_code, _since(started), failure=BAD_RESPONSE, detail=problem)
        return Answer(response.status_code, _since(started), body, dict(response.headers))

    def _read_body(self, response: Any, limit: int) -> tuple[bytes, str]:
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return b"", f"a compressed answer (Content-Encoding: {encoding[:40]}), which IMDS never sends"
        declared = header_int(response.headers.get("Content-Length"))
        if declared is not None and declared > limit:
            return b"", f"an answer of {declared} bytes, over the cap of {limit} bytes"
        chunks = []
        size = 0
        while True:
            chunk = response.raw.read(CHUNK_BYTES, decode_content=False)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                return b"", f"an answer over the cap of {limit} bytes"
            chunks.append(chunk)
        return b"".join(chunks), ""

    def _mark_alive(self) -> None:
        if not self.alive:
            with self._lock:
                self.alive = True

    def _failed(
        self, error: BaseException, deadline: Deadline, started: float, timeout: float, answered: bool
    ) -> Answer:
        kind, detail = classify(error, deadline, answered, timeout)
        if kind == READ_TIMEOUT:
            with self._lock:
                self.silent_timeouts += 1
        return Answer(None, _since(started), failure=kind, detail=detail)

    def no_service_at_endpoint(self) -> bool:
        """Whether the evidence says no service is at the endpoint (never answered, timed out twice)."""
        return not self.alive and self.silent_timeouts >= SILENT_TIMEOUTS_BEFORE_UNREACHABLE
