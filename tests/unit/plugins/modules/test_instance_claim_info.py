# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""instance_claim_info through main(), against moto in server mode."""

from __future__ import annotations

import pytest
import yaml

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
    return {"region": "eu-west-1", "endpoint_url": moto_endpoint, **more}


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
        args(moto_endpoint, claimed_instance_id=second["InstanceId"], connection_address="10.77.1.50"),
    )
    assert result["reason"] == "identity_unproven", result["msg"]
    assert first["InstanceId"] in result["msg"]
    # The inventory's instance id still proves it.
    result = run_module(
        instance_claim_info,
        args(moto_endpoint, claimed_instance_id=second["InstanceId"], known_instance_id=second["InstanceId"]),
    )
    assert result["proven_by"] == "instance_id"


def test_an_unreachable_api_is_an_error_not_a_proof(run_module):
    result = run_module(
        instance_claim_info,
        {
            "region": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:9",
            "claimed_instance_id": "i-0123456789abcdef0",
            "connection_address": "10.0.0.1",
        },
    )
    assert result["failed"]
    assert result["reason"] == "aws_unreachable"


def test_documented_options_match_the_spec():
    documented = yaml.safe_load(instance_claim_info.DOCUMENTATION)["options"]
    own = instance_claim_info.argument_spec()
    for name in ("claimed_instance_id", "known_instance_id", "connection_address"):
        assert name in documented
        assert documented[name]["type"] == own[name]["type"]
    assert documented["claimed_instance_id"]["required"] is True


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
