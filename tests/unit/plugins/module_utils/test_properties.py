# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests: random listings, trees and bytes never crash the parsers, and they round-trip."""

from __future__ import annotations

import base64
import gzip
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imds_emulator import ImdsEmulator

from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import SUBSETS, build_facts
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import parse_listing, walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.userdata import decode_user_data

# Names IMDS can list: no separators, no whitespace at the ends, not "." or "..".
NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/\\?#%"),
    min_size=1,
    max_size=12,
).filter(lambda name: name not in (".", "..") and name.strip() == name)
LEAF = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=40)
TREE = st.recursive(
    LEAF, lambda children: st.dictionaries(NAME, children, min_size=1, max_size=5), max_leaves=25
).filter(lambda tree: isinstance(tree, dict))


@given(st.lists(st.tuples(NAME, st.booleans()), unique_by=lambda entry: entry[0], max_size=30))
def test_listing_round_trips(entries):
    text = "\n".join(name + ("/" if is_dir else "") for name, is_dir in entries)
    parsed = parse_listing(text)
    assert [(entry.name, entry.is_dir) for entry in parsed] == entries
    assert all(entry.segment == entry.name for entry in parsed)


@given(st.one_of(st.text(), st.text(alphabet="/.=\r\nab0", max_size=20)), st.booleans())
def test_listing_never_crashes(text, public_keys):
    for entry in parse_listing(text, public_keys=public_keys):
        assert entry.name
        assert "\n" not in entry.name
        # Each entry reads exactly one path below the listed directory: never itself, its parent or deeper.
        assert entry.segment not in ("", ".", "..")
        assert "/" not in entry.segment


@given(st.binary(max_size=2048))
def test_user_data_never_crashes_and_keeps_the_bytes(raw):
    decoded = decode_user_data(raw)
    assert decoded.raw == raw
    payload = decoded.text.encode("utf-8") if decoded.is_text else base64.b64decode(decoded.base64)
    assert payload == (gzip.decompress(raw) if decoded.compressed else raw)


@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=500))
def test_gzipped_text_comes_back_as_text(text):
    decoded = decode_user_data(gzip.compress(text.encode("utf-8")))
    assert (decoded.compressed, decoded.is_text, decoded.text) == (True, True, text)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREE)
def test_crawl_rebuilds_any_tree(tree):
    instance = {"meta-data": {"random": tree}, "iam": None, "options": {"instance_metadata_tags": "disabled"}}
    with ImdsEmulator(instance) as emulator:
        client = ImdsClient(client_config_from_params(endpoint=emulator.url, environ={}))
        try:
            result = walk(client, dirs=["meta-data/random"], missing_ok=False)
            subtree = result.values["meta-data/random"]
        finally:
            client.close()
    assert subtree == tree
    assert result.missing == []


# Keys the facts builder looks for, so random trees hit its code paths and not only the raw copy.
FACT_KEY = st.sampled_from(
    [
        "instance-id", "ami-id", "instance-type", "local-ipv4", "security-groups", "ami-launch-index", "placement",
        "region", "availability-zone", "network", "interfaces", "macs", "block-device-mapping", "public-keys",
        "0=deploy-key", "openssh-key", "tags", "instance", "iam", "info", "security-credentials", "events",
        "maintenance", "scheduled", "spot", "instance-action", "instance-identity", "document",
    ]
)  # fmt: skip
FACT_LEAF = st.one_of(LEAF, st.sampled_from(['{"region": "eu-west-1"}', "[1, 2]", "null", "7", '{"Code": 1}']))
FACT_TREE = st.recursive(
    FACT_LEAF, lambda children: st.dictionaries(st.one_of(FACT_KEY, NAME), children, max_size=5), max_leaves=30
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries({}, optional={"meta-data": FACT_TREE, "dynamic": FACT_TREE, "user-data": st.binary()}),
    st.lists(st.sampled_from(sorted(SUBSETS))).map(frozenset),
)
def test_facts_builder_never_crashes_on_any_tree(tree, subsets):
    ec2 = build_facts(tree, subsets, 2)
    json.dumps(ec2)  # what Ansible will do with it
    assert ec2["available"] is True
    for root in ("meta-data", "dynamic"):
        if isinstance(tree.get(root), dict) and tree[root]:
            assert ec2["raw"][root] == tree[root]


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(NAME, LEAF, max_size=5),
    st.fixed_dictionaries({"instance-id": NAME, "ami-id": NAME, "security-groups": st.lists(NAME, max_size=4)}),
)
def test_facts_builder_returns_what_the_tree_holds(tags, instance):
    metadata = {**instance, "security-groups": "\n".join(instance["security-groups"]), "tags": {"instance": tags}}
    ec2 = build_facts({"meta-data": metadata}, frozenset({"instance", "tags"}), 2)
    assert (ec2["instance_id"], ec2["ami_id"]) == (instance["instance-id"], instance["ami-id"])
    assert ec2["security_groups"] == instance["security-groups"]
    assert ec2["tags"] == tags
