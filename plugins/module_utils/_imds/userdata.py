# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""user-data arrives as bytes: plain text, gzip (cloud-init accepts it compressed) or anything else."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass

from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_USER_DATA_UNPACKED_BYTES

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class UserData:
    raw: bytes
    compressed: bool
    is_text: bool
    text: str | None
    base64: str | None

    @property
    def size(self) -> int:
        return len(self.raw)

    def as_dict(self) -> dict:
        return {
            "size": self.size,
            "compressed": self.compressed,
            "format": "text" if self.is_text else "binary",
            "text": self.text,
            "base64": self.base64,
        }


def _gunzip(raw: bytes) -> bytes | None:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, MAX_USER_DATA_UNPACKED_BYTES)
    except zlib.error:
        return None
    if decompressor.unconsumed_tail or not decompressor.eof:
        return None  # too large, or cut off
    return data


def _as_text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_user_data(raw: bytes) -> UserData:
    """Detect the format once: gzip is unpacked; text is returned as text, anything else as base64."""
    payload = raw
    compressed = False
    if raw[:2] == GZIP_MAGIC:
        unpacked = _gunzip(raw)
        if unpacked is not None:
            payload, compressed = unpacked, True
    text = _as_text(payload)
    if text is not None:
        return UserData(raw=raw, compressed=compressed, is_text=True, text=text, base64=None)
    return UserData(raw=raw, compressed=compressed, is_text=False, text=None, base64=base64.b64encode(payload).decode())
