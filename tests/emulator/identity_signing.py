# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signs the emulator's instance identity document the three ways IMDS does, with keys made up at start.

- ``signature``: base64 of an RSA (PKCS#1 v1.5) signature over the SHA-256 hash of the document.
- ``pkcs7``: PKCS#7 SignedData, SHA-1 with DSA, the document inside.
- ``rsa2048``: PKCS#7 SignedData, SHA-256 with RSA-2048, the document inside.

Each has its own key and self-signed certificate (:meth:`IdentitySigner.certificates`), so a test can hand the
right one, or a wrong one, to the verifier. The PKCS#7 blobs are BER with indefinite lengths and the content in
a constructed OCTET STRING, base64 in 64-character lines without PEM armour lines: the shape IMDS serves.
``openssl cms -verify`` accepts them (tests/unit/emulator/test_identity_signing.py checks), so they are real
PKCS#7 and not only something our own verifier agrees with.

Needs ``cryptography``; imds_emulator.py serves the placeholders of its data file when it is missing.
"""

from __future__ import annotations

import base64
import functools
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa
from cryptography.x509.oid import NameOID

SIGNATURE_TYPES = ("rsa2048", "pkcs7", "signature")
OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
# signature type -> (digest, signature algorithm OID, whether the algorithm takes a NULL parameter)
ALGORITHMS = {
    "pkcs7": ("SHA1", "1.2.840.10040.4.1", False),  # dsa
    "rsa2048": ("SHA256", "1.2.840.113549.1.1.1", True),  # rsaEncryption
}
# digest name -> its OID; a test can sign with a digest AWS does not use for a type, to see the verifier refuse it.
DIGEST_OIDS = {
    "SHA1": "1.3.14.3.2.26",
    "SHA256": "2.16.840.1.101.3.4.2.1",
    "SHA384": "2.16.840.1.101.3.4.2.2",
    "SHA512": "2.16.840.1.101.3.4.2.3",
}


# ---------------------------------------------------------------------------- a minimal DER/BER writer
def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def indefinite(tag: int, *children: bytes) -> bytes:
    """A constructed element with an indefinite length (BER), closed by end-of-contents."""
    return bytes([tag, 0x80]) + b"".join(children) + b"\x00\x00"


def sequence(*children: bytes) -> bytes:
    return tlv(0x30, b"".join(children))


def der_set(*children: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(children)))  # DER sorts the members of a SET OF


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def octet_string(data: bytes) -> bytes:
    return tlv(0x04, data)


def algorithm(dotted: str, null_parameter: bool) -> bytes:
    return sequence(oid(dotted), b"\x05\x00" if null_parameter else b"")


def utc_time(moment: datetime) -> bytes:
    return tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())


# ---------------------------------------------------------------------------- keys and certificates
@functools.lru_cache(maxsize=None)
def _keys() -> dict:
    """One key per signature type, made once per process: RSA generation costs ~0.1 s, and tests start many
    emulators. Each emulator still gets its own certificates."""
    return {
        "signature": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        # 1024-bit DSA keeps start-up fast; SHA-1 with DSA is what the pkcs7 form is signed with.
        "pkcs7": dsa.generate_private_key(key_size=1024),  # noqa: S505 - a test key, made for speed
        "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


def self_signed(key: Any, common_name: str, not_before: datetime, not_after: datetime, serial: int) -> Any:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ec2meta.imds emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


def _pem(certificate: Any) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _wrap(blob: bytes) -> str:
    text = base64.b64encode(blob).decode("ascii")
    return "\n".join(text[index : index + 64] for index in range(0, len(text), 64))


class IdentitySigner:
    """Keys, certificates (valid now, and expired ones for the same keys) and signatures for one emulator."""

    def __init__(self, now: datetime | None = None):
        now = now or datetime.now(timezone.utc)
        self.keys = _keys()
        self._lock = threading.Lock()
        self._cache: dict[bytes, dict[str, str]] = {}
        self.current = {}
        self.expired = {}
        for number, (kind, key) in enumerate(self.keys.items(), start=1):
            common_name = f"ec2meta.imds emulator {kind}"
            serial = x509.random_serial_number()
            valid = (now - timedelta(days=1), now + timedelta(days=365))
            self.current[kind] = self_signed(key, common_name, *valid, serial)
            self.expired[kind] = self_signed(
                key, common_name, now - timedelta(days=400), now - timedelta(days=35), serial + number
            )

    def certificates(self, expired: bool = False) -> dict[str, str]:
        """signature type -> PEM certificate to verify it with."""
        return {kind: _pem(cert) for kind, cert in (self.expired if expired else self.current).items()}

    def signatures(self, document: bytes) -> dict[str, str]:
        """signature type -> the text IMDS serves for ``document`` (cached: the document rarely changes)."""
        with self._lock:
            if document not in self._cache:
                self._cache = {document: {kind: self.sign(kind, document) for kind in SIGNATURE_TYPES}}
            return dict(self._cache[document])

    def sign(self, kind: str, document: bytes, digest_name: str | None = None) -> str:
        """The text IMDS serves; ``digest_name`` (a :data:`DIGEST_OIDS` key) replaces the type's own digest."""
        key = self.keys[kind]
        if kind == "signature":
            hash_class = getattr(hashes, digest_name or "SHA256")
            return base64.b64encode(key.sign(document, padding.PKCS1v15(), hash_class())).decode("ascii")
        return _wrap(self.signed_data(kind, document, digest_name=digest_name))

    def signed_data(
        self, kind: str, document: bytes, signing_time: datetime | None = None, digest_name: str | None = None
    ) -> bytes:
        """The SignedData blob; ``digest_name`` (a :data:`DIGEST_OIDS` key) replaces the type's own digest."""
        default_digest, signature_oid, null_parameter = ALGORITHMS[kind]
        digest_name = digest_name or default_digest
        digest_oid, hash_class = DIGEST_OIDS[digest_name], getattr(hashes, digest_name)
        hasher = hashes.Hash(hash_class())
        hasher.update(document)
        digest = hasher.finalize()
        attributes = [
            sequence(oid(OID_CONTENT_TYPE), der_set(oid(OID_DATA))),
            sequence(oid(OID_SIGNING_TIME), der_set(utc_time(signing_time or datetime.now(timezone.utc)))),
            sequence(oid(OID_MESSAGE_DIGEST), der_set(octet_string(digest))),
        ]
        signed_attributes = der_set(*attributes)
        key = self.keys[kind]
        if kind == "pkcs7":
            signature = key.sign(signed_attributes, hash_class())
        else:
            signature = key.sign(signed_attributes, padding.PKCS1v15(), hash_class())
        certificate = self.current[kind]
        issuer = certificate.issuer.public_bytes()
        signer_info = sequence(
            integer(1),
            sequence(issuer, integer(certificate.serial_number)),
            algorithm(digest_oid, True),
            bytes([0xA0]) + signed_attributes[1:],  # [0] IMPLICIT SET OF Attribute
            algorithm(signature_oid, null_parameter),
            octet_string(signature),
        )
        digest_algorithms = der_set(algorithm(digest_oid, True))
        # The content as a constructed OCTET STRING of one segment, inside indefinite lengths, as IMDS has it.
        content_info = indefinite(0x30, oid(OID_DATA), indefinite(0xA0, indefinite(0x24, octet_string(document))))
        signed_data = indefinite(0x30, integer(1), digest_algorithms, content_info, der_set(signer_info))
        return indefinite(0x30, oid(OID_SIGNED_DATA), indefinite(0xA0, signed_data))
