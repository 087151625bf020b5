# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Compatibility with amazon.aws.ec2_metadata_facts: its flat ``ansible_ec2_*`` names, from our ``ec2`` fact.

Private to the collection, not a public API. Only metadata_facts' ``flatten`` option uses it; the typed facts in
_facts.py do not depend on it.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._facts.newline_lists import split_lines
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import SAFE_CREDENTIAL_FIELDS
from ansible_collections.ec2meta.imds.plugins.module_utils._json import load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._secret_fields import is_secret_name


def flatten_facts(ec2: dict) -> dict:
    """``ansible_ec2_*`` names as amazon.aws.ec2_metadata_facts makes them, from the raw tree, without secrets.

    A path's segments are joined with ``-``; a JSON object leaf also gives one name per key (``<name>:<key>``, key
    lowercased), except leaves and keys named like a secret (``_secret_fields.SECRET_NAMES``); ``-`` and ``:`` then
    become ``_``. Security groups are comma-joined.
    """
    raw = ec2.get("raw", {})
    names: dict[str, Any] = {}

    def visit(node: dict, parts: list) -> None:
        for key, value in node.items():
            path = [*parts, key]
            name = "-".join(path)
            if path[:2] == ["iam", "security-credentials"] and len(path) == 3:
                names["iam-instance-profile-role"] = key
                for field in SAFE_CREDENTIAL_FIELDS:
                    if isinstance(value, dict) and field in value:
                        names[f"{name}:{field.lower()}"] = value[field]
                continue
            if isinstance(value, dict):
                visit(value, path)
                continue
            if is_secret_name(key):
                # A leaf named like a secret (a tag SecretAccessKey, custom/db_password): masked in the tree, no fact.
                continue
            if key in ("security-groups", "security-group-ids"):
                names[name] = ",".join(split_lines(value) or [])
                continue
            names[name] = value
            looks_like_object = isinstance(value, str) and value.lstrip().startswith("{")
            document = load_json(value, invalid=None) if looks_like_object else None
            if isinstance(document, dict):
                for sub_key, sub_value in document.items():
                    # Masked already; a name for it would still announce a secret, so there is none.
                    if not is_secret_name(sub_key):
                        names[f"{name}:{sub_key.lower()}"] = sub_value

    metadata = dict(raw.get("meta-data", {}))
    public_keys = metadata.pop("public-keys", None)
    visit(metadata, [])
    visit(raw.get("dynamic", {}), [])
    if public_keys is not None:
        first = next((node for key, node in public_keys.items() if key.split("=", 1)[0] == "0"), {})
        names["public-key"] = first.get("openssh-key") if isinstance(first, dict) else None
    if "user_data" in ec2:
        user_data = ec2["user_data"] or {}
        names["user-data"] = user_data.get("text") if user_data.get("text") is not None else user_data.get("base64")
    flat = {"ansible_ec2_" + re.sub("[:-]", "_", name): value for name, value in names.items()}
    if "tags" in ec2:
        flat["ansible_ec2_instance_tags_keys"] = list(ec2["tags"])
        flat["ansible_ec2_instance_tags"] = dict(ec2["tags"])
    if "ansible_ec2_instance_identity_document_region" in flat:
        flat["ansible_ec2_placement_region"] = flat["ansible_ec2_instance_identity_document_region"]
    return flat
