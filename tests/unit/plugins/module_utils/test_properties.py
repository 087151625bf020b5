# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests: random listings, trees and bytes never crash the parsers, and they round-trip."""

from __future__ import annotations

import base64
import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imds_emulator import ImdsEmulator

from ansible_collections.ec2meta.imds.plugins.module_utils._client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._config import resolve_config
from ansible_collections.ec2meta.imds.plugins.module_utils._crawl import crawl, parse_listing
from ansible_collections.ec2meta.imds.plugins.module_utils._userdata import decode_user_data

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


@given(st.text(), st.booleans())
def test_listing_never_crashes(text, public_keys):
    for entry in parse_listing(text, public_keys=public_keys):
        assert entry.name
        assert "\n" not in entry.name


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
        client = ImdsClient(resolve_config(endpoint=emulator.url, environ={}))
        try:
            result = crawl(client, "meta-data/random")
        finally:
            client.close()
    assert result.tree == tree
    assert result.missing == []
