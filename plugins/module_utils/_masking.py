# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Masking secret values in every form they take in text, wherever a result or a message is built.

Private to ec2meta.imds: not a public API, it may change in any release.

A secret reaches output not only as it is: an error message or an ARN from STS (or from a hostile endpoint
standing in for it) quotes it URL-encoded, a damaged credential document can use it as a dict key, where
Ansible's own ``no_log_values`` masking never looks (it masks values only). :func:`secret_forms` lists the forms;
:func:`mask_text` and :func:`mask_data` replace every one of them, keys included. Modules also register the forms
with ``AnsibleModule.no_log_values`` (``_module.register_secrets``) so Ansible's masking catches them too.

Not a form here: base64. Nothing in IMDS, STS or this collection base64-encodes a credential value (SigV4 signs with
an HMAC and never sends the secret key; the token travels as it is), and the base64 of a secret inside a longer
base64 text takes one of three shapes depending on its offset, sharing no fixed text with the secret's own
encoding at its edges, so a substring search could not find it reliably anyway.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote, quote_plus

MASK = "********"
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def secret_forms(secrets: Iterable[str]) -> frozenset[str]:
    """Every form each secret can take in text: as it is, URL-encoded (``quote`` with and without ``/`` kept,
    ``quote_plus``; upper- and lower-case escapes; encoded twice, as a URL inside a URL parameter) and with ``/``
    JSON-escaped as ``\\/``. Empty secrets have no form."""
    forms: set[str] = set()
    for secret in secrets:
        if not isinstance(secret, str) or not secret:
            continue
        encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret), quote_plus(secret, safe="/")}
        encoded |= {_PERCENT_ESCAPE.sub(lambda escape: escape.group().lower(), form) for form in encoded}
        twice = {quote(form, safe="") for form in encoded if form != secret}
        forms |= {secret, secret.replace("/", "\\/"), *encoded, *twice}
    return frozenset(forms)


def _ordered(secrets: Iterable[str]) -> list[str]:
    # Longest first: a form that contains another is replaced whole, not left half-masked.
    return sorted(secret_forms(secrets), key=len, reverse=True)


def _mask_text(text: str, forms: list[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def _mask_data(data: Any, forms: list[str]) -> Any:
    if isinstance(data, str):
        return _mask_text(data, forms)
    if isinstance(data, Mapping):
        return {_mask_data(key, forms): _mask_data(value, forms) for key, value in data.items()}
    if isinstance(data, (list, tuple, set, frozenset)):
        return [_mask_data(item, forms) for item in data]
    return data


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` (a message, an API's error text) with every form of every secret replaced by asterisks."""
    return _mask_text(text, _ordered(secrets))


def mask_data(data: Any, secrets: Iterable[str]) -> Any:
    """A copy of ``data`` (a result, a document's field) with every form of every secret masked, in dict keys as
    in values, at any depth; tuples and sets become lists, as they would in JSON."""
    forms = _ordered(secrets)
    return _mask_data(data, forms) if forms else data


# ---------------------------------------------------------------------------------------------------------------
# Tokens found by their shape, in text a host wrote (argv, log lines, paths): the one rule for IMDSv2 tokens.
#
# A token is base64, so it is written in the standard alphabet (``+``, ``/``) or the URL-safe one (``-``, ``_``),
# and on its way into a command line or a log it may be URL-encoded (``%2B``, ``%2F``, ``%3D``), JSON-escaped
# (``\/``, ``\u002b``) or quoted by Python or JSON, as a dict key or a value. A run is every character of either
# alphabet with ``%`` and ``\`` (the escapes are made of those), so an encoded token is one run, not pieces too
# short to look like a token; its escapes are decoded before its shape is judged. Runs shorter than 16 characters are
# never tokens, so the pattern does not stop at them: a search that fails inside one has read at most 16 characters.
#
# Each pattern matches in time linear in the text: an unbounded repeat is of one character class (which the engine
# runs without keeping a backtracking point per character, so memory stays flat too), no two unbounded repeats
# that can take the same character follow each other, and nothing after an unbounded repeat can fail, so the
# engine never gives back what a repeat took. tests/unit/plugins/module_utils/test_masking.py checks that shape
# for every pattern of this module, scrub.py and log.py.

TOKEN_MASK = "<token redacted>"  # noqa: S105 - the mask, not a secret
# Characters of a run, escapes included (their hex digits are letters and digits): what a cut may have split.
RUN_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=%\\"

_RUN = re.compile(r"[A-Za-z0-9+/_\-%\\]{16,}={0,2}")
# After the header's name: a few blanks, ``:``, ``=``, quotes and backslashes (a dict key closing, an escaped quote,
# a bytes literal's ``b'``), raw or URL-encoded; bounded, so a name followed by a million blanks costs 32 steps.
# Then the value, up to the next blank, quote, comma or backslash.
_HEADER_VALUE = re.compile(
    r"x-aws-ec2-metadata-token(?!-ttl)((?:[\s:=\"'\\]|%(?:3[AaDd]|2[027])|b(?=[\"'])){0,32})([^\s'\",\\]+)",
    re.IGNORECASE,
)
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|\\(/)")
_PART_SEPARATOR = re.compile(r"[-_/+=%\\]")
# A word in a name: letters, then perhaps a number (ec2, v2, production-42); random tokens mix them throughout.
_WORD_PART = re.compile(r"[a-z]{1,12}[0-9]{0,4}|[0-9]{1,8}")
# Tokens worth registering with no_log_values: shorter values ("$T") would mask innocent text everywhere.
_MIN_NO_LOG_LENGTH = 16
_ALREADY_MASKED = ("<token", "**token")


def _unescaped(run: str) -> str:
    if "%" not in run and "\\" not in run:
        return run
    return _ESCAPE.sub(lambda match: match.group(3) or chr(int(match.group(1) or match.group(2), 16)), run)


def _word(part: str) -> bool:
    return bool(_WORD_PART.fullmatch(part.lower())) and part in (part.lower(), part.capitalize(), part.upper())


def token_shaped(run: str) -> bool:
    """A run of base64 characters (escapes decoded) is a token when it has at least 32 characters, or at least 16
    and ``=`` padding, unless it is words joined by dashes, underscores, plus or equals signs (a header or job name:
    ``X-aws-ec2-metadata-token-ttl-seconds``, ``build-and-deploy-42``): a random token always has a part that is no
    word. With slashes it may be a path, where a CamelCase directory or a version is a short odd part among words
    (``/opt/Modules/AWSPowerShell/3``): then it is a token when at least 16 of its characters, or a third, are in
    parts that are no word. A long identifier, or a path of several odd parts, may be taken for a token: the safe
    mistake."""
    decoded = _unescaped(run)
    text = decoded.rstrip("=")
    if len(text) < (16 if len(text) < len(decoded) else 32):
        return False
    parts = _PART_SEPARATOR.split(text)
    odd = sum(len(part) for part in parts if not _word(part))
    if "/" not in text and "\\" not in text:
        return odd > 0
    # A path: its odd parts (a CamelCase directory, a version) are a few among words.
    return odd >= 16 or odd * 3 >= sum(len(part) for part in parts)


def mask_tokens(text: str, found: set | None = None, mask: str = TOKEN_MASK) -> str:
    """``text`` with every IMDSv2 token replaced by ``mask``: the value after the header's name (any case, any
    quoting, as a dict key too), and every token-shaped run wherever it stands, in any encoding. Each token taken
    out is added to ``found`` as written and decoded, for ``no_log_values``."""

    def header_value(match: re.Match) -> str:
        value = match.group(2)
        if value.startswith(_ALREADY_MASKED):
            return match.group(0)
        if found is not None and len(value) >= _MIN_NO_LOG_LENGTH:
            found.update((value, _unescaped(value)))
        return match.group(0)[: match.start(2) - match.start()] + mask

    def shaped(match: re.Match) -> str:
        # A backslash after a token escapes what follows it (a JSON string's closing quote): it stays.
        run = match.group(0).rstrip("\\")
        if not token_shaped(run):
            return match.group(0)
        if found is not None:
            found.update((run, _unescaped(run)))
        cut = len(run)
        return mask + match.group(0)[cut:]

    return _RUN.sub(shaped, _HEADER_VALUE.sub(header_value, text))


# HTML character references (&#43; &#x2F; &plus;) and UTF-16LE's NUL after each ASCII character split a token into
# runs too short to judge: text a program wrote about itself (argv, a user agent, a URL) is read through them first.
# Only references to characters of a run are decoded, so no other text changes meaning.
_HTML_REFERENCE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]{2,6}));")
_NAMED_REFERENCES = {"plus": "+", "sol": "/", "equals": "=", "lowbar": "_", "percnt": "%", "bsol": "\\"}


def _reference(match: re.Match) -> str:
    decimal, hexadecimal, name = match.groups()
    if name:
        return _NAMED_REFERENCES.get(name, match.group(0))
    code = int(decimal, 10) if decimal else int(hexadecimal, 16)
    return chr(code) if code < 128 and chr(code) in RUN_CHARACTERS else match.group(0)


def readable(text: str) -> str:
    """``text`` with NUL characters removed and HTML references to token characters decoded, in one pass each."""
    if "\0" in text:
        text = text.replace("\0", "")
    return _HTML_REFERENCE.sub(_reference, text) if "&" in text else text


def drop_cut_run(text: str) -> str:
    """``text`` cut short at a cap: its last run of token characters may be the start of a token, so it goes."""
    return text.rstrip(RUN_CHARACTERS)
