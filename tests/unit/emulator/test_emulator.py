# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator answers as the real service does; botocore's own fetcher is the referee."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from imds_emulator import EMULATOR_SCRIPT, ImdsEmulator

TTL = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}


def _token(emulator) -> str:
    return requests.put(f"{emulator.url}/latest/api/token", headers=TTL, timeout=2).text


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "0"}, 400),
        ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400),
        ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "abc"}, 400),
        ("PUT", "/latest/api/token", {}, 400),
        ("PUT", "/latest/api/token", {**TTL, "X-Forwarded-For": "10.0.0.1"}, 403),
        ("PUT", "/2021-03-23/api/token", TTL, 403),
        ("GET", "/latest/api/token", {}, 405),
        ("POST", "/latest/api/token", TTL, 405),
        ("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}, 200),
        ("GET", "/latest/meta-data/", {"X-aws-ec2-metadata-token": "not-a-token"}, 401),
        ("GET", "/latest/meta-data/missing", {}, 404),
        ("GET", "/nonsense/meta-data/", {}, 404),
    ],
)
def test_token_endpoint_and_errors(emulator, method, path, headers, status):
    response = requests.request(method, emulator.url + path, headers=headers, timeout=2)
    assert response.status_code == status
    assert response.headers["Server"] == "EC2ws"
    if status == 405:
        assert response.headers["Allow"] == "OPTIONS, PUT"
    if status == 200:
        assert response.headers["X-aws-ec2-metadata-token-ttl-seconds"] == "21600"
        assert len(response.text) > 20


def test_tokens_expire(emulator):
    token = requests.put(
        f"{emulator.url}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "1"}, timeout=2
    ).text
    url = f"{emulator.url}/latest/meta-data/ami-id"
    assert requests.get(url, headers={"X-aws-ec2-metadata-token": token}, timeout=2).status_code == 200
    import time

    time.sleep(1.1)
    assert requests.get(url, headers={"X-aws-ec2-metadata-token": token}, timeout=2).status_code == 401


@pytest.mark.parametrize(("tokens", "v1_status"), [("optional", 200), ("required", 401)])
def test_http_tokens_modes(emulator, tokens, v1_status):
    emulator.set_options(http_tokens=tokens)
    url = f"{emulator.url}/latest/meta-data/instance-id"
    assert requests.get(url, timeout=2).status_code == v1_status
    assert requests.get(url, headers={"X-aws-ec2-metadata-token": _token(emulator)}, timeout=2).status_code == 200


def test_endpoint_disabled_is_403_everywhere(emulator):
    emulator.set_options(http_endpoint="disabled")
    assert requests.put(f"{emulator.url}/latest/api/token", headers=TTL, timeout=2).status_code == 403
    assert requests.get(f"{emulator.url}/latest/meta-data/", timeout=2).status_code == 403
    assert requests.head(f"{emulator.url}/latest/meta-data/ami-id", timeout=2).status_code == 403


def test_listings(emulator):
    def get(path):
        return requests.get(emulator.url + path, timeout=2)

    versions = get("/").text.split("\n")
    assert versions[-1] == "latest"
    assert "2021-03-23" in versions
    assert get("/latest/").text.split("\n") == ["meta-data", "dynamic", "user-data"]
    listing = get("/latest/meta-data/").text.split("\n")
    assert {"iam/", "instance-id", "public-keys/"} <= set(listing)
    assert get("/latest/meta-data").text == get("/latest/meta-data/").text
    assert get("/latest/meta-data/placement").text == get("/latest/meta-data/placement/").text
    assert get("/latest/meta-data/public-keys/").text == "0=deploy-key"
    assert get("/latest/meta-data/public-keys/0/").text == "openssh-key"
    assert get("/2021-03-23/meta-data/instance-id").text == "i-0a1b2c3d4e5f60718"
    document = get("/latest/dynamic/instance-identity/document")
    assert document.headers["Content-Type"] == "text/plain"
    assert json.loads(document.text)["region"] == "eu-west-1"


def test_head_has_headers_and_no_body(emulator):
    response = requests.head(f"{emulator.url}/latest/meta-data/instance-id", timeout=2)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len("i-0a1b2c3d4e5f60718"))
    assert response.content == b""


def test_user_data_raw_and_absent(emulator):
    emulator.set_user_data(b"\x1f\x8b\x00binary")
    response = requests.get(f"{emulator.url}/latest/user-data", timeout=2)
    assert response.content == b"\x1f\x8b\x00binary"
    emulator.set_user_data(None)
    assert requests.get(f"{emulator.url}/latest/user-data", timeout=2).status_code == 404
    assert "user-data" not in requests.get(f"{emulator.url}/latest/", timeout=2).text


def test_identity_document_fields_are_merged(emulator):
    url = f"{emulator.url}/latest/dynamic/instance-identity/document"
    before = requests.get(url, timeout=2).json()
    emulator.update_identity_document(instanceId="i-0fleet00000000001")
    after = requests.get(url, timeout=2).json()
    assert after == {**before, "instanceId": "i-0fleet00000000001"}


def test_tags_only_when_enabled_and_iam_only_with_a_role(emulator):
    url = emulator.url + "/latest/meta-data/"
    assert requests.get(url + "tags/instance/Name", timeout=2).text == "web-01"
    emulator.set_options(instance_metadata_tags="disabled")
    assert requests.get(url + "tags/instance/", timeout=2).status_code == 404
    assert "tags/" not in requests.get(url, timeout=2).text.split("\n")
    emulator.set_role(None)
    assert requests.get(url + "iam/info", timeout=2).status_code == 404
    assert "iam/" not in requests.get(url, timeout=2).text.split("\n")


def test_credentials_expire_in_the_future_and_rotate(emulator):
    from datetime import datetime, timezone

    url = f"{emulator.url}/latest/meta-data/iam/security-credentials/web-server-role"
    first = requests.get(url, timeout=2).json()
    assert datetime.strptime(first["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) > datetime.now(
        timezone.utc
    )
    emulator.rotate_credentials()
    assert requests.get(url, timeout=2).json()["AccessKeyId"] != first["AccessKeyId"]


def test_hop_limit_drops_token_answers(emulator):
    emulator.set_options(client_hops=2, http_put_response_hop_limit=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.put(f"{emulator.url}/latest/api/token", headers=TTL, timeout=0.3)
    assert requests.get(f"{emulator.url}/latest/meta-data/ami-id", timeout=2).status_code == 200


def test_throttling_answers_429_above_the_rate(emulator):
    emulator.set_options(throttle_rps=5)
    statuses = [requests.get(f"{emulator.url}/latest/meta-data/ami-id", timeout=2).status_code for attempt in range(8)]
    assert statuses.count(200) == 5
    assert statuses.count(429) == 3


def test_faults_fire_the_given_number_of_times(emulator):
    emulator.add_fault("status", path="/latest/meta-data/*", status=503, count=2)
    url = f"{emulator.url}/latest/meta-data/ami-id"
    assert [requests.get(url, timeout=2).status_code for attempt in range(3)] == [503, 503, 200]


@pytest.mark.parametrize("body", ["", "{not json", '{"Code": "Failure", "Message": "no"}'])
def test_body_fault_replaces_the_answer(emulator, body):
    emulator.add_fault("body", path="/latest/dynamic/instance-identity/document", body=body)
    assert requests.get(f"{emulator.url}/latest/dynamic/instance-identity/document", timeout=2).text == body


def test_reset_and_truncate_faults_break_the_connection(emulator):
    emulator.add_fault("reset", path="/latest/meta-data/ami-id", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{emulator.url}/latest/meta-data/ami-id", timeout=2)
    emulator.add_fault("truncate", path="/latest/meta-data/ami-id", count=1)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{emulator.url}/latest/meta-data/ami-id", timeout=2)


def test_control_interface_over_http(emulator):
    control = f"{emulator.url}/_emulator"
    assert requests.post(f"{control}/options", json={"http_tokens": "required"}, timeout=2).status_code == 200
    assert emulator.options["http_tokens"] == "required"
    assert requests.post(f"{control}/options", json={"http_tokens": "maybe"}, timeout=2).status_code == 400
    requests.post(f"{control}/faults", json={"kind": "status", "status": 500, "count": 1}, timeout=2)
    assert requests.get(f"{control}/state", timeout=2).json()["faults"][0]["remaining"] == 1
    requests.put(f"{control}/user-data", data=b"\x00\x01", timeout=2)
    assert emulator.user_data == b"\x00\x01"
    requests.post(f"{control}/role", json={"role_name": None}, timeout=2)
    assert emulator.iam is None


def test_binds_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        ImdsEmulator(host="0.0.0.0")  # noqa: S104 - proving it is refused


def test_command_line_prints_the_port():
    process = subprocess.Popen(
        [sys.executable, EMULATOR_SCRIPT, "--port", "0", "--http-tokens", "required", "--no-role"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        announced = json.loads(process.stdout.readline())
        assert requests.get(f"{announced['url']}/latest/meta-data/ami-id", timeout=2).status_code == 401
        state = requests.get(f"{announced['url']}/_emulator/state", timeout=2).json()
        assert state["role"] is None
    finally:
        process.terminate()
        process.wait(5)


@pytest.mark.parametrize("tokens", ["required", "optional"])
def test_botocore_credential_chain_reads_role_credentials(emulator, monkeypatch, tokens):
    """botocore's own instance-metadata provider, configured only through AWS_EC2_METADATA_SERVICE_ENDPOINT."""
    import botocore.session
    from botocore.credentials import create_credential_resolver

    emulator.set_options(http_tokens=tokens)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", emulator.url + "/")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    provider = create_credential_resolver(botocore.session.Session()).get_provider("iam-role")
    credentials = provider.load().get_frozen_credentials()
    assert credentials.access_key == emulator.credentials["AccessKeyId"]
    assert credentials.secret_key == emulator.credentials["SecretAccessKey"]
    assert credentials.token == emulator.credentials["Token"]
    assert emulator.counters["token_put"] == 1
    assert emulator.counters["get_v1"] == 0
