# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ImdsModule, the one wrapper of every module: spec composition, library checks, clients, failure reporting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils import _module
from ansible_collections.ec2meta.imds.plugins.module_utils._aws import session
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsNotFound
from ansible_collections.ec2meta.imds.plugins.module_utils._imds import client as imds_client
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import CLIENT_ARGUMENT_SPEC
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule, compose_argument_spec

OWN = {"name": {"type": "str"}}


def as_module(work):
    """An object run_module can run: its main() builds an ImdsModule and hands it to ``work``."""
    return SimpleNamespace(main=work)


@pytest.mark.parametrize(
    ("imds", "aws", "shared"),
    [(False, False, set()), (True, False, set(CLIENT_ARGUMENT_SPEC)), (False, True, set(session.AWS_ARGUMENT_SPEC))],
)
def test_the_spec_is_the_modules_own_options_plus_the_shared_ones_asked_for(imds, aws, shared):
    assert set(compose_argument_spec(OWN, imds=imds, aws=aws)) == {"name"} | shared


def test_both_shared_specs_together():
    spec = compose_argument_spec(OWN, imds=True, aws=True)
    assert set(spec) == {"name"} | set(CLIENT_ARGUMENT_SPEC) | set(session.AWS_ARGUMENT_SPEC)


@pytest.mark.parametrize(
    ("library", "flag", "owner"), [("requests", "HAS_REQUESTS", imds_client), ("boto3", "HAS_BOTO3", session)]
)
def test_a_missing_library_is_named(run_module, monkeypatch, library, flag, owner):
    monkeypatch.setattr(owner, flag, False)

    def work():
        ImdsModule(OWN, requires=[library])
        raise AssertionError("the module went on without its library")

    result = run_module(as_module(work), {})
    assert result["failed"] is True
    assert library in result["msg"]


def test_an_unknown_library_is_a_bug():
    module = object.__new__(ImdsModule)
    with pytest.raises(ValueError, match="unknown library"):
        module.require("urllib4")


def test_a_collection_error_fails_with_its_reason_and_the_partial_result(run_module):
    def work():
        module = ImdsModule(OWN)
        with module.failures_reported(found="so far"):
            raise ImdsNotFound("nothing at meta-data/x", url="http://127.0.0.1:1/latest/meta-data/x", status=404)

    result = run_module(as_module(work), {})
    assert result["failed"] is True
    assert (result["reason"], result["status"], result["found"]) == ("not_found", 404, "so far")
    assert result["msg"] == "nothing at meta-data/x"


def test_any_other_exception_is_an_internal_error_without_the_partial_result(run_module):
    def work():
        module = ImdsModule(OWN)
        with module.failures_reported(found="so far"):
            raise KeyError("odd-shape")

    result = run_module(as_module(work), {})
    assert result["reason"] == "internal_error"
    assert "KeyError: 'odd-shape'" in result["msg"]
    assert "found" not in result


def test_secrets_are_masked_in_every_form_even_in_dict_keys(run_module):
    secret = "wJalr/XUtnFEMI+K7MDENG"  # made up, with the characters URL-encoding changes

    def work():
        module = ImdsModule(OWN)
        with module.failures_reported({secret}, by_key={secret: 1, "quoted": quote(secret, safe="")}):
            raise ImdsNotFound(f"the answer held {secret}")

    result = run_module(as_module(work), {})
    assert secret not in json.dumps(result)
    assert result["by_key"] == {"********": 1, "quoted": "********"}


def test_an_empty_expectation_fails_before_the_work(run_module):
    ran = []

    def work():
        module = ImdsModule({"expected_role": {"type": "str"}})
        with module.failures_reported():
            ran.append(True)

    result = run_module(as_module(work), {"expected_role": " "})
    assert (result["reason"], ran) == ("invalid_option", [])
    assert "expected_role" in result["msg"]


def test_no_region_fails_with_the_modules_words(run_module, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)

    def work():
        module = ImdsModule(OWN, aws=True)
        with module.failures_reported():
            module.region("No AWS region for this test: set the region option")

    result = run_module(as_module(work), {})
    assert (result["reason"], result["msg"]) == ("no_region", "No AWS region for this test: set the region option")


def test_the_region_option_comes_first(run_module, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-2")

    def work():
        module = ImdsModule(OWN, aws=True)
        module.exit(changed=False, region=module.region("unused"), session=module.session_region())

    result = run_module(as_module(work), {"region": "eu-west-1"})
    assert (result["region"], result["session"]) == ("eu-west-1", "eu-west-1")


def test_aws_clients_are_one_per_service_and_region_on_one_budget(run_module, monkeypatch):
    made = []

    def fake_client(service, **connection):
        made.append((service, connection["region"], connection["budget"]))
        return object()

    monkeypatch.setattr(session, "aws_client", fake_client)

    def work():
        module = ImdsModule(OWN, aws=True)
        first = module.aws_client("ec2", "eu-west-1")
        same = module.aws_client("ec2", "eu-west-1") is first
        module.aws_client("cloudwatch", "eu-west-1")
        module.aws_client("ec2", "us-east-1")
        module.exit(changed=False, same=same)

    result = run_module(as_module(work), {"aws_timeout": 60})
    assert result["same"] is True
    assert [(service, region) for service, region, _budget in made] == [
        ("ec2", "eu-west-1"),
        ("cloudwatch", "eu-west-1"),
        ("ec2", "us-east-1"),
    ]
    assert len({id(made_with[2]) for made_with in made}) == 1


def test_aws_clients_share_one_boto3_session(run_module, monkeypatch):
    """A new session loads the service model again: a search of every region would make dozens."""
    sessions = []

    def fake_client(service, **connection):
        sessions.append(connection["session"])
        return object()

    monkeypatch.setattr(session, "aws_client", fake_client)

    def work():
        module = ImdsModule(OWN, aws=True)
        for region in ("eu-west-1", "us-east-1", "eu-west-3"):
            module.aws_client("ec2", region)
        module.exit(changed=False)

    run_module(as_module(work), {"access_key": "AKIDEXAMPLE", "secret_key": "SECRETEXAMPLE"})
    assert len(sessions) == 3
    assert sessions[0] is not None
    assert all(made is sessions[0] for made in sessions)


def test_a_bad_aws_timeout_fails_naming_the_option(run_module):
    def work():
        module = ImdsModule(OWN, aws=True)
        with module.failures_reported():
            module.aws_client("ec2", "eu-west-1")

    result = run_module(as_module(work), {"aws_timeout": 0})
    assert result["reason"] == "invalid_option"
    assert "aws_timeout" in result["msg"]


def test_a_bad_client_option_fails_naming_the_option(run_module):
    def work():
        ImdsModule(OWN, imds=True).imds_client()
        raise AssertionError("a client was built from a bad option")

    result = run_module(as_module(work), {"endpoint": "ftp://127.0.0.1"})
    assert result["reason"] == "invalid_option"
    assert "endpoint" in result["msg"]


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("metadata", {"boto3", "botocore"}),
        ("metadata_facts", {"boto3", "botocore"}),
        ("probe", {"boto3", "botocore"}),
        ("role_credentials_info", {"boto3", "botocore"}),
        ("instance_metadata_defaults", {"requests"}),
        ("metadata_options_info", {"requests"}),
        ("image_imds_support", {"requests"}),
    ],
)
def test_a_module_imports_only_the_libraries_it_uses(module, absent):
    """Import cost (issue 22): an IMDS module does not load boto3, an AWS-only module does not load requests."""
    collections = Path(_module.__file__).parents[5]  # the directory that holds ansible_collections/ec2meta/imds
    code = (
        f"import sys; import ansible_collections.ec2meta.imds.plugins.modules.{module}; "
        "print(sorted(name for name in sys.modules if '.' not in name))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(collections), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    loaded = set(json.loads(done.stdout.replace("'", '"')))
    assert not loaded & absent, f"{module} imported {sorted(loaded & absent)}"


@pytest.mark.parametrize("diff", [False, True])
def test_the_diff_is_returned_only_with_diff_mode(run_module, diff):
    def work():
        ImdsModule(OWN).exit_with_diff({"a": 1}, {"a": 2}, changed=True)

    result = run_module(as_module(work), {}, diff=diff)
    assert result["changed"] is True
    assert result.get("diff") == ({"before": {"a": 1}, "after": {"a": 2}} if diff else None)
