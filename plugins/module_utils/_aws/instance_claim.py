# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Is the instance a host claims to be the one the controller knows? The trust boundary of the role.

Everything a host's IMDS answers is a claim by that host: root on it can serve any instance id. Before the
controller's credentials act on a claimed id, the claim must match what the controller knows on its own: the
inventory's instance id when it has one, else the address the controller connects to, compared with the addresses
EC2's DescribeInstances (read with the controller's credentials) lists for the claimed instance.

``judge_claim`` is pure and fails closed: an empty or unparsable address, an instance without addresses, an id EC2
does not know, all are "unproven", never a match. ``prove_claim`` reads EC2 and raises IdentityUnproven.
No name is resolved through DNS: a name proves only when EC2 lists it as the instance's own DNS name.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import (
    DESCRIBE_ACTION,
    NOT_FOUND_CODES,
    describe_fleet,
    dict_items,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError, aws_error, error_code

REASON = "identity_unproven"
# What EC2 instance ids look like (8 hex digits for old ones, 17 for current ones): anything else is not looked up.
INSTANCE_ID_PATTERN = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{17})")
# A DNS name as a connection address: letters, digits, hyphens and dots, at most 253 characters.
HOSTNAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


def shown(value: Any, limit: int = 80) -> str:
    """A value from the host, for a message: its repr, cut to ``limit`` characters (a claim can be anything)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def shown_id(value: Any) -> str:
    """A claimed instance id for a message: as it is when it looks like one, else cut (see ``shown``)."""
    return value if isinstance(value, str) and INSTANCE_ID_PATTERN.fullmatch(value) else shown(value)


def _text(value: Any) -> list[str]:
    return [value] if isinstance(value, str) and value.strip() else []


def _interfaces(instance: Mapping) -> list[Mapping]:
    return dict_items(instance, "NetworkInterfaces")


def _private_ips(instance: Mapping) -> list[str]:
    found = _text(instance.get("PrivateIpAddress"))
    for interface in _interfaces(instance):
        found += _text(interface.get("PrivateIpAddress"))
        found += [
            ip for entry in dict_items(interface, "PrivateIpAddresses") for ip in _text(entry.get("PrivateIpAddress"))
        ]
    return found


def _association(entry: Mapping, key: str) -> list[str]:
    association = entry.get("Association")
    return _text(association.get(key)) if isinstance(association, Mapping) else []


def _public_ips(instance: Mapping) -> list[str]:
    found = _text(instance.get("PublicIpAddress"))
    for interface in _interfaces(instance):
        found += _association(interface, "PublicIp")
        found += [ip for entry in dict_items(interface, "PrivateIpAddresses") for ip in _association(entry, "PublicIp")]
    return found


def _ipv6_addresses(instance: Mapping) -> list[str]:
    found = _text(instance.get("Ipv6Address"))
    for interface in _interfaces(instance):
        found += [ip for entry in dict_items(interface, "Ipv6Addresses") for ip in _text(entry.get("Ipv6Address"))]
    return found


def _private_dns_names(instance: Mapping) -> list[str]:
    found = _text(instance.get("PrivateDnsName"))
    for interface in _interfaces(instance):
        found += _text(interface.get("PrivateDnsName"))
        found += [
            name for entry in dict_items(interface, "PrivateIpAddresses") for name in _text(entry.get("PrivateDnsName"))
        ]
    return found


def _public_dns_names(instance: Mapping) -> list[str]:
    found = _text(instance.get("PublicDnsName"))
    for interface in _interfaces(instance):
        found += _association(interface, "PublicDnsName")
    return found


@dataclass(frozen=True)
class AddressKind:
    """One kind of address DescribeInstances lists for an instance."""

    name: str
    read: Callable[[Mapping], list]
    # The DescribeInstances filter that finds other instances with the same address, for kinds that are unique
    # only within a VPC (private addresses repeat across VPCs with overlapping CIDRs); None when EC2 makes the
    # address unique (public IPv4 and DNS names, IPv6 addresses).
    shared_filter: str | None


ADDRESS_KINDS = (
    AddressKind("private_ip_address", _private_ips, "private-ip-address"),
    AddressKind("public_ip_address", _public_ips, None),
    AddressKind("ipv6_address", _ipv6_addresses, None),
    AddressKind("private_dns_name", _private_dns_names, "private-dns-name"),
    AddressKind("public_dns_name", _public_dns_names, None),
)
KINDS_BY_NAME = {kind.name: kind for kind in ADDRESS_KINDS}


def instance_addresses(instance: Mapping) -> dict:
    """{kind: [addresses]} the instance has, each kind in ADDRESS_KINDS, without duplicates, in the API's order."""
    return {kind.name: list(dict.fromkeys(kind.read(instance))) for kind in ADDRESS_KINDS}


def normalize_address(address: Any) -> str | None:
    """An address in the one form compared: an IP address in its canonical text (an IPv4-mapped IPv6 address as
    IPv4, brackets and an IPv6 zone dropped), a DNS name in lower case without the trailing dot. None for anything
    else (empty, not text, not a plausible name)."""
    if not isinstance(address, str):
        return None
    text = address.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        name = text.lower()
        name = name[:-1] if name.endswith(".") else name
        return name if HOSTNAME_PATTERN.fullmatch(name) and ".." not in name else None
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def matching_kind(instance: Mapping, address: Any) -> str | None:
    """The kind of the instance's address that equals ``address``, None when none does (or it is not usable)."""
    wanted = normalize_address(address)
    if wanted is None:
        return None
    for kind in ADDRESS_KINDS:
        if any(normalize_address(candidate) == wanted for candidate in kind.read(instance)):
            return kind.name
    return None


@dataclass(frozen=True)
class ClaimJudgement:
    proven: bool
    proven_by: str | None  # "instance_id", or the kind of address that matched
    explanation: str


def _same_id(first: str, second: str) -> bool:
    return first.strip().lower() == second.strip().lower()


def judge_claim(
    claimed_id: str, instance: Mapping | None, known_instance_id: str | None, address: str | None
) -> ClaimJudgement:
    """Whether ``instance`` (DescribeInstances' dict for ``claimed_id``, None when EC2 does not know it) is the one
    the controller knows: by ``known_instance_id`` when that is set, else by ``address``."""
    if not isinstance(claimed_id, str) or not INSTANCE_ID_PATTERN.fullmatch(claimed_id.strip()):
        return ClaimJudgement(
            False, None, f"the host's claimed instance id {shown(claimed_id)} is not an EC2 instance id"
        )
    if not isinstance(instance, Mapping) or not _same_id(str(instance.get("InstanceId") or ""), claimed_id):
        return ClaimJudgement(False, None, f"EC2 does not know a running or stopped instance {claimed_id} there")
    if isinstance(known_instance_id, str) and known_instance_id.strip():
        if _same_id(known_instance_id, claimed_id):
            return ClaimJudgement(True, "instance_id", f"the inventory's instance_id is {claimed_id}")
        return ClaimJudgement(False, None, f"the inventory's instance_id is {known_instance_id.strip()}")
    wanted = normalize_address(address)
    if wanted is None:
        return ClaimJudgement(
            False, None, f"the connection address {shown(address)} is empty or not an IP address or DNS name"
        )
    kind = matching_kind(instance, wanted)
    if kind is None:
        addresses = {name: values for name, values in instance_addresses(instance).items() if values}
        listed = "; ".join(f"{name} {', '.join(values)}" for name, values in addresses.items()) or "no address at all"
        return ClaimJudgement(
            False, None, f"the controller connects to {wanted}, and EC2 lists for {claimed_id}: {listed}"
        )
    return ClaimJudgement(True, kind, f"the controller connects to {wanted}, the {kind} EC2 lists for {claimed_id}")


class IdentityUnproven(AwsError):
    """The host's claimed instance is not the one the controller knows: nothing was changed."""

    reason = REASON


def unproven_error(claimed_id: str, known: Mapping[str, Any], explanation: str, addresses: dict) -> IdentityUnproven:
    return IdentityUnproven(
        f"The host claims to be instance {claimed_id}, which the controller cannot prove: {explanation}. Nothing was "
        "changed. Everything the host's IMDS answers is its own claim; the controller acts with its credentials only "
        "on an instance it knows independently. Give the host the instance_id host variable (the amazon.aws.aws_ec2 "
        "inventory sets it), or connect to it by an address EC2 lists for it (ansible_host: its private or public "
        "IP or DNS name), or set instance_metadata_instance_id. If this host is not who it claims to be, "
        "investigate it",
        result={"claimed_instance_id": claimed_id, "known": dict(known), "addresses": addresses},
    )


@dataclass(frozen=True)
class ProvenInstance:
    instance_id: str
    region: str | None
    account_id: str | None
    proven_by: str
    addresses: dict = field(default_factory=dict)


def describe_claimed(ec2: Any, instance_id: str) -> tuple[Mapping | None, str | None]:
    """(DescribeInstances' dict, the owner account) for ``instance_id``; (None, None) when EC2 does not know it or
    it is terminated."""
    try:
        response = ec2.describe_instances(InstanceIds=[instance_id])
    except Exception as error:
        if error_code(error) in NOT_FOUND_CODES:
            return None, None
        raise aws_error(error, DESCRIBE_ACTION) from None
    for reservation in dict_items(response, "Reservations"):
        for instance in dict_items(reservation, "Instances"):
            state = instance.get("State") if isinstance(instance.get("State"), Mapping) else {}
            if instance.get("InstanceId") == instance_id and state.get("Name") != "terminated":
                owner = reservation.get("OwnerId")
                return instance, owner if isinstance(owner, str) and owner else None
    return None, None


def sharing_instances(ec2: Any, budget: Any, kind: str, address: str, region: str | None) -> list[str]:
    """The ids of the instances of the region that have ``address`` as their address of ``kind`` (a private one)."""
    shared_filter = KINDS_BY_NAME[kind].shared_filter
    if shared_filter is None:
        return []
    # Whole entries: the match looks at every address of every interface.
    fleet = describe_fleet(ec2, budget, filters={shared_filter: address}, region=region, keep=None)
    return [instance["InstanceId"] for instance in fleet.instances if matching_kind(instance, address) == kind]


def prove_claim(
    ec2: Any,
    budget: Any,
    claimed_id: str,
    *,
    known_instance_id: str | None = None,
    address: str | None = None,
    region: str | None = None,
) -> ProvenInstance:
    """The claimed instance, proven; IdentityUnproven when the controller cannot prove it.

    A private address proves only when no other instance of the region has it: private addresses repeat across
    VPCs with overlapping CIDRs (every default VPC is 172.31.0.0/16), so a match there could be another machine.
    """
    known = {"instance_id": known_instance_id or None, "connection_address": address or None, "region": region}
    claimed = claimed_id.strip() if isinstance(claimed_id, str) else claimed_id
    instance = None
    owner = None
    if isinstance(claimed, str) and INSTANCE_ID_PATTERN.fullmatch(claimed):
        instance, owner = describe_claimed(ec2, claimed)
    judgement = judge_claim(claimed, instance, known_instance_id, address)
    addresses = instance_addresses(instance) if isinstance(instance, Mapping) else {}
    if not judgement.proven:
        raise unproven_error(shown_id(claimed), known, judgement.explanation, addresses)
    if judgement.proven_by in KINDS_BY_NAME:
        wanted = normalize_address(address) or ""
        others = [
            other for other in sharing_instances(ec2, budget, judgement.proven_by, wanted, region) if other != claimed
        ]
        if others:
            explanation = (
                f"the controller connects to {wanted}, a {judgement.proven_by} that {claimed} shares with "
                f"{', '.join(sorted(others))}, so it does not tell them apart"
            )
            raise unproven_error(claimed, known, explanation, addresses)
    return ProvenInstance(claimed, region, owner, judgement.proven_by or "", addresses)
