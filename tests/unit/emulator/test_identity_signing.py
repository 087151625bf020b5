# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's signatures are real: openssl, not our verifier, accepts what it serves."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest
import requests

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


def served(emulator, name: str) -> bytes:
    response = requests.get(f"{emulator.url}/latest/dynamic/instance-identity/{name}", timeout=5)
    assert response.status_code == 200
    return response.content


def openssl(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def files(emulator, tmp_path):
    """The served document, the PKCS#7 blobs with the PEM armour IMDS leaves out, and the certificates."""
    (tmp_path / "document").write_bytes(served(emulator, "document"))
    for kind, pem in emulator.identity_signer.certificates().items():
        (tmp_path / f"{kind}.crt").write_text(pem)
    for kind in ("rsa2048", "pkcs7"):
        body = served(emulator, kind).decode()
        assert not body.startswith("-----"), "IMDS serves the base64 without armour lines"
        (tmp_path / f"{kind}.p7").write_text(f"-----BEGIN PKCS7-----\n{body}\n-----END PKCS7-----\n")
    (tmp_path / "signature").write_bytes(base64.b64decode(served(emulator, "signature")))
    return tmp_path


@needs_openssl
@pytest.mark.parametrize("kind", ["rsa2048", "pkcs7"])
@pytest.mark.parametrize("command", ["cms", "smime"])
def test_openssl_verifies_the_pkcs7_forms(files, kind, command):
    completed = openssl(
        command, "-verify", "-inform", "PEM", "-in", f"{kind}.p7", "-certfile", f"{kind}.crt",
        "-CAfile", f"{kind}.crt", "-out", "signed", cwd=files,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "Verification successful" in completed.stderr
    assert (files / "signed").read_bytes() == (files / "document").read_bytes()


@needs_openssl
def test_openssl_rejects_the_wrong_certificate(files):
    completed = openssl(
        "cms", "-verify", "-inform", "PEM", "-in", "rsa2048.p7", "-certfile", "signature.crt",
        "-CAfile", "signature.crt", "-out", "signed", cwd=files,
    )  # fmt: skip
    assert completed.returncode != 0


@needs_openssl
def test_openssl_verifies_the_bare_signature(files):
    assert openssl("x509", "-in", "signature.crt", "-pubkey", "-noout", "-out", "key.pub", cwd=files).returncode == 0
    completed = openssl("dgst", "-sha256", "-verify", "key.pub", "-signature", "signature", "document", cwd=files)
    assert completed.returncode == 0, completed.stderr
    assert "Verified OK" in completed.stdout


@needs_openssl
def test_openssl_sees_the_algorithms_aws_uses(files):
    for kind, digest in (("pkcs7", "sha1"), ("rsa2048", "sha256")):
        completed = openssl("cms", "-cmsout", "-print", "-inform", "PEM", "-in", f"{kind}.p7", cwd=files)
        assert completed.returncode == 0, completed.stderr
        assert f"algorithm: {digest}" in completed.stdout
    assert "dsaEncryption" in openssl("x509", "-in", "pkcs7.crt", "-noout", "-text", cwd=files).stdout


def test_signatures_follow_the_document(emulator):
    before = {name: served(emulator, name) for name in ("signature", "pkcs7", "rsa2048")}
    emulator.update_identity_document(instanceId="i-0123456789abcdef0")
    document = json.loads(served(emulator, "document"))
    assert document["instanceId"] == "i-0123456789abcdef0"
    after = {name: served(emulator, name) for name in before}
    assert all(after[name] != before[name] for name in before)


def test_certificates_route(emulator):
    answer = requests.get(f"{emulator.url}/_emulator/identity-certificates", timeout=5).json()
    assert set(answer) == {"current", "expired"}
    assert set(answer["current"]) == {"rsa2048", "pkcs7", "signature"}
    assert answer["current"]["rsa2048"].startswith("-----BEGIN CERTIFICATE-----")
    assert answer["expired"]["rsa2048"] != answer["current"]["rsa2048"]
