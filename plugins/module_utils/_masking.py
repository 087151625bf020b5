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
