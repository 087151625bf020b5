# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Read given metadata paths (the metadata module and lookup): leaves or whole subtrees, concurrently."""

from __future__ import annotations

from typing import Any, Iterable

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, not_found_error
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import USER_DATA_PATH
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import is_credential_document
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.userdata import decode_user_data
from ansible_collections.ec2meta.imds.plugins.module_utils._json import KEEP, load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_PATH_LENGTH
from ansible_collections.ec2meta.imds.plugins.module_utils._secret_fields import LeafMasker

MISSING = object()


def _shown(path: Any) -> str:
    """A path as it may appear in a message: escaped (no raw newline) and short."""
    text = repr(path)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def normalize_path(path: Any) -> str:
    """``/latest/meta-data/x`` and ``meta-data/x`` name the same path; credential documents and paths IMDS cannot
    have (query, fragment, control or non-ASCII characters, too long) are refused before anything is sent."""
    if not isinstance(path, str) or not path.strip("/ "):
        raise ImdsConfigError(
            f"path {_shown(path)} is not a metadata path: give a path relative to /latest/, e.g. meta-data/instance-id."
        )
    if len(path) > MAX_PATH_LENGTH:
        raise ImdsConfigError(
            f"path {_shown(path)} is longer than {MAX_PATH_LENGTH} characters: no metadata path is. Check the path."
        )
    if any(not " " <= char <= "~" or char in "?#" for char in path):
        raise ImdsConfigError(
            f"path {_shown(path)} contains a character no metadata path has (?, #, a control or non-ASCII "
            "character). Give the path alone, relative to /latest/, e.g. meta-data/tags/instance/Name."
        )
    text = path.strip().lstrip("/")
    if text.startswith("latest/"):
        # partition, not a slice: ruff formats "text[len(x) :]", which flake8 (Automation Hub's import) calls E203.
        text = text.partition("/")[2]
    if is_credential_document(text):
        raise ImdsConfigError(
            f"path {_shown(path)} is a credential document (access key, secret key and token), which this plugin never "
            "reads. Use ec2meta.imds.role_credentials_info for role credentials: it returns them under no_log. "
            "The role name is at meta-data/iam/security-credentials/ and the expiry in ec2meta.imds.metadata_facts."
        )
    return text


def _leaf_reader(masker: LeafMasker):
    def leaf_value(path: str, body: bytes) -> str:
        if path.strip("/") == USER_DATA_PATH:
            user_data = decode_user_data(body)
            return user_data.text if user_data.is_text else user_data.base64
        # A damaged or lying IMDS can serve a credential document at any path (iam/info): masked as it arrives.
        return masker.leaf(body.decode("utf-8", errors="replace"), path)

    return leaf_value


def _skip_credentials(path: str, is_dir: bool) -> bool:
    return is_credential_document(path)


def _parse_json(value: Any) -> Any:
    """JSON objects and arrays become data; anything else (``"0"``, plain text) stays the text IMDS sent."""
    if isinstance(value, dict):
        return {key: _parse_json(item) for key, item in value.items()}
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        return load_json(value, invalid=KEEP)
    return value


def read_paths(
    client: Any, paths: Iterable[Any], recursive: bool = False, parse_json: bool = False, default: Any = MISSING
) -> dict:
    """``{path: value}`` for each path, read in one concurrent walk.

    A leaf is text (user-data is unpacked and decoded, or base64 when binary); with ``recursive`` a path is a
    directory returned as a dict, credential documents left out. A missing path raises ImdsNotFound, or gives
    ``default`` when one is given.
    """
    wanted = list(dict.fromkeys(normalize_path(path) for path in paths))
    masker = LeafMasker()
    result = walk(
        client,
        dirs=wanted if recursive else (),
        leaves=() if recursive else wanted,
        skip=_skip_credentials,
        transform=_leaf_reader(masker),
    )
    values = {}
    for path in wanted:
        if path.strip("/") in result.missing:
            if default is MISSING:
                raise not_found_error(path, f"{client.config.endpoint}/latest/{path}", " Or set default.")
            values[path] = default
            continue
        value = result.values[path.strip("/")]
        values[path] = _parse_json(value) if parse_json else value
    return masker.result(values)
