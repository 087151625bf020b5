# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""walk(): several seeds in one pool, skip and transform hooks, listings first."""

from __future__ import annotations

import time

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsTokenUnavailable
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk


def test_walk_fetches_dirs_and_leaves_in_one_tree(emulator, make_client):
    result = walk(make_client(), dirs=["meta-data/placement"], leaves=["meta-data/instance-id", "user-data"])
    assert result.tree["meta-data"]["placement"] == emulator.metadata["placement"]
    assert result.tree["meta-data"]["instance-id"] == emulator.metadata["instance-id"]
    assert result.tree["user-data"] == emulator.user_data.decode()
    assert emulator.counters["token_put"] == 1


def test_missing_seeds_are_recorded(emulator, make_client):
    emulator.set_user_data(None)
    result = walk(make_client(), leaves=["meta-data/instance-id", "user-data"])
    assert result.missing == ["user-data"]


def test_skip_is_never_requested(emulator, make_client):
    result = walk(
        make_client(),
        dirs=["meta-data/iam"],
        missing_ok=False,
        skip=lambda path, is_dir: "security-credentials/" in path,
    )
    subtree = result.values["meta-data/iam"]
    assert result.skipped == [f"meta-data/iam/security-credentials/{emulator.iam['role_name']}"]
    assert subtree["security-credentials"] == {}
    assert not [path for path in emulator.path_counts if path.endswith(emulator.iam["role_name"])]


def test_skip_is_told_directories_from_leaves(make_client):
    seen = {}

    def skip(path, is_dir):
        seen[path] = is_dir
        return True

    walk(make_client(), dirs=["meta-data"], missing_ok=False, skip=skip)
    assert seen["meta-data/network"] is True
    assert seen["meta-data/instance-id"] is False


def test_transform_gets_bytes(make_client):
    result = walk(
        make_client(), dirs=["meta-data/placement"], missing_ok=False, transform=lambda path, body: (path, len(body))
    )
    subtree = result.values["meta-data/placement"]
    assert subtree["region"] == ("meta-data/placement/region", len(b"eu-west-1"))


def test_a_refused_token_fails_once_not_once_per_worker(emulator, make_client):
    emulator.add_fault("status", path="/latest/api/token", method="PUT", status=404)
    with pytest.raises(ImdsTokenUnavailable):
        walk(make_client(allow_imdsv1=False), dirs=["meta-data", "dynamic"], leaves=["user-data"])
    assert emulator.counters["fault_status"] == 1


def _parent(path):
    return path.rstrip("/").rsplit("/", 1)[0] + "/"


def test_listings_go_before_leaves(emulator, make_client):
    """With one worker, each listing's subdirectories are requested before any of its leaves.

    Only within a listing: across levels the order depends on when the walking thread reads a listing's answer,
    so a deeper listing may come after a shallower leaf.
    """

    def slow_skip(path, is_dir):
        time.sleep(0.002)  # gives the worker time to take whatever is queued while the listing is being read
        return False

    walk(make_client(), dirs=["meta-data"], missing_ok=False, max_workers=1, skip=slow_skip)
    order = [key.split(" ", 1)[1] for key in emulator.path_counts if key.startswith("GET ")]
    checked = 0
    for listing in [path for path in order if path.endswith("/")]:
        children = [path for path in order if path != listing and _parent(path) == listing]
        dirs = [order.index(path) for path in children if path.endswith("/")]
        leaves = [order.index(path) for path in children if not path.endswith("/")]
        if dirs and leaves:
            assert max(dirs) < min(leaves), listing
            checked += 1
    assert checked >= 3  # meta-data/, network/interfaces/macs/<mac>/, placement/ ... have both kinds
