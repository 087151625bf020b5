# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Take IMDSv2 session tokens out of text read from a host (argv, log lines, paths). Private to the collection.

A trace log records the command lines of the processes that call IMDS, and ``curl -H "X-aws-ec2-metadata-token:
$TOKEN"`` puts the token in argv. Two rules, applied together by :func:`scrub_tokens`, the one function every text
that reaches a result goes through:

* whatever follows the header name (``X-aws-ec2-metadata-token``, any case, then ``:``, ``=`` or blanks and an
  optional quote) up to the next blank, quote or comma;
* anything shaped like a token wherever it stands: a run of at least 32 URL-safe base64 characters, or of at least
  16 ending in ``=`` padding, unless it is words joined by dashes or underscores (header and job names: each part
  letters then perhaps digits, in one case or capitalised). Paths and dotted versions break runs, so they stay; a
  long identifier without separators may be taken for a token, the safe mistake.
"""

from __future__ import annotations

import re

REDACTED = "<token redacted>"

_HEADER = re.compile(
    r"(x-aws-ec2-metadata-token(?!-ttl)\s*[:=]?\s*['\"]?)([^\s'\",]+)",
    re.IGNORECASE,
)
_TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_\-]{16,}={1,2}|[A-Za-z0-9_\-]{32,}")
_WORD_SEPARATOR = re.compile(r"[-_]")
# A word in a name: letters, then perhaps a number (ec2, v2, production-42); random tokens mix them throughout.
_WORD_PART = re.compile(r"[a-z]{1,12}[0-9]{0,4}|[0-9]{1,8}")
# Tokens worth registering with no_log_values: shorter values ("$T") would mask innocent text everywhere.
_MIN_NO_LOG_LENGTH = 16


def _word(part: str) -> bool:
    return bool(_WORD_PART.fullmatch(part.lower())) and part in (part.lower(), part.capitalize(), part.upper())


def _token_shaped(run: str) -> bool:
    """A run the shape regex found is a token unless it is words joined by dashes (X-aws-ec2-metadata-token-ttl-seconds,
    a job name like build-and-deploy-42): a random token always has a part that is no word."""
    return not all(_word(part) for part in _WORD_SEPARATOR.split(run.rstrip("=")))


def scrub_tokens(text: str, found: set | None = None) -> str:
    """``text`` with every token replaced by :data:`REDACTED`; the tokens taken out are added to ``found``."""

    def header_value(match: re.Match) -> str:
        value = match.group(2)
        if value.startswith(("<token", "**token")):  # already redacted, by us or by the analyzer
            return match.group(0)
        if found is not None and len(value) >= _MIN_NO_LOG_LENGTH:
            found.add(value)
        return match.group(1) + REDACTED

    def shaped(match: re.Match) -> str:
        run = match.group(0)
        if not _token_shaped(run):
            return run
        if found is not None:
            found.add(run)
        return REDACTED

    return _TOKEN_SHAPED.sub(shaped, _HEADER.sub(header_value, text))


_TRAILING_RUN = re.compile(r"[A-Za-z0-9_=\-]+\Z")


def drop_cut_token(text: str) -> str:
    """``text`` cut short at a cap: its last run of token characters may be the start of a token, so it goes."""
    return _TRAILING_RUN.sub("", text)
