# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Verify an EC2 instance identity document and its AWS signature, on the controller.

Private to ec2meta.imds: not a public API, it may change in any release.

The document and the signature come from the host being checked, so both are hostile input. Only the
certificate, which the play gives, is trusted: certificates a PKCS#7 blob carries are ignored, and the document
returned is the one the signature covers. Each check fails with :class:`IdentityCheckFailed`, whose ``reason``
is stable for playbooks. Crypto is done by ``cryptography``; ASN.1 is taken apart by :mod:`._asn1`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import refuse_empty_expectations
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.identity_documents import (
    IDENTITY_OPTIONS,
    SIGNATURE_TYPES,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import parse_expiration
from ansible_collections.ec2meta.imds.plugins.module_utils._json import RAISE, load_json
from ansible_collections.ec2meta.imds.plugins.plugin_utils._asn1 import (
    CLASS_CONTEXT,
    OCTET_STRING,
    SEQUENCE,
    SET,
    Asn1Error,
    Element,
    parse,
)

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa
except ImportError:  # ansible-core depends on cryptography, so only a broken controller lands here
    HAS_CRYPTOGRAPHY = False
else:
    HAS_CRYPTOGRAPHY = True

# Far more than any identity document or signature IMDS serves (about 0.5 KiB and 2 KiB).
MAX_TEXT = 64 * 1024
# Far more than one PEM certificate (AWS's are about 1 KiB); a file or text above it is not one.
MAX_CERTIFICATE = 64 * 1024
# The certificate option as a whole: one PEM CERTIFICATE block, whitespace around it aside. Anything else in the
# text (a private key next to the certificate, a second certificate, prose) makes it something else.
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----")
# What the host's module receives for ``certificate`` (its argument spec, shared with the docs, requires the option):
# the certificate itself, or a file, is read and checked on the controller only and never travels to the host.
CERTIFICATE_ON_CONTROLLER = "(checked on the controller; not sent to the host)"
# How far the controller's clock may be behind the one AWS stamps pendingTime with: an instance that started later
# than now plus this has not started yet, so the document is not from this instance's present (too_new).
CLOCK_SKEW = 300

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
# digest algorithm OID -> hash; a SignerInfo's digestAlgorithm names one of these.
DIGESTS = {
    "1.3.14.3.2.26": "SHA1",
    "2.16.840.1.101.3.4.2.1": "SHA256",
    "2.16.840.1.101.3.4.2.2": "SHA384",
    "2.16.840.1.101.3.4.2.3": "SHA512",
}


@dataclass(frozen=True)
class Algorithm:
    """How AWS makes one signature type: the key type (and size, where AWS states it) and the one digest."""

    key_type: str
    digest: str
    key_size: int | None = None


# What AWS documents for each signature type, and the only thing each accepts, whatever digest a PKCS#7 signer
# names (a signer naming SHA-1 in an rsa2048 blob is not how AWS signs it). From "Verify the instance identity
# document for an Amazon EC2 instance", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-iid.html :
# the base64-encoded signature is a SHA256 hash encrypted with an RSA key pair, the PKCS7 signature a SHA1 hash with
# a DSA key pair, the RSA-2048 signature a SHA256 hash with an RSA-2048 key pair. The signer's signatureAlgorithm
# OID is not checked: the key type comes from the trusted certificate and the hash from this table, so that label
# cannot change what is verified (and old OpenSSL wrote several spellings of DSA with SHA-1).
ALGORITHMS = {
    "rsa2048": Algorithm("RSA", "SHA256", key_size=2048),
    "pkcs7": Algorithm("DSA", "SHA1"),
    "signature": Algorithm("RSA", "SHA256"),
}
# option -> document field it must equal: the table the checks, the docs and the tests go by.
EXPECTATIONS = {
    "expected_account_id": "accountId",
    "expected_instance_id": "instanceId",
    "expected_region": "region",
    "expected_image_id": "imageId",
}


class IdentityCheckFailed(Exception):
    """A check did not pass; the message names what did not match, ``reason`` which check it was."""

    def __init__(self, message: str, reason: str, **details: Any):
        super().__init__(message)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class SignedContent:
    """What a PKCS#7 SignedData blob holds: the content (None when detached) and its one signer."""

    content: bytes | None
    digest: str
    signed_attributes: bytes | None
    message_digest: bytes | None
    signature: bytes


@dataclass
class VerifiedIdentity:
    document: dict
    signature_type: str
    certificate: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "verified": True,
            "document": self.document,
            "signature_type": self.signature_type,
            "certificate": self.certificate,
        }


def load_certificate(pem: str) -> Any:
    """The X.509 certificate in ``pem``; :class:`IdentityCheckFailed` when it is not one."""
    if not HAS_CRYPTOGRAPHY:
        raise IdentityCheckFailed(
            "The Python library cryptography is needed on the controller to verify signatures: install it in "
            "the Python that runs ansible-playbook (pip install cryptography).",
            "missing_library",
        )
    try:
        return x509.load_pem_x509_certificate(pem.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise IdentityCheckFailed(
            f"certificate is not a PEM X.509 certificate ({error}). Give the '-----BEGIN CERTIFICATE-----' text "
            "of the AWS certificate for the instance's region and signature_type, or a path to a file holding it.",
            "invalid_certificate",
        ) from None


def validity(certificate: Any) -> tuple[datetime, datetime]:
    """(not before, not after) as aware UTC times; cryptography before 42 only has the naive properties."""
    if hasattr(certificate, "not_valid_before_utc"):
        return certificate.not_valid_before_utc, certificate.not_valid_after_utc
    return (
        certificate.not_valid_before.replace(tzinfo=timezone.utc),
        certificate.not_valid_after.replace(tzinfo=timezone.utc),
    )


def describe_certificate(certificate: Any) -> dict:
    not_before, not_after = validity(certificate)
    return {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "serial_number": format(certificate.serial_number, "x"),
        "not_valid_before": _iso(not_before),
        "not_valid_after": _iso(not_after),
    }


def check_certificate(certificate: Any, signature_type: str, now: datetime) -> dict:
    """Dates and key type of the trusted certificate; returns its description."""
    described = describe_certificate(certificate)
    not_before, not_after = validity(certificate)
    if now < not_before:
        raise IdentityCheckFailed(
            f"The certificate ({described['subject']}) is not valid before {described['not_valid_before']}; "
            f"it is now {_iso(now)}. Check the controller's clock, or use the certificate currently published.",
            "certificate_not_yet_valid",
            certificate=described,
        )
    if now > not_after:
        raise IdentityCheckFailed(
            f"The certificate ({described['subject']}) expired at {described['not_valid_after']}; it is now "
            f"{_iso(now)}. Use the certificate AWS currently publishes for the region and signature_type.",
            "certificate_expired",
            certificate=described,
        )
    algorithm = ALGORITHMS[signature_type]
    key = certificate.public_key()
    key_type = "RSA" if isinstance(key, rsa.RSAPublicKey) else "DSA" if isinstance(key, dsa.DSAPublicKey) else None
    found = key_type or type(key).__name__
    wanted = algorithm.key_type
    if key_type is not None and algorithm.key_size is not None:
        found, wanted = f"{found}-{key.key_size}", f"{wanted}-{algorithm.key_size}"
    if found != wanted:
        raise IdentityCheckFailed(
            f"signature_type={signature_type} is signed with a {wanted} key, but the certificate "
            f"({described['subject']}) holds {found}. Give AWS's {wanted} certificate "
            f"for signature_type={signature_type} ({SIGNATURE_TYPES[signature_type]}).",
            "wrong_certificate_type",
            certificate=described,
        )
    return described


def decode_base64(text: str, what: str) -> bytes:
    """Base64 as IMDS serves it: wrapped in lines, without PEM armour (tolerated when present)."""
    if len(text) > MAX_TEXT:
        raise IdentityCheckFailed(f"The {what} is {len(text)} characters, more than any AWS signature.", "malformed")
    lines = [line.strip() for line in text.strip().splitlines()]
    body = "".join(line for line in lines if line and not line.startswith("-----"))
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise IdentityCheckFailed(
            f"The {what} served by the host is not base64: IMDS did not serve it, or it was damaged on the way.",
            "malformed",
        ) from None


def parse_signed_data(blob: bytes) -> SignedContent:
    """The content and the one signer of a PKCS#7 SignedData (RFC 2315 / RFC 5652); :class:`Asn1Error` otherwise."""
    content_info = parse(blob).expect(SEQUENCE, "ContentInfo")
    if content_info.child(0, "ContentInfo.contentType").oid("ContentInfo.contentType") != OID_SIGNED_DATA:
        raise Asn1Error("ContentInfo.contentType is not signedData")
    signed_data = _explicit(content_info.child(1, "ContentInfo.content"), "ContentInfo.content")
    signed_data.expect(SEQUENCE, "SignedData")
    encapsulated = signed_data.child(2, "SignedData.contentInfo").expect(SEQUENCE, "SignedData.contentInfo")
    if encapsulated.child(0, "contentInfo.contentType").oid("contentInfo.contentType") != OID_DATA:
        raise Asn1Error("the signed content is not of type data")
    content = None
    if len(encapsulated.children) > 1:
        content = _explicit(encapsulated.children[1], "contentInfo.content").octets("contentInfo.content")
    signer_infos = signed_data.children[-1].expect(SET, "SignedData.signerInfos")
    if len(signer_infos.children) != 1:
        raise Asn1Error(f"SignedData has {len(signer_infos.children)} signers; AWS signs with exactly one")
    signer = signer_infos.children[0].expect(SEQUENCE, "SignerInfo")
    digest_oid = signer.child(2, "SignerInfo.digestAlgorithm").child(0, "digestAlgorithm").oid("digestAlgorithm")
    if digest_oid not in DIGESTS:
        raise Asn1Error(f"unsupported digest algorithm {digest_oid}")
    rest = list(signer.children[3:])
    signed_attributes = message_digest = None
    if rest and rest[0].is_(0, CLASS_CONTEXT):
        attributes = rest.pop(0)
        # The signature covers the attributes DER-encoded as a SET OF, not with their [0] IMPLICIT tag.
        signed_attributes = bytes([0x31]) + attributes.encoded[1:]
        message_digest = _message_digest(attributes)
    if len(rest) < 2:
        raise Asn1Error("SignerInfo has no signature")
    signature = rest[1].octets("SignerInfo.signature")
    return SignedContent(content, DIGESTS[digest_oid], signed_attributes, message_digest, signature)


def _explicit(element: Element, what: str) -> Element:
    element.expect(0, what, CLASS_CONTEXT)
    if not element.constructed or len(element.children) != 1:
        raise Asn1Error(f"{what}: [0] EXPLICIT must hold exactly one element")
    return element.children[0]


def _message_digest(attributes: Element) -> bytes:
    found: dict[str, Element] = {}
    for attribute in attributes.children:
        attribute.expect(SEQUENCE, "Attribute")
        oid = attribute.child(0, "Attribute.type").oid("Attribute.type")
        values = attribute.child(1, "Attribute.values").expect(SET, "Attribute.values")
        if oid in found:
            raise Asn1Error(f"signed attribute {oid} appears twice")
        found[oid] = values.child(0, "Attribute value")
    if OID_MESSAGE_DIGEST not in found:
        raise Asn1Error("the signed attributes have no messageDigest")
    content_type = found.get(OID_CONTENT_TYPE)
    if content_type is not None and content_type.oid("contentType") != OID_DATA:
        raise Asn1Error("the contentType attribute is not data")
    return found[OID_MESSAGE_DIGEST].expect(OCTET_STRING, "messageDigest").octets("messageDigest")


def _hash(name: str) -> Any:
    return getattr(hashes, name)()


def _digest(name: str, data: bytes) -> bytes:
    hasher = hashes.Hash(_hash(name))
    hasher.update(data)
    return hasher.finalize()


def _verify(public_key: Any, signature: bytes, data: bytes, hash_name: str) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), _hash(hash_name))
        else:
            public_key.verify(signature, data, _hash(hash_name))
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def signed_document(document_text: str, signature_text: str, signature_type: str, certificate: Any) -> bytes:
    """The document bytes the signature proves, after checking the signature (and, for PKCS#7, the content)."""
    document = document_text.encode("utf-8")
    public_key = certificate.public_key()
    label = f"The signature_type={signature_type} signature"
    invalid = IdentityCheckFailed(
        f"{label} is not valid for the certificate ({certificate.subject.rfc4514_string()}): the document or the "
        "signature was changed, or the certificate is not the one AWS signs this region's documents with. Check "
        "the certificate's region and signature_type; otherwise do not trust this host.",
        "signature_invalid",
    )
    raw = decode_base64(signature_text, label[4:])
    digest = ALGORITHMS[signature_type].digest
    if signature_type == "signature":
        if not _verify(public_key, raw, document, digest):
            raise invalid
        return document
    try:
        signed = parse_signed_data(raw)
    except Asn1Error as error:
        raise IdentityCheckFailed(
            f"{label} served by the host is not a PKCS#7 SignedData ({error}).", "malformed"
        ) from None
    if signed.digest != digest:
        raise IdentityCheckFailed(
            f"{label} names the digest {signed.digest}, but AWS signs signature_type={signature_type} with "
            f"{digest} only ({SIGNATURE_TYPES[signature_type]}): this is not an AWS signature. Do not trust this "
            "host.",
            "signature_invalid",
        )
    content = document if signed.content is None else signed.content
    if signed.signed_attributes is None:
        if not _verify(public_key, signed.signature, content, signed.digest):
            raise invalid
    else:
        if not _verify(public_key, signed.signature, signed.signed_attributes, signed.digest):
            raise invalid
        if signed.message_digest != _digest(signed.digest, content):
            raise IdentityCheckFailed(
                f"{label} is valid, but its messageDigest is not the hash of the content it carries: the content "
                "was changed after signing. Do not trust this host.",
                "signature_invalid",
            )
    # Whitespace around the JSON carries no meaning, and only the signed content is returned anyway.
    if content.strip() != document.strip():
        raise IdentityCheckFailed(
            f"{label} is valid, but the document it signs is not the plain document the host served"
            f" (dynamic/instance-identity/document): {_difference(content, document)}. Do not trust this host.",
            "content_mismatch",
        )
    return content


def _difference(signed: bytes, served: bytes) -> str:
    """Which fields differ between the signed and the served document, for the message."""
    try:
        signed_fields, served_fields = load_json(signed, invalid=RAISE), load_json(served, invalid=RAISE)
        names = sorted(
            name
            for name in set(signed_fields) | set(served_fields)
            if signed_fields.get(name) != served_fields.get(name)
        )
    except (ValueError, TypeError, AttributeError):
        return f"signed {len(signed)} bytes, served {len(served)} bytes"
    if not names:
        return "same fields, different bytes"
    return "; ".join(
        f"{name}: signed {signed_fields.get(name)!r}, served {served_fields.get(name)!r}" for name in names
    )


def check_expectations(document: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    for option, name in EXPECTATIONS.items():
        want = expected.get(option)
        if want is not None and document.get(name) != want:
            raise IdentityCheckFailed(
                f"The signed identity document says {name}={document.get(name)!r}, but {option} is {want!r}: this "
                "host is not the instance the play expects.",
                "identity_mismatch",
                field=name,
            )


def check_age(document: Mapping[str, Any], max_age: int | None, now: datetime) -> None:
    """pendingTime is a time, not later than now plus CLOCK_SKEW, and with ``max_age`` no more than that many seconds
    ago. AWS writes pendingTime in every identity document, so a signed one without a time there is malformed: its
    age cannot be told, and "cannot tell" is never "fresh enough"."""
    try:
        started = parse_expiration(document.get("pendingTime"))
    except ValueError:
        raise IdentityCheckFailed(
            f"The signed identity document's pendingTime {str(document.get('pendingTime'))[:60]!r} is not an ISO 8601 "
            "time (AWS always writes one, e.g. 2026-11-20T10:00:00Z): the document is not one AWS issued as it is, "
            "and when the instance started cannot be told.",
            "malformed",
            field="pendingTime",
        ) from None
    age = (now - started).total_seconds()
    if age < -CLOCK_SKEW:
        raise IdentityCheckFailed(
            f"The signed document says the instance started at {_iso(started)} (pendingTime), {int(-age)}s after "
            f"the controller's time {_iso(now)}, more than the {CLOCK_SKEW}s of clock skew allowed: no instance has "
            "started in the future. Check the controller's clock (NTP); otherwise the document is not from this "
            "instance's present.",
            "too_new",
            field="pendingTime",
        )
    if max_age is not None and age > max_age:
        raise IdentityCheckFailed(
            f"The instance started at {_iso(started)} (pendingTime), {int(age)}s ago, more than max_age={max_age}s: "
            "this is not the freshly launched instance the play expects.",
            "too_old",
            field="pendingTime",
        )


def verify_identity(
    document_text: Any,
    signature_text: Any,
    signature_type: str,
    certificate_pem: str,
    expected: Mapping[str, Any] | None = None,
    max_age: int | None = None,
    now: datetime | None = None,
) -> VerifiedIdentity:
    """Every check, in order; the verified identity, or :class:`IdentityCheckFailed` naming what did not match."""
    if signature_type not in SIGNATURE_TYPES:
        raise IdentityCheckFailed(
            f"signature_type must be one of {', '.join(SIGNATURE_TYPES)}, not {signature_type!r}.", "invalid_option"
        )
    for name, value in (("identity document", document_text), (f"{signature_type} signature", signature_text)):
        if not isinstance(value, str) or not value.strip():
            raise IdentityCheckFailed(f"The host returned no {name} text.", "malformed")
        if len(value) > MAX_TEXT:
            raise IdentityCheckFailed(f"The {name} is {len(value)} characters, more than IMDS serves.", "malformed")
    now = now or datetime.now(timezone.utc)
    certificate = load_certificate(certificate_pem)
    described = check_certificate(certificate, signature_type, now)
    try:
        content = signed_document(document_text, signature_text, signature_type, certificate)
    except IdentityCheckFailed as error:
        error.details.setdefault("certificate", described)
        raise
    try:
        document = load_json(content, invalid=RAISE)
    except ValueError as error:
        # A key given twice (two instanceId values) would let a reader pick either: the document proves nothing.
        raise IdentityCheckFailed(f"The signed identity document is not valid JSON: {error}.", "malformed") from None
    if not isinstance(document, dict):
        raise IdentityCheckFailed("The signed identity document is not a JSON object.", "malformed")
    check_expectations(document, expected or {})
    check_age(document, max_age, now)
    return VerifiedIdentity(document, signature_type, described)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# What the controller keeps from a failed module run on the host: the failure, never a claim of success.
HOST_FAILURE_KEYS = ("msg", "reason", "url", "status", "exception", "module_stdout", "module_stderr", "rc")


def controller_options(args: Mapping[str, Any]) -> dict:
    """The options the controller acts on, validated (the host-side module checks the client options)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = {name: dict(option) for name, option in IDENTITY_OPTIONS.items()}
    validated = ArgumentSpecValidator(spec).validate({name: args[name] for name in spec if name in args})
    if validated.error_messages:
        hint = (
            " Give certificate: the PEM text of AWS's certificate for the instance's region and signature_type, "
            "or a path to it on the controller (see the module's documentation for where AWS publishes them)."
            if "certificate" not in args or not args.get("certificate")
            else ""
        )
        raise IdentityCheckFailed("; ".join(validated.error_messages) + "." + hint, "invalid_option")
    options = validated.validated_parameters
    try:
        refuse_empty_expectations(options)
    except ImdsConfigError as error:
        raise IdentityCheckFailed(str(error), error.reason) from None
    if not (options["certificate"] or "").strip():
        raise IdentityCheckFailed(
            "certificate is empty. Give the PEM text of AWS's certificate for the instance's region and "
            "signature_type, or a path to it on the controller.",
            "invalid_option",
        )
    if options["max_age"] is not None and options["max_age"] < 0:
        raise IdentityCheckFailed(f"max_age must be 0 or more seconds, not {options['max_age']}.", "invalid_option")
    return options


def is_pem(text: str) -> bool:
    return "-----BEGIN" in text


def describe_option_value(value: str) -> str:
    """How a message names a certificate value that is neither a certificate nor a file: a one-line value (a path)
    as it is, anything else (the content of some file, maybe a secret) only by its size."""
    if "\n" not in value and len(value) <= 1024:
        return repr(value)
    lines = value.count("\n") + 1
    return f"({len(value)} characters on {lines} lines, not shown)"


def read_certificate_file(path: str) -> str:
    """The text of the controller file ``path``, which must be a regular file of at most MAX_CERTIFICATE bytes of
    ASCII. Opened without blocking and checked on the open descriptor, so a FIFO or a device cannot hang the
    controller and a path swapped after a check cannot slip through; IdentityCheckFailed(invalid_option) otherwise.
    Messages name the file and what is wrong with it, never its content."""
    fix = "Give the path of a file holding only AWS's PEM certificate for the instance's region and signature_type."
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise IdentityCheckFailed(
            f"certificate file {path} cannot be opened ({error.strerror}). {fix}", "invalid_option"
        ) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise IdentityCheckFailed(
                f"certificate file {path} is not a regular file (a directory, FIFO, socket or device). {fix}",
                "invalid_option",
            )
        if info.st_size > MAX_CERTIFICATE:
            raise IdentityCheckFailed(
                f"certificate file {path} is {info.st_size} bytes, more than {MAX_CERTIFICATE} (AWS's certificates "
                f"are about 1 KiB): it is not a certificate. {fix}",
                "invalid_option",
            )
        data = b""
        while len(data) <= MAX_CERTIFICATE:
            chunk = os.read(descriptor, MAX_CERTIFICATE + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(descriptor)
    if len(data) > MAX_CERTIFICATE:
        raise IdentityCheckFailed(
            f"certificate file {path} grew past {MAX_CERTIFICATE} bytes while it was read. {fix}", "invalid_option"
        )
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise IdentityCheckFailed(
            f"certificate file {path} is not ASCII text, so it is not a PEM certificate. {fix}", "invalid_option"
        ) from None


def checked_certificate(text: str, where: str) -> str:
    """``text`` (from ``where``: the option, or a file) when it is one X.509 certificate in PEM and nothing else,
    IdentityCheckFailed(invalid_option) otherwise. The message names the PEM blocks found (their labels are not
    secret), never the text: a private key or a credentials file given by mistake is not echoed."""
    fix = (
        "Give AWS's certificate for the instance's region and signature_type, as its PEM text "
        "('-----BEGIN CERTIFICATE-----' ...) or the path of a file on the controller holding only it."
    )
    if len(text) > MAX_CERTIFICATE:
        raise IdentityCheckFailed(
            f"{where} is {len(text)} characters, more than {MAX_CERTIFICATE}: it is not a certificate. {fix}",
            "invalid_option",
        )
    stripped = text.strip()
    if not PEM_CERTIFICATE.fullmatch(stripped):
        labels = sorted(set(PEM_LABEL.findall(text)))
        found = f"PEM blocks {', '.join(labels)}" if labels else "no PEM block"
        raise IdentityCheckFailed(
            f"{where} is not one X.509 certificate in PEM and nothing else (found {found}). {fix}", "invalid_option"
        )
    try:
        load_certificate(stripped)
    except IdentityCheckFailed as error:
        if error.reason == "missing_library":
            raise
        raise IdentityCheckFailed(
            f"{where} has the PEM armour of a certificate, but its content is not an X.509 certificate. {fix}",
            "invalid_option",
        ) from None
    return stripped + "\n"


def identity_result(module_result: Mapping[str, Any], options: Mapping[str, Any], now: datetime | None = None) -> dict:
    """The task result from what the host's module returned: only its two texts are used, and only verified."""
    signature_type = options["signature_type"]
    if module_result.get("failed"):
        kept = {key: module_result[key] for key in HOST_FAILURE_KEYS if key in module_result}
        return {**kept, "failed": True, "verified": False, "signature_type": signature_type}
    expected = {option: options.get(option) for option in EXPECTATIONS}
    try:
        identity = verify_identity(
            module_result.get("document_text"),
            module_result.get("signature_text"),
            signature_type,
            options["certificate"],
            expected=expected,
            max_age=options.get("max_age"),
            now=now,
        )
    except IdentityCheckFailed as error:
        return failure_result(error, signature_type)
    return {"changed": False, **identity.as_dict()}


def failure_result(error: IdentityCheckFailed, signature_type: str) -> dict:
    return {
        **error.details,
        "failed": True,
        "verified": False,
        "msg": str(error),
        "reason": error.reason,
        "signature_type": signature_type,
    }
