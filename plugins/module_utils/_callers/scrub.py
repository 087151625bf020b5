# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Take IMDSv2 session tokens out of text read from a host (argv, log lines, paths). Private to the collection.

A trace log records the command lines of the processes that call IMDS, and ``curl -H "X-aws-ec2-metadata-token:
$TOKEN"`` puts the token in argv. The rule itself (the header's value, and anything shaped like a token in any
encoding, wherever it stands) is :func:`_masking.mask_tokens`, written once for every module; here it is applied
with the mask the callers' results have always shown.
"""

from __future__ import annotations

from ansible_collections.ec2meta.imds.plugins.module_utils._masking import TOKEN_MASK, drop_cut_run, mask_tokens

REDACTED = TOKEN_MASK


def scrub_tokens(text: str, found: set | None = None) -> str:
    """``text`` with every token replaced by :data:`REDACTED`; the tokens taken out are added to ``found``."""
    return mask_tokens(text, found, REDACTED)


def drop_cut_token(text: str) -> str:
    """``text`` cut short at a cap: its last run of token characters may be the start of a token, so it goes."""
    return drop_cut_run(text)
