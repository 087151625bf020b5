# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BER reader: what it reads, and that hostile bytes only ever raise Asn1Error."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.plugin_utils import _asn1
from ansible_collections.ec2meta.imds.plugins.plugin_utils._asn1 import Asn1Error, decode_oid, parse


def test_definite_sequence_of_primitives():
    element = parse(bytes.fromhex("300a 0201 05 0403 616263 0500".replace(" ", "")))
    assert element.is_(_asn1.SEQUENCE)
    assert element.constructed
    assert [child.tag for child in element.children] == [_asn1.INTEGER, _asn1.OCTET_STRING, _asn1.NULL]
    assert element.children[0].expect(_asn1.INTEGER, "n").content == b"\x05"
    assert element.children[1].octets("s") == b"abc"
    assert element.encoded == bytes.fromhex("300a020105040361626305 00".replace(" ", ""))


def test_indefinite_lengths_and_constructed_octet_string():
    # SEQUENCE (indefinite) { [0] (indefinite) { OCTET STRING constructed (indefinite) { "ab", "cd" } } }
    blob = bytes.fromhex("3080 a080 2480 0402 6162 0402 6364 0000 0000 0000".replace(" ", ""))
    element = parse(blob)
    inner = element.child(0, "x").child(0, "y")
    assert inner.constructed
    assert inner.octets("content") == b"abcd"
    assert element.encoded == blob


def test_long_form_length():
    payload = b"x" * 300
    element = parse(b"\x04\x82\x01\x2c" + payload)
    assert element.octets("s") == payload


def test_high_tag_number():
    element = parse(b"\xbf\x81\x00\x00")  # [128] constructed, empty
    assert element.tag == 128
    assert element.tag_class == _asn1.CLASS_CONTEXT


@pytest.mark.parametrize(
    ("content", "dotted"),
    [
        (bytes.fromhex("2a864886f70d010702"), "1.2.840.113549.1.7.2"),
        (bytes.fromhex("2b0e03021a"), "1.3.14.3.2.26"),
        (bytes.fromhex("608648016503040201"), "2.16.840.1.101.3.4.2.1"),
        (bytes.fromhex("8837"), "2.999"),
    ],
)
def test_decode_oid(content, dotted):
    assert decode_oid(content) == dotted


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (b"", "truncated"),
        (b"\x30", "truncated"),
        (b"\x30\x05\x02\x01", "claims 5 bytes"),
        (b"\x04\x85\x01\x00\x00\x00\x00", "length of 5 octets"),
        (b"\x04\x84\xff\xff\xff\xff", "claims 4294967295 bytes"),
        (b"\x04\x80abc\x00\x00", "indefinite length on a primitive"),
        (b"\x30\x80\x02\x01\x01", "no end-of-contents"),
        (b"\x30\x00\x00", "1 bytes after the end"),
        (b"\x1f\x81\x81\x81\x81\x01\x00", "tag number longer than 4 octets"),
        (b"\x30\x80" * 40 + b"\x00\x00" * 40, "nested deeper than 32"),
        (b"\x30\x02\x04", "truncated"),
    ],
)
def test_hostile_input_raises_asn1_error(blob, words):
    with pytest.raises(Asn1Error, match=words):
        parse(blob)


def test_element_budget():
    blob = b"\x30\x82\x27\x10" + b"\x05\x00" * 5000
    with pytest.raises(Asn1Error, match="more ASN\\.1 elements"):
        parse(blob)


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "of 0 octets"), (b"\x2a\x86", "ends in the middle of an arc"), (b"\x2a\x80\x01", "leading 0x80")],
)
def test_bad_oids(content, words):
    with pytest.raises(Asn1Error, match=words):
        decode_oid(content)


def test_accessors_name_what_was_expected():
    element = parse(b"\x30\x03\x02\x01\x07")
    with pytest.raises(Asn1Error, match="SignerInfo: expected tag SET, found SEQUENCE"):
        element.expect(_asn1.SET, "SignerInfo")
    with pytest.raises(Asn1Error, match="signature: missing"):
        element.child(3, "signature")
    with pytest.raises(Asn1Error, match="expected tag OCTET STRING, found INTEGER"):
        element.children[0].octets("content")
    with pytest.raises(Asn1Error, match="expected tag OBJECT IDENTIFIER"):
        element.children[0].oid("type")


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_else(blob):
    with contextlib.suppress(Asn1Error):
        parse(blob)


@pytest.fixture(scope="module")
def pkcs7_blob():
    from identity_signing import IdentitySigner

    return IdentitySigner().signed_data("rsa2048", b'{"instanceId": "i-0a1b2c3d4e5f60718"}')


def test_reads_the_emulators_pkcs7(pkcs7_blob):
    element = parse(pkcs7_blob)
    assert element.child(0, "contentType").oid("contentType") == "1.2.840.113549.1.7.2"


@given(data=st.data())
def test_damaged_pkcs7_never_raises_anything_else(pkcs7_blob, data):
    blob = bytearray(pkcs7_blob)
    for _change in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(blob)))
    with contextlib.suppress(Asn1Error):
        parse(bytes(blob[:cut]))


def test_base64_as_imds_serves_it_decodes_to_ber(pkcs7_blob):
    assert base64.b64encode(pkcs7_blob).startswith(b"MIAGCSqGSIb3DQEHAqCAMIA")
