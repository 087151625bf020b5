# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader


@pytest.fixture
def lookup():
    return lookup_loader.get("ec2meta.imds.metadata")


def test_returns_one_value_per_term(emulator, lookup):
    values = lookup.run(["meta-data/instance-id", "meta-data/placement/region"], {}, endpoint=emulator.url)
    assert values == [emulator.metadata["instance-id"], "eu-west-1"]
    assert emulator.counters["token_put"] == 1


def test_parse_json_and_recursive(emulator, lookup):
    [document] = lookup.run(["dynamic/instance-identity/document"], {}, endpoint=emulator.url, parse_json=True)
    assert document["region"] == "eu-west-1"
    [placement] = lookup.run(["meta-data/placement"], {}, endpoint=emulator.url, recursive=True)
    assert placement == emulator.metadata["placement"]


def test_endpoint_from_a_variable(emulator, lookup):
    assert lookup.run(["meta-data/instance-type"], {"ec2meta_imds_endpoint": emulator.url}) == ["t3.medium"]


def test_missing_path_and_default(emulator, lookup):
    with pytest.raises(AnsibleLookupError, match="has no meta-data/nope"):
        lookup.run(["meta-data/nope"], {}, endpoint=emulator.url)
    assert lookup.run(["meta-data/nope"], {}, endpoint=emulator.url, default="d") == ["d"]


def test_same_message_as_the_modules(emulator, lookup):
    emulator.set_options(http_tokens="required")
    emulator.add_fault("status", path="/latest/api/token", method="PUT", status=404)
    with pytest.raises(AnsibleLookupError, match=r"requires IMDSv2 \(http_tokens=required\)"):
        lookup.run(["meta-data/instance-id"], {}, endpoint=emulator.url)


def test_credentials_are_refused(emulator, lookup):
    with pytest.raises(AnsibleLookupError, match="role_credentials_info"):
        lookup.run(["meta-data/iam/security-credentials/web-server-role"], {}, endpoint=emulator.url)


def test_no_terms(emulator, lookup):
    with pytest.raises(AnsibleLookupError, match="at least one path"):
        lookup.run([], {}, endpoint=emulator.url)


def test_missing_requests(monkeypatch, emulator, lookup):
    import sys

    monkeypatch.setattr(sys.modules[type(lookup).__module__], "HAS_REQUESTS", False)
    with pytest.raises(AnsibleLookupError, match="requests"):
        lookup.run(["meta-data/instance-id"], {}, endpoint=emulator.url)


@pytest.mark.parametrize("keyword", ["endpont", "recursve", "total_timout"])
def test_misspelt_keyword_fails_naming_it_before_any_request(emulator, lookup, keyword):
    with pytest.raises(AnsibleLookupError, match=f"has no option {keyword}: use .*endpoint"):
        lookup.run(["meta-data/instance-id"], {}, endpoint=emulator.url, **{keyword: "x"})
    assert emulator.counters["total"] == 0


@pytest.mark.parametrize("name", ["recursive", "parse_json", "allow_imdsv1"])
def test_a_bool_that_is_neither_true_nor_false_is_refused(emulator, lookup, name):
    with pytest.raises(AnsibleLookupError, match=f"{name}='maybe' is not a boolean"):
        lookup.run(["meta-data/instance-id"], {}, endpoint=emulator.url, **{name: "maybe"})
    assert lookup.run(["meta-data/instance-id"], {}, endpoint=emulator.url, **{name: "yes"})
