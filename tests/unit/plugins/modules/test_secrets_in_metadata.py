# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lying IMDS serves credentials where none belong (a credential document in iam/info, in a tag, under any path,
damaged, or as plain text): metadata_facts, the metadata module and the lookup return none of them, in any form,
and metadata_facts makes no fact of them."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from ansible.plugins.loader import lookup_loader

from ansible_collections.ec2meta.imds.plugins.module_utils._masking import MASK, secret_forms
from ansible_collections.ec2meta.imds.plugins.modules import metadata, metadata_facts


def new_secrets() -> dict:
    return {
        "AccessKeyId": "ASIA" + secrets.token_hex(8).upper(),
        "SecretAccessKey": secrets.token_urlsafe(30),
        "Token": "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(120),
        "Password": secrets.token_urlsafe(12),
    }


def credential_document(values: dict) -> dict:
    return {"Code": "Success", "LastUpdated": "2026-11-20T10:00:00Z", "Type": "AWS-HMAC", **values}


def _info_body(emulator, body: str) -> None:
    emulator.add_fault("body", path="/latest/meta-data/iam/info", body=body)


# Where the lie is told: each writes the secrets into the emulator's answers.
PLACEMENTS = {
    "iam/info holds a credential document": lambda emulator, values: _info_body(
        emulator, json.dumps(credential_document(values), indent=2)
    ),
    "iam/info holds one with a key twice": lambda emulator, values: _info_body(
        emulator, json.dumps(credential_document(values))[:-1] + f', "Token": "{values["Token"]}"}}'
    ),
    "iam/info holds a cut one": lambda emulator, values: _info_body(
        emulator, json.dumps(credential_document(values))[:-40]
    ),
    "a tag holds a credential document": lambda emulator, values: emulator.set_tags(
        {"Name": "web", "Config": json.dumps(values)}
    ),
    "a nested document under another path": lambda emulator, values: emulator.set_metadata(
        "custom/settings", {"$json": {"app": {"db": {"password": values["Password"]}, "aws": [values]}}}
    ),
    "a plain-text leaf": lambda emulator, values: emulator.set_metadata(
        "custom/note", f"use {values['AccessKeyId']} with {values['Token']}"
    ),
    # issue 28 item 3: named like a secret rather than shaped like one, nested, paired, or written as text.
    "a tag named like a secret, a tag key shaped like one": lambda emulator, values: emulator.set_tags(
        {"Name": "web", "Config": "none", "SecretAccessKey": values["SecretAccessKey"], values["AccessKeyId"]: "x"}
    ),
    "a path named like a secret": lambda emulator, values: emulator.set_metadata(
        "custom/db_password", values["Password"]
    ),
    "a credential document as a string in iam/info": lambda emulator, values: _info_body(
        emulator, json.dumps({"Code": "Success", "Inner": json.dumps({"Outer": json.dumps(values)})})
    ),
    "name/value pairs": lambda emulator, values: emulator.set_metadata(
        "custom/env",
        {
            "$json": {
                "environment": [{"name": "AWS_SECRET_ACCESS_KEY", "value": values["SecretAccessKey"]}],
                "Tags": [{"Key": "DbPassword", "Value": values["Password"]}],
            }
        },
    ),
    "an INI credentials file and shell exports in a tag": lambda emulator, values: emulator.set_tags(
        {
            "Name": "web",
            "Config": f"[default]\naws_secret_access_key = {values['SecretAccessKey']}\n"
            f"export DB_PASSWORD='{values['Password']}'\nSessionToken: {values['Token']}\n",
        }
    ),
    "a full-width secret name": lambda emulator, values: _info_body(
        emulator, json.dumps({"Code": "Success", "\uff33ecretAccessKey": values["SecretAccessKey"]}, ensure_ascii=False)
    ),
}


def leaked(result: dict, values: dict) -> list:
    text = json.dumps(result)
    shaped = [value for name, value in values.items() if name in ("AccessKeyId", "Token")]
    return [form for form in secret_forms(values.values()) if form in text] + [
        value for value in shaped if value[:24] in text
    ]


@pytest.fixture
def lie(emulator):
    def tell(placement: str) -> dict:
        values = new_secrets()
        # Every path the tests read exists, whichever placement then overwrites one of them.
        emulator.set_tags({"Name": "web", "Config": "none"})
        emulator.set_metadata("custom/empty", "nothing")
        PLACEMENTS[placement](emulator, values)
        return values

    return tell


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_metadata_facts_returns_no_secret_and_makes_no_fact_of_one(emulator, run_module, lie, placement):
    values = lie(placement)
    result = run_module(metadata_facts, {"endpoint": emulator.url, "flatten": True})
    assert "failed" not in result, result.get("msg")
    assert leaked(result, values) == []
    names = [name for name in result["ansible_facts"] if re.search("accesskeyid|secret|token|password", name)]
    assert names == []
    assert result["ansible_facts"]["ec2"]["instance_id"] == emulator.metadata["instance-id"], "the rest still comes"


def test_the_masked_iam_info_keeps_its_other_fields(emulator, run_module, lie):
    lie("iam/info holds a credential document")
    facts = run_module(metadata_facts, {"endpoint": emulator.url, "flatten": True})["ansible_facts"]
    assert facts["ansible_ec2_iam_info_code"] == "Success"
    assert json.loads(facts["ec2"]["raw"]["meta-data"]["iam"]["info"])["SecretAccessKey"] == MASK


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize(
    "args",
    [
        {"path": ["meta-data/iam/info", "meta-data/tags/instance/Config", "meta-data/custom"], "recursive": True},
        {"path": ["meta-data/iam/info", "meta-data/tags/instance/Config"], "parse_json": True, "default": None},
        {"path": "meta-data", "recursive": True, "parse_json": True},
    ],
    ids=["recursive", "leaves-parse_json", "whole-tree"],
)
def test_the_metadata_module_returns_no_secret(emulator, run_module, lie, placement, args):
    values = lie(placement)
    result = run_module(metadata, {"endpoint": emulator.url, **args})
    assert "failed" not in result, result.get("msg")
    assert leaked(result, values) == []


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_lookup_returns_no_secret(emulator, lie, placement):
    values = lie(placement)
    lookup = lookup_loader.get("ec2meta.imds.metadata")
    returned = lookup.run(["meta-data"], {}, endpoint=emulator.url, recursive=True, parse_json=True)
    assert leaked(returned, values) == []


def test_a_secret_found_elsewhere_is_masked_in_user_data_and_the_rest_of_it_stays(emulator, run_module, lie):
    values = lie("iam/info holds a credential document")
    script = f"#!/bin/sh\nexport AWS_SECRET_ACCESS_KEY={values['SecretAccessKey']}\necho ready\n"
    emulator.set_user_data(script.encode())
    facts = run_module(metadata_facts, {"endpoint": emulator.url, "flatten": True, "gather_subset": ["all"]})[
        "ansible_facts"
    ]
    assert leaked(facts, values) == []
    assert facts["ec2"]["user_data"]["text"] == f"#!/bin/sh\nexport AWS_SECRET_ACCESS_KEY={MASK}\necho ready\n"
    assert facts["ansible_ec2_user_data"] == facts["ec2"]["user_data"]["text"]


def test_user_data_is_otherwise_returned_as_it_is(emulator, run_module):
    script = "#!/bin/sh\nexport DB_PASSWORD=hunter2hunter2\n"  # the user's own script: not masked
    emulator.set_user_data(script.encode())
    facts = run_module(metadata_facts, {"endpoint": emulator.url, "gather_subset": ["user_data"]})["ansible_facts"]
    assert facts["ec2"]["user_data"]["text"] == script


def test_a_leaf_named_like_a_secret_is_masked_in_the_tree_and_makes_no_fact(emulator, run_module, lie):
    values = lie("a tag named like a secret, a tag key shaped like one")
    facts = run_module(metadata_facts, {"endpoint": emulator.url, "flatten": True})["ansible_facts"]
    assert facts["ec2"]["tags"]["SecretAccessKey"] == MASK
    assert facts["ec2"]["tags"][MASK] == "x"
    assert not [name for name in facts if "SecretAccessKey" in name or values["AccessKeyId"] in name]
