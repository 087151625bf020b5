# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import (
    ImdsBadResponse,
    ImdsConfigError,
    ImdsDisabledByEnvironment,
    ImdsEndpointDisabled,
    ImdsTokenUnavailable,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._facts.compat import flatten_facts
from ansible_collections.ec2meta.imds.plugins.module_utils._facts.gather import (
    SUBSETS,
    _never_request,
    build_facts,
    gather,
    gather_ec2_facts,
    resolve_gather_subset,
)

ALL = frozenset(SUBSETS)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, ALL),
        (["all"], ALL),
        (["min"], {"identity"}),
        (["!all"], {"identity"}),
        (["network"], {"identity", "network"}),
        (["all", "!user_data", "!tags"], ALL - {"user_data", "tags"}),
        (["!user_data"], ALL - {"user_data"}),
        (["!all", "!min", "tags"], {"tags"}),
        (["!min"], ALL - {"identity"}),
        ([" placement "], {"identity", "placement"}),
    ],
)
def test_resolve_gather_subset(values, expected):
    assert resolve_gather_subset(values) == frozenset(expected)


@pytest.mark.parametrize("bad", ["hardware", "!nope", "ALL"])
def test_unknown_subset_names_the_valid_ones(bad):
    with pytest.raises(ImdsConfigError, match=r"unknown subset .*identity, instance, network.*user_data, other"):
        resolve_gather_subset([bad])


@pytest.mark.parametrize(
    ("path", "subsets", "never"),
    [
        ("meta-data/iam/security-credentials/web-server-role", ALL, False),  # read for its expiry, then reduced
        ("meta-data/iam/security-credentials/web-server-role", ALL - {"iam"}, True),
        ("meta-data/identity-credentials/ec2/security-credentials/ec2-instance", ALL, True),
        ("meta-data/iam/info", ALL, False),
        ("meta-data/security-groups", ALL, False),
    ],
)
def test_which_paths_are_never_requested(path, subsets, never):
    assert _never_request(path, frozenset(subsets)) is never


TREE = {
    "meta-data": {
        "instance-id": "i-1",
        "security-groups": "web\nssh",
        "placement": {"region": "eu-west-1", "availability-zone-id": "euw1-az1", "partition-number": "3"},
        "network": {
            "interfaces": {
                "macs": {
                    "0a:00": {
                        "device-number": "0",
                        "local-ipv4s": "10.0.0.1\n10.0.0.2",
                        "vpc-ipv4-cidr-blocks": "10.0.0.0/16",
                        "subnet-id": "subnet-1",
                        "ipv4-associations": {"1.2.3.4": "10.0.0.1"},
                    }
                }
            }
        },
        "iam": {
            "info": json.dumps({"InstanceProfileArn": "arn:aws:iam::1:instance-profile/p", "InstanceProfileId": "X"}),
            "security-credentials": {"role-a": {"Code": "Success", "Expiration": "2030-01-01T00:00:00Z"}},
        },
        "tags": {"instance": {"Name": "web", "team:owner": "a"}},
        "public-keys": {"0=k1": {"openssh-key": "ssh-ed25519 AAA k1"}},
        "spot": {"instance-action": json.dumps({"action": "stop"})},
    },
    "dynamic": {"instance-identity": {"document": json.dumps({"instanceId": "i-1", "region": "eu-west-1"})}},
    "user-data": b"\x00\x01",
}


def test_build_facts_types_the_tree():
    ec2 = build_facts(TREE, ALL, 2)
    assert ec2["available"] is True
    assert ec2["imds_version"] == 2
    assert ec2["security_groups"] == ["web", "ssh"]
    assert ec2["availability_zone_id"] == "euw1-az1"
    assert ec2["placement"]["partition_number"] == 3
    nic = ec2["network_interfaces"]["0a:00"]
    assert nic["device_number"] == 0
    assert nic["local_ipv4s"] == ["10.0.0.1", "10.0.0.2"]
    assert nic["vpc_ipv4_cidr_blocks"] == ["10.0.0.0/16"]
    assert nic["ipv4_associations"] == {"1.2.3.4": "10.0.0.1"}
    assert ec2["iam"]["role_name"] == "role-a"
    assert ec2["iam"]["credentials_expiration"] == "2030-01-01T00:00:00Z"
    assert ec2["tags"] == {"Name": "web", "team:owner": "a"}
    assert ec2["public_keys"] == {"k1": "ssh-ed25519 AAA k1"}
    assert ec2["events"]["spot_instance_action"] == {"action": "stop"}
    assert ec2["events"]["maintenance_scheduled"] == []
    assert ec2["user_data"]["format"] == "binary"
    assert ec2["user_data"]["base64"] == "AAE="
    assert ec2["ipv6"] is None, "modelled values IMDS does not have are null, not absent"


@pytest.mark.parametrize(
    ("subsets", "present", "absent"),
    [
        ({"identity"}, ["instance_id", "identity_document"], ["tags", "iam", "network_interfaces", "hostname"]),
        ({"tags"}, ["tags", "tags_enabled"], ["instance_id", "iam"]),
        ({"iam"}, ["iam"], ["tags", "user_data"]),
    ],
)
def test_build_facts_returns_only_the_subsets(subsets, present, absent):
    ec2 = build_facts(TREE, frozenset(subsets), 2)
    assert all(key in ec2 for key in present)
    assert not any(key in ec2 for key in absent)


def test_no_role_and_no_tags():
    tree = {"meta-data": {"instance-id": "i-1"}}
    ec2 = build_facts(tree, ALL, 1)
    assert ec2["iam"] is None
    assert ec2["tags"] == {}
    assert ec2["tags_enabled"] is False
    assert ec2["user_data"] is None


@pytest.mark.parametrize("leaf", ["not json", {"instanceId": "i-from-a-listing"}])
def test_a_json_leaf_that_is_not_json_text_is_left_empty(leaf):
    tree = {"dynamic": {"instance-identity": {"document": leaf}}, "meta-data": {"spot": {"instance-action": leaf}}}
    ec2 = build_facts(tree, ALL, 2)
    assert ec2["identity_document"] == {}
    assert ec2["events"]["spot_instance_action"] is None


def test_flatten_uses_amazon_aws_names():
    ec2 = build_facts(TREE, ALL, 2)
    flat = flatten_facts(ec2)
    assert flat["ansible_ec2_instance_id"] == "i-1"
    assert flat["ansible_ec2_security_groups"] == "web,ssh"
    assert flat["ansible_ec2_placement_availability_zone_id"] == "euw1-az1"
    assert flat["ansible_ec2_network_interfaces_macs_0a_00_local_ipv4s"] == "10.0.0.1\n10.0.0.2"
    assert flat["ansible_ec2_iam_info_instanceprofilearn"] == "arn:aws:iam::1:instance-profile/p"
    assert flat["ansible_ec2_iam_instance_profile_role"] == "role-a"
    assert flat["ansible_ec2_iam_security_credentials_role_a_expiration"] == "2030-01-01T00:00:00Z"
    assert flat["ansible_ec2_instance_identity_document_instanceid"] == "i-1"
    assert flat["ansible_ec2_placement_region"] == "eu-west-1"
    assert flat["ansible_ec2_public_key"] == "ssh-ed25519 AAA k1"
    assert flat["ansible_ec2_instance_tags"] == {"Name": "web", "team:owner": "a"}
    assert flat["ansible_ec2_instance_tags_keys"] == ["Name", "team:owner"]
    assert flat["ansible_ec2_user_data"] == "AAE="
    assert not [name for name in flat if "public_keys_0" in name]


def test_gather_all_asks_each_path_once_and_never_keeps_secrets(emulator, make_client):
    client = make_client()
    ec2 = gather(client, ALL)
    assert ec2["instance_id"] == emulator.metadata["instance-id"]
    assert ec2["iam"]["credentials_expiration"] == emulator.credentials["Expiration"]
    assert emulator.counters["token_put"] == 1
    assert max(emulator.path_counts.values()) == 1
    dumped = json.dumps({**ec2, **flatten_facts(ec2)})
    assert emulator.issued_secrets
    assert not [secret for secret in emulator.issued_secrets if secret in dumped]
    assert "AccessKeyId" not in dumped
    assert "SecretAccessKey" not in dumped


def test_gather_min_makes_two_requests(emulator, make_client):
    ec2 = gather(make_client(), resolve_gather_subset(["min"]))
    assert ec2["account_id"] == "123456789012"
    assert dict(emulator.counters)["total"] == 2
    assert list(emulator.path_counts) == ["GET /latest/dynamic/instance-identity/document"]


def test_gather_without_iam_never_requests_credentials(emulator, make_client):
    gather(make_client(), resolve_gather_subset(["!iam"]))
    assert not [path for path in emulator.path_counts if "security-credentials/" in path.rstrip("/")]


@pytest.mark.parametrize(("subsets", "root"), [(["instance"], "meta-data"), (["other"], "dynamic")])
def test_a_service_without_a_root_directory_is_a_bad_response(emulator, make_client, subsets, root):
    emulator.add_fault("status", path=f"/latest/{root}/", status=404)
    with pytest.raises(ImdsBadResponse, match=f"has no {root}/ directory") as raised:
        gather(make_client(), resolve_gather_subset(subsets))
    assert raised.value.reason == "bad_response"
    assert raised.value.details()["url"] == f"{emulator.url}/latest/{root}/"


DISABLED = {"AWS_EC2_METADATA_DISABLED": "true"}


def test_on_unavailable_report_covers_an_environment_that_turns_imds_off(emulator):
    facts = gather_ec2_facts({"endpoint": emulator.url}, ["all"], "report", environ=DISABLED)
    assert facts == {"ec2": {"available": False, "reason": "disabled_by_environment", "msg": facts["ec2"]["msg"]}}
    assert "AWS_EC2_METADATA_DISABLED=true" in facts["ec2"]["msg"]
    assert emulator.counters["total"] == 0


def test_on_unavailable_fail_raises_the_environment_error(emulator):
    with pytest.raises(ImdsDisabledByEnvironment):
        gather_ec2_facts({"endpoint": emulator.url}, ["all"], "fail", environ=DISABLED)
    assert emulator.counters["total"] == 0


@pytest.mark.parametrize(
    ("options", "emulated", "error", "reported"),
    [
        ({}, {"http_endpoint": "disabled"}, ImdsEndpointDisabled, True),
        # The token never arrives and IMDSv1 is not allowed: IMDS is there, the instance's settings are wrong.
        (
            {"allow_imdsv1": False, "timeout": 0.3},
            {"http_tokens": "required", "http_put_response_hop_limit": 1, "client_hops": 2},
            ImdsTokenUnavailable,
            False,
        ),
    ],
)
def test_on_unavailable_policy(emulator, options, emulated, error, reported):
    emulator.set_options(**emulated)
    options = {"endpoint": emulator.url, **options}
    with pytest.raises(error):
        gather_ec2_facts(options, ["min"], "fail", environ={})
    if reported:
        facts = gather_ec2_facts(options, ["min"], "report", environ={})
        assert facts["ec2"]["available"] is False
        assert facts["ec2"]["reason"] == error.reason
    else:
        with pytest.raises(error):
            gather_ec2_facts(options, ["min"], "report", environ={})


def test_flatten_adds_the_compatibility_names(emulator):
    facts = gather_ec2_facts({"endpoint": emulator.url}, ["min"], "fail", environ={}, flatten=True)
    assert facts["ec2"]["available"] is True
    assert facts["ansible_ec2_instance_identity_document_region"] == facts["ec2"]["region"]
