# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""JSON from IMDS, parsed in one place. Private to the collection: not a public API.

What invalid JSON means differs by caller (a damaged credential document is an error, a plain-text leaf under
``parse_json`` is just text, a missing event notice is nothing), so every call names its policy with ``invalid``:
:data:`RAISE` (ValueError), :data:`KEEP` (the input as it came) or any other value to return instead.

An object with a key twice is not JSON here either: RFC 8259 leaves its meaning to the reader (Python keeps the
last, other parsers the first), so a signed identity document or a credential document written so could be read
one way by a verifier and another by its user. No IMDS or AWS document repeats a key. Nor does one hold ``NaN``,
``Infinity``, a number too large for a float (``1e999999``, read as infinity) or a lone UTF-16 surrogate
(``"\\ud800"``, text no encoder can write back): Python accepts them, other readers refuse or read them otherwise.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_JSON_DEPTH


class _Policy:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


# A lone surrogate, as json.loads decodes a "\\ud800" escape that has no partner.
_SURROGATE = re.compile("[\ud800-\udfff]")

RAISE: Any = _Policy("RAISE")
KEEP: Any = _Policy("KEEP")


def load_json(value: Any, *, invalid: Any) -> Any:
    """``value`` (text, or UTF-8 bytes) parsed as JSON; anything else, or text that is not JSON, follows ``invalid``.

    Never returns the policy markers themselves; with ``invalid=RAISE`` the ValueError says why.
    """
    try:
        if not isinstance(value, (str, bytes)):
            raise ValueError(f"{type(value).__name__} is not JSON text")
        try:
            text = value.decode("utf-8") if isinstance(value, bytes) else value
            document = json.loads(
                text, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float
            )
            deep = not _nested_within(document, MAX_JSON_DEPTH, surrogates="\\u" in text or "\\U" in text)
        except RecursionError:
            deep = True
        if deep:
            # No IMDS document is nested this deeply, so it is not JSON for us.
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return document
    except ValueError:
        if invalid is RAISE:
            raise
        return value if invalid is KEEP else invalid


def _unique_keys(pairs: list) -> dict:
    seen: set = set()
    for key, _value in pairs:
        if key in seen:
            # Only the key's start: the message may reach a user, and the key is the host's text.
            raise ValueError(f"JSON object has the key {key[:40]!r} more than once")
        seen.add(key)
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"JSON has {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"JSON has the number {text[:40]!r}, too large for a float")
    return number


def _nested_within(document: Any, levels: int, surrogates: bool = False) -> bool:
    """Whether no list or dict in ``document`` lies deeper than ``levels``; a loop, not a recursion. With
    ``surrogates`` (only an escape can make one) its keys and strings are searched too: ValueError for a lone one."""
    pending = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        if surrogates and isinstance(node, str) and _SURROGATE.search(node):
            raise ValueError("JSON has a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)")
        if isinstance(node, (dict, list)):
            if depth > levels:
                return False
            children = [*node, *node.values()] if isinstance(node, dict) else node
            pending.extend((child, depth + 1) for child in children)
    return True
