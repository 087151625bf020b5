# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""load_json: one parser, the failure policy named by each caller."""

from __future__ import annotations

import inspect

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._json import KEEP, RAISE, load_json

GOOD = [
    ('{"region": "eu-west-1"}', {"region": "eu-west-1"}),
    (b'{"Code": "Success"}', {"Code": "Success"}),
    ("[1, 2]", [1, 2]),
    (b"[]", []),
    ("0", 0),
    ("null", None),
    (' "text" ', "text"),
    ('{"name": "caf\u00e9"}'.encode(), {"name": "caf\u00e9"}),
    ('{"x": 1e308, "y": -2.5e-300}', {"x": 1e308, "y": -2.5e-300}),
    ('{"face": "\\ud83d\\ude00"}', {"face": "\U0001f600"}),  # a surrogate pair is one character
]
BAD = [
    "",
    b"",
    "not json",
    '{"cut": ',
    b"\xff\xfe{}",
    "i-0a1b2c3d4e5f60718",
    None,
    {"already": "data"},
    7,
    # A key twice: readers differ on which value counts (Python keeps the last), so it is no document.
    '{"instanceId": "i-1", "instanceId": "i-2"}',
    b'{"Code": "Success", "Token": "a", "Token": "b"}',
    '[{"x": {"a": 1, "a": 1}}]',
    # Python reads these; no IMDS or AWS document holds them, and other readers refuse them or read them otherwise.
    '{"x": NaN}',
    '{"x": -Infinity}',
    "[Infinity]",
    '{"x": 1e999999}',
    '{"x": -1e400}',
    '{"x": "\\ud800"}',
    '{"\\udfff": 1}',
    '[["\\udc00x"]]',
]


@pytest.mark.parametrize(("value", "expected"), GOOD)
@pytest.mark.parametrize("invalid", [RAISE, KEEP, None, {}])
def test_valid_json_is_parsed_whatever_the_policy(value, expected, invalid):
    assert load_json(value, invalid=invalid) == expected


@pytest.mark.parametrize("value", BAD)
def test_raise(value):
    with pytest.raises(ValueError):  # noqa: PT011 - the caller turns any ValueError into its own typed error
        load_json(value, invalid=RAISE)


@pytest.mark.parametrize("value", BAD)
def test_keep_returns_the_input_unchanged(value):
    assert load_json(value, invalid=KEEP) is value


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("invalid", [None, {}, []])
def test_a_value_policy_returns_that_value(value, invalid):
    assert load_json(value, invalid=invalid) == invalid


def test_the_policy_is_required_and_named():
    invalid = inspect.signature(load_json).parameters["invalid"]
    assert invalid.kind is inspect.Parameter.KEYWORD_ONLY
    assert invalid.default is inspect.Parameter.empty


def test_a_key_given_twice_is_named_in_the_error():
    with pytest.raises(ValueError, match="'instanceId' more than once"):
        load_json('{"instanceId": "i-1", "region": "x", "instanceId": "i-2"}', invalid=RAISE)
