# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leaves masked as they arrive: secret-named JSON fields at any depth, credential-shaped values anywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._masking import MASK
from ansible_collections.ec2meta.imds.plugins.module_utils._secret_fields import (
    MAX_NESTED_JSON,
    MIN_SHARED_SECRET,
    SECRET_NAMES,
    LeafMasker,
    is_secret_name,
    mask_leaf,
)


@pytest.mark.parametrize("row", SECRET_NAMES, ids=[row.pattern for row in SECRET_NAMES])
def test_each_row_matches_its_examples(row):
    for example in row.examples.split(", "):
        assert is_secret_name(example), example
        assert is_secret_name(example.upper()), example


@pytest.mark.parametrize(
    "name",
    [
        # every key IMDS's own JSON documents have: none is a secret
        *("accountId", "architecture", "availabilityZone", "billingProducts", "devpayProductCodes"),
        *("marketplaceProductCodes", "imageId", "instanceId", "instanceType", "kernelId", "pendingTime"),
        *("privateIp", "ramdiskId", "region", "version", "Code", "LastUpdated", "InstanceProfileArn"),
        *("InstanceProfileId", "Type", "Expiration", "NotBefore", "NotAfter", "Description", "EventId", "State"),
        *("action", "time", "noticeTime", "AccountId"),
        # near misses
        *("openssh-key", "key", "token-ttl-seconds", "TokenType", "tokens"),
    ],
)
def test_imds_own_fields_are_not_secret_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize("name", [None, 7, "", "-"])
def test_anything_else_is_not_a_secret_name(name):
    assert not is_secret_name(name)


def test_a_credential_document_keeps_its_other_fields():
    document = {"Code": "Success", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s" * 40, "Token": "t" * 300}
    found: set = set()
    shown = json.loads(mask_leaf(json.dumps(document), found))
    assert shown == {"Code": "Success", "AccessKeyId": MASK, "SecretAccessKey": MASK, "Token": MASK}
    assert found == {"ASIAEXAMPLE", "s" * 40, "t" * 300}


def test_a_leaf_without_secrets_is_returned_as_it_came():
    text = '{\n  "region" : "eu-west-1"\n}'
    assert mask_leaf(text, set()) is text


@pytest.mark.parametrize(
    "text",
    [
        '{"AccessKeyId": "A", "AccessKeyId": "B"}',
        '{"Code": "Success", "SecretAccessKey": "abc',
        "{'Token': 'abc'}",
        "not json but \"password\": 'x'",
    ],
)
def test_text_that_is_not_valid_json_and_names_a_secret_is_withheld_whole(text):
    assert mask_leaf(text, set()) == MASK


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("key AKIAIOSFODNN7EXAMPLE here", f"key {MASK} here"),
        ("ASIAIOSFODNN7EXAMPLE", MASK),
        ("token=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ", f"token={MASK}"),
        ("FwoGZXIvYXdzEBYaDHhBTE5AaW5zdGFuY2UiLCJh", MASK),
        ("AKIAIOSFODNN7EXAMPLEX", "AKIAIOSFODNN7EXAMPLEX"),  # 21 characters: not an access key ID
        ("i-0123456789abcdef0", "i-0123456789abcdef0"),
    ],
)
def test_credential_shapes_are_masked_in_plain_text(text, shown):
    assert mask_leaf(text, set()) == shown


def test_a_secret_found_in_one_leaf_is_masked_in_the_others_from_a_length():
    masker = LeafMasker()
    masker.leaf(json.dumps({"password": "hunter2-long", "Token": "1"}))
    tree = {"other": "the password is hunter2-long", "count": "1", "hunter2-long": "as a key"}
    assert masker.result(tree) == {"other": f"the password is {MASK}", "count": "1", MASK: "as a key"}
    assert len("hunter2-long") >= MIN_SHARED_SECRET > len("1")


SECRET_KEY = st.sampled_from([name for row in SECRET_NAMES for name in row.examples.split(", ")])
PLAIN_KEY = st.sampled_from(["region", "Code", "instanceId", "items", "x"])
VALUE = st.text(min_size=1, max_size=30)
DOCUMENT = st.recursive(
    st.dictionaries(st.one_of(SECRET_KEY, PLAIN_KEY), VALUE, max_size=4),
    lambda children: st.dictionaries(st.one_of(SECRET_KEY, PLAIN_KEY), children | st.lists(children, max_size=3)),
    max_leaves=12,
)


def _secret_values_left(node) -> list:
    if isinstance(node, dict):
        return [
            value
            for key, child in node.items()
            for value in ([child] if is_secret_name(key) and child != MASK else _secret_values_left(child))
        ]
    if isinstance(node, list):
        return [value for child in node for value in _secret_values_left(child)]
    return []


@given(DOCUMENT)
def test_no_secret_named_field_survives_at_any_depth(document):
    found: set = set()
    shown = json.loads(mask_leaf(json.dumps(document), found))
    assert _secret_values_left(shown) == []


def _all_strings(node) -> list:
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (*_all_strings(key), *_all_strings(value))]
    if isinstance(node, (list, tuple)):
        return [text for item in node for text in _all_strings(item)]
    return [node] if isinstance(node, str) else []


SECRET_VALUE = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+=", min_size=8, max_size=40
)


@given(
    st.dictionaries(SECRET_KEY, SECRET_VALUE, min_size=1, max_size=4),
    st.dictionaries(PLAIN_KEY, VALUE, max_size=3),
    st.sampled_from(["info", "custom", "tag"]),
)
def test_no_secret_reaches_the_facts_or_the_flat_names(secret_fields, plain_fields, where):
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.compat import flatten_facts
    from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import SUBSETS, build_facts

    text = json.dumps({**plain_fields, "nested": [{**secret_fields}], **secret_fields})
    metadata = {"instance-id": "i-0123456789abcdef0", "iam": {"info": "{}"}, "tags": {"instance": {"Name": "web"}}}
    {"info": metadata["iam"], "custom": metadata, "tag": metadata["tags"]["instance"]}[where][where] = text
    # The same values again, in a plain leaf of their own, as a lying IMDS may also serve them.
    metadata["echo"] = " ".join(secret_fields.values())
    subsets = frozenset(SUBSETS) - {"user_data"}
    # A value that is part of what the collection writes itself ("availabl" of "available") is no leak.
    own = _all_strings(build_facts({"meta-data": {}, "dynamic": {}}, subsets, 2))
    assume(not any(value in text for value in secret_fields.values() for text in own))
    masker = LeafMasker()
    tree = {"meta-data": _leaves_masked(metadata, masker), "dynamic": {}}
    ec2 = build_facts(masker.result(tree), subsets, 2)
    shown = _all_strings({"ec2": ec2, **flatten_facts(ec2)})
    assert [value for value in secret_fields.values() if any(value in text for text in shown)] == []
    assert not [name for name in flatten_facts(ec2) if is_secret_name(name.rsplit("_", 1)[-1])]


def _leaves_masked(node, masker: LeafMasker):
    if isinstance(node, dict):
        return {key: _leaves_masked(value, masker) for key, value in node.items()}
    return masker.leaf(node)


# issue 28 item 3: secrets named by a path, nested as JSON text, paired with their name, or written as text.
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AK = "ASIAQWERTYUIOPASDFGH"


@pytest.mark.parametrize(
    "path",
    [
        "meta-data/tags/instance/SecretAccessKey",
        "meta-data/custom/db_password",
        "/meta-data/tags/instance/aws_session_token",
        "meta-data/custom/secrets/db",
    ],
)
def test_a_leaf_under_a_secret_named_path_is_masked_whole(path):
    masker = LeafMasker()
    assert masker.leaf("hunter2hunter2", path) == MASK
    assert masker.result({"elsewhere": "pw hunter2hunter2"}) == {"elsewhere": f"pw {MASK}"}


@pytest.mark.parametrize(
    "path", ["meta-data/tags/instance/Name", "meta-data/iam/info", "meta-data/public-keys/0/openssh-key"]
)
def test_a_leaf_under_a_plain_path_is_read_as_text(path):
    assert LeafMasker().leaf("web-01", path) == "web-01"


def test_a_credential_shaped_path_segment_is_masked_where_it_becomes_a_key():
    masker = LeafMasker()
    assert masker.leaf("x", f"meta-data/tags/instance/{AK}") == "x"
    assert masker.result({"tags": {AK: "x", "Name": "web"}}) == {"tags": {MASK: "x", "Name": "web"}}


@pytest.mark.parametrize("levels", range(1, MAX_NESTED_JSON + 1))
def test_json_written_inside_a_json_string_is_masked_at_each_level(levels):
    document: object = {"Code": "Success", "SecretAccessKey": SK}
    for _level in range(levels):
        document = {"Inner": json.dumps(document)}
    found: set = set()
    shown = mask_leaf(json.dumps(document), found)
    assert SK not in shown
    assert SK.replace("/", "\\/") not in shown
    assert SK in found


def test_json_nested_deeper_than_the_bound_is_withheld_as_text():
    document: object = {"SecretAccessKey": SK}
    for _level in range(MAX_NESTED_JSON + 3):
        document = {"Inner": json.dumps(document)}
    assert SK not in mask_leaf(json.dumps(document), set())


@pytest.mark.parametrize(
    "document",
    [
        [{"name": "AWS_SECRET_ACCESS_KEY", "value": SK}],
        {"environment": [{"Name": "DB_PASSWORD", "Value": SK}]},
        [{"Key": "SecretAccessKey", "Value": SK}],
        {"Tags": [{"key": "aws_session_token", "value": [SK]}]},
    ],
)
def test_the_value_of_a_pair_naming_a_secret_is_masked(document):
    found: set = set()
    assert SK not in mask_leaf(json.dumps(document), found)
    assert SK in found


def test_the_value_of_a_pair_naming_something_else_stays():
    text = json.dumps([{"Key": "Name", "Value": "web"}, {"name": "REGION", "value": "eu-west-1"}])
    assert mask_leaf(text, set()) == text


@pytest.mark.parametrize(
    "text",
    [
        f"[default]\naws_access_key_id = {AK}\naws_secret_access_key = {SK}\n",
        f"#!/bin/sh\nexport AWS_SECRET_ACCESS_KEY={SK}\n",
        f"SecretAccessKey: {SK}\n",
        f"db_password:\t'{SK}'",
        f'{{"config": "aws_secret_access_key={SK}"}}',
        json.dumps({"\uff33ecretAccessKey": SK}, ensure_ascii=False),  # full-width S
    ],
)
def test_a_secret_written_as_text_after_its_name_is_masked(text):
    found: set = set()
    assert SK not in mask_leaf(text, found)
    assert SK in found


@pytest.mark.parametrize(
    "text",
    ["region = eu-west-1", "https://example.com:8443/x", "Name: web\nRole: api", "tokens=3", "a=b=c", "12:30"],
)
def test_assignments_of_other_names_stay(text):
    assert mask_leaf(text, set()) == text
