# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import gzip

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import ListingEntry, parse_listing, walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.userdata import decode_user_data


@pytest.mark.parametrize(
    ("text", "public_keys", "entries"),
    [
        ("ami-id\niam/\n", False, [ListingEntry("ami-id", "ami-id", False), ListingEntry("iam", "iam", True)]),
        ("", False, []),
        ("\n\n", False, []),
        ("a\r\nb/", False, [ListingEntry("a", "a", False), ListingEntry("b", "b", True)]),
        ("0=deploy-key\n1=other", True, [ListingEntry("0=deploy-key", "0", True), ListingEntry("1=other", "1", True)]),
        # "=" is part of a tag key anywhere but public-keys/
        ("team=a\nName", False, [ListingEntry("team=a", "team=a", False), ListingEntry("Name", "Name", False)]),
    ],
)
def test_parse_listing(text, public_keys, entries):
    assert parse_listing(text, public_keys=public_keys) == entries


def _expected(node):
    """The emulator's tree as the crawler should rebuild it: JSON documents as their text, listing names as keys."""
    import json

    if isinstance(node, str):
        return node
    if "$json" in node:
        return json.dumps(node["$json"], indent=2)
    return {key: _expected(value) for key, value in node.items()}


def test_crawl_rebuilds_the_tree_and_asks_each_path_once(emulator, make_client):
    client = make_client()
    result = walk(client, dirs=["meta-data"], missing_ok=False)
    subtree = result.values["meta-data"]
    assert subtree == _expected(emulator.tree()["meta-data"])
    assert result.missing == []
    assert emulator.counters["token_put"] == 1
    assert max(emulator.path_counts.values()) == 1, "no path may be requested twice"
    assert result.requests == emulator.counters["total"], "the client counts every request it makes, token included"


def test_crawl_keeps_public_key_names(emulator, make_client):
    tree = walk(make_client(), dirs=["meta-data/public-keys"], missing_ok=False).values["meta-data/public-keys"]
    assert tree == {"0=deploy-key": {"openssh-key": emulator.metadata["public-keys"]["0=deploy-key"]["openssh-key"]}}


def test_crawl_records_listed_entries_that_404(emulator, make_client):
    emulator.add_fault("status", path="/latest/meta-data/placement/region", status=404)
    result = walk(make_client(), dirs=["meta-data/placement"], missing_ok=False)
    subtree = result.values["meta-data/placement"]
    assert result.missing == ["meta-data/placement/region"]
    assert "region" not in subtree
    assert subtree["availability-zone"] == "eu-west-1a"


def test_crawl_of_a_missing_root_fails(make_client):
    from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsNotFound

    with pytest.raises(ImdsNotFound):
        walk(make_client(), dirs=["meta-data/nothing-here"], missing_ok=False)


@pytest.mark.parametrize(
    ("raw", "compressed", "is_text", "text"),
    [
        (b"#!/bin/bash\necho hi\n", False, True, "#!/bin/bash\necho hi\n"),
        (gzip.compress(b"#cloud-config\n", mtime=0), True, True, "#cloud-config\n"),
        (b"\x00\x01\x02", False, False, None),
        (b"caf\xe9", False, False, None),  # Latin-1, not UTF-8
        (gzip.compress(b"\x00\xff", mtime=0), True, False, None),
        (b"\x1f\x8bnot really gzip", False, False, None),
        ("héllo ✓".encode(), False, True, "héllo ✓"),
        (b"", False, True, ""),
    ],
)
def test_decode_user_data(raw, compressed, is_text, text):
    decoded = decode_user_data(raw)
    assert (decoded.compressed, decoded.is_text, decoded.text) == (compressed, is_text, text)
    assert decoded.raw == raw
    if not is_text:
        import base64

        payload = gzip.decompress(raw) if compressed else raw
        assert base64.b64decode(decoded.base64) == payload
