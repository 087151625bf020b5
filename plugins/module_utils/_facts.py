# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""EC2 facts: which paths a gather_subset needs, one concurrent walk, and the typed ``ec2`` structure built from it.

Credential documents are never part of the result: ``iam/security-credentials/<role>`` is read only for its
expiry and reduced to its non-secret fields the moment it arrives; other ``security-credentials`` are not read.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from ansible_collections.ec2meta.imds.plugins.module_utils._client import IDENTITY_DOCUMENT
from ansible_collections.ec2meta.imds.plugins.module_utils._crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._credentials import is_credential_document
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsBadResponse,
    ImdsConfigError,
    ImdsEndpointDisabled,
    ImdsError,
    ImdsTimeout,
    ImdsUnreachable,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._userdata import decode_user_data

SUBSETS = (
    "identity",
    "instance",
    "network",
    "placement",
    "iam",
    "tags",
    "block_devices",
    "public_keys",
    "events",
    "user_data",
    "other",
)
MIN_SUBSETS = frozenset({"identity"})
# Top-level meta-data/ entries and the subset that reads them. Unlisted leaves are "instance", unlisted dirs "other".
ENTRY_SUBSETS = {
    "network": "network",
    "placement": "placement",
    "iam": "iam",
    "tags": "tags",
    "block-device-mapping": "block_devices",
    "public-keys": "public_keys",
    "events": "events",
    "spot": "events",
    "instance-action": "events",
}
METADATA_SUBSETS = frozenset(SUBSETS) - {"identity", "user_data"}
ROLE_CREDENTIALS = re.compile(r"^meta-data/iam/security-credentials/[^/]+$")
# The only fields of a credential document that may leave the walk.
SAFE_CREDENTIAL_FIELDS = ("Code", "LastUpdated", "Type", "Expiration")
# On these, on_unavailable=report returns ec2.available=false instead of failing: no usable IMDS on this host.
UNAVAILABLE_ERRORS = (ImdsUnreachable, ImdsTimeout, ImdsEndpointDisabled)
LIST_FIELDS = frozenset(
    {
        "security-groups",
        "security-group-ids",
        "local-ipv4s",
        "public-ipv4s",
        "ipv6s",
        "ipv4-prefix",
        "ipv6-prefix",
        "subnet-ipv4-cidr-blocks",
        "subnet-ipv6-cidr-blocks",
        "vpc-ipv4-cidr-blocks",
        "vpc-ipv6-cidr-blocks",
    }
)
INT_FIELDS = frozenset({"device-number", "network-card-index", "partition-number", "ami-launch-index"})


def resolve_gather_subset(values: Iterable[str] | None) -> frozenset:
    """``setup``-style subsets: ``all``, ``min``, names, ``!name``; ``min`` is always added unless ``!min``."""
    include: set = set()
    exclude: set = set()
    exclude_all = exclude_min = False
    for raw in values or ["all"]:
        value = str(raw).strip()
        negated = value.startswith("!")
        name = value[1:] if negated else value
        if name not in SUBSETS and name not in ("all", "min"):
            raise ImdsConfigError(
                f"gather_subset: unknown subset {name!r}. Use all, min or one of {', '.join(SUBSETS)}, "
                "each optionally prefixed with ! to leave it out."
            )
        if name == "all":
            exclude_all = exclude_all or negated
            if not negated:
                include.update(SUBSETS)
        elif name == "min":
            if negated:
                exclude_min = True
            else:
                include.update(MIN_SUBSETS)
        elif negated:
            exclude.add(name)
        else:
            include.add(name)
    if not include and not exclude_all:
        include.update(SUBSETS)
    if exclude_min:
        exclude.update(MIN_SUBSETS)
    else:
        include.update(MIN_SUBSETS)
    return frozenset(include - exclude)


def _is_secret(path: str, subsets: frozenset) -> bool:
    """A credential document that must not be requested: all of them except the role's, and that only for iam."""
    if not is_credential_document(path):
        return False
    return not ("iam" in subsets and ROLE_CREDENTIALS.match(path))


def _skipper(subsets: frozenset):
    def skip(path: str, is_dir: bool) -> bool:
        if _is_secret(path, subsets):
            return True
        parts = path.split("/")
        if parts[0] == "meta-data" and len(parts) == 2:
            default = "other" if is_dir else "instance"
            return ENTRY_SUBSETS.get(parts[1], default) not in subsets
        return False

    return skip


def _transform(path: str, body: bytes) -> Any:
    if path == "user-data":
        return body
    if ROLE_CREDENTIALS.match(path):
        # Reduced here, before it reaches the tree: the keys and token never leave this function.
        try:
            document = json.loads(body.decode("utf-8"))
        except ValueError:
            return {}
        return {key: document[key] for key in SAFE_CREDENTIAL_FIELDS if isinstance(document, dict) and key in document}
    return body.decode("utf-8", errors="replace")


def _lines(value: Any) -> list | None:
    if not isinstance(value, str):
        return None
    return [line.strip() for line in value.split("\n") if line.strip()]


def _dict(value: Any) -> dict:
    """A copy of a directory node; {} for anything else (a leaf where a directory was expected, or nothing)."""
    return dict(value) if isinstance(value, dict) else {}


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _snake(name: str) -> str:
    return name.replace("-", "_")


def _typed(node: dict) -> dict:
    """A subtree with snake_case keys, newline lists as lists and counters as ints; nested dicts keep their keys."""
    typed = {}
    for key, value in node.items():
        if isinstance(value, dict):
            typed[_snake(key)] = dict(value)
        elif key in LIST_FIELDS:
            typed[_snake(key)] = _lines(value)
        elif key in INT_FIELDS:
            typed[_snake(key)] = _int(value)
        else:
            typed[_snake(key)] = value
    return typed


def _get(node: Any, *parts: str) -> Any:
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def build_facts(tree: dict, subsets: frozenset, imds_version: int | None) -> dict:
    """The ``ec2`` fact from a walked tree (keyed ``meta-data``/``dynamic``/``user-data``). Pure: no requests."""
    metadata = _dict(tree.get("meta-data"))
    dynamic = _dict(tree.get("dynamic"))
    ec2: dict[str, Any] = {"available": True, "imds_version": imds_version, "gather_subset": sorted(subsets)}

    if "identity" in subsets:
        document = _dict(_json(_get(dynamic, "instance-identity", "document")))
        ec2.update(
            instance_id=document.get("instanceId"),
            ami_id=document.get("imageId"),
            instance_type=document.get("instanceType"),
            region=document.get("region"),
            availability_zone=document.get("availabilityZone"),
            account_id=document.get("accountId"),
            private_ipv4=document.get("privateIp"),
            architecture=document.get("architecture"),
            identity_document=document,
        )
    if "instance" in subsets:
        ec2.update(
            instance_id=metadata.get("instance-id") or ec2.get("instance_id"),
            ami_id=metadata.get("ami-id") or ec2.get("ami_id"),
            instance_type=metadata.get("instance-type") or ec2.get("instance_type"),
            private_ipv4=metadata.get("local-ipv4") or ec2.get("private_ipv4"),
            hostname=metadata.get("hostname"),
            local_hostname=metadata.get("local-hostname"),
            public_hostname=metadata.get("public-hostname"),
            public_ipv4=metadata.get("public-ipv4"),
            ipv6=metadata.get("ipv6"),
            mac=metadata.get("mac"),
            security_groups=_lines(metadata.get("security-groups")) or [],
            instance_life_cycle=metadata.get("instance-life-cycle"),
            reservation_id=metadata.get("reservation-id"),
            ami_launch_index=_int(metadata.get("ami-launch-index")),
        )
    if "placement" in subsets:
        placement = _typed(_dict(metadata.get("placement")))
        ec2["placement"] = placement
        ec2["region"] = placement.get("region") or ec2.get("region")
        ec2["availability_zone"] = placement.get("availability_zone") or ec2.get("availability_zone")
        ec2["availability_zone_id"] = placement.get("availability_zone_id")
    if "network" in subsets:
        macs = _dict(_get(metadata, "network", "interfaces", "macs"))
        ec2["network_interfaces"] = {mac: _typed(node) for mac, node in macs.items() if isinstance(node, dict)}
    if "block_devices" in subsets:
        ec2["block_devices"] = _dict(metadata.get("block-device-mapping"))
    if "public_keys" in subsets:
        ec2["public_keys"] = {
            name.split("=", 1)[-1]: node.get("openssh-key")
            for name, node in _dict(metadata.get("public-keys")).items()
            if isinstance(node, dict)
        }
    if "tags" in subsets:
        ec2["tags_enabled"] = "tags" in metadata
        ec2["tags"] = _dict(_get(metadata, "tags", "instance"))
    if "iam" in subsets:
        ec2["iam"] = _iam(metadata.get("iam"))
    if "events" in subsets:
        ec2["events"] = {
            "instance_action": metadata.get("instance-action"),
            "spot_instance_action": _json(_get(metadata, "spot", "instance-action")),
            "spot_termination_time": _get(metadata, "spot", "termination-time"),
            "rebalance_recommendation": _json(_get(metadata, "events", "recommendations", "rebalance")),
            "maintenance_scheduled": _json(_get(metadata, "events", "maintenance", "scheduled")) or [],
            "maintenance_history": _json(_get(metadata, "events", "maintenance", "history")) or [],
        }
    if "user_data" in subsets:
        raw = tree.get("user-data")
        ec2["user_data"] = decode_user_data(raw).as_dict() if isinstance(raw, bytes) else None
    ec2["raw"] = {key: value for key, value in (("meta-data", metadata), ("dynamic", dynamic)) if value}
    return ec2


def _iam(node: Any) -> dict | None:
    if not isinstance(node, dict):
        return None  # no instance profile
    info = _dict(_json(node.get("info")))
    roles = _dict(node.get("security-credentials"))
    role_name = next(iter(roles), None)
    credentials = roles.get(role_name) if role_name else None
    credentials = credentials if isinstance(credentials, dict) else {}
    return {
        "role_name": role_name,
        "instance_profile_arn": info.get("InstanceProfileArn"),
        "instance_profile_id": info.get("InstanceProfileId"),
        "last_updated": info.get("LastUpdated"),
        "credentials_code": credentials.get("Code"),
        "credentials_last_updated": credentials.get("LastUpdated"),
        "credentials_expiration": credentials.get("Expiration"),
    }


def flatten_facts(ec2: dict) -> dict:
    """``ansible_ec2_*`` names as amazon.aws.ec2_metadata_facts makes them, from the raw tree, without secrets.

    A path's segments are joined with ``-``; a JSON object leaf also gives one name per key (``<name>:<key>``, key
    lowercased); ``-`` and ``:`` then become ``_``. Security groups are comma-joined.
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
            if key in ("security-groups", "security-group-ids"):
                names[name] = ",".join(_lines(value) or [])
                continue
            names[name] = value
            document = _json(value) if isinstance(value, str) and value.lstrip().startswith("{") else None
            if isinstance(document, dict):
                for sub_key, sub_value in document.items():
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


def gather(client: Any, subsets: frozenset) -> dict:
    """Read what ``subsets`` need in one concurrent walk and return the ``ec2`` fact."""
    dirs = []
    leaves = []
    if subsets & METADATA_SUBSETS:
        dirs.append("meta-data")
    if "other" in subsets:
        dirs.append("dynamic")
    elif "identity" in subsets:
        leaves.append(IDENTITY_DOCUMENT)
    if "user_data" in subsets:
        leaves.append("user-data")
    result = walk(client, dirs=dirs, leaves=leaves, skip=_skipper(subsets), transform=_transform)
    if "identity" in subsets and IDENTITY_DOCUMENT in result.missing:
        result.missing.remove(IDENTITY_DOCUMENT)
    for root in ("meta-data", "dynamic"):
        if root in result.missing:
            # The service answers, but not this directory: it is not IMDS, or a damaged one.
            raise ImdsConfigError(
                f"IMDS at {client.config.endpoint} has no {root}/ directory: check that the endpoint option points "
                "at the instance metadata service."
            )
    _check_identity_document(client, result.tree)
    return build_facts(result.tree, subsets, client.imds_version)


def _check_identity_document(client: Any, tree: dict) -> None:
    """Region, account and zone come from the identity document: without it the facts would be wrong, not partial."""
    document = _get(tree, *IDENTITY_DOCUMENT.split("/"))
    if document is not None and not isinstance(_json(document), dict):
        raise ImdsBadResponse(
            f"IMDS answered {IDENTITY_DOCUMENT} with a body that is not a JSON object ({str(document)[:60]!r}). On "
            "EC2 it always is: check that the endpoint option points at the instance metadata service, and "
            "whether a proxy or agent on the host rewrites its answers.",
            url=f"{client.config.endpoint}/latest/{IDENTITY_DOCUMENT}",
        )


def gather_ec2_facts(
    client: Any, gather_subset: Iterable[str] | None, on_unavailable: str = "fail", flatten: bool = False
) -> dict:
    """The module's ``ansible_facts``. Raises ImdsError, except unavailability with ``on_unavailable=report``."""
    subsets = resolve_gather_subset(gather_subset)
    try:
        ec2 = gather(client, subsets)
    except UNAVAILABLE_ERRORS as error:
        if on_unavailable != "report":
            raise
        return {"ec2": unavailable_facts(error)}
    facts: dict[str, Any] = {"ec2": ec2}
    if flatten:
        facts.update(flatten_facts(ec2))
    return facts


def unavailable_facts(error: ImdsError) -> dict:
    return {"available": False, "reason": error.reason, "msg": str(error)}
