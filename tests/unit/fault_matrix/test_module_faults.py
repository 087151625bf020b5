# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix for the modules: metadata_facts and role_credentials_info through main(), each within its budget.

The budgets are what a playbook user would wait with the default timeout (1 s) and retries (3). The scenarios run
with those retries but a patient timeout (PATIENT) unless the timeout is what they test (FAST, against a server that
never answers): on a loaded machine a healthy answer can take longer than 1 s, and a retry the scenario did not ask
for would change the counts it asserts.
"""

from __future__ import annotations

import gzip
import json
import threading

import pytest

from ansible_collections.ec2meta.imds.plugins.modules import metadata_facts, role_credentials_info

from .conftest import budget_for

ROLE = "web-server-role"
CREDENTIALS_PATH = f"/latest/meta-data/iam/security-credentials/{ROLE}"
DEFAULT_BUDGET = budget_for(1.0, 3)
FAST = {"timeout": 0.3, "retries": 2}
FAST_BUDGET = budget_for(0.3, 2)
PATIENT = {"timeout": 10.0, "total_timeout": 60.0}


def _runner(run_module, emulator, module):
    """``run(**args)``: the module's result; a secret in it fails the scenario whatever else it asserts."""

    def run(**args) -> dict:
        result = run_module(module, {"endpoint": emulator.url, **PATIENT, **args})
        assert not [secret for secret in emulator.issued_secrets if secret in json.dumps(result)]
        return result

    return run


@pytest.fixture
def facts(run_module, emulator):
    return _runner(run_module, emulator, metadata_facts)


@pytest.fixture
def role_info(run_module, emulator):
    return _runner(run_module, emulator, role_credentials_info)


# ------------------------------------------------------------------------------------------------ metadata_facts


@pytest.mark.fault(budget=1.0 + 1.0)
def test_facts_not_on_ec2_fails_after_one_connect_timeout(run_module, blackhole_endpoint):
    result = run_module(metadata_facts, {"endpoint": blackhole_endpoint})
    assert (result["failed"], result["reason"]) == (True, "unreachable")
    assert "probably not an EC2 instance" in result["msg"]


@pytest.mark.fault(budget=1.0 + 1.0)
def test_facts_not_on_ec2_reported_for_mixed_fleets(run_module, blackhole_endpoint):
    result = run_module(metadata_facts, {"endpoint": blackhole_endpoint, "on_unavailable": "report"})
    assert "failed" not in result
    assert result["ansible_facts"]["ec2"]["available"] is False
    assert result["ansible_facts"]["ec2"]["reason"] == "unreachable"


@pytest.mark.fault(budget=FAST_BUDGET + 0.3)
def test_facts_token_put_black_hole_with_v1_refused_names_the_hop_limit(facts, emulator):
    emulator.add_fault("blackhole", path="/latest/api/token")
    result = facts(allow_imdsv1=False, **FAST)
    assert (result["failed"], result["reason"]) == (True, "token_unavailable")
    assert "http_put_response_hop_limit" in result["msg"]
    assert emulator.counters["get_v1"] == 0


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_token_expires_mid_crawl_retoken_once(facts, emulator):
    # The first leaf read with the old token gets 401, as after an expiry; the module gets a new token and goes on.
    emulator.add_fault("status", path="/latest/meta-data/ami-id", status=401, count=1)
    ec2 = facts()["ansible_facts"]["ec2"]
    assert ec2["ami_id"] == emulator.metadata["ami-id"]
    assert emulator.counters["token_put"] == 2


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_500_forever_on_one_leaf_fails_naming_it(facts, emulator):
    emulator.add_fault("status", path="/latest/meta-data/ami-id", status=500)
    result = facts()
    assert (result["failed"], result["reason"]) == (True, "server_error")
    assert "meta-data/ami-id" in result["msg"]
    assert "500" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_identity_document_not_json_fails_rather_than_guess(facts, emulator):
    emulator.add_fault("body", path="/latest/dynamic/instance-identity/document", body="{oops")
    result = facts(gather_subset=["min"])
    assert (result["failed"], result["reason"]) == (True, "bad_response")
    assert "dynamic/instance-identity/document with a body that is not a JSON object" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_truncated_identity_document_is_read_again(facts, emulator):
    emulator.add_fault("truncate", path="/latest/dynamic/instance-identity/document", count=1)
    ec2 = facts(gather_subset=["min"])["ansible_facts"]["ec2"]
    assert ec2["account_id"] == "123456789012"
    assert ec2["region"] == "eu-west-1"


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_listing_entry_that_404s_is_left_out(facts, emulator):
    # Listed, then gone when read (a race with a metadata change): the rest of the facts are still right.
    emulator.add_fault("status", path="/latest/meta-data/hostname", status=404)
    ec2 = facts()["ansible_facts"]["ec2"]
    assert ec2["hostname"] is None
    assert ec2["instance_id"] == emulator.metadata["instance-id"]
    assert "hostname" not in ec2["raw"]["meta-data"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_tags_off(facts, emulator):
    emulator.set_options(instance_metadata_tags="disabled")
    ec2 = facts(gather_subset=["min", "tags"])["ansible_facts"]["ec2"]
    assert ec2["tags"] == {}
    assert emulator.counters["status_404"] == 0  # meta-data/ does not list tags/, so nothing is asked in vain


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_tag_keys_with_special_characters(facts, emulator):
    tags = {"aws:cloudformation:stack-name": "web", "team@corp": "a+b", "k=v": "=", "Name": "web 1"}
    emulator.set_tags(tags)
    assert facts(gather_subset=["min", "tags"])["ansible_facts"]["ec2"]["tags"] == tags


@pytest.mark.fault(budget=DEFAULT_BUDGET)
@pytest.mark.parametrize(
    ("user_data", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param(
            gzip.compress(b"#cloud-config\n", mtime=0),
            {"text": "#cloud-config\n", "base64": None, "compressed": True},
            id="gzip",
        ),
        pytest.param(
            b"\x89PNG\r\n\x1a\n\x00", {"text": None, "base64": "iVBORw0KGgoA", "compressed": False}, id="binary"
        ),
        pytest.param("café".encode("latin-1"), {"text": None, "base64": "Y2Fm6Q==", "compressed": False}, id="latin-1"),
    ],
)
def test_facts_user_data_shapes(facts, emulator, user_data, expected):
    emulator.set_user_data(user_data)
    ec2 = facts(gather_subset=["user_data"])["ansible_facts"]["ec2"]
    if expected is None:
        assert ec2["user_data"] is None
    else:
        assert {key: ec2["user_data"][key] for key in expected} == expected


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_public_keys_name_form(facts, emulator):
    ec2 = facts(gather_subset=["public_keys"])["ansible_facts"]["ec2"]
    assert list(ec2["public_keys"]) == ["deploy-key"]  # from the listing's 0=deploy-key
    assert ec2["public_keys"]["deploy-key"].startswith("ssh-")


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_facts_redirect_is_refused(facts, emulator):
    emulator.add_fault("redirect", path="/latest/meta-data/ami-id", location="http://127.0.0.2:9/latest/meta-data/")
    result = facts()
    assert (result["failed"], result["reason"]) == (True, "bad_response")
    assert "redirect" in result["msg"]


# ------------------------------------------------------------------------------------------- role_credentials_info


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_credentials_no_role(role_info, emulator):
    emulator.set_role(None)
    result = role_info()
    assert (result["failed"], result["reason"]) == (True, "no_role")
    assert "associate-iam-instance-profile" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_credentials_expired(role_info, emulator):
    emulator.rotate_credentials(expires_in=-60)
    result = role_info()
    assert (result["failed"], result["reason"]) == (True, "credentials_expired")
    assert "expired at" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_credentials_code_message_document(role_info, emulator):
    body = json.dumps(
        {"Code": "AssumeRoleUnauthorizedAccess", "Message": "EC2 cannot assume the role web-server-role."}
    )
    emulator.add_fault("body", path=CREDENTIALS_PATH, body=body)
    result = role_info()
    assert (result["failed"], result["reason"]) == (True, "credentials_not_ready")
    assert "Code='AssumeRoleUnauthorizedAccess' (EC2 cannot assume the role web-server-role.)" in result["msg"]
    assert "trust policy" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_credentials_invalid_json(role_info, emulator):
    emulator.add_fault("body", path=CREDENTIALS_PATH, body="<html>")
    result = role_info()
    assert (result["failed"], result["reason"]) == (True, "credentials_malformed")
    assert "not valid JSON" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_credentials_rotated_mid_run(role_info, emulator):
    # EC2 rotates while the module waits for the document: the module reports the set it was given, the new one.
    # The emulator holds the answer until the rotation is done: events, not a timer racing the request.
    old = emulator.credentials
    arrived, release = threading.Event(), threading.Event()
    emulator.add_fault("delay", path=CREDENTIALS_PATH, count=1, seconds=30, arrived=arrived, release=release)

    def rotate_while_held() -> None:
        if arrived.wait(30):
            emulator.rotate_credentials(expires_in=7200)
        release.set()

    rotation = threading.Thread(target=rotate_while_held)
    rotation.start()
    result = role_info(min_remaining=3600)
    rotation.join()
    assert arrived.is_set(), "the module never asked for the credentials document"
    assert "failed" not in result, result
    assert result["expiration"] == emulator.credentials["Expiration"] != old["Expiration"]
    assert 7100 < result["seconds_remaining"] <= 7200


@pytest.mark.fault(budget=FAST_BUDGET + 0.3)
def test_credentials_v1_in_required_mode_behind_a_low_hop_limit(role_info, emulator):
    emulator.set_options(http_tokens="required", http_put_response_hop_limit=1, client_hops=2)
    result = role_info(**FAST)
    assert (result["failed"], result["reason"]) == (True, "token_required")
    assert "set http_put_response_hop_limit to 2" in result["msg"]


@pytest.mark.fault(budget=DEFAULT_BUDGET)
def test_credentials_503_then_success(role_info, emulator):
    emulator.add_fault("status", path=CREDENTIALS_PATH, status=503, count=2)
    result = role_info(expected_role=ROLE)
    assert result["role_name"] == ROLE
    assert result["code"] == "Success"
