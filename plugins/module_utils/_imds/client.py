# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The one IMDS client every module and the lookup use.

IMDSv2 first (a token from ``PUT /latest/api/token``, reused and refreshed), IMDSv1 only where allowed and only
on the signals the AWS SDKs fall back on. One ``requests.Session``: keep-alive, no redirects, no proxies from the
environment, so the token never leaves the endpoint. Every exchange goes through ``transport``, which bounds
its time by ``total_timeout`` and its size by the caps in ``_limits``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from typing import Any
from urllib.parse import quote

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    HOP_LIMIT_FIX,
    ImdsBadResponse,
    ImdsConfigError,
    bad_response_error,
    deadline_error,
    read_timeout_error,
    status_error,
    token_unavailable_error,
    unreachable_error,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.config import MAX_TOKEN_TTL, ClientConfig
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import TOKEN_PATH
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.transport import (
    CONNECTION_FAILURES,
    INVALID_REQUEST,
    READ_TIMEOUT,
    TOTAL_TIMEOUT,
    Answer,
    Deadline,
    Transport,
    header_int,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._json import RAISE, load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import (
    MAX_BODY_BYTES,
    MAX_TOKEN_BYTES,
    MAX_USER_DATA_BYTES,
)

try:
    import requests  # noqa: F401 - only to know whether it is there  # pylint: disable=unused-import
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"  # noqa: S105 - a header name
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
# The token PUT answers the AWS SDKs treat as "IMDSv2 is not available here, use IMDSv1".
FALLBACK_STATUSES = (403, 404, 405)
# Characters left as they are in a path segment (RFC 3986 pchar): tag keys may contain ": @ + =".
SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
# What a token may contain to be sent back as a header: visible ASCII, no spaces, no CR/LF.
_TOKEN_CHARACTERS = frozenset(chr(code) for code in range(0x21, 0x7F))


def quote_path(path: str) -> str:
    """Percent-encode each segment of a metadata path; refuse paths that could leave /latest/."""
    if "://" in path or "\\" in path:
        raise ImdsConfigError(f"path {path!r} must be relative to /latest/, e.g. meta-data/instance-id.")
    segments = path.lstrip("/").split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ImdsConfigError(f"path {path!r} must not contain '.' or '..' segments.")
    return "/".join(quote(segment, safe=SEGMENT_SAFE) for segment in segments)


def usable_token(body: bytes) -> str | None:
    """The token in a PUT answer, or None when it is empty or could not be sent back as a header."""
    token = body.decode("ascii", errors="replace").strip()
    return token if token and set(token) <= _TOKEN_CHARACTERS else None


def body_limit(path: str) -> int:
    return MAX_USER_DATA_BYTES if path.strip("/") == "user-data" else MAX_BODY_BYTES


class ImdsClient:
    """Reads instance metadata. Thread-safe: the crawler shares one client (and its transport) between workers."""

    def __init__(self, config: ClientConfig, session: Any = None):
        if not HAS_REQUESTS:
            raise ImportError("the requests library is required by ec2meta.imds")
        self.config = config
        self.transport = Transport(config, session)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._paths_lock = threading.Lock()
        # None until the first request decides; then 2 (token) or 1 (IMDSv1 fallback).
        self.imds_version: int | None = None
        self.fallback_reason: str | None = None
        self.paths: Counter = Counter()

    @property
    def stats(self) -> Counter:
        """Requests, token requests and retries sent so far."""
        return self.transport.stats

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> ImdsClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ public calls
    def new_deadline(self) -> Deadline:
        return Deadline(self.config.total_timeout)

    def get(self, path: str, deadline: Deadline | None = None) -> bytes:
        """The body of ``/latest/<path>`` as bytes. Raises :class:`ImdsNotFound` on 404."""
        return self._get(quote_path(path), deadline or self.new_deadline())

    def get_text(self, path: str, deadline: Deadline | None = None) -> str:
        return self.get(path, deadline).decode("utf-8", errors="replace")

    def get_json(self, path: str, deadline: Deadline | None = None) -> Any:
        body = self.get(path, deadline)
        try:
            return load_json(body, invalid=RAISE)
        except ValueError:
            raise ImdsBadResponse(
                f"IMDS answered {path} with {len(body)} bytes that are not valid JSON: the service or something in "
                "between sent a damaged document. Retry; if it persists, check for a proxy or agent rewriting traffic.",
                url=self._url(path),
            ) from None

    # ------------------------------------------------------------------ token handling
    def _token_for_request(self, deadline: Deadline) -> str | None:
        if self.imds_version == 1:
            return None
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            if self.imds_version == 1:
                return None
            return self._fetch_token(deadline)

    def _refresh_margin(self, ttl: int) -> float:
        # Refresh a little before the service would reject the token, never more than a minute early.
        return min(60.0, ttl * 0.1)

    def _fetch_token(self, deadline: Deadline) -> str | None:
        ttl = self.config.token_ttl
        url = self.config.endpoint + TOKEN_PATH
        answer = self.transport.send(
            "PUT", url, {TOKEN_TTL_HEADER: str(ttl)}, deadline, MAX_TOKEN_BYTES, retry_read_timeout=False
        )
        if answer.failure == READ_TIMEOUT:
            return self._fall_back(
                f"the token request (PUT {TOKEN_PATH}) got no answer within {self.config.timeout:g}s",
                hop_limit_hint=True,
            )
        self._raise_failure(answer, url, deadline)
        status = answer.status
        if status == 200:
            token = usable_token(answer.body)
            if token is None:
                # Never quote it: a token is a secret even when it is malformed.
                raise bad_response_error(url, "a token that is empty or not visible ASCII", status)
            answered_ttl = header_int(answer.headers.get(TOKEN_TTL_HEADER))
            ttl = answered_ttl if answered_ttl and answered_ttl <= MAX_TOKEN_TTL else ttl
            self._token = token
            self._token_expires = time.monotonic() + ttl - self._refresh_margin(ttl)
            self.imds_version = 2
            return token
        if status in FALLBACK_STATUSES:
            return self._fall_back(f"the token request (PUT {TOKEN_PATH}) was answered {status}", status=status)
        if status == 400:
            raise ImdsBadResponse(
                f"IMDS rejected the token request as malformed (400) with token_ttl={ttl}. "
                "Use a token_ttl between 1 and 21600.",
                url=url,
                status=status,
            )
        raise status_error(status, TOKEN_PATH, url, False, self.config.retries)

    def _fall_back(self, why: str, status: int | None = None, hop_limit_hint: bool = False) -> None:
        if not self.config.allow_imdsv1:
            raise token_unavailable_error(why, self.config.endpoint + TOKEN_PATH, status, hop_limit_hint)
        self.imds_version = 1
        self.fallback_reason = why + (f". {HOP_LIMIT_FIX}" if hop_limit_hint else "")
        return None

    # ------------------------------------------------------------------ requests
    def _url(self, path: str) -> str:
        return f"{self.config.endpoint}/latest/{path}"

    def _get(self, path: str, deadline: Deadline) -> bytes:
        url = self._url(path)
        limit = body_limit(path)
        token = self._token_for_request(deadline)
        answer = self.transport.send("GET", url, {TOKEN_HEADER: token} if token else {}, deadline, limit)
        if answer.status == 401 and token:
            # The token expired or the service restarted: one new token, one more try.
            with self._token_lock:
                if self._token == token:
                    self._token = None
            token = self._token_for_request(deadline)
            answer = self.transport.send("GET", url, {TOKEN_HEADER: token} if token else {}, deadline, limit)
        with self._paths_lock:
            self.paths[path] += 1
        self._raise_failure(answer, url, deadline)
        if answer.status == 200:
            return answer.body
        raise status_error(answer.status, path, url, bool(token), self.config.retries, self.fallback_reason)

    def _raise_failure(self, answer: Answer, url: str, deadline: Deadline) -> None:
        """Raise the typed error for an exchange that got no usable HTTP answer."""
        failure = answer.failure
        if failure is None:
            return
        if failure == TOTAL_TIMEOUT:
            raise deadline_error(url, deadline.seconds)
        if failure == READ_TIMEOUT and self.transport.no_service_at_endpoint():
            raise unreachable_error(
                self.config.endpoint, url, "it takes connections but never answered, twice", answered_before=False
            )
        if failure == READ_TIMEOUT:
            raise read_timeout_error(url, self.config.timeout, self.config.retries + 1)
        if failure in CONNECTION_FAILURES:
            raise unreachable_error(self.config.endpoint, url, answer.detail, answered_before=self.transport.alive)
        if failure == INVALID_REQUEST:
            raise ImdsConfigError(
                f"Could not send a request to {url}: {answer.detail}. Check the endpoint option.", url=url
            )
        raise bad_response_error(url, answer.detail, answer.status)
