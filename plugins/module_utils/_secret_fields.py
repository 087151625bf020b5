# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Secrets inside what IMDS serves, masked before a leaf reaches a result. Private to the collection: not a public API.

IMDS keeps credentials in one place (``iam/security-credentials/<role>``, which the walks never read), but a damaged
or hostile IMDS, or an agent rewriting its answers, can serve a credential document anywhere: in ``iam/info``, in
a tag, under any path. So every leaf is read as follows (:class:`LeafMasker`):

- a leaf under a path with a segment named like a secret (:data:`SECRET_NAMES`: ``tags/instance/SecretAccessKey``,
  ``custom/db_password``) is masked whole, whatever it holds; a path segment shaped like a credential (a tag key
  ``ASIA...``) is masked where it becomes a key of the result;
- a JSON document: the value of every key named like a secret is replaced by the mask, whatever it holds, as is
  the ``value`` of a name/value pair whose ``name`` (or ``Key``/``Value``) is named so; a string in it that is JSON
  itself is read the same way (to :data:`MAX_NESTED_JSON` levels, deeper masked whole), and the document written
  anew;
- text that looks like JSON but is not valid (cut, a key given twice) and names a secret: the whole leaf is masked,
  since which of its parts is the secret cannot be told;
- plain text (and every string in a document): the value after a secret-like name and ``=`` or ``:``, to the end of
  the line (INI ``aws_secret_access_key = ...``, ``export AWS_SECRET_ACCESS_KEY=...``, YAML ``Token: ...``);
- anywhere in the text: values shaped like AWS credentials (:data:`CREDENTIAL_SHAPES`) are masked;
- the secret values found are then masked in every other leaf too, in every form ``_masking`` knows.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._json import load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import MASK, mask_data


@dataclass(frozen=True)
class SecretName:
    pattern: str  # matched whole against the name lower-cased, without '-', '_', '.' and spaces
    examples: str


SECRET_NAMES = (
    SecretName(r"(?:aws)?accesskeyid", "AccessKeyId, aws_access_key_id"),
    SecretName(r".*secret.*", "SecretAccessKey, aws_secret_access_key, ClientSecret"),
    SecretName(r".*token", "Token, SessionToken, aws_session_token, X-aws-ec2-metadata-token"),
    SecretName(r".*(?:password|passwd|passphrase).*", "Password, db_password, passphrase"),
    SecretName(r".*privatekey.*", "PrivateKey, private_key_pem"),
    SecretName(r".*apikey", "ApiKey, api_key"),
    SecretName(r"credentials?", "Credentials"),
)


@dataclass(frozen=True)
class CredentialShape:
    what: str
    pattern: str


# Values that are AWS credentials by their form alone, whatever name they come under. A secret access key has no
# form of its own (40 base64 characters), so it is found by its name only.
CREDENTIAL_SHAPES = (
    CredentialShape(
        "access key ID (long-term AKIA, temporary ASIA)", r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"
    ),
    CredentialShape(
        "session token (the base64 prefixes STS and IMDS tokens start with)",
        r"(?<![A-Za-z0-9+/])(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE|AQoDYXdzE)[A-Za-z0-9+/=_-]{16,}",
    ),
)
# A secret found in one leaf is masked in the others only from this length on: a short value ("1", "true") in a
# secret-named field would otherwise mask that text everywhere. The field itself is masked at any length.
MIN_SHARED_SECRET = 8

# How many times a JSON document may be written inside a string of another and still be read as one; a document
# deeper than that is masked whole. Bounds the work on a leaf to that many parses.
MAX_NESTED_JSON = 4
# The fields of a name/value pair (ECS environment, CloudFormation and EC2 tags), compared lower-cased.
PAIR_NAMES = ("name", "key")
PAIR_VALUES = ("value",)

_SECRET_NAME = re.compile("|".join(f"(?:{name.pattern})" for name in SECRET_NAMES))
_NOT_IN_NAME = re.compile(r"[-_. ]")
_CREDENTIAL_SHAPE = re.compile("|".join(f"(?:{shape.pattern})" for shape in CREDENTIAL_SHAPES))
# A quoted name followed by ':' - a key, in text that is not valid JSON.
_QUOTED_KEY = re.compile(r"[\"']([^\"'\\\n]{1,200})[\"'][ \t\r\n]{0,32}:")
# A name, a few blanks, '=' or ':', then the rest of the line: an assignment in INI, shell, YAML or .env text. Every
# repeat is bounded (the name to 200 characters, the value to 4,096) and the name cannot start inside another word,
# so a search reads at most a few hundred characters from each start: linear in the text.
_ASSIGNMENT = re.compile(r"(?<![\w.-])([A-Za-z_][\w.-]{0,200})[ \t]{0,32}[=:][ \t]{0,32}([^\r\n]{1,4096})")


def is_secret_name(name: Any) -> bool:
    """Whether ``name`` is named like a secret; NFKC first, so full-width letters are the ASCII ones."""
    if not isinstance(name, str):
        return False
    # No secret's name is long; the cut bounds the work a hostile key of megabytes would cost.
    return bool(_SECRET_NAME.fullmatch(_NOT_IN_NAME.sub("", unicodedata.normalize("NFKC", name[:1000]).lower())))


def _strings(value: Any) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _secret_pair(document: dict) -> bool:
    """Whether ``document`` is a name/value pair naming a secret: {"name": "AWS_SECRET_ACCESS_KEY", "value": ...}."""
    return any(
        isinstance(key, str) and key.lower() in PAIR_NAMES and is_secret_name(value) for key, value in document.items()
    )


def mask_secret_fields(document: Any, found: set, depth: int = 0) -> Any:
    """A copy of a parsed JSON document with each value under a secret-like name (or the value of a pair naming a
    secret) masked (the value's strings are added to ``found``) and each string masked as text (:func:`mask_leaf`)."""
    if isinstance(document, dict):
        pair = _secret_pair(document)
        masked = {}
        for key, value in document.items():
            shown_key = mask_credential_shapes(key, found)
            if is_secret_name(key) or (pair and key.lower() in PAIR_VALUES):
                found.update(_strings(value))
                masked[shown_key] = MASK
            else:
                masked[shown_key] = mask_secret_fields(value, found, depth)
        return masked
    if isinstance(document, list):
        return [mask_secret_fields(item, found, depth) for item in document]
    if isinstance(document, str):
        return mask_leaf(document, found, depth + 1)
    return document


def mask_credential_shapes(text: str, found: set) -> str:
    """``text`` with every credential-shaped value masked; the values are added to ``found``."""
    shapes = _CREDENTIAL_SHAPE.findall(text)
    if not shapes:
        return text
    found.update(shapes)
    return _CREDENTIAL_SHAPE.sub(MASK, text)


def _mask_assignments(text: str, found: set) -> str:
    """``text`` with the value after each secret-like name and ``=`` or ``:`` masked, to the end of its line."""
    if "=" not in text and ":" not in text:
        return text

    def replace(match: re.Match) -> str:
        if not is_secret_name(match.group(1)):
            return match.group(0)
        found.add(match.group(2).strip().strip("\"'").strip())
        return match.group(0)[: match.start(2) - match.start(0)] + MASK

    return _ASSIGNMENT.sub(replace, text)


def mask_leaf(text: str, found: set, depth: int = 0) -> str:
    """A leaf's text as it may be shown (see the module's docstring); the secrets it held are added to ``found``.
    ``depth``: how many JSON strings ``text`` lies inside."""
    if text.lstrip()[:1] in ("{", "["):
        document = load_json(text, invalid=None)
        if isinstance(document, (dict, list)) and depth > MAX_NESTED_JSON:
            # Its strings would be JSON once more: what they hold is not read, so none of it is shown.
            return MASK
        if isinstance(document, (dict, list)):
            masked = mask_secret_fields(document, found, depth)
            return text if masked == document else json.dumps(masked, indent=2)
    if any(is_secret_name(match.group(1)) for match in _QUOTED_KEY.finditer(text)):
        return MASK
    return mask_credential_shapes(_mask_assignments(text, found), found)


def mask_path(path: str, found: set) -> bool:
    """Whether the leaf at ``path`` is masked whole (a segment named like a secret); credential-shaped segments
    (masked where the path becomes keys of the result, by :meth:`LeafMasker.result`) are added to ``found``."""
    segments = path.strip("/").split("/")
    for segment in segments:
        mask_credential_shapes(segment, found)
    return any(is_secret_name(segment) for segment in segments)


class LeafMasker:
    """One walk's leaves: :meth:`leaf` masks each as it arrives (from the walk's worker threads), :meth:`result`
    then masks what was found in the others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.found: set = set()

    def leaf(self, text: str, path: str = "") -> str:
        found: set = set()
        if mask_path(path, found):
            found.add(text.strip())
            shown = MASK
        else:
            shown = mask_leaf(text, found)
        if found:
            with self._lock:
                self.found |= found
        return shown

    def result(self, data: Any) -> Any:
        shared = [secret for secret in self.found if len(secret) >= MIN_SHARED_SECRET]
        return mask_data(data, shared) if shared else data
