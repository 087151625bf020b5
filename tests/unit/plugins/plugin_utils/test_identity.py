# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verification on the controller: each check passes on what AWS (here the emulator) signed, and fails, naming
what did not match, on anything else. The host's answer is treated as hostile throughout."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from identity_signing import DIGEST_OIDS, IdentitySigner, self_signed
from identity_signing import _pem as pem_of
from imds_emulator import ImdsEmulator, render

from ansible_collections.ec2meta.imds.plugins.plugin_utils._identity_verification import (
    CLOCK_SKEW,
    EXPECTATIONS,
    IdentityCheckFailed,
    controller_options,
    identity_result,
    verify_identity,
)

TYPES = ("rsa2048", "pkcs7", "signature")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def signer():
    return IdentitySigner(now=NOW)


@pytest.fixture(scope="module")
def document():
    return render(ImdsEmulator().dynamic["instance-identity"]["document"])


@pytest.fixture(scope="module")
def served(signer, document):
    """What a host serves: the document text and each signature text."""
    return document.decode(), signer.signatures(document)


def verify(served, signature_type, certificate=None, signer=None, now=NOW, **kwargs):
    document, signatures = served
    return verify_identity(document, signatures[signature_type], signature_type, certificate, now=now, **kwargs)


def failure(call) -> IdentityCheckFailed:
    with pytest.raises(IdentityCheckFailed) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("signature_type", TYPES)
def test_each_signature_type_verifies(served, signer, signature_type):
    certificate = signer.certificates()[signature_type]
    identity = verify(served, signature_type, certificate).as_dict()
    assert identity["verified"] is True
    assert identity["signature_type"] == signature_type
    assert identity["document"] == json.loads(served[0])
    subject = f"CN=ec2meta.imds emulator {signature_type},O=ec2meta.imds emulator,C=US"
    assert identity["certificate"]["subject"] == subject
    assert identity["certificate"]["not_valid_before"] == "2026-11-22T12:00:00Z"
    assert identity["certificate"]["not_valid_after"] == "2027-11-23T12:00:00Z"


@pytest.mark.parametrize("signature_type", TYPES)
def test_one_changed_byte_in_the_document_fails(served, signer, signature_type):
    document, signatures = served
    changed = document.replace('"accountId": "123456789012"', '"accountId": "123456789013"')
    assert changed != document
    error = failure(
        lambda: verify_identity(
            changed, signatures[signature_type], signature_type, signer.certificates()[signature_type], now=NOW
        )
    )
    if signature_type == "signature":
        assert error.reason == "signature_invalid"
    else:
        # The PKCS#7 signature still covers its own copy: the served document is caught as different.
        assert error.reason == "content_mismatch"
        assert "accountId: signed '123456789012', served '123456789013'" in str(error)


@pytest.mark.parametrize("signature_type", ["rsa2048", "pkcs7"])
def test_changed_content_inside_the_pkcs7_fails(served, signer, signature_type):
    """A host that edits the document inside the PKCS#7 blob (and serves the same edit as the plain document)."""
    document, signatures = served
    blob = base64.b64decode("".join(signatures[signature_type].split()))
    original, edited = b'"accountId": "123456789012"', b'"accountId": "999999999999"'
    assert original in blob
    tampered = base64.b64encode(blob.replace(original, edited)).decode()
    error = failure(
        lambda: verify_identity(
            document.replace("123456789012", "999999999999"),
            tampered,
            signature_type,
            signer.certificates()[signature_type],
            now=NOW,
        )
    )
    assert error.reason == "signature_invalid"
    assert "messageDigest is not the hash of the content" in str(error)


@pytest.mark.parametrize(
    ("signature_type", "other"), [("rsa2048", "signature"), ("signature", "rsa2048"), ("pkcs7", None)]
)
def test_the_wrong_certificate_fails(served, signer, signature_type, other):
    if other is None:
        # The emulator has one DSA key only: another DSA key stands for another region's certificate.
        key = dsa.generate_private_key(key_size=1024)  # noqa: S505 - a test key
        pem = pem_of(self_signed(key, "another", NOW - timedelta(days=1), NOW + timedelta(days=1), 7))
    else:
        pem = signer.certificates()[other]
    error = failure(lambda: verify(served, signature_type, pem))
    assert error.reason == "signature_invalid"
    assert "is not valid for the certificate" in str(error)


@pytest.mark.parametrize(("signature_type", "other"), [("rsa2048", "pkcs7"), ("pkcs7", "rsa2048")])
def test_a_certificate_of_the_wrong_key_type_fails(served, signer, signature_type, other):
    error = failure(lambda: verify(served, signature_type, signer.certificates()[other]))
    assert error.reason == "wrong_certificate_type"


def test_an_rsa2048_certificate_must_hold_a_2048_bit_key(served, signer):
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - a test key, too small on purpose
    certificate = pem_of(self_signed(key, "rsa-1024", NOW - timedelta(days=1), NOW + timedelta(days=1), 7))
    error = failure(lambda: verify(served, "rsa2048", certificate))
    assert error.reason == "wrong_certificate_type"
    assert "signed with a RSA-2048 key" in str(error)
    assert "holds RSA-1024" in str(error)


# The one digest AWS documents for each signature type (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/
# verify-iid.html), written here rather than imported so that a wrong table in the code fails this test.
DOCUMENTED_DIGESTS = {"rsa2048": "SHA256", "pkcs7": "SHA1", "signature": "SHA256"}
UNDOCUMENTED = [(kind, name) for kind in TYPES for name in DIGEST_OIDS if name != DOCUMENTED_DIGESTS[kind]]


@pytest.mark.parametrize(("signature_type", "digest_name"), UNDOCUMENTED)
def test_a_signature_made_with_a_digest_aws_does_not_use_for_the_type_fails(
    signer, document, signature_type, digest_name
):
    """Validly signed with the right key, but with SHA-1 for rsa2048 (or SHA-256 for pkcs7, ...): refused."""
    signature = signer.sign(signature_type, document, digest_name=digest_name)
    certificate = signer.certificates()[signature_type]
    error = failure(lambda: verify_identity(document.decode(), signature, signature_type, certificate, now=NOW))
    assert error.reason == "signature_invalid"
    if signature_type != "signature":  # the bare signature names no digest: it just does not verify
        assert f"names the digest {digest_name}, but AWS signs signature_type={signature_type}" in str(error)


@pytest.mark.parametrize("signature_type", TYPES)
def test_the_documented_digest_is_what_the_emulator_signs_with(signer, document, signature_type):
    """The control for the test above: the same signer, with the documented digest named, verifies."""
    signature = signer.sign(signature_type, document, digest_name=DOCUMENTED_DIGESTS[signature_type])
    certificate = signer.certificates()[signature_type]
    assert verify_identity(document.decode(), signature, signature_type, certificate, now=NOW).document


@pytest.mark.parametrize("signature_type", TYPES)
def test_an_expired_certificate_fails(served, signer, signature_type):
    error = failure(lambda: verify(served, signature_type, signer.certificates(expired=True)[signature_type]))
    assert error.reason == "certificate_expired"
    assert "expired at 2026-10-19T12:00:00Z" in str(error)


def test_a_certificate_not_yet_valid_fails(served, signer):
    error = failure(lambda: verify(served, "rsa2048", signer.certificates()["rsa2048"], now=NOW - timedelta(days=2)))
    assert error.reason == "certificate_not_yet_valid"


@pytest.mark.parametrize(("option", "field"), list(EXPECTATIONS.items()))
def test_each_expectation_mismatch_names_the_field(served, signer, option, field):
    certificate = signer.certificates()["rsa2048"]
    claimed = json.loads(served[0])[field]
    assert verify(served, "rsa2048", certificate, expected={option: claimed}).document[field] == claimed
    error = failure(lambda: verify(served, "rsa2048", certificate, expected={option: "something-else"}))
    assert error.reason == "identity_mismatch"
    assert error.details["field"] == field
    assert f"says {field}={claimed!r}, but {option} is 'something-else'" in str(error)


def test_max_age(served, signer):
    certificate = signer.certificates()["rsa2048"]
    started = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)  # pendingTime of the emulator's document
    age = int((NOW - started).total_seconds())
    assert verify(served, "rsa2048", certificate, max_age=age).as_dict()["verified"]
    error = failure(lambda: verify(served, "rsa2048", certificate, max_age=age - 1))
    assert error.reason == "too_old"
    assert error.details["field"] == "pendingTime"
    assert f"{age}s ago, more than max_age={age - 1}s" in str(error)


@pytest.mark.parametrize(
    ("signature_text", "words"),
    [
        ("", "returned no rsa2048 signature"),
        ("not base64!", "is not base64"),
        (base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), "not a PKCS#7 SignedData"),
        (base64.b64encode(b"\x30\x80").decode(), "not a PKCS#7 SignedData (truncated"),
        ("A" * 70000, "more than"),
    ],
)
def test_malformed_signatures_fail_clearly(served, signer, signature_text, words):
    error = failure(
        lambda: verify_identity(served[0], signature_text, "rsa2048", signer.certificates()["rsa2048"], now=NOW)
    )
    assert error.reason == "malformed"
    assert words in str(error)


def test_truncated_pkcs7_fails_as_malformed(served, signer):
    blob = base64.b64decode("".join(served[1]["pkcs7"].split()))
    for cut in range(0, len(blob), 7):
        error = failure(
            lambda cut=cut: verify_identity(
                served[0], base64.b64encode(blob[:cut]).decode() or "AA==", "pkcs7", signer.certificates()["pkcs7"]
            )
        )
        assert error.reason in ("malformed", "signature_invalid")


def test_pem_armour_is_tolerated(served, signer):
    armoured = "-----BEGIN PKCS7-----\n" + served[1]["rsa2048"] + "\n-----END PKCS7-----\n"
    identity = verify_identity(served[0], armoured, "rsa2048", signer.certificates()["rsa2048"], now=NOW)
    assert identity.document["instanceId"] == "i-0a1b2c3d4e5f60718"


def test_not_a_certificate(served):
    error = failure(lambda: verify(served, "rsa2048", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"))
    assert error.reason == "invalid_certificate"


# ---------------------------------------------------------------------------- the host's answer is not trusted
def options(signer, signature_type="rsa2048", **extra):
    certificate = signer.certificates()[signature_type]
    return controller_options({"certificate": certificate, "signature_type": signature_type, **extra})


def test_a_host_claiming_verified_is_not_believed(served, signer):
    lying = {
        "verified": True,
        "document": {"instanceId": "i-0a1b2c3d4e5f60718", "accountId": "123456789012"},
        "certificate": {"subject": "CN=Amazon"},
        "document_text": served[0].replace("123456789012", "999999999999"),
        "signature_text": served[1]["rsa2048"],
    }
    result = identity_result(lying, options(signer), now=NOW)
    assert result["failed"] is True
    assert result["verified"] is False
    assert result["reason"] == "content_mismatch"


def test_only_the_signed_content_is_returned(served, signer):
    extra = {"verified": True, "document": {"instanceId": "i-forged"}, "iam": {"secret": "x"}, "changed": True}
    result = identity_result(
        {**extra, "document_text": served[0], "signature_text": served[1]["rsa2048"]}, options(signer), now=NOW
    )
    assert result["verified"] is True
    assert result["document"]["instanceId"] == "i-0a1b2c3d4e5f60718"
    assert set(result) == {"changed", "verified", "document", "signature_type", "certificate"}
    assert result["changed"] is False


def test_a_host_failure_is_passed_on_never_as_verified(signer):
    result = identity_result(
        {"failed": True, "verified": True, "msg": "IMDS has no rsa2048 signature", "reason": "not_found", "x": 1},
        options(signer),
    )
    assert result == {
        "failed": True,
        "verified": False,
        "msg": "IMDS has no rsa2048 signature",
        "reason": "not_found",
        "signature_type": "rsa2048",
    }


def test_a_host_returning_nothing_fails(signer):
    result = identity_result({"verified": True}, options(signer), now=NOW)
    assert result["failed"]
    assert result["reason"] == "malformed"
    assert "returned no identity document" in result["msg"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({}, "missing required arguments: certificate"),
        ({"certificate": "  "}, "certificate is empty"),
        ({"certificate": "x", "signature_type": "dsa"}, "signature_type must be one of"),
        ({"certificate": "x", "max_age": -1}, "max_age must be 0 or more"),
        ({"certificate": "x", "max_age": "soon"}, "max_age"),
    ],
)
def test_controller_options(args, words):
    error = failure(lambda: controller_options(args))
    assert error.reason == "invalid_option"
    assert words in str(error)


def test_controller_options_ignore_client_options():
    assert controller_options({"certificate": "pem", "endpoint": "http://127.0.0.1:1"})["signature_type"] == "rsa2048"


def signed(signer, text: str) -> tuple:
    """A document the host serves with AWS's (here the emulator's) valid signatures over exactly these bytes."""
    return text, signer.signatures(text.encode())


def _with_pending_time(document: bytes, moment: datetime) -> str:
    fields = json.loads(document)
    fields["pendingTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(fields, indent=2)


@pytest.mark.parametrize("signature_type", TYPES)
@pytest.mark.parametrize("max_age", [3600, None])
def test_a_signed_document_from_the_future_fails(signer, document, signature_type, max_age):
    served = signed(signer, _with_pending_time(document, datetime(2099, 1, 1, tzinfo=timezone.utc)))
    error = failure(lambda: verify(served, signature_type, signer.certificates()[signature_type], max_age=max_age))
    assert error.reason == "too_new"
    assert error.details["field"] == "pendingTime"
    assert "2099-01-01T00:00:00Z" in str(error)
    assert "300s of clock skew" in str(error)


def test_the_allowed_clock_skew_is_300_seconds(signer, document):
    certificate = signer.certificates()["rsa2048"]
    within = signed(signer, _with_pending_time(document, NOW + timedelta(seconds=CLOCK_SKEW)))
    assert verify(within, "rsa2048", certificate, max_age=3600).as_dict()["verified"]
    beyond = signed(signer, _with_pending_time(document, NOW + timedelta(seconds=CLOCK_SKEW + 1)))
    assert failure(lambda: verify(beyond, "rsa2048", certificate, max_age=3600)).reason == "too_new"
    assert CLOCK_SKEW == 300, "the module's documentation says 300 seconds"


@pytest.mark.parametrize("signature_type", TYPES)
@pytest.mark.parametrize("key", ["instanceId", "accountId", "region", "pendingTime"])
def test_a_signed_document_naming_a_key_twice_is_malformed(signer, document, signature_type, key):
    fields = json.loads(document)
    # The first value is the true one; a reader keeping the last would see the other.
    text = json.dumps(fields)[:-1] + f', "{key}": "i-0ffffffffffffffff"}}'
    served = signed(signer, text)
    expected = {"expected_instance_id": fields["instanceId"]} if key != "instanceId" else {}
    error = failure(
        lambda: verify(served, signature_type, signer.certificates()[signature_type], expected=expected, max_age=None)
    )
    assert error.reason == "malformed"
    assert f"{key!r} more than once" in str(error)


@pytest.mark.parametrize(
    "pending_time",
    [
        "soon",
        "2099-01-01T00:00:00 UTC",
        "2099-01-01T00:00:00ZZ",
        "Jan 1 2099",
        "9999-12-31T23:59:59-23:59",
        4070908800,
        None,
        [],
        True,
        "MISSING",
    ],
)
@pytest.mark.parametrize("max_age", [None, 3600])
def test_a_document_whose_pending_time_is_not_a_time_is_malformed(signer, document, pending_time, max_age):
    fields = json.loads(document)
    if pending_time == "MISSING":
        del fields["pendingTime"]  # AWS writes it in every identity document
    else:
        fields["pendingTime"] = pending_time
    served = signed(signer, json.dumps(fields))
    error = failure(lambda: verify(served, "rsa2048", signer.certificates()["rsa2048"], max_age=max_age))
    assert error.reason == "malformed"
    assert error.details["field"] == "pendingTime"


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "Infinity", "1e999999", '"\\ud800"', '{"\\udc00": 1}'])
def test_a_signed_document_with_a_value_no_json_writer_makes_is_malformed(signer, document, value):
    served = signed(signer, json.dumps(json.loads(document))[:-1] + f', "x": {value}}}')
    error = failure(lambda: verify(served, "rsa2048", signer.certificates()["rsa2048"]))
    assert error.reason == "malformed"
