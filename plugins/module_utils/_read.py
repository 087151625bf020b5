# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Read given metadata paths (the metadata module and lookup): leaves or whole subtrees, concurrently."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ansible_collections.ec2meta.imds.plugins.module_utils._client import not_found_error
from ansible_collections.ec2meta.imds.plugins.module_utils._crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._credentials import is_credential_document
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._userdata import decode_user_data

MISSING = object()


def normalize_path(path: Any) -> str:
    """``/latest/meta-data/x`` and ``meta-data/x`` name the same path; credential documents are refused."""
    if not isinstance(path, str) or not path.strip("/ "):
        raise ImdsConfigError(
            f"path {path!r} is not a metadata path: give a path relative to /latest/, e.g. meta-data/instance-id."
        )
    text = path.strip().lstrip("/")
    if text.startswith("latest/"):
        text = text[len("latest/") :]
    if is_credential_document(text):
        raise ImdsConfigError(
            f"path {path!r} is a credential document (access key, secret key and token), which this plugin never "
            "reads. Use ec2meta.imds.role_credentials_info for role credentials: it returns them under no_log. "
            "The role name is at meta-data/iam/security-credentials/ and the expiry in ec2meta.imds.metadata_facts."
        )
    return text


def _leaf_value(path: str, body: bytes) -> str:
    if path.strip("/") == "user-data":
        user_data = decode_user_data(body)
        return user_data.text if user_data.is_text else user_data.base64
    return body.decode("utf-8", errors="replace")


def _skip_credentials(path: str, is_dir: bool) -> bool:
    return is_credential_document(path)


def _parse_json(value: Any) -> Any:
    """JSON objects and arrays become data; anything else (``"0"``, plain text) stays the text IMDS sent."""
    if isinstance(value, dict):
        return {key: _parse_json(item) for key, item in value.items()}
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _find(tree: dict, path: str) -> Any:
    node: Any = tree
    for part in [part for part in path.split("/") if part]:
        node = node[part]
    return node


def read_paths(
    client: Any, paths: Iterable[Any], recursive: bool = False, parse_json: bool = False, default: Any = MISSING
) -> dict:
    """``{path: value}`` for each path, read in one concurrent walk.

    A leaf is text (user-data is unpacked and decoded, or base64 when binary); with ``recursive`` a path is a
    directory returned as a dict, credential documents left out. A missing path raises ImdsNotFound, or gives
    ``default`` when one is given.
    """
    wanted = list(dict.fromkeys(normalize_path(path) for path in paths))
    result = walk(
        client,
        dirs=wanted if recursive else (),
        leaves=() if recursive else wanted,
        skip=_skip_credentials,
        transform=_leaf_value,
    )
    values = {}
    for path in wanted:
        if path.strip("/") in result.missing:
            if default is MISSING:
                raise not_found_error(path, f"{client.config.endpoint}/latest/{path}", " Or set default.")
            values[path] = default
            continue
        value = _find(result.tree, path)
        values[path] = _parse_json(value) if parse_json else value
    return values
