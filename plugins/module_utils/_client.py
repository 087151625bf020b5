# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The one IMDS client every module and the lookup use.

IMDSv2 first (a token from ``PUT /latest/api/token``, reused and refreshed), IMDSv1 only where allowed and only
on the signals the AWS SDKs fall back on. One ``requests.Session``: keep-alive, no redirects, no proxies from the
environment, so the token never leaves the endpoint. Every call has a deadline.
"""

from __future__ import annotations

import json
import random
import threading
import time
import traceback
from collections import Counter
from typing import Any
from urllib.parse import quote

from ansible_collections.ec2meta.imds.plugins.module_utils._config import ClientConfig
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsBadResponse,
    ImdsConfigError,
    ImdsEndpointDisabled,
    ImdsError,
    ImdsNotFound,
    ImdsServerError,
    ImdsThrottled,
    ImdsTimeout,
    ImdsTokenRequired,
    ImdsTokenUnavailable,
    ImdsUnreachable,
)

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

USER_AGENT = "ec2meta.imds/0.1.0"
TOKEN_PATH = "/latest/api/token"  # noqa: S105 - a path, not a secret
IDENTITY_DOCUMENT = "dynamic/instance-identity/document"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"  # noqa: S105 - a header name
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
# The token PUT answers the AWS SDKs treat as "IMDSv2 is not available here, use IMDSv1".
FALLBACK_STATUSES = (403, 404, 405)
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
BACKOFF_BASE = 0.1
# IMDS throttles by rate over about a second: after a 429 the pauses must add up to more than that window
# (three retries wait at least 0.75 * (0.25 + 0.5 + 1.0) = 1.3 s).
THROTTLE_BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0
# Characters left as they are in a path segment (RFC 3986 pchar): tag keys may contain ": @ + =".
SEGMENT_SAFE = "-._~!$&'()*+,;=:@"

HOP_LIMIT_FIX = (
    "This is what a too-low hop limit looks like from a container or another extra network hop: set "
    "http_put_response_hop_limit to 2 (ec2meta.imds.metadata_options, or "
    "aws ec2 modify-instance-metadata-options --instance-id <id> --http-put-response-hop-limit 2)"
)


def quote_path(path: str) -> str:
    """Percent-encode each segment of a metadata path; refuse paths that could leave /latest/."""
    if "://" in path or "\\" in path:
        raise ImdsConfigError(f"path {path!r} must be relative to /latest/, e.g. meta-data/instance-id.")
    segments = path.lstrip("/").split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ImdsConfigError(f"path {path!r} must not contain '.' or '..' segments.")
    return "/".join(quote(segment, safe=SEGMENT_SAFE) for segment in segments)


def not_found_error(path: str, url: str, fix: str = "") -> ImdsNotFound:
    """The 404 for ``path``; ``fix`` adds the caller's own way out (e.g. its ``default`` option)."""
    return ImdsNotFound(
        f"IMDS has no {path} on this instance (404). Check the path (it is relative to /latest/, e.g. "
        "meta-data/instance-id); iam/ exists only with an instance profile, tags/ only with "
        f"instance_metadata_tags=enabled, user-data only when it was set.{fix}",
        url=url,
        status=404,
    )


def backoff_pause(retry: int, throttled: bool) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2, ...): exponential, capped, with jitter.

    After a 429 the jitter stays in [0.75p, p], so the pauses still add up to more than IMDS's rate window.
    """
    base = THROTTLE_BACKOFF_BASE if throttled else BACKOFF_BASE
    pause = min(BACKOFF_CAP, base * 2 ** (retry - 1))
    low = 0.75 if throttled else 0.5
    return pause * random.uniform(low, 1.0)  # noqa: S311 - jitter, not cryptography


def new_session(config: ClientConfig) -> Any:
    """A requests session for IMDS: direct (no proxy, no .netrc), pooled for the crawl, no retries of its own."""
    session = requests.Session()
    # Never take HTTP(S)_PROXY, NO_PROXY or .netrc from the environment: IMDS traffic must go direct.
    session.trust_env = False
    session.proxies = {}
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "*/*"})
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=config.max_concurrency, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Deadline:
    """The time left for one whole call, shared by its retries and by a crawl's workers."""

    def __init__(self, seconds: float):
        self.expires = time.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        return self.expires - time.monotonic()


class ImdsClient:
    """Reads instance metadata. Thread-safe: the crawler shares one client (and session) between workers."""

    def __init__(self, config: ClientConfig, session: Any = None):
        if not HAS_REQUESTS:
            raise ImportError("the requests library is required by ec2meta.imds")
        self.config = config
        self._session = session or new_session(config)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        # After the first 429 this client sends one request at a time, and a throttled request keeps its turn
        # through its backoff. One worker backing off is useless while the crawl's other workers keep the rate
        # up, and with the turn kept, the last retry comes after IMDS's one-second window has emptied.
        self._throttled = False
        self._single_file = threading.Lock()
        # None until the first request decides; then 2 (token) or 1 (IMDSv1 fallback).
        self.imds_version: int | None = None
        self.fallback_reason: str | None = None
        self.stats: Counter = Counter()
        self.paths: Counter = Counter()

    def close(self) -> None:
        self._session.close()

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

    def get_optional(self, path: str, deadline: Deadline | None = None) -> bytes | None:
        """Like :meth:`get`, but None where the path does not exist."""
        try:
            return self.get(path, deadline)
        except ImdsNotFound:
            return None

    def get_json(self, path: str, deadline: Deadline | None = None) -> Any:
        body = self.get(path, deadline)
        try:
            return json.loads(body.decode("utf-8"))
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
        try:
            response = self._send("PUT", url, {TOKEN_TTL_HEADER: str(ttl)}, deadline, retry_read_timeout=False)
        except _ReadTimedOut:
            return self._fall_back(
                f"the token request (PUT {TOKEN_PATH}) got no answer within {self.config.timeout:g}s",
                hop_limit_hint=True,
            )
        status = response.status_code
        if status == 200:
            token = response.text.strip()
            if not token:
                raise ImdsBadResponse(f"IMDS answered the token request with an empty token ({url}).", url=url)
            answered_ttl = response.headers.get(TOKEN_TTL_HEADER, "")
            ttl = int(answered_ttl) if answered_ttl.isdigit() else ttl
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
        raise self._status_error(status, TOKEN_PATH, url, token_used=False)

    def _fall_back(self, why: str, status: int | None = None, hop_limit_hint: bool = False) -> None:
        url = self.config.endpoint + TOKEN_PATH
        if not self.config.allow_imdsv1:
            if hop_limit_hint:
                message = f"No IMDSv2 token: {why}, and IMDSv1 is not allowed. {HOP_LIMIT_FIX}."
            elif status == 403:
                message = (
                    f"No IMDSv2 token: {why}, and IMDSv1 is not allowed. A 403 means the metadata endpoint is "
                    "disabled (http_endpoint=disabled: enable it with ec2meta.imds.metadata_options "
                    "http_endpoint=enabled) or the request passed through a proxy that added X-Forwarded-For."
                )
            else:
                message = (
                    f"No IMDSv2 token: {why}, and IMDSv1 is not allowed (allow_imdsv1=false or "
                    "AWS_EC2_METADATA_V1_DISABLED=true). The endpoint does not look like EC2's IMDS: check the "
                    "endpoint option, or set allow_imdsv1=true for a service that only speaks IMDSv1."
                )
            raise ImdsTokenUnavailable(message, url=url, status=status)
        self.imds_version = 1
        self.fallback_reason = why + (f". {HOP_LIMIT_FIX}" if hop_limit_hint else "")
        return None

    # ------------------------------------------------------------------ requests
    def _url(self, path: str) -> str:
        return f"{self.config.endpoint}/latest/{path}"

    def _get(self, path: str, deadline: Deadline) -> bytes:
        url = self._url(path)
        token = self._token_for_request(deadline)
        response = self._send("GET", url, {TOKEN_HEADER: token} if token else {}, deadline)
        if response.status_code == 401 and token:
            # The token expired or the service restarted: one new token, one more try.
            with self._token_lock:
                if self._token == token:
                    self._token = None
            token = self._token_for_request(deadline)
            response = self._send("GET", url, {TOKEN_HEADER: token} if token else {}, deadline)
        with self._stats_lock:
            self.paths[path] += 1
        if response.status_code == 200:
            return response.content
        raise self._status_error(response.status_code, path, url, token_used=bool(token))

    def _status_error(self, status: int, path: str, url: str, token_used: bool) -> ImdsError:
        if 300 <= status < 400:
            return ImdsBadResponse(
                f"IMDS answered {path} with a {status} redirect: redirects are never followed, so the token cannot "
                "reach another host. Check that the endpoint option points at the metadata service itself.",
                url=url,
                status=status,
            )
        if status == 401:
            if token_used:
                return ImdsTokenRequired(
                    f"IMDS refused a fresh IMDSv2 token for {path} (401) twice. Something between this host and IMDS "
                    "alters requests, or the clock jumped; retry, and check for proxies on the path.",
                    url=url,
                    status=status,
                )
            cause = f" IMDSv1 was used because {self.fallback_reason}." if self.fallback_reason else ""
            return ImdsTokenRequired(
                f"IMDS answered 401 to a request without a token: this instance requires IMDSv2 "
                f"(http_tokens=required).{cause} Make the token request work (for containers, a hop limit of 2), "
                "or allow IMDSv1 on the instance with ec2meta.imds.metadata_options http_tokens=optional.",
                url=url,
                status=status,
            )
        if status == 403:
            return ImdsEndpointDisabled(
                f"IMDS answered 403 for {path}: the instance metadata endpoint is disabled (http_endpoint=disabled). "
                "Enable it with ec2meta.imds.metadata_options http_endpoint=enabled, or "
                "aws ec2 modify-instance-metadata-options --instance-id <id> --http-endpoint enabled.",
                url=url,
                status=status,
            )
        if status == 404:
            return not_found_error(path, url)
        if status == 429:
            return ImdsThrottled(
                f"IMDS kept throttling requests for {path} (429) after {self.config.retries} retries. Lower the "
                "request rate: fewer forks on one host, a smaller gather_subset, or more retries.",
                url=url,
                status=status,
            )
        if status >= 500:
            return ImdsServerError(
                f"IMDS answered {path} with {status} after {self.config.retries} retries: the service is having "
                "trouble. Retry later; raise retries or total_timeout for a transient fault.",
                url=url,
                status=status,
            )
        return ImdsBadResponse(f"IMDS answered {path} with an unexpected {status}.", url=url, status=status)

    def _send(self, method: str, url: str, headers: dict, deadline: Deadline, retry_read_timeout: bool = True) -> Any:
        """One HTTP exchange with retries on connection errors, 429 and 5xx, never past the deadline."""
        attempt = 0
        pause = 0.0
        retry_error: ImdsError | None = None
        holds_turn = False  # whether this call holds self._single_file
        try:
            while True:
                if self._throttled and not holds_turn:
                    if not self._single_file.acquire(timeout=max(0.0, deadline.remaining())):
                        raise self._deadline_error(url, deadline)
                    holds_turn = True
                if pause:
                    if pause >= deadline.remaining():
                        raise retry_error or self._deadline_error(url, deadline)
                    time.sleep(pause)
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise self._deadline_error(url, deadline)
                response, retry_error = self._exchange(
                    method, url, headers, min(self.config.timeout, remaining), retry_read_timeout, attempt
                )
                if response is not None and (
                    response.status_code not in RETRYABLE_STATUSES or attempt >= self.config.retries
                ):
                    return response
                if attempt >= self.config.retries:
                    raise retry_error  # type: ignore[misc]
                attempt += 1
                with self._stats_lock:
                    self.stats["retries"] += 1
                throttled = response is not None and response.status_code == 429
                self._throttled = self._throttled or throttled
                pause = backoff_pause(attempt, throttled)
        finally:
            if holds_turn:
                self._single_file.release()

    def _exchange(
        self, method: str, url: str, headers: dict, timeout: float, retry_read_timeout: bool, attempt: int
    ) -> tuple[Any, ImdsError | None]:
        """One attempt: the response, or None and the error to raise if no retry is left."""
        with self._stats_lock:
            self.stats["requests"] += 1
            if method == "PUT":
                self.stats["token_requests"] += 1
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=(timeout, timeout), allow_redirects=False
            )
            response.content  # noqa: B018 - read the body now so a cut-off body is caught here
        except requests.exceptions.ConnectTimeout:
            # Nothing answers at all: retrying a black hole only multiplies the wait.
            raise self._unreachable(url, f"no connection within {timeout:g}s") from None
        except requests.exceptions.ReadTimeout:
            if not retry_read_timeout:
                raise _ReadTimedOut() from None
            return None, ImdsTimeout(
                f"IMDS did not answer {url} within timeout={self.config.timeout:g}s, {attempt + 1} time(s). "
                "Raise timeout if this host is heavily loaded.",
                url=url,
            )
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            return None, ImdsBadResponse(
                f"IMDS closed the connection in the middle of the answer for {url} ({exc.__class__.__name__}). "
                "Retry; if it persists, check for something on the path cutting connections.",
                url=url,
            )
        except requests.exceptions.ConnectionError as exc:
            return None, self._unreachable(url, _describe_connection_error(exc))
        except requests.exceptions.RequestException as exc:
            raise ImdsConfigError(f"Could not send a request to {url}: {exc}. Check the endpoint option.") from None
        return response, None

    def _unreachable(self, url: str, detail: str) -> ImdsUnreachable:
        return ImdsUnreachable(
            f"Could not reach IMDS at {self.config.endpoint} ({detail}). This host is probably not an EC2 instance, "
            "or the endpoint option / AWS_EC2_METADATA_SERVICE_ENDPOINT points elsewhere, or a firewall (iptables, "
            "a container network) blocks 169.254.169.254.",
            url=url,
        )

    def _deadline_error(self, url: str, deadline: Deadline) -> ImdsTimeout:
        return ImdsTimeout(
            f"Gave up on {url} after total_timeout={deadline.seconds:g}s of retries. IMDS is slow or throttling; "
            "raise total_timeout, or make fewer requests at once.",
            url=url,
        )


class _ReadTimedOut(Exception):
    """The token PUT got no answer in time: the SDKs' signal to fall back to IMDSv1."""


def connection_error_kind(exc: Exception) -> str:
    """``refused``, ``reset`` (the peer closed or reset the connection) or ``other``, from a requests error."""
    text = str(exc).lower()
    if "refused" in text:
        return "refused"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "reset"
    return "other"


def _describe_connection_error(exc: Exception) -> str:
    kind = connection_error_kind(exc)
    if kind == "refused":
        return "connection refused"
    if kind == "reset":
        return "connection reset by the peer"
    return str(exc).split(": ", 1)[-1][:200]
