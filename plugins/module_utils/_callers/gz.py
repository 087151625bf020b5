# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""A ``.gz`` log read a bounded piece at a time. Private to the collection: not a public API.

Python's ``gzip`` module does work no caller can bound: within one ``read()`` it skips zero padding after a member a
byte at a time, reads a header's file name byte by byte, and starts a new member for each of millions of empty
ones, all without returning. Here the *compressed* file is read in fixed pieces, and each piece is counted (bytes
and clock) before it is inflated; the inflated bytes come out at most a piece at a time, so the caller counts them
too. A member's header must end within :data:`MAX_HEADER` bytes (checked on the bytes already read), then zlib
parses it (``wbits=31``). Members are counted against a cap, and what follows the last member that is not
another member (zero padding, garbage) ends the reading, and is reported in :attr:`GzipLines.trailing`.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO, Callable

GZIP_MAGIC = b"\x1f\x8b"
PIECE = 64 * 1024
# gzip writes a name and a comment of a few dozen bytes; a header past this is refused, not read to its end.
MAX_HEADER = 64 * 1024
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16


def header_length(data: bytes) -> int | None:
    """The length of the gzip header at the start of ``data``, or None when it does not end within ``data``."""
    if len(data) < 10:
        return None
    flags = data[3]
    at = 10
    if flags & _FEXTRA:
        if len(data) < at + 2:
            return None
        length_end = at + 2
        at = length_end + int.from_bytes(data[at:length_end], "little")
    for flag in (_FNAME, _FCOMMENT):
        if flags & flag:
            end = data.find(b"\0", at)
            if end < 0:
                return None
            at = end + 1
    at += 2 if flags & _FHCRC else 0
    return at if at <= len(data) else None


class GzipLines:
    """``readline(limit)`` over a gzip file's inflated bytes. ``count(size)`` is called with each compressed piece
    read and returns False to stop (a byte or time limit); ``stopped`` is ``max_gzip_members`` when the member cap
    stopped it. A damaged stream raises ``zlib.error``, one that ends inside a member ``EOFError``."""

    def __init__(self, stream: BinaryIO, count: Callable[[int], bool], max_members: int):
        self.stream = stream
        self.count = count
        self.max_members = max_members
        self.members = 0
        self.trailing: str | None = None
        self.stopped: str | None = None
        self.inflater = None  # the current member's; None between members
        self.compressed = b""  # read, not yet given to zlib
        self.pending = b""  # inflated, not yet returned, from self.at on
        self.at = 0
        self.done = False
        self.halted = False  # count() said stop

    def _read_piece(self) -> bool:
        piece = self.stream.read(PIECE)
        if not piece:
            return False
        if not self.count(len(piece)):
            self.halted = True
            return False
        self.compressed += piece
        return True

    def _start_member(self) -> bool:
        """At a member's first byte, or the end: False when the reading ends here."""
        while len(self.compressed) < len(GZIP_MAGIC):
            if not self._read_piece():
                if self.compressed and not self.halted:
                    self.trailing = f"{len(self.compressed)} byte(s) after the last gzip member, not read"
                return False
        if not self.compressed.startswith(GZIP_MAGIC):
            if self.members == 0:
                raise zlib.error("not a gzip file")
            self.trailing = "data after the last gzip member (zero padding or garbage), not read"
            return False
        if self.members >= self.max_members:
            self.stopped = "max_gzip_members"
            return False
        while len(self.compressed) < MAX_HEADER and self._read_piece():
            pass
        if self.halted:
            return False
        if header_length(self.compressed[:MAX_HEADER]) is None:
            raise zlib.error(f"a gzip header that does not end within {MAX_HEADER} bytes")
        self.members += 1
        self.inflater = zlib.decompressobj(wbits=31)
        return True

    def _inflate(self) -> bytes | None:
        """The next inflated piece (possibly empty), or None at the end."""
        if self.inflater is None and not self._start_member():
            return None
        inflater = self.inflater
        if not self.compressed and not self._read_piece():
            if self.halted:
                return None
            # zlib may still hold output of input it has taken.
            piece = inflater.decompress(b"", PIECE)
            if not piece and not inflater.eof:
                raise EOFError("the gzip file ends inside a member")
        else:
            piece = inflater.decompress(self.compressed, PIECE)
        if inflater.eof:
            self.compressed = inflater.unused_data
            self.inflater = None
        else:
            self.compressed = inflater.unconsumed_tail
        return piece

    def _fill(self) -> bool:
        """Add inflated bytes to ``pending``; False at the end of what is read."""
        while not self.done:
            piece = self._inflate()
            if piece is None:
                self.done = True
                break
            if piece:
                start = self.at
                self.pending = self.pending[start:] + piece
                self.at = 0
                return True
        return False

    def readline(self, limit: int) -> bytes:
        while True:
            end = self.pending.find(b"\n", self.at, self.at + limit)
            available = len(self.pending) - self.at
            if end >= 0 or available >= limit or not self._fill():
                stop = end + 1 if end >= 0 else self.at + min(limit, available)
                start = self.at
                line = self.pending[start:stop]
                self.at = stop
                return line
