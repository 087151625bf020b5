# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version grammar: a version string from a host is ready only when it is written as package systems write
versions and is at least the minimum; anything else is unknown, never ready and never outdated."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.versions import (
    MAX_DIGITS,
    MAX_RELEASE_PARTS,
    OUTDATED,
    READY,
    SUFFIX_FORMS,
    UNKNOWN,
    older_than,
    parse_version,
    verdict,
)


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        # issue 28: each was ready or outdated before, each is unknown now
        ("999999999999999999999999.0", "1.13.25", UNKNOWN),
        ("2.x", "2.722.0", UNKNOWN),
        ("1.13.25.x", "1.13.25", UNKNOWN),
        ("1.13.25garbage", "1.13.25", UNKNOWN),
        ("1.13.25-1", "1.13.25", UNKNOWN),
        ("1.x", "1.13.25", UNKNOWN),
        ("1.11.x", "1.11.678", UNKNOWN),
        # more of the same class
        ("1.13.25 ", "1.13.25", UNKNOWN),
        (" 1.13.25", "1.13.25", UNKNOWN),
        ("1.13.25\n", "1.13.25", UNKNOWN),
        ("1.13.25+local", "1.13.25", UNKNOWN),
        ("1!1.13.25", "1.13.25", UNKNOWN),
        ("1..13", "1.13.25", UNKNOWN),
        ("1.13.", "1.13.25", UNKNOWN),
        ("vv1.25.38", "1.25.38", UNKNOWN),
        ("1.2.3.4.5.6.7", "1.0", UNKNOWN),
        ("1000000000.0", "1.0", UNKNOWN),
        ("\u0661.\u0661\u0663.\u0662\u0665", "1.13.25", UNKNOWN),  # Arabic-Indic digits: int() reads them
        ("1.13.25-garbage", "1.13.25", UNKNOWN),
        ("2.800.0-1", "2.722.0", UNKNOWN),
        ("dev-master", "3.147.7", UNKNOWN),
        ("", "1.0", UNKNOWN),
        (None, "1.0", UNKNOWN),
        ("0.0.0-20191115000000-abcdef", "0.19.0", UNKNOWN),  # a Go pseudo-version has a 12-digit hash
        # grammatical, compared
        ("1.13.24", "1.13.25", OUTDATED),
        ("1.13.25", "1.13.25", READY),
        ("1.13.100", "1.13.25", READY),
        ("1.9.0", "1.12.6", OUTDATED),
        ("2.1500.0", "2.722.0", READY),
        ("4.0.1", "4.0.1.0", READY),
        ("4.0.0.9", "4.0.1.0", OUTDATED),
        ("1.11.678.1", "1.11.678", READY),
        ("1.13", "1.13.25", OUTDATED),
        ("999999999.0", "1.13.25", READY),
        ("v1.25.38", "1.25.38", READY),
        # pre-releases of the minimum are not ready; of a later release they are
        ("1.13.25rc1", "1.13.25", OUTDATED),
        ("1.13.25a1", "1.13.25", OUTDATED),
        ("1.13.25b2", "1.13.25", OUTDATED),
        ("1.13.25.dev0", "1.13.25", OUTDATED),
        ("1.13.25.post1", "1.13.25", READY),
        ("1.13.25.post1.dev0", "1.13.25", OUTDATED),
        ("1.13.26.dev0", "1.13.25", READY),
        ("2.722.0-beta.1", "2.722.0", OUTDATED),
        ("2.723.0-beta.1", "2.722.0", READY),
        ("2.10.21-SNAPSHOT", "2.10.21", OUTDATED),
        ("2.10.22-SNAPSHOT", "2.10.21", READY),
        ("3.79.0.pre", "3.79.0", OUTDATED),
        ("0.0.0-20191115000000-abcdefabcdef", "0.19.0", OUTDATED),
        ("1.25.39-0.20191115000000-abcdefabcdef", "1.25.38", READY),
        ("1.25.38-0.20191115000000-abcdefabcdef", "1.25.38", OUTDATED),
    ],
)
def test_verdict(version, minimum, expected):
    assert verdict(version, minimum) == expected
    assert older_than(version, minimum) is {UNKNOWN: None, OUTDATED: True, READY: False}[expected]


@given(st.text(max_size=120))
def test_any_text_is_read_without_an_exception(text):
    assert verdict(text, "1.13.25") in (READY, OUTDATED, UNKNOWN)


# What a version the grammar accepts can hold at all: digits, dots, letters and the separators - and _.
_VERSION_ALPHABET = re.compile(r"[vV]?[0-9][0-9A-Za-z._-]*")


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40) | st.from_regex(r"[0-9.]{1,30}", fullmatch=True))
def test_a_verdict_other_than_unknown_needs_a_grammatical_version(text):
    if verdict(text, "1.13.25") != UNKNOWN:
        assert _VERSION_ALPHABET.fullmatch(text)
        parts = re.match(r"[vV]?([0-9]+(?:\.[0-9]+)*)", text).group(1).split(".")
        assert len(parts) <= MAX_RELEASE_PARTS
        assert all(1 <= len(part) <= MAX_DIGITS for part in parts)


RELEASE = st.lists(st.integers(min_value=0, max_value=10**MAX_DIGITS - 1), min_size=1, max_size=MAX_RELEASE_PARTS)
# (suffix, whether it makes a pre-release), one or more from each form of SUFFIX_FORMS.
SUFFIXES = [
    ("", False),
    ("rc1", True),
    ("a2", True),
    ("b3", True),
    (".post2", False),
    (".dev0", True),
    ("-beta.1", True),
    ("-SNAPSHOT", True),
    ("-preview", True),
    ("-M1", True),
    ("-0.20191115000000-abcdefabcdef", True),
]


def test_the_suffix_cases_cover_every_form():
    for form in SUFFIX_FORMS:
        pattern = re.compile(form.pattern, re.IGNORECASE)
        assert any(pattern.fullmatch(suffix) for suffix, _pre in SUFFIXES), form.written_by


def _padded(release: list, width: int) -> tuple:
    return tuple(release) + (0,) * (width - len(release))


@given(RELEASE, st.sampled_from(SUFFIXES), RELEASE)
def test_a_grammatical_version_is_compared_by_its_numbers_then_its_suffix(release, suffix, minimum):
    text, pre_release = ".".join(map(str, release)) + suffix[0], suffix[1]
    width = max(len(release), len(minimum))
    have, need = _padded(release, width), _padded(minimum, width)
    ready = have > need or (have == need and not pre_release)
    assert verdict(text, ".".join(map(str, minimum))) == (READY if ready else OUTDATED)


GARBAGE = st.sampled_from([".x", "x", "garbage", "+local", " ", "\n", "-", ".", "..1", "/1", "\u0661"]) | st.text(
    min_size=1, max_size=10
).filter(lambda tail: re.search(r"[^0-9A-Za-z._-]", tail))


@given(RELEASE, st.sampled_from(SUFFIXES), GARBAGE)
def test_anything_after_a_grammatical_version_makes_it_unknown(release, suffix, tail):
    assert verdict(".".join(map(str, release)) + suffix[0] + tail, "0") == UNKNOWN


@given(RELEASE, st.integers(min_value=0, max_value=MAX_RELEASE_PARTS - 1), st.integers(min_value=10**MAX_DIGITS))
def test_a_number_beyond_the_bound_is_unknown(release, position, huge):
    numbers = list(release)
    numbers.insert(min(position, len(numbers)), huge)
    assert verdict(".".join(map(str, numbers[:MAX_RELEASE_PARTS])), "1.0") == UNKNOWN


def test_parse_version_reads_release_and_pre_release():
    assert parse_version("1.13.25rc1").release == (1, 13, 25)
    assert parse_version("1.13.25rc1").pre_release is True
    assert parse_version("v1.13.25").pre_release is False


def test_every_minimum_in_the_readiness_table_is_in_the_grammar():
    from ansible_collections.ec2meta.imds.plugins.module_utils._callers.sdk_scan import READINESS

    assert [row.key for row in READINESS if parse_version(row.minimum) is None] == []
    assert all(verdict(row.minimum, row.minimum) == READY for row in READINESS)
