# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The named IMDS paths: each one exists on an emulated instance, in the form the client takes."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._imds import paths as _paths

NAMED = {name: value for name, value in vars(_paths).items() if name.isupper() and name != "TOKEN_PATH"}


def test_every_path_is_named_once():
    assert len(set(NAMED.values())) == len(NAMED)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_path_is_served(emulator, make_client, name):
    path = NAMED[name]
    assert not path.startswith("/"), "relative to /latest/, as the client and read_paths take them"
    if path == _paths.USER_DATA_PATH:
        emulator.set_user_data(b"#cloud-config\n")
    assert make_client().get(path)


def test_token_path_issues_tokens(emulator, make_client):
    client = make_client()
    client.get(_paths.INSTANCE_ID_PATH)
    assert client.imds_version == 2
    assert emulator.counters["token_put"] == 1
