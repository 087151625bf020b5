# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import gzip
import json

import pytest

from ansible_collections.ec2meta.imds.plugins.modules import metadata


def test_one_path_returns_value(emulator, run_module):
    result = run_module(metadata, {"endpoint": emulator.url, "path": "meta-data/instance-id"})
    assert result["value"] == emulator.metadata["instance-id"]
    assert "by_path" not in result
    assert result["changed"] is False
    assert result["imds_version"] == 2


def test_a_list_returns_by_path_with_one_token(emulator, run_module):
    paths = ["meta-data/placement/region", "/latest/meta-data/instance-type"]
    result = run_module(metadata, {"endpoint": emulator.url, "path": paths})
    assert result["by_path"] == {"meta-data/placement/region": "eu-west-1", "meta-data/instance-type": "t3.medium"}
    assert "values" not in result, "renamed to by_path in 1.0.0: Jinja reads result.values as the dict method"
    assert emulator.counters["token_put"] == 1


def test_recursive_returns_a_subtree(emulator, run_module):
    result = run_module(metadata, {"endpoint": emulator.url, "path": "meta-data/placement", "recursive": True})
    assert result["value"] == emulator.metadata["placement"]


def test_recursive_iam_leaves_credentials_out(emulator, run_module):
    result = run_module(metadata, {"endpoint": emulator.url, "path": "meta-data/iam", "recursive": True})
    assert result["value"]["security-credentials"] == {}
    assert "info" in result["value"]
    assert not [path for path in emulator.path_counts if path.endswith(emulator.iam["role_name"])]
    assert not [secret for secret in emulator.issued_secrets if secret in json.dumps(result)]


def test_parse_json(emulator, run_module):
    result = run_module(
        metadata,
        {
            "endpoint": emulator.url,
            "path": ["dynamic/instance-identity/document", "meta-data/ami-launch-index"],
            "parse_json": True,
        },
    )
    assert result["by_path"]["dynamic/instance-identity/document"]["instanceId"] == emulator.metadata["instance-id"]
    assert result["by_path"]["meta-data/ami-launch-index"] == "0", "only objects and arrays are parsed"


def test_gzip_user_data_is_unpacked(emulator, run_module):
    emulator.set_user_data(gzip.compress(b"#cloud-config\n", mtime=0))
    assert run_module(metadata, {"endpoint": emulator.url, "path": "user-data"})["value"] == "#cloud-config\n"


def test_missing_path_fails_or_gives_default(emulator, run_module):
    failed = run_module(metadata, {"endpoint": emulator.url, "path": "meta-data/tags/instance/Nope"})
    assert failed["failed"] is True
    assert "has no meta-data/tags/instance/Nope" in failed["msg"]
    assert "set default" in failed["msg"]
    assert failed["reason"] == "not_found"
    given = run_module(metadata, {"endpoint": emulator.url, "path": "meta-data/tags/instance/Nope", "default": "x"})
    assert given["value"] == "x"


@pytest.mark.parametrize(
    "path",
    [
        "meta-data/iam/security-credentials/web-server-role",
        "/latest/meta-data/iam/security-credentials/web-server-role/",
        "meta-data/identity-credentials/ec2/security-credentials/ec2-instance",
        # Below a document: not a path on EC2, but something else at the endpoint might serve one.
        "meta-data/iam/security-credentials/web-server-role/SecretAccessKey",
    ],
)
def test_credential_documents_are_refused(emulator, run_module, path):
    result = run_module(metadata, {"endpoint": emulator.url, "path": path})
    assert result["failed"] is True
    assert "ec2meta.imds.role_credentials_info" in result["msg"]
    assert emulator.counters["total"] == 0


def test_the_role_name_listing_is_allowed(emulator, run_module):
    result = run_module(metadata, {"endpoint": emulator.url, "path": "meta-data/iam/security-credentials/"})
    assert result["value"] == emulator.iam["role_name"]


@pytest.mark.parametrize("path", [[], "", 42])
def test_bad_path(emulator, run_module, path):
    result = run_module(metadata, {"endpoint": emulator.url, "path": path})
    assert result["failed"] is True
    assert "path" in result["msg"]
