# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance_identity action plugin reads and checks the certificate on the controller, before it runs anything
on the host, and never sends it there.

The plugin runs for real (ansible's DataLoader finds the files); only the step that ships a module to the host is
replaced, by one that records what would travel and runs the real module in-process against the emulator.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.parsing.dataloader import DataLoader
from cryptography.hazmat.primitives import serialization

from ansible_collections.ec2meta.imds.plugins.action.instance_identity import ActionModule
from ansible_collections.ec2meta.imds.plugins.modules import instance_identity
from ansible_collections.ec2meta.imds.plugins.plugin_utils._identity_verification import CERTIFICATE_ON_CONTROLLER

PRIVATE_KEY_MARK = "-----BEGIN PRIVATE KEY-----"
AWS_CREDENTIALS = "[default]\naws_access_key_id = AKIAEXAMPLEKEY123456\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"
# Generous: the plugin must refuse at once; this only keeps a regression from hanging the test run forever.
DEADLINE = 60


class RecordingAction(ActionModule):
    """The real action plugin; what it would send to the host is recorded, and the host is the real module."""

    def __init__(self, args: dict, search_dir: Path, host):
        task = SimpleNamespace(
            args=args,
            async_val=0,
            check_mode=False,
            action="ec2meta.imds.instance_identity",
            get_search_path=lambda: [str(search_dir)],
        )
        connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/nonexistent-unused"))
        super().__init__(task, connection, None, DataLoader(), None, None)  # ansible-core 2.17 needs all six
        self.host = host
        self.sent: list[dict] = []

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.sent.append(dict(module_args))
        return self.host(module_args)


@pytest.fixture
def action(tmp_path, emulator, run_module):
    def host(module_args):
        return run_module(instance_identity, {**module_args, "endpoint": emulator.url})

    def make(**args) -> RecordingAction:
        return RecordingAction(args, tmp_path, host)

    return make


def run_within_deadline(plugin: RecordingAction) -> dict:
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(plugin.run(task_vars={})), daemon=True)
    worker.start()
    worker.join(DEADLINE)
    assert not worker.is_alive(), f"the action plugin did not return within {DEADLINE}s"
    return outcome


def private_key_pem(emulator) -> str:
    key = emulator.identity_signer.keys["rsa2048"]
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def bad_certificate(kind: str, tmp_path: Path, emulator) -> tuple[str, str]:
    """(the certificate option's value, a text that must never reach the host or the message)."""
    certificate = emulator.identity_signer.certificates()["rsa2048"]
    key = private_key_pem(emulator)
    key_body = key.splitlines()[1]
    path = tmp_path / kind
    if kind == "private_key_text":
        return key, key_body
    if kind == "certificate_and_key_text":
        return certificate + key, key_body
    if kind == "private_key_file":
        path.write_text(key, encoding="ascii")
        return str(path), key_body
    if kind == "certificate_and_key_file":
        path.write_text(certificate + key, encoding="ascii")
        return kind, key_body  # relative: found in files/ like the copy module's src
    if kind == "aws_credentials_file":
        path.write_text(AWS_CREDENTIALS, encoding="ascii")
        return str(path), "wJalrXUtnFEMI"
    if kind == "aws_credentials_text":
        return AWS_CREDENTIALS, "wJalrXUtnFEMI"
    if kind == "fifo":
        os.mkfifo(path)
        return str(path), PRIVATE_KEY_MARK
    if kind == "directory":
        path.mkdir()
        return str(path), PRIVATE_KEY_MARK
    if kind == "device":
        return "/dev/zero", PRIVATE_KEY_MARK
    if kind == "oversized_file":
        path.write_text(certificate + "\n" * (64 * 1024), encoding="ascii")
        return str(path), PRIVATE_KEY_MARK
    if kind == "binary_file":
        path.write_bytes(b"\x00\xff" * 100)
        return str(path), PRIVATE_KEY_MARK
    if kind == "two_certificates_file":
        path.write_text(certificate + emulator.identity_signer.certificates()["pkcs7"], encoding="ascii")
        return str(path), PRIVATE_KEY_MARK
    if kind == "armour_without_certificate":
        return "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", PRIVATE_KEY_MARK
    raise AssertionError(kind)


BAD_KINDS = [
    "private_key_text",
    "certificate_and_key_text",
    "private_key_file",
    "certificate_and_key_file",
    "aws_credentials_file",
    "aws_credentials_text",
    "fifo",
    "directory",
    "device",
    "oversized_file",
    "binary_file",
    "two_certificates_file",
    "armour_without_certificate",
]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_anything_but_one_certificate_is_refused_before_the_host_is_contacted(action, tmp_path, emulator, kind):
    value, secret = bad_certificate(kind, tmp_path, emulator)
    plugin = action(certificate=value)
    result = run_within_deadline(plugin)
    assert result.get("failed") is True, result
    assert result["reason"] == "invalid_option"
    assert result["verified"] is False
    assert plugin.sent == [], "the host was contacted"
    assert emulator.counters["total"] == 0
    assert secret not in result["msg"]
    assert "certificate" in result["msg"]


@pytest.mark.parametrize("kind", ["private_key_file", "fifo", "directory", "oversized_file"])
def test_the_message_says_what_is_wrong_with_the_file(action, tmp_path, emulator, kind):
    value = bad_certificate(kind, tmp_path, emulator)[0]
    message = run_within_deadline(action(certificate=value))["msg"]
    words = {
        "private_key_file": "is not one X.509 certificate in PEM and nothing else (found PEM blocks PRIVATE KEY)",
        "fifo": "is not a regular file",
        "directory": "is not a regular file",
        "oversized_file": "bytes, more than 65536",
    }[kind]
    assert words in message


@pytest.mark.parametrize("given_as", ["text", "absolute_path", "relative_path"])
def test_the_certificate_never_travels_to_the_host(action, tmp_path, emulator, given_as):
    certificate = emulator.identity_signer.certificates()["rsa2048"]
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "aws.pem").write_text(certificate, encoding="ascii")
    value = {
        "text": certificate,
        "absolute_path": str(tmp_path / "files" / "aws.pem"),
        "relative_path": "aws.pem",
    }[given_as]
    plugin = action(certificate=value, expected_region="eu-west-1")
    result = run_within_deadline(plugin)
    assert result.get("failed") is not True, result
    assert result["verified"] is True
    assert len(plugin.sent) == 1
    assert plugin.sent[0]["certificate"] == CERTIFICATE_ON_CONTROLLER
    body = certificate.splitlines()[1]
    assert not [name for name, sent in plugin.sent[0].items() if body in str(sent) or "aws.pem" in str(sent)]


def test_a_one_line_value_that_is_no_file_is_named_a_long_one_is_not(action):
    short = run_within_deadline(action(certificate="no-such.pem"))
    assert "certificate 'no-such.pem' is neither PEM text nor a file on the controller" in short["msg"]
    long_value = "secret-looking " * 100
    refused = run_within_deadline(action(certificate=long_value))
    assert refused["reason"] == "invalid_option"
    assert "(1500 characters on 1 lines, not shown)" in refused["msg"]
    assert "secret-looking" not in refused["msg"]


def test_a_lying_imds_with_a_signed_document_from_the_future_is_refused(action, emulator):
    emulator.update_identity_document(pendingTime="2099-01-01T00:00:00Z")
    result = run_within_deadline(action(certificate=emulator.identity_signer.certificates()["rsa2048"], max_age=3600))
    assert result["failed"] is True
    assert result["verified"] is False
    assert result["reason"] == "too_new"


def test_a_lying_imds_with_a_signed_document_naming_instance_id_twice_is_refused(action, emulator):
    document = emulator.update_identity_document()
    text = json.dumps(document)[:-1] + ', "instanceId": "i-0ffffffffffffffff"}'
    # The emulator signs what it serves, so both signatures are valid for these exact bytes.
    emulator.dynamic["instance-identity"]["document"] = text
    result = run_within_deadline(
        action(
            certificate=emulator.identity_signer.certificates()["rsa2048"], expected_instance_id="i-0ffffffffffffffff"
        )
    )
    assert result["failed"] is True
    assert result["verified"] is False
    assert result["reason"] == "malformed"
    assert "'instanceId' more than once" in result["msg"]
