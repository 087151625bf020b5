# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bug is reported as ``reason: internal_error`` with the exception and a request to report it, never a traceback."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.modules import (
    instance_identity,
    metadata,
    metadata_facts,
    metadata_options,
    metadata_options_info,
    probe,
    role_credentials_info,
)


def _broken(*_args, **_kwargs):
    raise KeyError("unexpected-shape")


@pytest.mark.parametrize(
    ("module", "target", "args"),
    [
        (metadata, "read_paths", {"path": "meta-data/instance-id"}),
        (metadata_facts, "gather_ec2_facts", {}),
        (probe, "run_probe", {}),
        (role_credentials_info, "read_role", {}),
        (instance_identity, "read_identity", {"certificate": "not read: the host side only reads"}),
        (
            metadata_options,
            "plan_metadata_options",
            {"instance_id": "i-0123456789abcdef0", "region": "eu-west-1", "http_tokens": "optional"},
        ),
        (metadata_options_info, "audit", {"region": "eu-west-1"}),
    ],
    ids=[
        "metadata",
        "metadata_facts",
        "probe",
        "role_credentials_info",
        "instance_identity",
        "metadata_options",
        "metadata_options_info",
    ],
)
def test_an_unexpected_exception_is_an_internal_error(run_module, emulator, monkeypatch, module, target, args):
    monkeypatch.setattr(module, target, _broken)
    # The EC2 modules build boto3 clients first: static credentials, so botocore never looks for others.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    if module is not metadata_options_info:
        args = {"endpoint": emulator.url, **args}
    result = run_module(module, args)
    assert (result["failed"], result["reason"]) == (True, "internal_error")
    assert "KeyError: 'unexpected-shape'" in result["msg"]
    assert "This is a bug: please report it" in result["msg"]
    assert "Traceback" not in result["msg"]
