# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2's request throttling in front of moto: a token bucket per API action, answering RequestLimitExceeded.

EC2 throttles each account per region and API action with a token bucket: a request takes a token, the bucket
refills at a fixed rate up to its size, and a request that finds it empty gets HTTP 503 with the error code
RequestLimitExceeded in EC2's XML error document (AWS, "Request throttling for the Amazon EC2 API"). This proxy
does the same for the actions it is given buckets for, and forwards every other request, and every request that got
a token, to the upstream (moto) unchanged. It counts, per action, the requests it passed and throttled and when it
passed them, so a benchmark can measure a client's rate against the bucket instead of assuming it.

    python tests/emulator/throttling_ec2.py --upstream http://127.0.0.1:PORT \\
        --bucket ModifyInstanceMetadataOptions=50:5      # size:refill per second; prints {"url": ...}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs

from moto_link import check_loopback

THROTTLED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    "<Message>Request limit exceeded.</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
)
# The documented buckets the benchmarks use by default: (size, refill per second). Configurable per run, as an
# account's own limits can be raised.
MUTATING_BUCKET = (50, 5.0)
NON_MUTATING_BUCKET = (100, 20.0)


class TokenBucket:
    """``size`` tokens, ``refill`` more a second (fractions accrue), never more than ``size``; thread-safe."""

    def __init__(self, size: int, refill: float, clock: Callable[[], float] = time.monotonic):
        if size < 1 or refill <= 0:
            raise ValueError(f"a bucket needs a size of at least 1 and a positive refill, not {size}:{refill}")
        self.size, self.refill, self._clock = size, float(refill), clock
        self.tokens = float(size)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self.tokens = min(self.size, self.tokens + (now - self._last) * self.refill)
            self._last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def parse_bucket(text: str) -> tuple[str, int, float]:
    """``Action=size:refill`` -> (action, size, refill)."""
    action, _equals, numbers = text.partition("=")
    size, _colon, refill = numbers.partition(":")
    try:
        return action.strip(), int(size), float(refill)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a bucket is Action=size:refill, like Foo=50:5, not {text!r}") from None


def action_of(path: str, headers: Any, body: bytes) -> str:
    """The API action: the query protocol's Action member, a JSON protocol's X-Amz-Target, or the RPC path's tail."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if b"Action=" in body:
        return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    return path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class ThrottlingEc2:
    """The proxy on 127.0.0.1 (port 0); ``buckets`` maps an action to (size, refill per second)."""

    upstream: str
    buckets: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_loopback(self.upstream)
        self.upstream = self.upstream.rstrip("/")
        self._lock = threading.Lock()
        self._local = threading.local()
        self.reset()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self, buckets: dict | None = None) -> None:
        """Full buckets (of ``buckets`` when given) and zero counters."""
        with self._lock:
            if buckets is not None:
                self.buckets = dict(buckets)
            self._buckets = {action: TokenBucket(size, refill) for action, (size, refill) in self.buckets.items()}
            self.passed: Counter = Counter()
            self.throttled: Counter = Counter()
            self.passed_at: dict = {action: [] for action in self.buckets}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def admit(self, action: str) -> bool:
        bucket = self._buckets.get(action)
        allowed = bucket is None or bucket.take()
        with self._lock:
            if allowed:
                self.passed[action] += 1
                if action in self.passed_at:
                    self.passed_at[action].append(time.monotonic())
            else:
                self.throttled[action] += 1
        return allowed

    def rate(self, action: str, skip_burst: bool = True) -> float | None:
        """Requests a second that passed after the bucket's first ``size`` (the burst), None with too few."""
        times = self.passed_at.get(action) or []
        first = self.buckets[action][0] if skip_burst and action in self.buckets else 0
        after = times[first:]
        if len(after) < 2 or after[-1] <= after[0]:
            return None
        return (len(after) - 1) / (after[-1] - after[0])

    def _session(self) -> Any:
        import requests  # lazily: the module is importable without it, as the other stand-ins are

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _handler(self) -> type:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.admit(action_of(self.path, self.headers, body)):
                    headers = {key: value for key, value in self.headers.items() if key.lower() != "host"}
                    answer = proxy._session().post(proxy.upstream + self.path, data=body, headers=headers, timeout=60)
                    status, payload = answer.status_code, answer.content
                    content_type = answer.headers.get("Content-Type", "text/xml")
                else:
                    status, content_type = 503, "text/xml;charset=UTF-8"
                    payload = THROTTLED_XML.format(request_id=f"throttled-{time.monotonic_ns()}").encode()
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

        return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", required=True, help="moto's URL, on loopback")
    parser.add_argument("--bucket", type=parse_bucket, action="append", default=[], help="Action=size:refill")
    options = parser.parse_args()
    proxy = ThrottlingEc2(options.upstream, {action: (size, refill) for action, size, refill in options.bucket})
    print(json.dumps({"url": proxy.url}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
