# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""instance_identity's host side through main(), against the emulator: it reads, it never verifies."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ec2meta.imds.plugins.modules import instance_identity
from ansible_collections.ec2meta.imds.plugins.plugin_utils._identity_verification import (
    controller_options,
    identity_result,
)


@pytest.fixture
def run(run_module, emulator):
    def runner(check_mode: bool = False, **args) -> dict:
        args.setdefault("certificate", emulator.identity_signer.certificates()["rsa2048"])
        return run_module(instance_identity, {"endpoint": emulator.url, **args}, check_mode=check_mode)

    return runner


@pytest.mark.parametrize("signature_type", ["rsa2048", "pkcs7", "signature"])
def test_reads_the_texts_as_served_and_never_says_verified(emulator, run, signature_type):
    result = run(signature_type=signature_type)
    served = emulator.tree()["dynamic"]["instance-identity"]
    assert result["verified"] is False
    assert result["changed"] is False
    assert result["signature_type"] == signature_type
    assert result["document_text"] == json.dumps(served["document"]["$json"], indent=2)
    assert result["signature_text"] == served[signature_type]
    assert "document" not in result
    assert emulator.path_counts == {
        "GET /latest/dynamic/instance-identity/document": 1,
        f"GET /latest/dynamic/instance-identity/{signature_type}": 1,
    }


def test_check_mode_reads_the_same(run):
    result = run(check_mode=True)
    assert result["verified"] is False
    assert result["signature_text"]


def test_even_a_wrong_certificate_is_not_the_hosts_business(run):
    """The host does not look at the certificate: a bad one fails on the controller, not here."""
    result = run(certificate="-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----")
    assert not result.get("failed")
    assert result["verified"] is False


def test_a_missing_signature_path_fails_clearly(emulator, run):
    emulator.add_fault("status", path="/latest/dynamic/instance-identity/pkcs7", status=404)
    result = run(signature_type="pkcs7")
    assert result["failed"] is True
    assert result["verified"] is False
    assert result["reason"] == "not_found"
    assert "IMDS has no pkcs7 signature on this instance" in result["msg"]
    assert "Choose another signature_type (rsa2048, signature)" in result["msg"]


def test_imds_errors_come_through(emulator, run):
    emulator.set_options(http_endpoint="disabled")
    result = run()
    assert result["failed"] is True
    assert result["reason"] == "endpoint_disabled"
    assert result["verified"] is False


def test_nothing_from_iam_is_read(emulator, run):
    run()
    assert not [path for path in emulator.path_counts if "/iam/" in path]


def test_what_the_module_reads_verifies_on_the_controller(emulator, run):
    """End to end without ansible-playbook: the module's texts, through the client, verify as the emulator signed."""
    certificate = emulator.identity_signer.certificates()["pkcs7"]
    module_result = run(signature_type="pkcs7", certificate=certificate)
    options = controller_options(
        {"signature_type": "pkcs7", "certificate": certificate, "expected_region": "eu-west-1"}
    )
    result = identity_result(module_result, options)
    assert result["verified"] is True
    assert result["document"]["instanceId"] == "i-0a1b2c3d4e5f60718"
