# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A secret is masked in every form it takes in text: as it is, URL-encoded, as a dict key, at any depth."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import internal_error
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import (
    MASK,
    TOKEN_MASK,
    drop_cut_run,
    mask_data,
    mask_text,
    mask_tokens,
    readable,
    secret_forms,
)

# Shaped like a real session token: base64, so "/", "+" and "=" change when URL-encoded.
TOKEN = "IQoJb3JpZ2luX2VjE/aB+cD=eF/gH+iJ=="
KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"

# Written out here, not taken from secret_forms, so that a form the code forgets fails these tests.
FORMS = {
    "raw": lambda value: value,
    "quote_no_safe": lambda value: quote(value, safe=""),
    "quote_default": quote,
    "quote_plus": quote_plus,
    "lower_hex": lambda value: quote(value, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d"),
    "twice": lambda value: quote(quote(value, safe=""), safe=""),
    "json_slash": lambda value: value.replace("/", "\\/"),
}


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_masked_in_text(form):
    shown = FORMS[form](TOKEN)
    text = f"STS says: X-Amz-Security-Token={shown}&Action=GetCallerIdentity, key {FORMS[form](KEY)}"
    masked = mask_text(text, [TOKEN, KEY])
    assert shown not in masked
    assert FORMS[form](KEY) not in masked
    assert masked.startswith("STS says: X-Amz-Security-Token=********&Action=GetCallerIdentity, key ********")


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_masked_as_a_dict_key_and_at_any_depth(form):
    shown = FORMS[form](TOKEN)
    data = {
        "last_updated": {shown: 1},
        "nested": [{"arn": f"arn:aws:sts::123456789012:assumed-role/r/{shown}"}, (shown,)],
        "count": 3,
        "flag": None,
    }
    masked = mask_data(data, [TOKEN])
    assert masked == {
        "last_updated": {MASK: 1},
        "nested": [{"arn": f"arn:aws:sts::123456789012:assumed-role/r/{MASK}"}, [MASK]],
        "count": 3,
        "flag": None,
    }


def test_a_longer_form_is_masked_whole():
    """quote(quote(token)) contains no other form whole, but its escapes must not survive half-masked."""
    masked = mask_text(f"a {FORMS['twice'](TOKEN)} b", [TOKEN])
    assert masked == f"a {MASK} b"


def test_no_secret_no_change():
    assert mask_text("nothing to hide", ["", None]) == "nothing to hide"
    data = {"a": [1, "b"]}
    assert mask_data(data, []) is data
    assert secret_forms(["", None]) == frozenset()


def test_the_forms_cover_the_list_above():
    forms = secret_forms([TOKEN])
    assert {make(TOKEN) for make in FORMS.values()} <= forms


def test_an_unexpected_error_is_masked_before_it_is_cut_short():
    """internal_error keeps 300 characters: a secret cut in half there would match no mask any more."""
    long_token = TOKEN * 20
    error = RuntimeError(f"{'x' * 250} {long_token}")
    message = str(internal_error(error, [long_token]))
    assert TOKEN[:20] not in message
    assert f"{'x' * 250} {MASK}" in message


# ---------------------------------------------------------------------------------------------------------------
# mask_tokens: the one rule for IMDSv2 tokens found by their shape in host text.

# A session token in the standard alphabet, with "+" and "/" (issue 28: these survived in argv, user agents, URLs).
STANDARD = "AQAEAFEO+InKb/S7me+hLqzu83lYdeDV7r/sPh2D4SJF6v5IwD4S8g=="
SHORT = "s3cr3t-v4lue"  # not token-shaped: only the header rule can find it

ENCODINGS = {
    "as_is": lambda value: value,
    "url_safe": lambda value: value.replace("+", "-").replace("/", "_"),
    "quote": quote,
    "quote_no_safe": lambda value: quote(value, safe=""),
    "quote_plus": quote_plus,
    "lower_hex": lambda value: quote(value, safe="").lower(),
    "twice": lambda value: quote(quote(value, safe=""), safe=""),
    "json": json.dumps,
    "json_slash": lambda value: json.dumps(value).replace("/", "\\/"),
    "json_unicode": lambda value: value.replace("+", "\\u002b").replace("=", "\\u003d"),
    "python": repr,
    "base64": lambda value: base64.b64encode(value.encode()).decode(),
    "base64_url": lambda value: base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
}
PLACES = {
    "argv": lambda shown: f"python3 fetch.py --token {shown} --verbose",
    "argv_glued": lambda shown: f"fetch --token={shown}",
    "user_agent": lambda shown: f"aws-cli/1.16.0 Python/3.8 {shown} botocore/1.13.0",
    "url_query": lambda shown: f"/latest/meta-data/?token={shown}&x=1",
    "url_path": lambda shown: f"/latest/{shown}/meta-data",
    "json_key": lambda shown: f'{{"{shown}": 1}}',
    "python_dict_value": lambda shown: f"{{'token': {shown}}}",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_token_in_any_encoding_and_place_is_masked(encoding, place):
    shown = ENCODINGS[encoding](STANDARD)
    found: set = set()
    masked = mask_tokens(PLACES[place](shown), found)
    assert shown.strip("'\"") not in masked
    assert STANDARD not in masked
    assert TOKEN_MASK in masked
    assert found


@pytest.mark.parametrize(
    "text",
    [
        f'{{"x-aws-ec2-metadata-token": "{SHORT}"}}',
        f"{{'X-aws-ec2-metadata-token': '{SHORT}'}}",
        f'{{\\"x-aws-ec2-metadata-token\\": \\"{SHORT}\\"}}',
        f"headers={{b'X-aws-ec2-metadata-token': b'{SHORT}'}}",
        f"curl -H x-aws-ec2-metadata-token%3A%20{SHORT} http://169.254.169.254/",
        f"X-aws-ec2-metadata-token = {SHORT}",
    ],
)
def test_the_header_value_goes_as_a_dict_value_quoted_any_way(text):
    masked = mask_tokens(text)
    assert SHORT not in masked
    assert TOKEN_MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "/tmp/pytest-of-root/pytest-10/test_found_a0/old/Modules/AWSPowerShell/3.3.563.1/AWSPowerShell.psd1",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "aws-sdk-java/1.11.500 Linux/5.10.228 OpenJDK_64-Bit_Server_VM/11.0.25+9 java/11.0.25",
        "--token=abcdefghijklmnop",
        "g++ -O2 -o build/release/bin/service-monitor src/main.cpp",
        "x-aws-ec2-metadata-token-ttl-seconds: 21600",
    ],
)
def test_paths_names_and_agents_stay(text):
    assert mask_tokens(text) == text


def test_found_holds_the_token_as_written_and_decoded():
    found: set = set()
    mask_tokens(f"?t={quote(STANDARD, safe='')}", found)
    assert {STANDARD, quote(STANDARD, safe="")} <= found


def test_a_cut_run_is_dropped_whatever_its_alphabet_or_escapes():
    assert drop_cut_run("argv: AQAE+/x%2Bq\\/ab==") == "argv: "


TOKENS = st.builds(
    lambda data, url_safe, padded: (
        (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode().rstrip("" if padded else "=")
    ),
    st.binary(min_size=40, max_size=48),
    st.booleans(),
    st.booleans(),
)
WORDS = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=6)
GLUE = st.sampled_from(["", " ", "=", "'", '"', ":", "/", "?t=", "&", '{"', '": ', "\\", "%20", "+"])


@settings(max_examples=300, deadline=None)
@given(WORDS, TOKENS, st.sampled_from(sorted(ENCODINGS)), st.integers(0, 6), GLUE, st.booleans())
def test_a_token_placed_anywhere_in_any_encoding_never_survives(words, token, encoding, position, glue, lower):
    """Any text around it, any glue, any encoding, lower-cased or not (the analyzer 1.4 lower-cases its lines)."""
    shown = ENCODINGS[encoding](token)
    text = " ".join([*words[: min(position, len(words))], glue + shown + glue, *words[min(position, len(words)) :]])
    if lower:
        text, token, shown = text.lower(), token.lower(), shown.lower()
    masked = mask_tokens(text)
    for form in (token, token.rstrip("="), shown.strip("'\"")):
        assert form not in masked


# ---------------------------------------------------------------------------------------------------------------
# Linear time, checked on the patterns' shape rather than timed: the two ways a backtracking engine goes quadratic in
# the length of a line, and the way it takes memory per character. (1) An unbounded repeat followed, through
# optional elements only, by another unbounded repeat that can match the same character (``\s*[:=]?\s*``): every
# split between the two is tried. (2) In a pattern that searches (sub, finditer, split, search), an unbounded repeat
# followed by something that can fail (``[A-Za-z0-9]+\Z``, ``[A-Za-z0-9]{16,}=``): the repeat runs to the end of
# its run from every start position. (3) An unbounded repeat of a group (``(?:[a-z]|%[0-9a-f]{2})+``): the engine
# keeps a backtracking point per repetition.

try:
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # Python before 3.11
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

UNIVERSE = [chr(code) for code in range(0x180)]
SINGLE_CHARACTER = (sre_constants.LITERAL, sre_constants.NOT_LITERAL, sre_constants.ANY, sre_constants.IN)
UNBOUNDED = sre_constants.MAXREPEAT
REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)
CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: str.isdigit,
    sre_constants.CATEGORY_NOT_DIGIT: lambda char: not char.isdigit(),
    sre_constants.CATEGORY_SPACE: str.isspace,
    sre_constants.CATEGORY_NOT_SPACE: lambda char: not char.isspace(),
    sre_constants.CATEGORY_WORD: lambda char: char.isalnum() or char == "_",
    sre_constants.CATEGORY_NOT_WORD: lambda char: not (char.isalnum() or char == "_"),
}


def _first(items: list) -> set:
    """The characters an element sequence can start with (approximated over UNIVERSE)."""
    chars: set = set()
    for op, arg in items:
        if op is sre_constants.LITERAL:
            return chars | {chr(arg), chr(arg).lower(), chr(arg).upper()}
        if op is sre_constants.NOT_LITERAL:
            return chars | (set(UNIVERSE) - {chr(arg)})
        if op is sre_constants.ANY:
            return chars | set(UNIVERSE)
        if op is sre_constants.IN:
            return chars | _in(arg)
        if op in REPEATS:
            chars |= _first(list(arg[2]))
            if arg[0] > 0:
                return chars
        elif op is sre_constants.SUBPATTERN:
            chars |= _first(list(arg[-1]))
            if not _nullable([(op, arg)]):
                return chars
        elif op is sre_constants.BRANCH:
            for branch in arg[1]:
                chars |= _first(list(branch))
            if not _nullable([(op, arg)]):
                return chars
    return chars


def _in(items: list) -> set:
    chars: set = set()
    negate = False
    for op, arg in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            chars |= {chr(arg), chr(arg).lower(), chr(arg).upper()}
        elif op is sre_constants.RANGE:
            chars |= {chr(code) for code in range(arg[0], min(arg[1], 0x17F) + 1)}
            chars |= {char.swapcase() for char in list(chars)}
        elif op is sre_constants.CATEGORY:
            chars |= {char for char in UNIVERSE if CATEGORIES[arg](char)}
    return set(UNIVERSE) - chars if negate else chars


def _nullable(items: list) -> bool:
    for op, arg in items:
        if op in REPEATS:
            if arg[0] > 0 and not _nullable(list(arg[2])):
                return False
        elif op is sre_constants.SUBPATTERN:
            if not _nullable(list(arg[-1])):
                return False
        elif op is sre_constants.BRANCH:
            if not any(_nullable(list(branch)) for branch in arg[1]):
                return False
        elif op not in (sre_constants.ASSERT, sre_constants.ASSERT_NOT, sre_constants.AT):
            return False
        if op is sre_constants.AT and arg is sre_constants.AT_END_STRING:
            return False
    return True


def _problems(items: list, searching: bool, where: str = "") -> list:
    problems = []
    items = list(items)
    for index, (op, arg) in enumerate(items):
        if op in REPEATS:
            body = list(arg[2])
            if arg[1] == UNBOUNDED:
                chars = _first(body)
                for later_op, later_arg in items[index + 1 :]:
                    if later_op in REPEATS and later_arg[1] == UNBOUNDED and chars & _first(list(later_arg[2])):
                        problems.append(f"{where}two unbounded repeats over the same characters")
                    if not _nullable([(later_op, later_arg)]):
                        break
                if searching and not _nullable(items[index + 1 :]):
                    problems.append(f"{where}an unbounded repeat followed by something that can fail")
                if any(inner in REPEATS and inner_arg[1] == UNBOUNDED for inner, inner_arg in body):
                    problems.append(f"{where}nested unbounded repeats")
                if len(body) != 1 or body[0][0] not in SINGLE_CHARACTER:
                    # The engine keeps a backtracking point per repetition of a group: memory linear in the line.
                    problems.append(f"{where}an unbounded repeat of more than one character class")
            problems += _problems(body, False, where)
        elif op is sre_constants.SUBPATTERN:
            problems += _problems(list(arg[-1]) + items[index + 1 :], searching and index == 0, where)
            break
        elif op is sre_constants.BRANCH:
            for branch in arg[1]:
                problems += _problems(list(branch) + items[index + 1 :], searching and index == 0, where)
            break
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            problems += _problems(list(arg[1]), False, where)
    return problems


def shape_problems(pattern: re.Pattern, searching: bool = True) -> list:
    return _problems(list(sre_parse.parse(pattern.pattern, pattern.flags)), searching)


def _host_text_patterns() -> list:
    """Every compiled pattern the log reader and the masking apply to host text, found by module, so a new one is
    checked without being listed. Those applied only with match or fullmatch (anchored) may fail after a repeat."""
    from ansible_collections.ec2meta.imds.plugins.module_utils import _masking, _secret_fields
    from ansible_collections.ec2meta.imds.plugins.module_utils._callers import log, scrub

    anchored = {log._PREFIX, log._VERSION, log._ENTRY, log._REQUEST_LINE, log._TIME, log._ROTATED, _masking._WORD_PART}
    anchored.add(_secret_fields._SECRET_NAME)  # fullmatch, on a name cut to 1,000 characters
    found = []
    for module in (_masking, scrub, log, _secret_fields):
        for name, value in sorted(vars(module).items()):
            if isinstance(value, re.Pattern):
                found.append(
                    pytest.param(value, value not in anchored, id=f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
                )
    return found


@pytest.mark.parametrize(("pattern", "searching"), _host_text_patterns())
def test_every_pattern_on_host_text_is_linear_in_shape(pattern, searching):
    assert shape_problems(pattern, searching) == []


@pytest.mark.parametrize(
    "quadratic",
    [
        r"(x-aws-ec2-metadata-token(?!-ttl)\s*[:=]?\s*['\"]?)([^\s'\",]+)",  # scrub.py's header rule before issue 28
        r"[A-Za-z0-9_\-]{16,}={1,2}|[A-Za-z0-9_\-]{32,}",  # its token shape: the first branch fails after the repeat
        r"[A-Za-z0-9_=\-]+\Z",  # drop_cut_token
        r"(a+)+b",
        r"(?:[a-z]|%[0-9a-f]{2})+",  # linear in time, but a backtracking point per repetition: memory per character
    ],
)
def test_the_shape_check_finds_the_quadratic_patterns(quadratic):
    assert shape_problems(re.compile(quadratic, re.IGNORECASE))


HOST_ENCODINGS = {
    "html_decimal": lambda value: "".join(f"&#{ord(char)};" if char in "+/=" else char for char in value),
    "html_hex": lambda value: "".join(f"&#x{ord(char):X};" if char in "+/=" else char for char in value),
    "html_named": lambda value: value.replace("+", "&plus;").replace("/", "&sol;").replace("=", "&equals;"),
    "utf16_le": lambda value: value.encode("utf-16-le").decode("latin-1"),
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("encoding", HOST_ENCODINGS)
def test_a_token_split_by_html_references_or_utf16_is_masked_once_readable(encoding, place):
    """Issue 28: &#43; / &plus; between its pieces, or a NUL after each character, left runs too short to judge."""
    masked = mask_tokens(readable(PLACES[place](HOST_ENCODINGS[encoding](STANDARD))))
    assert TOKEN_MASK in masked
    assert not any(STANDARD[start : start + 20] in masked for start in range(len(STANDARD) - 20))


@pytest.mark.parametrize(
    "text",
    ["fish &amp; chips", "a &#60;b&#62; &lt;tag&gt;", "x &#9999999; &#x110000; &unknown; &", "plain text, no change"],
)
def test_readable_leaves_other_references_alone(text):
    assert readable(text) == text


def test_readable_is_linear_on_a_long_run_of_references():
    """One pass of a bounded pattern: a megabyte of references is decoded, not retried."""
    assert readable("&#43;" * 200_000) == "+" * 200_000
    assert readable("&" * 1_000_000) == "&" * 1_000_000
