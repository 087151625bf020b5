# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""EC2 facts: which paths a gather_subset needs, one concurrent walk, and the typed ``ec2`` structure built from it.

The ``ansible_ec2_*`` names of amazon.aws.ec2_metadata_facts are a separate layer, in compat.py.

Credential documents are never part of the result: ``iam/security-credentials/<role>`` is read only for its
expiry and reduced to its non-secret fields the moment it arrives; other ``security-credentials`` are not read.
Every other leaf is masked as it arrives (``_secret_fields``): secret-named JSON fields and credential-shaped values
never reach the tree, wherever IMDS put them.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsBadResponse,
    ImdsConfigError,
    ImdsDisabledByEnvironment,
    ImdsEndpointDisabled,
    ImdsError,
    ImdsTimeout,
    ImdsUnreachable,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._facts.compat import flatten_facts
from ansible_collections.ec2meta.imds.plugins.module_utils._facts.newline_lists import split_lines
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.events import (
    INSTANCE_ID,
    UNKNOWN_IDENTITY,
    Identity,
    announced,
    reading_from_tree,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import (
    IDENTITY_DOCUMENT,
    ROLES_PATH,
    USER_DATA_PATH,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.role_credentials import (
    is_credential_document,
    safe_credential_fields,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.userdata import decode_user_data
from ansible_collections.ec2meta.imds.plugins.module_utils._json import load_json
from ansible_collections.ec2meta.imds.plugins.module_utils._secret_fields import LeafMasker

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
    "autoscaling": "events",
}
METADATA_SUBSETS = frozenset(SUBSETS) - {"identity", "user_data"}
ROLE_CREDENTIALS = re.compile("^" + re.escape(ROLES_PATH) + "[^/]+$")
# On these, on_unavailable=report returns ec2.available=false instead of failing: no usable IMDS on this host.
# AWS_EC2_METADATA_DISABLED=true is how hosts off EC2 tell the AWS SDKs so: on a mixed fleet, one more way.
UNAVAILABLE_ERRORS = (ImdsDisabledByEnvironment, ImdsUnreachable, ImdsTimeout, ImdsEndpointDisabled)
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


def _never_request(path: str, subsets: frozenset) -> bool:
    """Whether the walk must not request ``path``: every credential document, except the role's when the iam subset
    wants its expiry."""
    if not is_credential_document(path):
        return False
    return not ("iam" in subsets and ROLE_CREDENTIALS.match(path))


def _skipper(subsets: frozenset):
    def skip(path: str, is_dir: bool) -> bool:
        if _never_request(path, subsets):
            return True
        parts = path.split("/")
        if parts[0] == "meta-data" and len(parts) == 2:
            default = "other" if is_dir else "instance"
            return ENTRY_SUBSETS.get(parts[1], default) not in subsets
        return False

    return skip


def _transformer(masker: LeafMasker):
    def transform(path: str, body: bytes) -> Any:
        if path == USER_DATA_PATH:
            return body
        if ROLE_CREDENTIALS.match(path):
            # Reduced here, before it reaches the tree: the keys and token never leave this function.
            return safe_credential_fields(load_json(body, invalid={}))
        # Any other leaf may hold a credential too when IMDS is damaged or lies (a credential document in iam/info).
        return masker.leaf(body.decode("utf-8", errors="replace"), path)

    return transform


def _dict(value: Any) -> dict:
    """A copy of a directory node; {} for anything else (a leaf where a directory was expected, or nothing)."""
    return dict(value) if isinstance(value, dict) else {}


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
            typed[_snake(key)] = split_lines(value)
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


def _json_leaf(node: Any, *parts: str) -> Any:
    """The JSON leaf at ``parts``, parsed; None where it is missing or not JSON: a fact left empty, not a failure."""
    return load_json(_get(node, *parts), invalid=None)


# Facts taken from the identity document: fact name -> document key.
IDENTITY_FACTS = {
    "instance_id": "instanceId",
    "ami_id": "imageId",
    "instance_type": "instanceType",
    "region": "region",
    "availability_zone": "availabilityZone",
    "account_id": "accountId",
    "private_ipv4": "privateIp",
    "architecture": "architecture",
}
# Facts taken as they are from meta-data/ leaves: fact name -> leaf.
INSTANCE_FACTS = {
    "instance_id": "instance-id",
    "ami_id": "ami-id",
    "instance_type": "instance-type",
    "private_ipv4": "local-ipv4",
    "hostname": "hostname",
    "local_hostname": "local-hostname",
    "public_hostname": "public-hostname",
    "public_ipv4": "public-ipv4",
    "ipv6": "ipv6",
    "mac": "mac",
    "instance_life_cycle": "instance-life-cycle",
    "reservation_id": "reservation-id",
}


def build_facts(tree: dict, subsets: frozenset, imds_version: int | None) -> dict:
    """The ``ec2`` fact from a walked tree (keyed ``meta-data``/``dynamic``/``user-data``). Pure: no requests."""
    metadata = _dict(tree.get("meta-data"))
    dynamic = _dict(tree.get("dynamic"))
    ec2: dict[str, Any] = {"available": True, "imds_version": imds_version, "gather_subset": sorted(subsets)}

    if "identity" in subsets:
        document = _dict(_json_leaf(dynamic, "instance-identity", "document"))
        ec2.update({fact: document.get(key) for fact, key in IDENTITY_FACTS.items()}, identity_document=document)
    if "instance" in subsets:
        for fact, key in INSTANCE_FACTS.items():
            # Where the identity document gave a value, meta-data's own wins only when it has one.
            ec2[fact] = metadata.get(key) or ec2.get(fact) if fact in IDENTITY_FACTS else metadata.get(key)
        ec2.update(
            security_groups=split_lines(metadata.get("security-groups")) or [],
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
            "spot_instance_action": _json_leaf(metadata, "spot", "instance-action"),
            "spot_termination_time": _get(metadata, "spot", "termination-time"),
            "rebalance_recommendation": _json_leaf(metadata, "events", "recommendations", "rebalance"),
            "maintenance_scheduled": _json_leaf(metadata, "events", "maintenance", "scheduled") or [],
            "maintenance_history": _json_leaf(metadata, "events", "maintenance", "history") or [],
            "target_lifecycle_state": _get(metadata, "autoscaling", "target-lifecycle-state"),
            "announced": _announced(tree, ec2),
        }
    if "user_data" in subsets:
        raw = tree.get(USER_DATA_PATH)
        ec2["user_data"] = decode_user_data(raw).as_dict() if isinstance(raw, bytes) else None
    ec2["raw"] = {key: value for key, value in (("meta-data", metadata), ("dynamic", dynamic)) if value}
    return ec2


def _announced(tree: dict, ec2: dict) -> list:
    """What EC2 announces now, as the imds_events source's event documents (each with ``starts_at``). A notice in a
    shape EC2 never gives is an ``unknown`` event (events_due counts it as due), and without the identity the
    events say ``unknown`` for the instance and region: what cannot be read is never "nothing announced"."""
    instance_id, region = ec2.get("instance_id"), ec2.get("region")
    identity = UNKNOWN_IDENTITY
    if isinstance(instance_id, str) and INSTANCE_ID.match(instance_id) and isinstance(region, str):
        identity = Identity(instance_id, region)
    return announced(identity, reading_from_tree(tree))


def _iam(node: Any) -> dict | None:
    if not isinstance(node, dict):
        return None  # no instance profile
    info = _dict(_json_leaf(node, "info"))
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
        leaves.append(USER_DATA_PATH)
    masker = LeafMasker()
    result = walk(client, dirs=dirs, leaves=leaves, skip=_skipper(subsets), transform=_transformer(masker))
    if "identity" in subsets and IDENTITY_DOCUMENT in result.missing:
        result.missing.remove(IDENTITY_DOCUMENT)
    for root in ("meta-data", "dynamic"):
        if root in result.missing:
            # The service answers, but not this directory: it is not IMDS, or a damaged one.
            raise ImdsBadResponse(
                f"IMDS at {client.config.endpoint} has no {root}/ directory: check that the endpoint option points "
                "at the instance metadata service.",
                url=f"{client.config.endpoint}/latest/{root}/",
                status=404,
            )
    tree = masker.result(result.tree)
    _check_identity_document(client, tree)
    ec2 = build_facts(tree, subsets, client.imds_version)
    if ec2.get("user_data"):
        # user-data is the user's own and returned as it is, except the secrets found in other leaves (a credential
        # document in iam/info): those are masked wherever they appear. A binary one is base64 and left alone.
        ec2["user_data"] = masker.result(ec2["user_data"])
    return ec2


def _check_identity_document(client: Any, tree: dict) -> None:
    """Region, account and zone come from the identity document: without it the facts would be wrong, not partial."""
    document = _get(tree, *IDENTITY_DOCUMENT.split("/"))
    if document is not None and not isinstance(load_json(document, invalid=None), dict):
        raise ImdsBadResponse(
            f"IMDS answered {IDENTITY_DOCUMENT} with a body that is not a JSON object ({str(document)[:60]!r}). On "
            "EC2 it always is: check that the endpoint option points at the instance metadata service, and "
            "whether a proxy or agent on the host rewrites its answers.",
            url=f"{client.config.endpoint}/latest/{IDENTITY_DOCUMENT}",
        )


def gather_ec2_facts(
    client_options: Mapping[str, Any],
    gather_subset: Iterable[str] | None,
    on_unavailable: str = "fail",
    flatten: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict:
    """The module's ``ansible_facts``, read with a client built from ``client_options`` (the module's params).

    Raises ImdsError, except for UNAVAILABLE_ERRORS with ``on_unavailable=report``: those give
    ``ec2.available=false``; a host with IMDS turned off (AWS_EC2_METADATA_DISABLED) gets its report without a
    request.
    """
    subsets = resolve_gather_subset(gather_subset)
    try:
        with ImdsClient(client_config_from_params(client_options, environ)) as client:
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
