# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The amazon.aws compatibility names, on their own: flatten_facts over hand-made ``ec2`` facts."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._facts.compat import flatten_facts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"meta-data": {"security-groups": "web\nssh access\n"}}, {"ansible_ec2_security_groups": "web,ssh access"}),
        ({"meta-data": {"security-groups": ""}}, {"ansible_ec2_security_groups": ""}),
        (
            {"meta-data": {"network": {"interfaces": {"macs": {"0a:00": {"security-group-ids": "sg-1\nsg-2"}}}}}},
            {"ansible_ec2_network_interfaces_macs_0a_00_security_group_ids": "sg-1,sg-2"},
        ),
        (
            {"dynamic": {"instance-identity": {"document": '{"region": "eu-west-1", "accountId": "1"}'}}},
            {
                "ansible_ec2_instance_identity_document": '{"region": "eu-west-1", "accountId": "1"}',
                "ansible_ec2_instance_identity_document_region": "eu-west-1",
                "ansible_ec2_instance_identity_document_accountid": "1",
                "ansible_ec2_placement_region": "eu-west-1",
            },
        ),
        ({"meta-data": {"spot": {"instance-action": "{not json"}}}, {"ansible_ec2_spot_instance_action": "{not json"}),
    ],
)
def test_names(raw, expected):
    assert flatten_facts({"raw": raw}) == expected


def test_only_safe_credential_fields_are_named_even_if_more_reach_the_tree():
    role = {"Code": "Success", "Expiration": "2030-01-01T00:00:00Z", "SecretAccessKey": "wJalrXUtnFEMI"}
    raw = {"meta-data": {"iam": {"security-credentials": {"web": role}}}}
    flat = flatten_facts({"raw": raw})
    assert flat == {
        "ansible_ec2_iam_instance_profile_role": "web",
        "ansible_ec2_iam_security_credentials_web_code": "Success",
        "ansible_ec2_iam_security_credentials_web_expiration": "2030-01-01T00:00:00Z",
    }
