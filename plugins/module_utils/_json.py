# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""JSON from IMDS, parsed in one place. Private to the collection: not a public API.

What invalid JSON means differs by caller (a damaged credential document is an error, a plain-text leaf under
``parse_json`` is just text, a missing event notice is nothing), so every call names its policy with ``invalid``:
:data:`RAISE` (ValueError), :data:`KEEP` (the input as it came) or any other value to return instead.
"""

from __future__ import annotations

import json
from typing import Any


class _Policy:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


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
            return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)
        except RecursionError:
            # Nesting deeper than Python's recursion limit: no IMDS document is, so it is not JSON for us.
            raise ValueError("JSON nested too deeply") from None
    except ValueError:
        if invalid is RAISE:
            raise
        return value if invalid is KEEP else invalid
