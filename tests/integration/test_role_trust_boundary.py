# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's trust boundary, end to end: the controller acts only on an instance it can prove.

Two instances A and B in moto. The emulator stands in for the host: linked to A, it answers as A; a lying host
is the same emulator claiming B (its instance-id and identity document). The controller "connects" to the host by
ansible_host (connection local, so nothing leaves loopback): A's private IPv4 address from moto. Every assertion
on what changed reads moto, not the role's output.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from imds_emulator import ImdsEmulator
from services import launch_instance

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from playbook_runner import REPO_ROOT

ENFORCE = """
- name: Enforce the metadata options with the role
  hosts: web
  gather_facts: false
  tasks:
    - name: Enforce
      ansible.builtin.include_role:
        name: ec2meta.imds.instance_metadata
        tasks_from: "{{ entry_point | default('main') }}"
  vars:
    instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
    instance_metadata_aws_endpoint_url: "{{ moto_endpoint }}"
    instance_metadata_aws_access_key: testing
    instance_metadata_aws_secret_key: testing
    instance_metadata_http_put_response_hop_limit: 3
    instance_metadata_expected_role: web-server-role
"""

VERIFY = """
- name: Verify the host's identity with the role
  hosts: web
  gather_facts: false
  tasks:
    - name: The emulator's identity certificates
      ansible.builtin.uri:
        url: "{{ imds_endpoint }}/_emulator/identity-certificates"
      register: certificates

    - name: Verify only
      ansible.builtin.include_role:
        name: ec2meta.imds.instance_metadata
        tasks_from: verify
      vars:
        instance_metadata_imds_endpoint: "{{ imds_endpoint }}"
        instance_metadata_http_tokens: optional
        instance_metadata_verify_role: false
        instance_metadata_verify_identity: true
        instance_metadata_identity_certificate: "{{ certificates.json.current.rsa2048 }}"

    - name: Show the result
      ansible.builtin.debug:
        msg: "verified={{ instance_metadata_identity_result.verified }}"
"""

# A module on the host returns any facts it likes; this one names the instance the host wants to be.
LYING_FACTS_MODULE = """#!/usr/bin/python
import json, os
print(json.dumps({"changed": False, "ansible_facts": {"instance_id": os.environ["CLAIMED_INSTANCE_ID"]}}))
"""

LYING_FACTS_PLAY = """
- name: A host that returns a fact named instance_id
  hosts: web
  gather_facts: false
  tasks:
    - name: Run something on the host
      lying_facts:
"""


def describe(moto_endpoint: str, instance_id: str, region: str = "eu-west-1") -> dict:
    ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=region)
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def hop_limit(moto_endpoint: str, instance_id: str, region: str = "eu-west-1") -> int:
    return describe(moto_endpoint, instance_id, region)["MetadataOptions"]["HttpPutResponseHopLimit"]


def run(tmp_path: Path, playbook: str, host_vars: dict, extra_vars: dict, env: dict | None = None):
    inventory = tmp_path / "inventory.json"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **host_vars}
    inventory.write_text(json.dumps({"all": {"hosts": {"web": host}}}), encoding="utf-8")
    path = tmp_path / "playbook.yml"
    path.write_text(playbook, encoding="utf-8")
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            *("-i", str(inventory), "-e", json.dumps(extra_vars), str(path)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".build" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LIBRARY": str(tmp_path / "library"),
            **(env or {}),
        },
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.fixture
def fleet(moto_endpoint):
    """(emulator, A, B): the emulator answers as A (linked in moto); B is another instance of the same account."""
    with ImdsEmulator() as emulator:
        services = {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}
        a = launch_instance(services, with_role=True)["instance_id"]
        ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1")
        b = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
        )["Instances"][0]["InstanceId"]
        ec2.modify_instance_metadata_options(InstanceId=a, HttpPutResponseHopLimit=1)
        yield emulator, a, b


def claim(emulator: ImdsEmulator, instance_id: str) -> None:
    """The host lies: its IMDS names another instance, in meta-data and in the identity document."""
    emulator.set_metadata("instance-id", instance_id)
    emulator.update_identity_document(instanceId=instance_id)


def common(emulator: ImdsEmulator, moto_endpoint: str, **more) -> dict:
    return {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint, **more}


def test_a_host_claiming_another_instance_by_address_is_refused(tmp_path, moto_endpoint, fleet):
    emulator, a, b = fleet
    claim(emulator, b)
    address = describe(moto_endpoint, a)["PrivateIpAddress"]
    rc, output = run(tmp_path, ENFORCE, {"ansible_host": address}, common(emulator, moto_endpoint))
    assert rc != 0, output[-6000:]
    assert "identity_unproven" in output, output[-6000:]
    assert f"claims to be instance {b}" in output
    assert f"the controller connects to {address}" in output
    assert hop_limit(moto_endpoint, b) == 1, "the claimed instance was changed"
    assert hop_limit(moto_endpoint, a) == 1


def test_a_host_claiming_another_instance_than_the_inventory_says_is_refused(tmp_path, moto_endpoint, fleet):
    emulator, a, b = fleet
    claim(emulator, b)
    # The address would prove B: only the inventory's instance_id decides when it is there.
    address = describe(moto_endpoint, b)["PrivateIpAddress"]
    rc, output = run(tmp_path, ENFORCE, {"instance_id": a, "ansible_host": address}, common(emulator, moto_endpoint))
    assert rc != 0, output[-6000:]
    assert "identity_unproven" in output, output[-6000:]
    assert f"the inventory's instance_id is {a}" in output
    assert hop_limit(moto_endpoint, b) == 1
    assert hop_limit(moto_endpoint, a) == 1


@pytest.mark.parametrize("proof", ["private_ip_address", "public_dns_name", "instance_id"])
def test_a_truthful_host_is_proven_and_changed(tmp_path, moto_endpoint, fleet, proof):
    emulator, a, b = fleet
    instance = describe(moto_endpoint, a)
    host_vars = {
        "private_ip_address": {"ansible_host": instance["PrivateIpAddress"]},
        # Case and a trailing dot do not matter in a DNS name.
        "public_dns_name": {"ansible_host": instance["PublicDnsName"].upper() + "."},
        "instance_id": {"instance_id": a},
    }[proof]
    rc, output = run(tmp_path, ENFORCE, host_vars, common(emulator, moto_endpoint))
    assert rc == 0, output[-8000:]
    assert f"Proven: {a} in eu-west-1 by {proof} " in output, output[-8000:]
    # Neither the host's region nor a variable: the proof searched every enabled region.
    assert "the region found by searching" in output
    assert hop_limit(moto_endpoint, a) == 3
    assert describe(moto_endpoint, a)["MetadataOptions"]["HttpTokens"] == "required"
    assert hop_limit(moto_endpoint, b) == 1


def test_trusting_host_claims_is_explicit_and_warns(tmp_path, moto_endpoint, fleet):
    emulator, _a, b = fleet
    claim(emulator, b)
    extra = common(emulator, moto_endpoint, entry_point="enforce", instance_metadata_trust_host_claims=True)
    rc, output = run(tmp_path, ENFORCE, {"ansible_host": "192.0.2.10"}, extra)
    assert rc == 0, output[-6000:]
    assert "WARNING: instance_metadata_trust_host_claims is true" in output
    # What the switch gives up: the controller changed the instance the host named.
    assert hop_limit(moto_endpoint, b) == 3


def test_verify_only_with_nothing_to_compare_is_unproven(tmp_path, moto_endpoint, fleet):
    emulator, _a, b = fleet
    claim(emulator, b)
    emulator.update_identity_document(accountId="999999999999")
    rc, output = run(tmp_path, VERIFY, {}, common(emulator, moto_endpoint))
    assert rc != 0, output[-6000:]
    assert "identity_unproven: the controller knows no instance id to expect" in output, output[-6000:]
    assert "verified=True" not in output


def test_verify_only_compares_with_the_inventory(tmp_path, moto_endpoint, fleet):
    emulator, a, b = fleet
    inventory = {"instance_id": a, "owner_id": "123456789012", "placement": {"region": "eu-west-1"}}
    rc, output = run(tmp_path, VERIFY, inventory, common(emulator, moto_endpoint))
    assert rc == 0, output[-6000:]
    assert "verified=True" in output

    claim(emulator, b)
    rc, output = run(tmp_path, VERIFY, inventory, common(emulator, moto_endpoint))
    assert rc != 0, output[-6000:]
    assert "identity_mismatch" in output

    claim(emulator, a)
    emulator.update_identity_document(accountId="999999999999")
    rc, output = run(tmp_path, VERIFY, inventory, common(emulator, moto_endpoint))
    assert rc != 0, output[-6000:]
    assert "identity_mismatch" in output
    assert "999999999999" in output


def test_host_facts_cannot_stand_in_for_the_inventory(tmp_path, moto_endpoint, fleet):
    emulator, a, b = fleet
    claim(emulator, b)
    library = tmp_path / "library"
    library.mkdir()
    (library / "lying_facts.py").write_text(LYING_FACTS_MODULE, encoding="utf-8")
    playbook = LYING_FACTS_PLAY + ENFORCE
    rc, output = run(
        tmp_path, playbook, {"instance_id": a}, common(emulator, moto_endpoint), env={"CLAIMED_INSTANCE_ID": b}
    )
    assert rc != 0, output[-6000:]
    assert "identity_unproven: the host returned facts named instance_id" in output, output[-6000:]
    assert hop_limit(moto_endpoint, b) == 1


@pytest.fixture
def two_regions(moto_endpoint):
    """(emulator, A, B, address), the finding: the emulator answers as A in eu-west-3; B, in us-east-1, has A's
    private address, in a VPC of its own that holds it."""
    with ImdsEmulator() as emulator:
        services = {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}
        a = launch_instance(services, with_role=True, region="eu-west-3")["instance_id"]
        boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-3").modify_instance_metadata_options(
            InstanceId=a, HttpPutResponseHopLimit=1
        )
        address = describe(moto_endpoint, a, "eu-west-3")["PrivateIpAddress"]
        ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock=str(ipaddress.ip_network(f"{address}/16", strict=False)))["Vpc"]["VpcId"]
        cidr = str(ipaddress.ip_network(f"{address}/24", strict=False))
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        b = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            PrivateIpAddress=address,
            MetadataOptions={"HttpTokens": "optional", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
        )["Instances"][0]["InstanceId"]
        yield emulator, a, b, address


def test_the_finding_a_host_claiming_an_instance_of_another_region_is_refused(tmp_path, moto_endpoint, two_regions):
    """Issue 28: the host at A's address claims B, with the same private address, and names B's region."""
    emulator, a, b, address = two_regions
    claim(emulator, b)
    emulator.set_metadata("placement/region", "us-east-1")
    rc, output = run(tmp_path, ENFORCE, {"ansible_host": address}, common(emulator, moto_endpoint))
    assert rc != 0, output[-6000:]
    assert "identity_unproven" in output, output[-6000:]
    assert f"shares with {a} (eu-west-3 " in output, output[-6000:]
    assert hop_limit(moto_endpoint, b, "us-east-1") == 1, "the claimed instance in the other region was changed"
    assert describe(moto_endpoint, b, "us-east-1")["MetadataOptions"]["HttpTokens"] == "optional"
    assert hop_limit(moto_endpoint, a, "eu-west-3") == 1


def test_the_inventory_region_is_honoured_when_the_host_names_another(tmp_path, moto_endpoint, two_regions):
    """The host tells the truth about its id but names us-east-1: the inventory's placement.region decides, the
    address is unique there, and the role changes A where it is."""
    emulator, a, b, address = two_regions
    emulator.set_metadata("placement/region", "us-east-1")
    host_vars = {"ansible_host": address, "placement": {"region": "eu-west-3"}}
    rc, output = run(tmp_path, ENFORCE, host_vars, common(emulator, moto_endpoint))
    assert rc == 0, output[-8000:]
    assert f"Proven: {a} in eu-west-3 by private_ip_address ({address}); the region from the inventory" in output
    assert hop_limit(moto_endpoint, a, "eu-west-3") == 3
    assert hop_limit(moto_endpoint, b, "us-east-1") == 1


def test_the_emulator_lies_as_the_tests_expect(moto_endpoint, fleet):
    """The stand-in for the lying host: its IMDS names B while moto still knows it as A."""
    emulator, _a, b = fleet
    claim(emulator, b)
    assert requests.get(f"{emulator.url}/latest/meta-data/instance-id", timeout=5).text == b
    document = requests.get(f"{emulator.url}/latest/dynamic/instance-identity/document", timeout=5).json()
    assert document["instanceId"] == b
