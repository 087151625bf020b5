# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""judge_claim and its address matching: a claimed instance is proven only by what the controller knows."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.instance_claim import (
    MAX_REGION_WORKERS,
    MAX_REGIONS,
    IdentityUnproven,
    check_region,
    enabled_regions,
    instance_addresses,
    judge_claim,
    matching_kind,
    normalize_address,
    prove_claim,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

CLAIMED = "i-0123456789abcdef0"
OTHER = "i-0fedcba9876543210"

# DescribeInstances' dict, the parts that hold addresses: a primary interface with a secondary private address
# (with its own public IP), and IPv6.
INSTANCE = {
    "InstanceId": CLAIMED,
    "PrivateIpAddress": "10.0.1.17",
    "PublicIpAddress": "54.1.2.3",
    "PrivateDnsName": "ip-10-0-1-17.eu-west-1.compute.internal",
    "PublicDnsName": "ec2-54-1-2-3.eu-west-1.compute.amazonaws.com",
    "Ipv6Address": "2a05:d018:0:1::17",
    "NetworkInterfaces": [
        {
            "PrivateIpAddress": "10.0.1.17",
            "PrivateDnsName": "ip-10-0-1-17.eu-west-1.compute.internal",
            "Association": {"PublicIp": "54.1.2.3", "PublicDnsName": "ec2-54-1-2-3.eu-west-1.compute.amazonaws.com"},
            "PrivateIpAddresses": [
                {"PrivateIpAddress": "10.0.1.17", "Primary": True},
                {"PrivateIpAddress": "10.0.1.99", "Association": {"PublicIp": "3.3.3.3"}},
            ],
            "Ipv6Addresses": [{"Ipv6Address": "2a05:d018:0:1::17"}, {"Ipv6Address": "2a05:d018:0:1::99"}],
        }
    ],
}


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.1.17", "private_ip_address"),
        (" 10.0.1.17 ", "private_ip_address"),
        ("10.0.1.99", "private_ip_address"),  # a secondary private address of the interface
        ("::ffff:10.0.1.17", "private_ip_address"),  # IPv4-mapped IPv6
        ("54.1.2.3", "public_ip_address"),
        ("3.3.3.3", "public_ip_address"),  # the secondary address's public IP
        ("2a05:d018:0:1::17", "ipv6_address"),
        ("2A05:D018:0000:0001:0000:0000:0000:0017", "ipv6_address"),  # another spelling of the same address
        ("[2a05:d018:0:1::99]", "ipv6_address"),
        ("ip-10-0-1-17.eu-west-1.compute.internal", "private_dns_name"),
        ("IP-10-0-1-17.EU-WEST-1.COMPUTE.INTERNAL.", "private_dns_name"),  # case and the trailing dot
        ("ec2-54-1-2-3.eu-west-1.compute.amazonaws.com", "public_dns_name"),
        ("ec2-54-1-2-3.eu-west-1.compute.amazonaws.com.", "public_dns_name"),
    ],
)
def test_an_address_ec2_lists_proves_the_claim(address, kind):
    assert matching_kind(INSTANCE, address) == kind
    judgement = judge_claim(CLAIMED, INSTANCE, None, address)
    assert judgement.proven
    assert judgement.proven_by == kind


@pytest.mark.parametrize(
    "address",
    [
        "10.0.1.18",  # a neighbour
        "10.0.1.1",
        "54.1.2.4",
        "2a05:d018:0:1::18",
        "ip-10-0-1-18.eu-west-1.compute.internal",
        "ec2-54-1-2-3.eu-west-1.compute.amazonaws.com.evil.example",  # a suffix is not the name
        "compute.internal",  # nor a parent domain
        "web-1.example.com",  # a name of its own: never resolved, so never a match
        "localhost",
        "127.0.0.1",
        "",  # empty
        "   ",
        None,
        ".",
        "10.0.1.17 10.0.1.18",  # not one address
        "bad_name!",
        "a..b",
        ["10.0.1.17"],  # not text
    ],
)
def test_any_other_address_leaves_the_claim_unproven(address):
    judgement = judge_claim(CLAIMED, INSTANCE, None, address)
    assert not judgement.proven
    assert judgement.proven_by is None


@pytest.mark.parametrize(
    "instance",
    [
        {"InstanceId": CLAIMED},  # no addresses at all
        {"InstanceId": CLAIMED, "PrivateIpAddress": "", "PublicDnsName": "", "NetworkInterfaces": []},
        {"InstanceId": CLAIMED, "PrivateIpAddress": None, "NetworkInterfaces": "garbage"},
        {"InstanceId": CLAIMED, "NetworkInterfaces": [{"PrivateIpAddresses": [None, 7, {"PrivateIpAddress": 7}]}]},
    ],
)
def test_an_instance_without_addresses_is_never_a_match(instance):
    for address in ("", "10.0.1.17", "ip-10-0-1-17.eu-west-1.compute.internal"):
        assert not judge_claim(CLAIMED, instance, None, address).proven


def test_empty_addresses_of_the_instance_do_not_match_an_empty_address():
    instance = {"InstanceId": CLAIMED, "PrivateIpAddress": "", "PublicDnsName": "."}
    assert not judge_claim(CLAIMED, instance, None, "").proven
    assert not judge_claim(CLAIMED, instance, None, ".").proven


@pytest.mark.parametrize(
    ("known", "proven"),
    [
        (CLAIMED, True),
        (CLAIMED.upper().replace("I-", "i-"), True),
        (f" {CLAIMED} ", True),
        (OTHER, False),
        ("i-0123456789abcdef", False),  # a prefix of the claimed id
    ],
)
def test_the_inventory_instance_id_decides_when_known(known, proven):
    # The address would prove the claim: with a known id, only the id counts.
    judgement = judge_claim(CLAIMED, INSTANCE, known, "10.0.1.17")
    assert judgement.proven is proven
    assert judgement.proven_by == ("instance_id" if proven else None)


def test_an_empty_known_instance_id_falls_back_to_the_address():
    assert judge_claim(CLAIMED, INSTANCE, "", "10.0.1.17").proven_by == "private_ip_address"
    assert not judge_claim(CLAIMED, INSTANCE, "  ", "10.9.9.9").proven


@pytest.mark.parametrize(
    ("claimed", "instance"),
    [
        (OTHER, INSTANCE),  # DescribeInstances answered for another id
        (CLAIMED, None),  # EC2 does not know the claimed id
        ("", INSTANCE),
        ("i-../../x", {**INSTANCE, "InstanceId": "i-../../x"}),  # not an instance id
        ("x" * 10000, INSTANCE),
        (None, INSTANCE),
    ],
)
def test_a_claim_ec2_does_not_back_is_unproven(claimed, instance):
    judgement = judge_claim(claimed, instance, claimed, "10.0.1.17")
    assert not judgement.proven
    assert len(judgement.explanation) < 300  # a hostile claim is cut in the message


def test_the_explanation_names_what_the_controller_knew():
    judgement = judge_claim(CLAIMED, INSTANCE, None, "10.0.1.18")
    assert "10.0.1.18" in judgement.explanation
    assert "10.0.1.17" in judgement.explanation
    assert judge_claim(CLAIMED, INSTANCE, OTHER, None).explanation == f"the inventory's instance_id is {OTHER}"


def test_instance_addresses_lists_each_kind_once():
    addresses = instance_addresses(INSTANCE)
    assert addresses["private_ip_address"] == ["10.0.1.17", "10.0.1.99"]
    assert addresses["public_ip_address"] == ["54.1.2.3", "3.3.3.3"]
    assert addresses["ipv6_address"] == ["2a05:d018:0:1::17", "2a05:d018:0:1::99"]
    assert addresses["private_dns_name"] == ["ip-10-0-1-17.eu-west-1.compute.internal"]
    assert instance_addresses({}) == {name: [] for name in addresses}


@pytest.mark.parametrize(
    ("address", "normal"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("[fe80::1%eth0]", "fe80::1"),
        ("Host.Example.COM.", "host.example.com"),
        ("", None),
        ("-bad.example", None),
        ("a" * 300, None),
        (42, None),
    ],
)
def test_normalize_address(address, normal):
    assert normalize_address(address) == normal


# ----------------------------------------------------------------------------- the region: enabled regions, search
# A stand-in EC2 per region, answering from a list of instances: the region classes the search must handle (a region
# that fails, an answer that is not a region list, many regions at once) are hard to make moto produce. The module
# tests run the same search against moto.

OWNER = "123456789012"


def denied(action: str) -> Exception:
    return ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "denied by an SCP"}}, action)


def every_private_ip(instance: dict) -> list:
    """Any private address of any interface, as AWS documents network-interface.addresses.private-ip-address."""
    return [instance.get("PrivateIpAddress")] + [
        entry.get("PrivateIpAddress")
        for interface in instance.get("NetworkInterfaces", [])
        for entry in interface.get("PrivateIpAddresses", [])
    ]


# The DescribeInstances filters the search uses, as AWS documents them ("private-ip-address" is the primary one only).
FILTERS = {
    "private-ip-address": lambda instance: [instance.get("PrivateIpAddress")],
    "private-dns-name": lambda instance: [instance.get("PrivateDnsName")],
    "network-interface.addresses.private-ip-address": every_private_ip,
}


class FakeEc2:
    def __init__(self, instances=(), regions=None, fail=None, pause=0.0, meter=None):
        # A dict is a whole DescribeInstances answer, given as it is (a hostile one).
        self.instances = instances if isinstance(instances, dict) else list(instances)
        self.regions, self.fail, self.pause, self.meter = regions, fail, pause, meter

    def describe_regions(self, **_kwargs):
        if isinstance(self.regions, Exception):
            raise self.regions
        return self.regions

    def describe_instances(self, InstanceIds=None, Filters=None, **_kwargs):
        if self.meter is not None:
            self.meter.enter()
        try:
            time.sleep(self.pause)
            if self.fail is not None:
                raise self.fail
            if not isinstance(self.instances, list):  # a hostile answer, given as it is
                return self.instances
            chosen = [item for item in self.instances if not InstanceIds or item["InstanceId"] in InstanceIds]
            for wanted in Filters or []:
                chosen = [item for item in chosen if set(FILTERS[wanted["Name"]](item)) & set(wanted["Values"])]
            return {"Reservations": [{"OwnerId": OWNER, "Instances": chosen}]}
        finally:
            if self.meter is not None:
                self.meter.leave()


class Meter:
    """The most calls in flight at once."""

    def __init__(self):
        self.lock, self.now, self.most = threading.Lock(), 0, 0

    def enter(self):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self):
        with self.lock:
            self.now -= 1


def regions_answer(*names: str) -> dict:
    return {"Regions": [{"RegionName": name, "OptInStatus": "opt-in-not-required"} for name in names]}


def at(instance_id: str, address: str, vpc: str = "vpc-1", **more) -> dict:
    return {"InstanceId": instance_id, "PrivateIpAddress": address, "VpcId": vpc, "State": {"Name": "running"}, **more}


def clients_of(per_region: dict, api: FakeEc2 | None = None):
    regions = regions_answer(*per_region)
    for client in per_region.values():
        client.regions = regions

    def client_for(region):
        return per_region.get(region) or api or FakeEc2(regions=regions)

    return client_for


def prove(client_for, claimed=CLAIMED, **options):
    options.setdefault("api_region", "eu-west-1")
    return prove_claim(client_for, AwsBudget(30), claimed, **options)


def test_a_region_that_cannot_be_read_leaves_a_private_address_unproven():
    client_for = clients_of(
        {
            "eu-west-1": FakeEc2([at(CLAIMED, "10.0.1.17")]),
            "ap-east-1": FakeEc2(fail=denied("DescribeInstances")),
        }
    )
    with pytest.raises(IdentityUnproven) as raised:
        prove(client_for, address="10.0.1.17")
    assert "could not read ap-east-1: AWS refused ec2:DescribeInstances (UnauthorizedOperation)" in str(raised.value)
    assert raised.value.result["unread_regions"] == {"ap-east-1": "unauthorized"}


@pytest.mark.parametrize(
    ("options", "proven_by"),
    [
        ({"address": "2a05:d018:0:1::17"}, "ipv6_address"),  # EC2 gives these to one instance at a time
        ({"address": "ec2-54-1-2-3.eu-west-1.compute.amazonaws.com"}, "public_dns_name"),
        ({"known_instance_id": CLAIMED}, "instance_id"),
    ],
)
def test_a_region_that_cannot_be_read_does_not_matter_to_an_address_ec2_keeps_unique(options, proven_by):
    claimed = at(
        CLAIMED,
        "10.0.1.17",
        PublicIpAddress="54.1.2.3",
        Ipv6Address="2a05:d018:0:1::17",
        PublicDnsName="ec2-54-1-2-3.eu-west-1.compute.amazonaws.com",
    )
    client_for = clients_of(
        {
            "eu-west-1": FakeEc2([claimed]),
            "ap-east-1": FakeEc2(fail=denied("DescribeInstances")),
        }
    )
    proven = prove(client_for, **options)
    assert (proven.proven_by, proven.proof["by"], proven.region) == (proven_by, proven_by, "eu-west-1")
    assert (proven.region_source, proven.regions_searched) == ("searched", ["ap-east-1", "eu-west-1"])


def test_a_claim_not_found_while_a_region_cannot_be_read_names_that_region():
    client_for = clients_of({"eu-west-1": FakeEc2(), "ap-east-1": FakeEc2(fail=denied("DescribeInstances"))})
    with pytest.raises(IdentityUnproven) as raised:
        prove(client_for, known_instance_id=CLAIMED)
    assert f"EC2 does not list {CLAIMED} in the 1 of 2 regions" in str(raised.value)
    assert "could not read ap-east-1" in str(raised.value)


def test_a_claimed_id_in_two_places_proves_nothing():
    client_for = clients_of(
        {"eu-west-1": FakeEc2([at(CLAIMED, "10.0.1.17")]), "us-east-1": FakeEc2([at(CLAIMED, "10.0.1.17", "vpc-2")])}
    )
    with pytest.raises(IdentityUnproven) as raised:
        prove(client_for, known_instance_id=CLAIMED)
    assert f"in more than one place: {CLAIMED} (eu-west-1 vpc-1), {CLAIMED} (us-east-1 vpc-2)" in str(raised.value)


def test_every_region_is_searched_at_most_eight_at_a_time():
    meter = Meter()
    names = [f"xx-test-{number}" for number in range(1, 21)]
    per_region = {name: FakeEc2(pause=0.2, meter=meter) for name in names}
    per_region["xx-test-7"].instances = [at(CLAIMED, "10.0.1.17")]
    proven = prove(clients_of(per_region), address="10.0.1.17")
    assert proven.region == "xx-test-7"
    assert proven.regions_searched == sorted(names)
    assert 1 < meter.most <= MAX_REGION_WORKERS


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"Regions": []},
        {"Regions": "eu-west-1"},
        {"Regions": [{"RegionName": "eu-west-1"}, {"RegionName": "../../x"}]},
        {"Regions": [{"RegionName": "eu-west-1"}, {"Name": "us-east-1"}]},
        {"Regions": [{"RegionName": "eu-west-1"}, "us-east-1"]},
        {"Regions": [{"RegionName": f"xx-test-{number}"} for number in range(MAX_REGIONS + 1)]},
        ["eu-west-1"],
        denied("DescribeRegions"),
    ],
)
def test_a_region_list_that_cannot_be_read_completely_is_unproven(answer):
    api = FakeEc2([at(CLAIMED, "10.0.1.17")], regions=answer)
    with pytest.raises(IdentityUnproven) as raised:
        prove(lambda region: api, address="10.0.1.17")
    assert "could not list the regions the account has enabled" in str(raised.value)
    assert raised.value.result["regions_searched"] == []


def test_enabled_regions_skips_regions_not_opted_in():
    answer = {
        "Regions": [
            {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},
            {"RegionName": "ap-east-1", "OptInStatus": "not-opted-in"},
            {"RegionName": "me-south-1", "OptInStatus": "opted-in"},
            {"RegionName": "eu-west-1"},
        ]
    }
    assert enabled_regions(FakeEc2(regions=answer), AwsBudget(30)) == ["eu-west-1", "me-south-1"]


def test_a_spent_budget_stops_the_search_unproven():
    budget = AwsBudget(30)
    budget.deadline.expires -= 60
    api = FakeEc2([at(CLAIMED, "10.0.1.17")], regions=regions_answer("eu-west-1"))
    with pytest.raises(IdentityUnproven) as raised:
        prove_claim(lambda region: api, budget, CLAIMED, address="10.0.1.17", api_region="eu-west-1")
    assert raised.value.result["cause_reason"] == "aws_timeout"


def test_the_known_region_is_the_only_one_looked_in():
    looked = []

    def client_for(region):
        looked.append(region)
        return FakeEc2([at(CLAIMED, "10.0.1.17")], regions=denied("DescribeRegions"))

    proven = prove(client_for, address="10.0.1.17", known_region="eu-west-3", api_region="us-east-1")
    assert (proven.region, proven.region_source, proven.regions_searched) == (
        "eu-west-3",
        "known_region",
        ["eu-west-3"],
    )
    assert looked == ["eu-west-3"]


@pytest.mark.parametrize("region", ["eu-west-1", "us-gov-west-1", "ap-southeast-7", "cn-north-1", " eu-west-1 "])
def test_check_region_takes_region_names(region):
    assert check_region(region, "known_region") == region.strip()


@pytest.mark.parametrize("region", ["", "eu", "../x", "eu_west_1", "EU-WEST-1", "a" * 100, None, 5, "eu-west-1/x"])
def test_check_region_refuses_anything_else(region):
    with pytest.raises(ImdsConfigError, match=r"^known_region .* is not an AWS region name"):
        check_region(region, "known_region")


# ----------------------------------------------------------------------------- the search for another instance
def with_secondary(instance_id: str, primary: str, secondary: str, vpc: str = "vpc-2", **entry) -> dict:
    """An instance whose interface has ``secondary`` as a secondary private address (``entry``: more of it)."""
    addresses = [{"PrivateIpAddress": primary, "Primary": True}, {"PrivateIpAddress": secondary, **entry}]
    return at(
        instance_id, primary, vpc, NetworkInterfaces=[{"PrivateIpAddress": primary, "PrivateIpAddresses": addresses}]
    )


@pytest.mark.parametrize(
    ("other_region", "options"),
    [
        ("eu-west-3", {}),  # another region, searched because the controller knows none
        ("eu-west-1", {"known_region": "eu-west-1"}),  # the same region, another VPC
    ],
)
def test_a_secondary_private_address_of_another_instance_proves_nothing(other_region, options):
    per_region = {"eu-west-1": FakeEc2([at(CLAIMED, "10.44.1.50")]), "eu-west-3": FakeEc2()}
    per_region[other_region].instances.append(with_secondary(OTHER, "10.44.1.60", "10.44.1.50"))
    with pytest.raises(IdentityUnproven) as raised:
        prove(clients_of(per_region), address="10.44.1.50", **options)
    assert f"shares with {OTHER} ({other_region} vpc-2)" in str(raised.value)
    assert raised.value.result["places"] == [f"{OTHER} ({other_region} vpc-2)"]


def test_a_private_dns_name_another_instance_has_for_a_secondary_address_proves_nothing():
    name = "ip-10-44-1-50.eu-west-1.compute.internal"
    claimed = at(CLAIMED, "10.44.1.50", PrivateDnsName=name)
    other = with_secondary(OTHER, "10.44.1.60", "10.44.1.50", PrivateDnsName=name)
    with pytest.raises(IdentityUnproven) as raised:
        prove(clients_of({"eu-west-1": FakeEc2([claimed, other])}), address=name, known_region="eu-west-1")
    assert f"a private_dns_name that {CLAIMED} (eu-west-1 vpc-1) shares with {OTHER} (eu-west-1 vpc-2)" in str(
        raised.value
    )


@pytest.mark.parametrize("as_secondary", [False, True])
def test_a_public_address_another_instance_has_as_a_private_one_proves_nothing(as_secondary):
    # A VPC may use any CIDR, a public range too: from inside it, the address reaches that VPC's instance.
    other = with_secondary(OTHER, "54.1.9.9", "54.1.2.3") if as_secondary else at(OTHER, "54.1.2.3", "vpc-2")
    client_for = clients_of(
        {"us-east-1": FakeEc2([at(CLAIMED, "10.0.1.17", PublicIpAddress="54.1.2.3")]), "ap-south-1": FakeEc2([other])}
    )
    with pytest.raises(IdentityUnproven) as raised:
        prove(client_for, address="54.1.2.3")
    assert f"a public_ip_address that {CLAIMED} (us-east-1 vpc-1) shares with {OTHER} (ap-south-1 vpc-2)" in str(
        raised.value
    )


def test_a_public_address_is_unproven_while_a_region_cannot_be_read():
    client_for = clients_of(
        {
            "eu-west-1": FakeEc2([at(CLAIMED, "10.0.1.17", PublicIpAddress="54.1.2.3")]),
            "ap-east-1": FakeEc2(fail=denied("DescribeInstances")),
        }
    )
    with pytest.raises(IdentityUnproven) as raised:
        prove(client_for, address="54.1.2.3")
    assert "a public_ip_address of i-0123456789abcdef0, but could not read ap-east-1" in str(raised.value)
    assert raised.value.result["unread_regions"] == {"ap-east-1": "unauthorized"}


def test_a_public_address_no_other_instance_has_proves_the_claim():
    client_for = clients_of(
        {
            "eu-west-1": FakeEc2([at(CLAIMED, "10.0.1.17", PublicIpAddress="54.1.2.3")]),
            "ap-south-1": FakeEc2([at(OTHER, "54.1.2.4", "vpc-2")]),
        }
    )
    assert prove(client_for, address="54.1.2.3").proven_by == "public_ip_address"


@pytest.mark.parametrize(
    "answer",
    [
        {"Reservations": "x"},
        {"Reservations": ["x"]},
        {"Reservations": [{"Instances": None}]},
        {"Reservations": [{"Instances": ["x"]}]},
        {"Reservations": [{"Instances": [{"InstanceId": ["x"], "State": "running"}]}]},
        {"Reservations": [{"Instances": [{"InstanceId": OTHER, "NetworkInterfaces": "zz"}]}]},
        {"Reservations": [{"Instances": [{"InstanceId": OTHER, "NetworkInterfaces": ["zz"]}]}]},
        {"Reservations": [{"Instances": [{"InstanceId": OTHER, "NetworkInterfaces": [{"PrivateIpAddresses": 5}]}]}]},
    ],
)
@pytest.mark.parametrize("address", ["10.0.1.17", "54.1.2.3"])
def test_an_answer_another_region_garbles_leaves_the_address_unknown(answer, address):
    client_for = clients_of(
        {
            "eu-west-1": FakeEc2([at(CLAIMED, "10.0.1.17", PublicIpAddress="54.1.2.3")]),
            "eu-west-3": FakeEc2(answer),
        }
    )
    with pytest.raises(IdentityUnproven) as raised:
        prove(client_for, address=address)
    assert "could not read eu-west-3: ec2:DescribeInstances in eu-west-3 answered instances or addresses" in str(
        raised.value
    )
    assert raised.value.result["unread_regions"] == {"eu-west-3": "bad_response"}


def test_no_enabled_region_is_unproven_naming_why():
    answer = {"Regions": [{"RegionName": "eu-west-1", "OptInStatus": "not-opted-in"}]}
    api = FakeEc2([at(CLAIMED, "10.0.1.17")], regions=answer)
    with pytest.raises(IdentityUnproven) as raised:
        prove(lambda region: api, address="10.0.1.17")
    assert "lists no region the account has enabled (every one is not-opted-in)" in str(raised.value)
    assert (raised.value.result["regions_searched"], raised.value.result["cause_reason"]) == ([], "no_enabled_region")


@pytest.mark.parametrize("address", ["54.1.2.3.", "054.1.2.3", "0x36.1.2.3", "906035715", "10.0.1.17.", "a.54.1.2.3"])
def test_a_name_that_spells_an_ip_is_never_read_as_that_ip(address):
    # No name is resolved: a DNS name proves only as a DNS name EC2 lists, and EC2 lists none that ends in digits.
    assert normalize_address(address) is None
    assert matching_kind(INSTANCE, address) is None
    assert not judge_claim(CLAIMED, INSTANCE, None, address).proven
