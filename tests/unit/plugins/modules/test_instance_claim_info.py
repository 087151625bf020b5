# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""instance_claim_info through main(), against moto in server mode."""

from __future__ import annotations

import itertools

import boto3
import pytest
import yaml
from hostile_aws import INSTANCE_ID, HostileAws

from ansible_collections.ec2meta.imds.plugins.modules import instance_claim_info


def launch(ec2, **extra) -> dict:
    instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, **extra)["Instances"][0][
        "InstanceId"
    ]
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


@pytest.fixture
def two(ec2):
    return launch(ec2), launch(ec2)


def args(moto_endpoint, **more) -> dict:
    """The module's arguments: the controller knows the region (eu-west-1) unless a test says otherwise (None: every
    enabled region is searched, some seconds against moto)."""
    given = {"region": "eu-west-1", "known_region": "eu-west-1", "endpoint_url": moto_endpoint, **more}
    return {name: value for name, value in given.items() if value is not None}


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_claimed_instance_is_proven_by_its_address(run_module, moto_endpoint, two, check_mode):
    a, _b = two
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=a["InstanceId"], connection_address=a["PublicDnsName"]),
        check_mode=check_mode,
    )
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["instance_id"] == a["InstanceId"]
    assert result["proven_by"] == "public_dns_name"
    assert result["region"] == "eu-west-1"
    assert result["account_id"] == "123456789012"
    assert a["PrivateIpAddress"] in result["addresses"]["private_ip_address"]


def test_a_claim_of_another_instance_is_unproven(run_module, moto_endpoint, two):
    a, b = two
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=b["InstanceId"], connection_address=a["PrivateIpAddress"]),
    )
    assert result["failed"]
    assert result["reason"] == "identity_unproven"
    assert result["claimed_instance_id"] == b["InstanceId"]
    assert result["known"] == {
        "instance_id": None,
        "connection_address": a["PrivateIpAddress"],
        "region": "eu-west-1",
    }
    assert f"claims to be instance {b['InstanceId']}" in result["msg"]
    assert a["PrivateIpAddress"] in result["msg"]
    assert "Nothing was changed" in result["msg"]


def test_the_inventory_instance_id_decides(run_module, moto_endpoint, two):
    a, b = two
    proven = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=a["InstanceId"], known_instance_id=a["InstanceId"]),
    )
    assert proven["proven_by"] == "instance_id"
    refused = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            claimed_instance_id=b["InstanceId"],
            known_instance_id=a["InstanceId"],
            connection_address=b["PrivateIpAddress"],
        ),
    )
    assert refused["reason"] == "identity_unproven"
    assert f"the inventory's instance_id is {a['InstanceId']}" in refused["msg"]


@pytest.mark.parametrize("claimed", ["i-00000000000000000", "i-../../etc", "not-an-id", ""])
def test_an_id_ec2_does_not_know_is_unproven(run_module, moto_endpoint, two, claimed):
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=claimed, known_instance_id=claimed or None, connection_address="x"),
    )
    assert result["reason"] == "identity_unproven", result


def test_a_terminated_instance_is_unproven(run_module, moto_endpoint, ec2):
    gone = launch(ec2)
    ec2.terminate_instances(InstanceIds=[gone["InstanceId"]])
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=gone["InstanceId"], known_instance_id=gone["InstanceId"]),
    )
    assert result["reason"] == "identity_unproven"


def test_a_private_address_two_instances_share_proves_nothing(run_module, moto_endpoint, ec2):
    """Private addresses repeat across VPCs with overlapping CIDRs: a match there could be another machine."""
    subnets = []
    for _vpc in range(2):
        vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
        subnets.append(ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"])
    first, second = (launch(ec2, SubnetId=subnet, PrivateIpAddress="10.77.1.50") for subnet in subnets)
    assert first["PrivateIpAddress"] == second["PrivateIpAddress"] == "10.77.1.50"
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint, known_region=None, claimed_instance_id=second["InstanceId"], connection_address="10.77.1.50"
        ),
    )
    assert result["reason"] == "identity_unproven", result["msg"]
    assert f"{first['InstanceId']} (eu-west-1 {first['VpcId']})" in result["msg"]
    assert f"{second['InstanceId']} (eu-west-1 {second['VpcId']})" in result["msg"]
    assert result["places"] == [f"{first['InstanceId']} (eu-west-1 {first['VpcId']})"]
    # The same within the region the controller knows.
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            claimed_instance_id=second["InstanceId"],
            connection_address="10.77.1.50",
            known_region="eu-west-1",
        ),
    )
    assert result["reason"] == "identity_unproven", result["msg"]
    assert result["places"] == [f"{first['InstanceId']} (eu-west-1 {first['VpcId']})"]
    # The inventory's instance id still proves it.
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=second["InstanceId"], known_instance_id=second["InstanceId"]),
    )
    assert result["proven_by"] == "instance_id"


@pytest.mark.parametrize("known_region", [None, "eu-west-1"])
def test_an_unreachable_api_is_unproven_naming_the_cause(run_module, known_region):
    result = run_module(
        instance_claim_info,
        {
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:9",
            "claimed_instance_id": "i-0123456789abcdef0",
            "connection_address": "10.0.0.1",
            "known_region": known_region,
        },
    )
    assert result["failed"]
    assert result["reason"] == "identity_unproven"
    assert "Could not connect to the AWS API" in result["msg"]
    if known_region:
        assert result["unread_regions"] == {"eu-west-1": "aws_unreachable"}
    else:
        assert "could not list the regions the account has enabled" in result["msg"]
        assert result["cause_reason"] == "aws_unreachable"


def test_documented_options_match_the_spec():
    documented = yaml.safe_load(instance_claim_info.DOCUMENTATION)["options"]
    own = instance_claim_info.argument_spec()
    for name in ("claimed_instance_id", "known_instance_id", "connection_address", "known_region"):
        assert name in documented
        assert documented[name]["type"] == own[name]["type"]
    assert documented["claimed_instance_id"]["required"] is True


# ----------------------------------------------------------------------------- the region is proven too
# One moto server answers every region (the region is in the request's signature). Each test uses its own private
# address: the server is shared by the whole session, and an address another test left behind would be shared.
ADDRESS_BLOCKS = itertools.count(1)


def ec2_in(moto_endpoint: str, region: str):
    return boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)


def launch_at(moto_endpoint: str, region: str, address: str) -> dict:
    """An instance with the private ``address`` in a VPC of its own (10.9.0.0/16) in ``region``."""
    ec2 = ec2_in(moto_endpoint, region)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    block = address.rsplit(".", 1)[0]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{block}.0/24")["Subnet"]["SubnetId"]
    return launch(ec2, SubnetId=subnet, PrivateIpAddress=address)


@pytest.fixture
def same_address_two_regions(moto_endpoint):
    """The finding: A in eu-west-3 and B in us-east-1, both with the same private address."""
    address = f"10.9.{next(ADDRESS_BLOCKS)}.50"
    a = launch_at(moto_endpoint, "eu-west-3", address)
    b = launch_at(moto_endpoint, "us-east-1", address)
    assert a["PrivateIpAddress"] == b["PrivateIpAddress"] == address
    return address, a, b


def test_the_finding_a_private_address_of_another_region_is_refused(
    run_module, moto_endpoint, same_address_two_regions
):
    """The host at A's address claims B and names B's region: the address matches in two places, so it proves
    nothing. The code before issue 28 looked only in the region the host named and proved B."""
    address, a, b = same_address_two_regions
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="us-east-1",
            known_region=None,
            claimed_instance_id=b["InstanceId"],
            connection_address=address,
        ),
    )
    assert result.get("reason") == "identity_unproven", result
    a_place = f"{a['InstanceId']} (eu-west-3 {a['VpcId']})"
    assert f"{b['InstanceId']} (us-east-1 {b['VpcId']}) shares with {a_place}" in result["msg"]
    assert result["places"] == [a_place]
    assert {"eu-west-3", "us-east-1"} <= set(result["regions_searched"])
    assert "placement.region" in result["msg"]  # the fix is named
    assert result["known"]["region"] is None


def test_a_truthful_host_is_unproven_by_a_private_address_another_region_repeats(
    run_module, moto_endpoint, same_address_two_regions
):
    address, a, _b = same_address_two_regions
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="eu-west-3",
            known_region=None,
            claimed_instance_id=a["InstanceId"],
            connection_address=address,
        ),
    )
    assert result.get("reason") == "identity_unproven", result
    assert result["places"] == [f"{_b['InstanceId']} (us-east-1 {_b['VpcId']})"]


def test_the_controllers_region_is_honoured_whatever_the_host_claims(
    run_module, moto_endpoint, same_address_two_regions
):
    address, a, b = same_address_two_regions
    # A tells the truth about its id but names us-east-1: the controller knows eu-west-3, and looks only there.
    proven = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="us-east-1",
            known_region="eu-west-3",
            claimed_instance_id=a["InstanceId"],
            connection_address=address,
        ),
    )
    assert not proven.get("failed"), proven
    assert (proven["instance_id"], proven["region"]) == (a["InstanceId"], "eu-west-3")
    assert (proven["region_source"], proven["regions_searched"]) == ("known_region", ["eu-west-3"])
    assert proven["proof"] == {
        "by": "private_ip_address",
        "value": address,
        "explanation": f"the controller connects to {address}, the private_ip_address EC2 lists for {a['InstanceId']}",
    }
    # The lying host (A's address, claiming B in us-east-1) is refused: B is not in the controller's region.
    refused = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="us-east-1",
            known_region="eu-west-3",
            claimed_instance_id=b["InstanceId"],
            connection_address=address,
        ),
    )
    assert refused.get("reason") == "identity_unproven", refused
    assert f"EC2 does not know a running or stopped instance {b['InstanceId']} in eu-west-3" in refused["msg"]
    assert refused["known"]["region"] == "eu-west-3"


def test_a_public_address_proves_in_any_region_and_is_named(run_module, moto_endpoint):
    ec2 = ec2_in(moto_endpoint, "eu-west-3")
    instance = launch(ec2)  # the default VPC gives it a public address
    public = instance["PublicIpAddress"]
    # Another instance elsewhere with the same private address does not weaken a public proof.
    launch_at(moto_endpoint, "us-east-1", f"10.9.{next(ADDRESS_BLOCKS)}.50")
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="us-east-1",
            known_region=None,
            claimed_instance_id=instance["InstanceId"],
            connection_address=public,
        ),
    )
    assert not result.get("failed"), result
    assert (result["proven_by"], result["proof"]["by"], result["proof"]["value"]) == (
        "public_ip_address",
        "public_ip_address",
        public,
    )
    assert (result["region"], result["region_source"]) == ("eu-west-3", "searched")
    assert len(result["regions_searched"]) > 2


def with_secondary_at(moto_endpoint: str, region: str, address: str) -> dict:
    """An instance in a VPC of its own in ``region`` with ``address`` as a SECONDARY private address (its primary one
    is another): DescribeInstances' private-ip-address filter, the primary address only, does not find it."""
    ec2 = ec2_in(moto_endpoint, region)
    primary = launch_at(moto_endpoint, region, address.rsplit(".", 1)[0] + ".60")
    interface = primary["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=interface, PrivateIpAddresses=[address])
    instance = ec2.describe_instances(InstanceIds=[primary["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert instance["PrivateIpAddress"] != address
    assert address in [entry["PrivateIpAddress"] for entry in instance["NetworkInterfaces"][0]["PrivateIpAddresses"]]
    return instance


@pytest.mark.parametrize(
    ("other_region", "known_region"),
    [("eu-west-3", None), ("us-east-1", "us-east-1")],  # another region searched; the same region, another VPC
)
def test_a_secondary_private_address_of_another_instance_is_refused(
    run_module, moto_endpoint, other_region, known_region
):
    """A has the address as a secondary one and claims B, whose primary address it is: it proves nothing."""
    address = f"10.9.{next(ADDRESS_BLOCKS)}.50"
    a = with_secondary_at(moto_endpoint, other_region, address)
    b = launch_at(moto_endpoint, "us-east-1", address)
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="us-east-1",
            known_region=known_region,
            claimed_instance_id=b["InstanceId"],
            connection_address=address,
        ),
    )
    assert result.get("reason") == "identity_unproven", result
    assert result["places"] == [f"{a['InstanceId']} ({other_region} {a['VpcId']})"]


def test_a_public_address_another_vpc_uses_as_a_private_one_is_refused(run_module, moto_endpoint):
    """A VPC may use a public range: C's private address is B's public one, and from C's VPC it reaches C."""
    b = launch(ec2_in(moto_endpoint, "us-east-1"))
    public = b["PublicIpAddress"]
    ec2 = ec2_in(moto_endpoint, "ap-south-1")
    first, second, third, _fourth = public.split(".")
    vpc = ec2.create_vpc(CidrBlock=f"{first}.{second}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{first}.{second}.{third}.0/24")["Subnet"]["SubnetId"]
    c = launch(ec2, SubnetId=subnet, PrivateIpAddress=public)
    result = run_module(
        instance_claim_info,
        args(
            moto_endpoint,
            region="us-east-1",
            known_region=None,
            claimed_instance_id=b["InstanceId"],
            connection_address=public,
        ),
    )
    assert result.get("reason") == "identity_unproven", result
    assert f"a public_ip_address that {b['InstanceId']} (us-east-1 {b['VpcId']}) shares with" in result["msg"]
    assert result["places"] == [f"{c['InstanceId']} (ap-south-1 {vpc})"]


def test_the_inventory_instance_id_is_found_in_its_region(run_module, moto_endpoint, same_address_two_regions):
    _address, a, _b = same_address_two_regions
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, known_region=None, claimed_instance_id=a["InstanceId"], known_instance_id=a["InstanceId"]),
    )
    assert (result.get("proven_by"), result.get("region")) == ("instance_id", "eu-west-3"), result


@pytest.fixture(scope="module")
def hostile():
    server = HostileAws()
    yield server
    server.stop()


def test_describe_regions_failing_leaves_the_claim_unproven(run_module, hostile):
    """The hostile endpoint answers DescribeInstances with INSTANCE_ID, and InvalidAction to DescribeRegions."""
    hostile.use("complete_zero")
    base = {"region": "eu-west-1", "endpoint_url": hostile.url, "claimed_instance_id": INSTANCE_ID}
    result = run_module(instance_claim_info, {**base, "known_instance_id": INSTANCE_ID})
    assert result.get("reason") == "identity_unproven", result
    assert "could not list the regions the account has enabled" in result["msg"]
    assert "ec2:DescribeRegions failed (InvalidAction)" in result["msg"]
    assert result["regions_searched"] == []
    assert hostile.actions == ["DescribeRegions"]
    # With the region the controller knows, DescribeRegions is not needed.
    result = run_module(instance_claim_info, {**base, "known_instance_id": INSTANCE_ID, "known_region": "eu-west-1"})
    assert (result.get("proven_by"), result.get("region_source")) == ("instance_id", "known_region"), result


@pytest.mark.parametrize("known_region", ["../../x", "eu west 1", "x" * 200, "EU-WEST-1.evil.example"])
def test_a_known_region_that_is_not_a_region_is_refused(run_module, moto_endpoint, known_region):
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id="i-0123456789abcdef0", known_region=known_region),
    )
    assert result["failed"]
    assert result["msg"].startswith("known_region ")
    assert "is not an AWS region name" in result["msg"]


def test_an_unexpected_exception_is_an_internal_error(run_module, monkeypatch):
    def broken(*_args, **_kwargs):
        raise KeyError("unexpected-shape")

    monkeypatch.setattr(instance_claim_info, "prove_claim", broken)
    result = run_module(
        instance_claim_info,
        {
            "region": "eu-west-1",
            "claimed_instance_id": "i-0123456789abcdef0",
            "access_key": "AKIDEXAMPLE",
            "secret_key": "SECRETEXAMPLE",
        },
    )
    assert (result["failed"], result["reason"]) == (True, "internal_error")
    assert "KeyError: 'unexpected-shape'" in result["msg"]
