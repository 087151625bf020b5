# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""A small BER/DER reader, enough to take a PKCS#7 SignedData apart on the controller.

Private to ec2meta.imds: not a public API, it may change in any release.

Its input comes from the managed host, so it is hostile: every length is checked against the bytes that are
really there, nesting depth and element count are bounded, and every problem is an :class:`Asn1Error` (a
``ValueError``), never an ``IndexError`` or a ``RecursionError``. It reads BER because IMDS serves its PKCS#7
blobs with indefinite lengths and constructed OCTET STRINGs, as ``openssl smime -sign -stream`` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASS_UNIVERSAL = 0
CLASS_CONTEXT = 2
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x10
SET = 0x11
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18

MAX_DEPTH = 32
MAX_ELEMENTS = 4096
MAX_LENGTH_OCTETS = 4  # lengths up to 4 GiB are plenty; anything longer is an attack or damage
MAX_TAG_OCTETS = 4


class Asn1Error(ValueError):
    """The bytes are not the ASN.1 structure expected; the message says where and why."""


@dataclass(frozen=True)
class Element:
    """One BER element: its tag, its content octets (primitive) or children (constructed), and its encoding."""

    tag_class: int
    constructed: bool
    tag: int
    encoded: bytes
    content: bytes = b""
    children: tuple = ()

    def is_(self, tag: int, tag_class: int = CLASS_UNIVERSAL) -> bool:
        return self.tag == tag and self.tag_class == tag_class

    def expect(self, tag: int, what: str, tag_class: int = CLASS_UNIVERSAL) -> Element:
        if not self.is_(tag, tag_class):
            raise Asn1Error(f"{what}: expected tag {_tag_name(tag, tag_class)}, found {self.describe()}")
        return self

    def child(self, index: int, what: str) -> Element:
        if not self.constructed or index >= len(self.children):
            raise Asn1Error(f"{what}: missing (the enclosing {self.describe()} has {len(self.children)} elements)")
        return self.children[index]

    def describe(self) -> str:
        return _tag_name(self.tag, self.tag_class) + (" (constructed)" if self.constructed else "")

    def octets(self, what: str) -> bytes:
        """An OCTET STRING's value, joining the segments of a constructed (BER) one."""
        self.expect(OCTET_STRING, what)
        if not self.constructed:
            return self.content
        return b"".join(segment.octets(what) for segment in self.children)

    def oid(self, what: str) -> str:
        self.expect(OBJECT_IDENTIFIER, what)
        return decode_oid(self.content, what)


def _tag_name(tag: int, tag_class: int) -> str:
    names = {
        INTEGER: "INTEGER",
        OCTET_STRING: "OCTET STRING",
        NULL: "NULL",
        OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
        SEQUENCE: "SEQUENCE",
        SET: "SET",
        UTC_TIME: "UTCTime",
        GENERALIZED_TIME: "GeneralizedTime",
    }
    if tag_class == CLASS_UNIVERSAL:
        return names.get(tag, f"universal {tag}")
    return f"[{tag}]" if tag_class == CLASS_CONTEXT else f"class {tag_class} tag {tag}"


def decode_oid(content: bytes, what: str = "OBJECT IDENTIFIER") -> str:
    if not content or len(content) > 64:
        raise Asn1Error(f"{what}: an OBJECT IDENTIFIER of {len(content)} octets")
    arcs: list[int] = []
    value = 0
    for position, octet in enumerate(content):
        if value == 0 and octet == 0x80:
            raise Asn1Error(f"{what}: an OBJECT IDENTIFIER arc with a leading 0x80 octet")
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
        elif position == len(content) - 1:
            raise Asn1Error(f"{what}: an OBJECT IDENTIFIER that ends in the middle of an arc")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def parse(data: bytes, max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS) -> Element:
    """The one element ``data`` holds; trailing bytes are an error."""
    reader = _Reader(bytes(data), max_depth, max_elements)
    element, end = reader.element(0, len(reader.data), 0)
    if end != len(reader.data):
        raise Asn1Error(f"{len(reader.data) - end} bytes after the end of the ASN.1 structure")
    return element


class _Reader:
    def __init__(self, data: bytes, max_depth: int, max_elements: int):
        self.data = data
        self.max_depth = max_depth
        self.budget = max_elements

    def _octet(self, position: int, limit: int, what: str) -> int:
        if position >= limit:
            raise Asn1Error(f"truncated: the data ends inside {what} at offset {position}")
        return self.data[position]

    def element(self, start: int, limit: int, depth: int) -> tuple[Element, int]:
        """The element at ``start`` that must end by ``limit``, and the offset just after it."""
        if depth > self.max_depth:
            raise Asn1Error(f"nested deeper than {self.max_depth} levels at offset {start}")
        self.budget -= 1
        if self.budget < 0:
            raise Asn1Error("more ASN.1 elements than any PKCS#7 signature holds")
        first = self._octet(start, limit, "a tag")
        tag_class, constructed, tag = first >> 6, bool(first & 0x20), first & 0x1F
        position = start + 1
        if tag == 0x1F:
            tag = 0
            for count in range(MAX_TAG_OCTETS + 1):
                if count == MAX_TAG_OCTETS:
                    raise Asn1Error(f"a tag number longer than {MAX_TAG_OCTETS} octets at offset {start}")
                octet = self._octet(position, limit, "a tag number")
                position += 1
                tag = (tag << 7) | (octet & 0x7F)
                if not octet & 0x80:
                    break
        length_octet = self._octet(position, limit, "a length")
        position += 1
        if length_octet == 0x80:
            if not constructed:
                raise Asn1Error(f"an indefinite length on a primitive element at offset {start}")
            return self._indefinite(start, position, limit, depth, tag_class, tag)
        if length_octet & 0x80:
            count = length_octet & 0x7F
            if count > MAX_LENGTH_OCTETS:
                raise Asn1Error(f"a length of {count} octets at offset {start}")
            if position + count > limit:
                raise Asn1Error(f"truncated: the data ends inside a length at offset {position}")
            length_end = position + count
            length = int.from_bytes(self.data[position:length_end], "big")
            position = length_end
        else:
            length = length_octet
        end = position + length
        if end > limit:
            raise Asn1Error(
                f"truncated: an element at offset {start} claims {length} bytes, only {limit - position} are left"
            )
        children: list[Element] = []
        if constructed:
            inner = position
            while inner < end:
                child, inner = self.element(inner, end, depth + 1)
                children.append(child)
        content = b"" if constructed else self.data[position:end]
        return Element(tag_class, constructed, tag, self.data[start:end], content, tuple(children)), end

    def _indefinite(
        self, start: int, position: int, limit: int, depth: int, tag_class: int, tag: int
    ) -> tuple[Element, int]:
        children: list[Element] = []
        while True:
            end = position + 2
            if self.data[position:end] == b"\x00\x00" and end <= limit:
                return Element(tag_class, True, tag, self.data[start:end], b"", tuple(children)), end
            if position >= limit:
                raise Asn1Error(f"truncated: no end-of-contents for the element at offset {start}")
            child, position = self.element(position, limit, depth + 1)
            children.append(child)
