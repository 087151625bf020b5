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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import (
    DESCRIBE_ACTION,
    NOT_FOUND_CODES,
    PAGE_SIZE,
    dict_items,
    ec2_filters,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
    AwsBadResponse,
    AwsError,
    aws_error,
    error_code,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

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


def _ips_named(instance: Mapping, name: str) -> list[str]:
    """The instance's private IPs whose private DNS name is ``name`` (EC2 derives that name from the IP)."""
    found = _text(instance.get("PrivateIpAddress")) if normalize_address(instance.get("PrivateDnsName")) == name else []
    for interface in _interfaces(instance):
        if normalize_address(interface.get("PrivateDnsName")) == name:
            found += _text(interface.get("PrivateIpAddress"))
        for entry in dict_items(interface, "PrivateIpAddresses"):
            if normalize_address(entry.get("PrivateDnsName")) == name:
                found += _text(entry.get("PrivateIpAddress"))
    return list(dict.fromkeys(found))


# DescribeInstances filters. "private-ip-address" is only an instance's PRIMARY private address (AWS documents it
# so); this one is any private address of any of its interfaces, secondary ones included.
ANY_PRIVATE_IP = "network-interface.addresses.private-ip-address"
PRIMARY_PRIVATE_DNS = "private-dns-name"


def _as_itself(address: str, _instance: Mapping) -> list[str]:
    return [address]


@dataclass(frozen=True)
class AddressKind:
    """One kind of address DescribeInstances lists for an instance."""

    name: str
    read: Callable[[Mapping], list]
    form: str  # "ip" or "name": an address is compared only with the kinds of its own form
    # The DescribeInstances searches (filter, values from (address, claimed instance)) that, together, find every
    # other instance that could also have the address: a private address repeats across VPCs with overlapping
    # CIDRs and across regions, and a public IPv4 address can be another VPC's private one (a VPC may use any
    # CIDR). Empty when EC2 makes the address unique (IPv6 addresses, public DNS names).
    searches: tuple = ()


# Strongest first: an address EC2 gives to one instance at a time proves more than a private one, which repeats
# across VPCs and regions; an address that is both (never in EC2) is named by its stronger kind.
ADDRESS_KINDS = (
    AddressKind("public_ip_address", _public_ips, "ip", ((ANY_PRIVATE_IP, _as_itself),)),
    AddressKind("ipv6_address", _ipv6_addresses, "ip"),
    AddressKind("public_dns_name", _public_dns_names, "name"),
    AddressKind("private_ip_address", _private_ips, "ip", ((ANY_PRIVATE_IP, _as_itself),)),
    # A secondary address's name is not in any filter: the IPs behind the name find the instances with the same
    # IP, whose EC2-given name in the region is then the same.
    AddressKind(
        "private_dns_name",
        _private_dns_names,
        "name",
        ((PRIMARY_PRIVATE_DNS, _as_itself), (ANY_PRIVATE_IP, lambda name, instance: _ips_named(instance, name))),
    ),
)
KINDS_BY_NAME = {kind.name: kind for kind in ADDRESS_KINDS}


def instance_addresses(instance: Mapping) -> dict:
    """{kind: [addresses]} the instance has, each kind in ADDRESS_KINDS, without duplicates, in the API's order."""
    return {kind.name: list(dict.fromkeys(kind.read(instance))) for kind in ADDRESS_KINDS}


def address_form(address: Any) -> str | None:
    """ "ip" or "name", the form ``normalize_address`` reads ``address`` in; None when it is neither."""
    normal = normalize_address(address)
    if normal is None:
        return None
    try:
        ipaddress.ip_address(normal)
    except ValueError:
        return "name"
    return "ip"


def normalize_address(address: Any) -> str | None:
    """An address in the one form compared: an IP address in its canonical text (an IPv4-mapped IPv6 address as
    IPv4, brackets and an IPv6 zone dropped), a DNS name in lower case without the trailing dot. None for anything
    else (empty, not text, not a plausible name: a name is never read as an IP, see HOSTNAME_PATTERN)."""
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
        # A last label of digits only is no DNS name (RFC 3696 section 2): "54.1.2.3." or "054.1.2.3" is refused,
        # never read as the IP it spells, which would let a name prove as a public IP. No name is resolved.
        plausible = HOSTNAME_PATTERN.fullmatch(name) and ".." not in name and not name.rsplit(".", 1)[-1].isdigit()
        return name if plausible else None
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def matching_kind(instance: Mapping, address: Any) -> str | None:
    """The kind of the instance's address that equals ``address``, None when none does (or it is not usable)."""
    wanted, form = normalize_address(address), address_form(address)
    if wanted is None:
        return None
    for kind in ADDRESS_KINDS:
        if kind.form == form and any(normalize_address(candidate) == wanted for candidate in kind.read(instance)):
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


FIX = (
    "Everything the host's IMDS answers is its own claim, its region too; the controller acts with its credentials "
    "only on an instance it knows independently. Give the host the instance_id host variable, or the region the "
    "controller knows it is in (placement.region: the amazon.aws.aws_ec2 inventory sets both; or "
    "instance_metadata_aws_region, known_region for the module), or connect to it by an address EC2 gives to one "
    "instance only (ansible_host: its public IP, IPv6 address or public DNS name; a private address repeats across "
    "VPCs and regions), or set instance_metadata_instance_id. If this host is not who it claims to be, investigate it"
)


def unproven_error(claimed_id: str, known: Mapping[str, Any], explanation: str, **result: Any) -> IdentityUnproven:
    return IdentityUnproven(
        f"The host claims to be instance {claimed_id}, which the controller cannot prove: {explanation}. Nothing was "
        f"changed. {FIX}",
        result={"claimed_instance_id": claimed_id, "known": dict(known), **result},
    )


@dataclass(frozen=True)
class Place:
    """Where an instance is: its region and VPC."""

    instance_id: str
    region: str
    vpc_id: str | None = None

    def __str__(self) -> str:
        vpc = f" {self.vpc_id}" if self.vpc_id else ""
        return f"{self.instance_id} ({self.region}{vpc})"


def place_of(instance: Mapping, region: str) -> Place:
    vpc = instance.get("VpcId")
    return Place(str(instance.get("InstanceId")), region, vpc if isinstance(vpc, str) and vpc else None)


def places(found: list[Place]) -> str:
    return ", ".join(str(place) for place in sorted(found, key=lambda place: (place.region, place.instance_id)))


# Where the region the claim is looked up in came from: given by the controller (known_region), or every region the
# account has enabled, searched.
REGION_KNOWN = "known_region"
REGION_SEARCHED = "searched"


@dataclass(frozen=True)
class ProvenInstance:
    instance_id: str
    region: str | None
    account_id: str | None
    proven_by: str
    addresses: dict = field(default_factory=dict)
    proof: dict = field(default_factory=dict)  # by, value, explanation
    region_source: str = REGION_KNOWN
    regions_searched: list = field(default_factory=list)


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


# Where an instance's addresses are, each a list of objects when present: an answer with anything else there cannot
# be read completely, and an instance it hides could have the address.
ADDRESS_LISTS = (("NetworkInterfaces",), ("PrivateIpAddresses", "Ipv6Addresses"))


def _is_list_of_dicts(container: Mapping, key: str) -> bool:
    items = container.get(key, [])
    return isinstance(items, list) and all(isinstance(item, Mapping) for item in items)


def readable_instances(response: Mapping, region: str) -> list[Mapping]:
    """The instances of a DescribeInstances page, read strictly: AwsBadResponse when any part that could hold an
    instance or an address is not DescribeInstances' shape (``dict_items`` would skip it, and so hide it)."""
    reservations = response.get("Reservations", [])
    fine = isinstance(reservations, list) and all(
        isinstance(reservation, Mapping) and _is_list_of_dicts(reservation, "Instances") for reservation in reservations
    )
    instances = (
        [instance for reservation in reservations for instance in reservation.get("Instances", [])] if fine else []
    )
    for instance in instances:
        interfaces = instance.get("NetworkInterfaces", [])
        fine = fine and isinstance(instance.get("InstanceId"), str) and _is_list_of_dicts(instance, "NetworkInterfaces")
        fine = fine and all(_is_list_of_dicts(interface, key) for interface in interfaces for key in ADDRESS_LISTS[1])
    if not fine:
        raise AwsBadResponse(
            f"{DESCRIBE_ACTION} in {region} answered instances or addresses in a shape that is not DescribeInstances' "
            "(the endpoint is not behaving as AWS does; check endpoint_url)"
        )
    return instances


def sharing_instances(ec2: Any, budget: Any, kind: str, address: str, claimed: Mapping, region: str) -> list[Place]:
    """The instances of the region that have ``address``, in any of their addresses (found by the searches of
    ``kind``, then matched here on every address of every interface: the filters only narrow the answer)."""
    found: dict = {}
    for name, values_of in KINDS_BY_NAME[kind].searches:
        values = values_of(address, claimed)
        if not values:
            continue
        arguments = {"Filters": ec2_filters({name: values}), "MaxResults": PAGE_SIZE}
        for response in budget.pages(ec2.describe_instances, arguments, DESCRIBE_ACTION):
            for instance in readable_instances(response, region):
                state = instance.get("State") if isinstance(instance.get("State"), Mapping) else {}
                if state.get("Name") != "terminated" and matching_kind(instance, address) is not None:
                    found[instance["InstanceId"]] = place_of(instance, region)
    return list(found.values())


REGIONS_ACTION = "ec2:DescribeRegions"
# What region names look like (us-east-1, us-gov-west-1, ap-southeast-7, cn-north-1): anything else is not a region
# a client is made for, whether the controller or an API answer gives it.
REGION_PATTERN = re.compile(r"[a-z]{2,8}(?:-[a-z0-9]{1,16}){1,4}")
# AWS has about 40 regions; an answer with many more is not AWS's, and each is a client and API calls.
MAX_REGIONS = 100
# Regions searched at once: enough to read every region of an account in a few round trips, few enough to stay
# well under the account's API rate when a play runs on many hosts.
MAX_REGION_WORKERS = 8


def check_region(region: Any, option: str) -> str:
    if not isinstance(region, str) or not REGION_PATTERN.fullmatch(region.strip()):
        raise ImdsConfigError(f"{option} {shown(region)} is not an AWS region name: give one such as eu-west-1")
    return region.strip()


def enabled_regions(ec2: Any, budget: Any) -> list[str]:
    """The regions the account has enabled, from DescribeRegions (opt-in regions only once opted in)."""
    budget.check(REGIONS_ACTION)
    try:
        response = ec2.describe_regions()
    except Exception as error:
        raise aws_error(error, REGIONS_ACTION) from None
    entries = response.get("Regions") if isinstance(response, Mapping) else None
    if not isinstance(entries, list) or not entries or len(entries) > MAX_REGIONS:
        raise AwsBadResponse(f"{REGIONS_ACTION} answered without a list of 1 to {MAX_REGIONS} regions")
    regions = []
    for entry in entries:
        name = entry.get("RegionName") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not REGION_PATTERN.fullmatch(name):
            # A region that cannot be searched could hide the instance that shares the address: not skipped.
            raise AwsBadResponse(f"{REGIONS_ACTION} answered an entry that is not a region: {shown(entry)}")
        if entry.get("OptInStatus") != "not-opted-in":
            regions.append(name)
    return sorted(set(regions))


def in_each_region(regions: list[str], clients: Mapping[str, Any], read: Callable[[Any, str], Any]):
    """({region: read(client, region)}, {region: AwsError}) for every region, at most MAX_REGION_WORKERS at once.

    Every region is read even when one fails: the failure names every region the proof could not read.
    """

    def attempt(region: str) -> tuple[str, Any, AwsError | None]:
        try:
            return region, read(clients[region], region), None
        except AwsError as error:
            return region, None, error

    if len(regions) <= 1:
        outcomes = [attempt(region) for region in regions]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_REGION_WORKERS, len(regions))) as pool:
            outcomes = list(pool.map(attempt, regions))
    read_ok = {region: value for region, value, error in outcomes if error is None}
    failed = {region: error for region, _value, error in outcomes if error is not None}
    return read_ok, failed


def unread_regions(failed: Mapping[str, AwsError]) -> str:
    """The regions that could not be read, grouped by cause, for a message."""
    by_cause: dict = {}
    for region, error in sorted(failed.items()):
        by_cause.setdefault(str(error), []).append(region)
    return "; ".join(f"{', '.join(regions)}: {cause}" for cause, regions in by_cause.items())


def reasons(failed: Mapping[str, AwsError]) -> dict:
    """{region: the reason it could not be read}, for the failure result."""
    return {region: error.reason for region, error in sorted(failed.items())}


@dataclass(frozen=True)
class Search:
    """Where a claimed instance is looked for, and the failure that names what the controller knew."""

    claimed: str
    known: dict
    regions: list
    region_source: str
    clients: dict

    @property
    def scope(self) -> str:
        return self.regions[0] if self.region_source == REGION_KNOWN else f"the {len(self.regions)} enabled regions"

    def unproven(self, explanation: str, **result: Any) -> IdentityUnproven:
        return unproven_error(self.claimed, self.known, explanation, regions_searched=self.regions, **result)


def plan_search(
    client_for: Callable[[str], Any], budget: Any, claimed: str, known: dict, api_region: str | None
) -> Search:
    """The controller's region, else every enabled region; unproven when the regions cannot be listed."""
    if known["region"]:
        regions, source = [known["region"]], REGION_KNOWN
    else:
        try:
            regions, source = enabled_regions(client_for(api_region), budget), REGION_SEARCHED
        except AwsError as error:
            explanation = (
                "the controller knows no region for it, and could not list the regions the account has enabled to "
                f"search them all ({error})"
            )
            raise unproven_error(claimed, known, explanation, regions_searched=[], cause_reason=error.reason) from None
        if not regions:
            explanation = (
                f"the controller knows no region for it, and {REGIONS_ACTION} lists no region the account has enabled "
                "(every one is not-opted-in), so there is nowhere to look it up"
            )
            raise unproven_error(claimed, known, explanation, regions_searched=[], cause_reason="no_enabled_region")
    return Search(claimed, known, regions, source, {region: client_for(region) for region in regions})


def find_claimed(search: Search) -> tuple[str, Mapping, str | None]:
    """(region, DescribeInstances' dict, owner) of the claimed instance, found in exactly one place."""
    claimed = search.claimed
    found, failed = in_each_region(search.regions, search.clients, lambda ec2, _region: describe_claimed(ec2, claimed))
    holding = {region: answer for region, answer in found.items() if answer[0] is not None}
    if len(holding) > 1:
        listed = places([place_of(instance, region) for region, (instance, _owner) in holding.items()])
        raise search.unproven(f"EC2 lists {claimed} in more than one place: {listed}")
    if not holding and failed:
        explanation = (
            f"EC2 does not list {claimed} in the {len(found)} of {len(search.regions)} regions the controller could "
            f"read, and it could not read {unread_regions(failed)}"
        )
        raise search.unproven(explanation, unread_regions=reasons(failed))
    if not holding:
        raise search.unproven(f"EC2 does not know a running or stopped instance {claimed} in {search.scope}")
    # An instance id names one instance wherever it is found: a region that could not be read does not matter here.
    region, (instance, owner) = next(iter(holding.items()))
    return region, instance, owner


def refuse_shared(
    search: Search, budget: Any, kind: str, address: str, instance: Mapping, place: Place, addresses: dict
) -> None:
    """Unproven when another instance of the searched regions has ``address`` (as any of its addresses), or a
    region cannot be read completely (an instance there could have it)."""
    sharing, failed = in_each_region(
        search.regions,
        search.clients,
        lambda ec2, each: sharing_instances(ec2, budget, kind, address, instance, each),
    )
    others = [other for found in sharing.values() for other in found if other.instance_id != search.claimed]
    if others:
        explanation = (
            f"the controller connects to {address}, a {kind} that {place} shares with {places(others)} in "
            f"{search.scope}, so it does not tell them apart"
        )
        raise search.unproven(explanation, addresses=addresses, places=[str(other) for other in others])
    if failed:
        explanation = (
            f"the controller connects to {address}, a {kind} of {search.claimed}, but could not read "
            f"{unread_regions(failed)}, so another instance there could have it too"
        )
        raise search.unproven(explanation, addresses=addresses, unread_regions=reasons(failed))


def prove_claim(
    client_for: Callable[[str], Any],
    budget: Any,
    claimed_id: str,
    *,
    known_instance_id: str | None = None,
    address: str | None = None,
    known_region: str | None = None,
    api_region: str | None = None,
) -> ProvenInstance:
    """The claimed instance, proven; IdentityUnproven when the controller cannot prove it.

    ``client_for(region)`` gives the EC2 client of a region. The claim is looked up in ``known_region`` (the
    controller's), else in every region the account has enabled (DescribeRegions, asked in ``api_region``): the
    region a host names is its claim too. A private address proves only when no other instance of those regions has
    it, as its primary or a secondary address: private addresses repeat across VPCs with overlapping CIDRs (every
    default VPC is 172.31.0.0/16) and across regions, so a match there could be another machine. A public IPv4
    address proves only when no instance of those regions has it as a private one (a VPC may use a public range).
    A region that cannot be read completely leaves such a proof unknown. An instance id and the addresses EC2 gives
    to one instance at a time (IPv6, public DNS) need no such search.
    """
    known = {"instance_id": known_instance_id or None, "connection_address": address or None, "region": known_region}
    claimed = claimed_id.strip() if isinstance(claimed_id, str) else claimed_id
    if not isinstance(claimed, str) or not INSTANCE_ID_PATTERN.fullmatch(claimed):
        raise unproven_error(shown_id(claimed), known, judge_claim(claimed, None, None, None).explanation)
    search = plan_search(client_for, budget, claimed, known, api_region)
    region, instance, owner = find_claimed(search)
    addresses = instance_addresses(instance)
    judgement = judge_claim(claimed, instance, known_instance_id, address)
    if not judgement.proven:
        raise search.unproven(judgement.explanation, addresses=addresses)
    wanted = normalize_address(address) or ""
    kind = KINDS_BY_NAME.get(judgement.proven_by or "")
    if kind is not None and kind.searches:
        refuse_shared(search, budget, kind.name, wanted, instance, place_of(instance, region), addresses)
    proof = {
        "by": judgement.proven_by,
        "value": claimed if judgement.proven_by == "instance_id" else wanted,
        "explanation": judgement.explanation,
    }
    return ProvenInstance(
        claimed, region, owner, judgement.proven_by or "", addresses, proof, search.region_source, search.regions
    )
