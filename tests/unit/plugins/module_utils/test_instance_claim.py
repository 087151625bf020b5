# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""judge_claim and its address matching: a claimed instance is proven only by what the controller knows."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.instance_claim import (
    instance_addresses,
    judge_claim,
    matching_kind,
    normalize_address,
)

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
