# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an adversarial pass over the transport found: each test is an attack that once broke a promise of the
hardening (time, memory, no escaping exception, no echoed secret), run against the real emulator.

test_hostile_server.py holds the scenario matrix every plugin runs; these are the answers it did not cover.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError
from ansible_collections.ec2meta.imds.plugins.module_utils._limits import MAX_CRAWL_BYTES, MAX_HEADER_BYTES
from ansible_collections.ec2meta.imds.plugins.modules import metadata, metadata_facts, role_credentials_info

# None of these is about time: patient timeouts, so that on a loaded machine the cap or the broken answer, never a
# timeout, ends each read (a timed-out token would even fall back to IMDSv1 and succeed).
OPTIONS = {"timeout": 10.0, "total_timeout": 60.0}
TOKEN = "/latest/api/token"
INSTANCE_ID = "/latest/meta-data/instance-id"
IDENTITY = "/latest/dynamic/instance-identity/document"


def _run(run_module, module, emulator, **args):
    """The module's JSON result; a Python exception out of main() (a crash, not a result) fails the test."""
    return run_module(module, {"endpoint": emulator.url, **OPTIONS, **args})


# ------------------------------------------------------------------------------------------------ JSON


@pytest.mark.parametrize("nested", ["[" * 900 + "]" * 900, '{"a":' * 900 + "1" + "}" * 900], ids=["array", "object"])
def test_deeply_nested_json_is_not_data(run_module, emulator, nested):
    # Python's parser takes 900 levels, but ansible's result encoder recursed past the limit after main() had
    # returned its result: a traceback instead of a result.
    emulator.add_fault("body", path=IDENTITY, body=nested)
    result = _run(run_module, metadata, emulator, path="dynamic/instance-identity/document", parse_json=True)
    assert "failed" not in result, result
    assert result["value"] == nested
    result = _run(run_module, metadata_facts, emulator)
    assert result["reason"] == "bad_response"
    assert "not a JSON object" in result["msg"]


# ------------------------------------------------------------------------------------------------ header values


@pytest.mark.parametrize("ttl", ["\xb3", "9" * 5000], ids=["latin-1 superscript digit", "5000 digits"])
def test_a_token_ttl_int_cannot_parse_is_ignored(make_client, emulator, ttl):
    # str.isdigit() takes both, int() refuses both: a ValueError escaped as an internal error.
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {{length}}\r\nX-aws-ec2-metadata-token-ttl-seconds: {ttl}"
    emulator.add_fault("raw_answer", path=TOKEN, head=head)
    assert make_client(**OPTIONS).get_text("meta-data/instance-id") == emulator.metadata["instance-id"]


BROKEN_FRAMING = [
    ("conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: {length}", None),
    ("negative chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "-5\r\nhello\r\n0\r\n\r\n"),
]


@pytest.mark.parametrize(("name", "head", "body"), BROKEN_FRAMING, ids=[row[0] for row in BROKEN_FRAMING])
def test_broken_framing_is_a_bad_response_not_a_bad_option(make_client, emulator, name, head, body):
    # Both raised a ValueError that was taken for a request the client could not build: reason invalid_option,
    # "check the endpoint option", for the server's fault.
    emulator.add_fault("raw_answer", path=INSTANCE_ID, head=head, **({"body": body} if body else {}))
    with pytest.raises(ImdsError) as caught:
        make_client(**OPTIONS).get("meta-data/instance-id")
    assert caught.value.reason == "bad_response", str(caught.value)
    assert "not a valid HTTP answer" in str(caught.value)


# ------------------------------------------------------------------------------------------------ memory

# 80 header lines just under http.client's 64 KiB line limit: 5 MB of headers it accepts, copied four times over
# (http.client, the email parser, urllib3, requests); a full gather holds that per worker (500 MB RSS measured).
HUGE_HEADERS = "".join(f"\r\nX-Filler-{index}: {'h' * 64_000}" for index in range(80))


@pytest.mark.parametrize("path", [TOKEN, INSTANCE_ID], ids=["token", "value"])
def test_headers_stop_at_their_cap(make_client, emulator, path):
    emulator.add_fault("raw_answer", path=path, head="HTTP/1.1 200 OK\r\nContent-Length: {length}" + HUGE_HEADERS)
    with pytest.raises(ImdsError) as caught:
        make_client(**OPTIONS).get("meta-data/instance-id")
    assert caught.value.reason == "bad_response", str(caught.value)
    assert f"headers too long (over the cap of {MAX_HEADER_BYTES} bytes)" in str(caught.value)


def test_informational_answers_count_against_the_header_cap(make_client, emulator):
    # http.client skips any number of "100 Continue" answers, each with up to 100 header lines of 64 KiB.
    continues = "HTTP/1.1 100 Continue" + HUGE_HEADERS[:500_000] + "\r\n\r\n"
    emulator.add_fault("raw_answer", path=INSTANCE_ID, head=continues * 5 + "HTTP/1.1 200 OK\r\nContent-Length: 1")
    with pytest.raises(ImdsError, match="headers too long"):
        make_client(**OPTIONS).get("meta-data/instance-id")


def test_a_crawl_stops_at_its_byte_cap(run_module, emulator):
    # Each answer under its own cap, 2000 of them within the path cap: 128 MB of facts and 400 MB of Python
    # allocations were measured before the crawl had a cap of its own.
    leaves = 100
    emulator.set_metadata("wide", {f"leaf{index}": "v" * 60_000 for index in range(leaves)})
    result = _run(run_module, metadata, emulator, path="meta-data/wide", recursive=True)
    assert result["reason"] == "bad_response", result.get("msg")
    assert f"over the cap of {MAX_CRAWL_BYTES} bytes" in result["msg"]
    assert "value" not in result
    # The cap is reached at the 18th leaf; how many more the 8 workers fetch before the walking thread counts them
    # depends on scheduling (33 of 40 were seen on a loaded machine), so the bound is only that it stopped.
    fetched = [path for path in emulator.path_counts if path.startswith("GET /latest/meta-data/wide/leaf")]
    assert len(fetched) < leaves, "the crawl read every leaf"
    assert max(emulator.path_counts.values()) == 1, "a leaf was read twice"
    emulator.set_metadata("wide", {f"leaf{index}": "v" * 60_000 for index in range(10)})
    result = _run(run_module, metadata, emulator, path="meta-data/wide", recursive=True)
    assert len(result["value"]) == 10


# ------------------------------------------------------------------------------------------------ the role

ROLE_PATH = "/latest/meta-data/iam/security-credentials/web-server-role"


@pytest.mark.parametrize("arn", [5, ["arn:aws:iam::123456789012:instance-profile/web"], {"a": 1}])
def test_an_instance_profile_arn_that_is_not_text(run_module, emulator, arn):
    # AttributeError ('int' object has no attribute 'startswith') while building the result, after the module's
    # own error handling: a traceback.
    emulator.add_fault("body", path="/latest/meta-data/iam/info", body=json.dumps({"InstanceProfileArn": arn}))
    result = _run(run_module, role_credentials_info, emulator)
    assert result["reason"] == "credentials_malformed", result.get("msg")
    assert "without an InstanceProfileArn" in result["msg"]


@pytest.mark.parametrize("expiration", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_an_expiration_out_of_datetime_range(run_module, emulator, expiration):
    # OverflowError converting to UTC: reported as an internal error (a bug) instead of a malformed document.
    emulator.credentials["Expiration"] = expiration
    result = _run(run_module, role_credentials_info, emulator)
    assert result["reason"] == "credentials_malformed", result.get("msg")
    assert "Expiration" in result["msg"]


@pytest.mark.parametrize("field", ["Code", "Type"])
def test_a_secret_in_a_field_that_is_not_secret_is_never_echoed(run_module, emulator, field):
    # A damaged document with the secret key where the status or type belongs: role_credentials_info quoted Code in
    # its failure (before the secrets were known for masking), metadata_facts copied the field into the facts.
    secret = emulator.credentials["SecretAccessKey"]
    emulator.credentials[field] = secret
    for module, args in ((role_credentials_info, {}), (metadata_facts, {"gather_subset": ["iam"]})):
        result = _run(run_module, module, emulator, **args)
        assert secret not in json.dumps(result), (module.__name__, field)
        assert secret[:20] not in json.dumps(result), (module.__name__, field)


# ------------------------------------------------------------------------------------------------ listings


def test_listed_names_with_a_backslash_are_left_out(run_module, emulator):
    # quote_path refuses a backslash (a server may take it for '/'), so such a listed name failed the whole read
    # with reason invalid_option, blaming the user's path; names that could leave the directory are skipped.
    emulator.add_fault("body", path="/latest/meta-data/placement/", body="region\na\\b\n..\\..\\latest")
    result = _run(run_module, metadata, emulator, path="meta-data/placement", recursive=True)
    assert result["value"] == {"region": "eu-west-1"}, result
    result = _run(run_module, metadata_facts, emulator, gather_subset=["placement"])
    assert result["ansible_facts"]["ec2"]["region"] == "eu-west-1", result
