# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults of a hostile or broken server, for the emulator's fault list: each writes the whole (mis)answer itself.

A table, not branches: ``HOSTILE_FAULTS[kind](handler, params, payload)`` where ``payload`` is what the emulator
would have answered. Every fault stops once the client has gone, or after ``HOLD_SECONDS`` at the latest, so a
test's emulator never keeps a thread busy for long.

    emulator.add_fault("slow_body", path="/latest/meta-data/instance-id", interval=0.5)
"""

from __future__ import annotations

import gzip
import socket
import struct
import time
from typing import Any, Callable

HOLD_SECONDS = 30.0


def _alive_until(seconds: float) -> Callable[[], bool]:
    ends = time.monotonic() + min(seconds, HOLD_SECONDS)
    return lambda: time.monotonic() < ends


def _write(handler: Any, data: bytes) -> bool:
    """Send bytes; False once the client has closed the connection."""
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
        return True
    except OSError:
        return False


def _head(status: int, headers: dict) -> bytes:
    lines = [f"HTTP/1.1 {status} OK"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def slow_body(handler: Any, params: dict, payload: bytes) -> None:
    """Headers at once, then one byte every ``interval`` seconds of a ``length``-byte body."""
    length, interval = int(params.get("length", 100_000)), float(params.get("interval", 0.5))
    if not _write(handler, _head(200, {"Content-Length": length, "Content-Type": "text/plain"})):
        return
    alive = _alive_until(length * interval)
    while alive() and _write(handler, b"a"):
        time.sleep(interval)


def slow_headers(handler: Any, params: dict, payload: bytes) -> None:
    """A status line, then a header line every ``interval`` seconds that never ends the headers."""
    interval = float(params.get("interval", 0.5))
    if not _write(handler, b"HTTP/1.1 200 OK\r\n"):
        return
    alive = _alive_until(HOLD_SECONDS)
    while alive() and _write(handler, b"X-Slow: a\r\n"):
        time.sleep(interval)


def endless_body(handler: Any, params: dict, payload: bytes) -> None:
    """A chunked body that never ends, as fast as the client reads it."""
    chunk = b"u" * int(params.get("chunk", 64 * 1024))
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    if not _write(handler, _head(200, {"Transfer-Encoding": "chunked", "Content-Type": "text/plain"})):
        return
    alive = _alive_until(HOLD_SECONDS)
    while alive() and _write(handler, framed):
        pass


def compressed_body(handler: Any, params: dict, payload: bytes) -> None:
    """``Content-Encoding: gzip``: the real answer gzipped, or ``inflated`` zero bytes (a decompression bomb)."""
    inflated = int(params.get("inflated", 0))
    body = _gzip_zeros(inflated) if inflated else gzip.compress(payload, mtime=0)
    _write(handler, _head(200, {"Content-Length": len(body), "Content-Encoding": "gzip"}) + body)


def _gzip_zeros(size: int) -> bytes:
    """A gzip stream that inflates to ``size`` zero bytes: one packed megabyte repeated as gzip members (which every
    gzip reader concatenates), so building a gigabyte bomb costs the emulator nothing."""
    megabyte = 1024 * 1024
    member = gzip.compress(bytes(megabyte), compresslevel=9, mtime=0)
    tail = size % megabyte
    return member * (size // megabyte) + (gzip.compress(bytes(tail), mtime=0) if tail else b"")


def huge_body(handler: Any, params: dict, payload: bytes) -> None:
    """A body of ``length`` bytes with an honest Content-Length (e.g. a 20 MB instance-id or a 50 MB token)."""
    length = int(params.get("length", 20 * 1024 * 1024))
    if not _write(handler, _head(200, {"Content-Length": length, "Content-Type": "text/plain"})):
        return
    block = b"i" * (256 * 1024)
    sent = 0
    while sent < length and _write(handler, block[: length - sent]):
        sent += len(block)


def garbage(handler: Any, params: dict, payload: bytes) -> None:
    """Bytes that are not HTTP at all, then close."""
    _write(handler, params.get("text", "SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n").encode())
    handler.close_connection = True


def long_header(handler: Any, params: dict, payload: bytes) -> None:
    """A header line longer than any HTTP client accepts (http.client's limit is 64 KiB)."""
    _write(handler, b"HTTP/1.1 200 OK\r\nX-Long: " + b"h" * 70_000 + b"\r\n\r\n")
    handler.close_connection = True


def reset_after_headers(handler: Any, params: dict, payload: bytes) -> None:
    """Headers promising a body, then a TCP reset."""
    _write(handler, _head(200, {"Content-Length": 5000, "Content-Type": "text/plain"}) + b"partial")
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def endless_tree(handler: Any, params: dict, payload: bytes) -> None:
    """Every directory lists ``listing`` (default a sub-directory and a leaf): a tree with no bottom."""
    listing = params.get("listing", "d/\nleaf").encode()
    body = listing if handler.path.endswith("/") else b"value"
    _write(handler, _head(200, {"Content-Length": len(body), "Content-Type": "text/plain"}) + body)


def raw_answer(handler: Any, params: dict, payload: bytes) -> None:
    """``head`` (status line and header lines, no blank line) as written, then ``body`` or the real answer; text is
    sent as Latin-1, so any byte can be. ``{length}`` in ``head`` is the body's length."""
    body = params["body"].encode("latin-1") if "body" in params else payload
    head = params["head"].replace("{length}", str(len(body)))
    _write(handler, head.encode("latin-1") + b"\r\n\r\n" + body)


HOSTILE_FAULTS: dict[str, Callable[[Any, dict, bytes], None]] = {
    "slow_body": slow_body,
    "slow_headers": slow_headers,
    "endless_body": endless_body,
    "compressed_body": compressed_body,
    "huge_body": huge_body,
    "garbage": garbage,
    "long_header": long_header,
    "reset_after_headers": reset_after_headers,
    "endless_tree": endless_tree,
    "raw_answer": raw_answer,
}


class AcceptStall:
    """Stop accepting connections for ``seconds`` once ``after`` connections were accepted, with a listen backlog
    of 1: further connects time out, as with an IMDS that limits connections per instance."""

    def __init__(self, after: int, seconds: float):
        self.after = after
        self.seconds = seconds
        self.accepted = 0
        self.done = False

    def before_accept(self, listener: socket.socket) -> None:
        if self.done or self.accepted < self.after:
            return
        self.done = True
        listener.listen(1)
        time.sleep(self.seconds)
        listener.listen(64)
