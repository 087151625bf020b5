# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator linked to a moto instance: options follow DescribeInstances, identity follows the instance."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
from imds_emulator import EMULATOR_SCRIPT
from moto_link import MotoOptionsSource, link_emulator


def v1_get(emulator_url: str, path: str = "meta-data/instance-id") -> requests.Response:
    return requests.get(f"{emulator_url}/latest/{path}", timeout=2)


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_source_caches_for_its_cache_time(moto_endpoint, ec2, instance_id):
    clock = FakeClock()
    source = MotoOptionsSource(moto_endpoint, instance_id, "eu-west-1", cache_seconds=0.2, clock=clock)
    assert source()["http_tokens"] == "optional"
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required", HttpPutResponseHopLimit=2)
    clock.now = 0.1
    assert source()["http_tokens"] == "optional"
    assert source.calls == 1
    clock.now = 0.25
    assert source() == {"http_tokens": "required", "http_put_response_hop_limit": 2}
    assert source.calls == 2


def test_source_keeps_the_last_options_when_moto_fails(moto_endpoint, instance_id):
    clock = FakeClock()
    source = MotoOptionsSource(moto_endpoint, instance_id, "eu-west-1", cache_seconds=0, clock=clock)
    known = source()
    source.instance_id = "i-00000000000000000"
    assert source() == known


@pytest.mark.parametrize("endpoint", ["http://10.0.0.1:5000", "http://169.254.169.254", "ftp://127.0.0.1:21"])
def test_link_talks_to_loopback_only(endpoint):
    with pytest.raises(ValueError, match="loopback"):
        MotoOptionsSource(endpoint, "i-1", "eu-west-1")


def test_link_makes_the_emulator_answer_as_the_moto_instance(emulator, moto_endpoint, ec2, instance_id):
    linked = link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
    assert linked["instance_id"] == instance_id
    assert v1_get(emulator.url).text == instance_id
    document = v1_get(emulator.url, "dynamic/instance-identity/document").json()
    assert (document["instanceId"], document["region"], document["imageId"]) == (
        instance_id,
        "eu-west-1",
        "ami-12c6146b",
    )
    assert v1_get(emulator.url, "meta-data/placement/region").text == "eu-west-1"
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    assert v1_get(emulator.url).status_code == 401
    assert emulator.state()["options"]["http_tokens"] == "required"


def test_control_route_links_and_unlinks(emulator, moto_endpoint, ec2, instance_id):
    control = f"{emulator.url}/_emulator/link-moto"
    answer = requests.post(
        control, json={"endpoint": moto_endpoint, "instance_id": instance_id, "region": "eu-west-1"}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["options"]["http_tokens"] == "optional"
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpEndpoint="disabled")
    # The 0.2 s cache may still hold the old answer; the emulator follows within it.
    statuses = set()
    for _attempt in range(50):
        statuses.add(v1_get(emulator.url).status_code)
        if 403 in statuses:
            break
        time.sleep(0.05)
    assert 403 in statuses
    assert requests.delete(control, timeout=5).status_code == 200
    assert v1_get(emulator.url).status_code == 200


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"instance_id": "i-1"}, "endpoint"),
        ({"endpoint": "http://10.1.2.3:5000", "instance_id": "i-1"}, "loopback"),
        ({"endpoint": "MOTO", "instance_id": "i-00000000000000000"}, "cannot link to moto"),
    ],
)
def test_control_route_errors(emulator, moto_endpoint, body, text):
    body = {key: moto_endpoint if value == "MOTO" else value for key, value in body.items()}
    answer = requests.post(f"{emulator.url}/_emulator/link-moto", json=body, timeout=5)
    assert answer.status_code == 400
    assert text in answer.json()["error"]


def test_cli_flags_link_at_start(moto_endpoint, ec2, instance_id):
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    process = subprocess.Popen(
        [
            sys.executable,
            EMULATOR_SCRIPT,
            "--port",
            "0",
            "--moto-endpoint",
            moto_endpoint,
            "--moto-instance-id",
            instance_id,
            "--moto-region",
            "eu-west-1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = json.loads(process.stdout.readline())["url"]
        assert v1_get(url).status_code == 401
        token = requests.put(
            f"{url}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout=2
        ).text
        answer = requests.get(
            f"{url}/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}, timeout=2
        )
        assert answer.text == instance_id
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_needs_an_instance_id_with_an_endpoint(moto_endpoint):
    completed = subprocess.run(
        [sys.executable, EMULATOR_SCRIPT, "--moto-endpoint", moto_endpoint],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2
    assert "--moto-endpoint needs --moto-instance-id" in completed.stderr


# ----------------------------------------------------------------------------- IMDSv1 use counted in moto's CloudWatch


def v2_get(emulator_url: str, path: str = "meta-data/instance-id") -> requests.Response:
    token = requests.put(
        f"{emulator_url}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout=2
    ).text
    return requests.get(f"{emulator_url}/latest/{path}", headers={"X-aws-ec2-metadata-token": token}, timeout=2)


def sums(moto_endpoint: str, instance_id: str, days: float = 14) -> dict:
    """Sum, count and newest time of each metric in moto, read with the collection's own reader."""
    import boto3

    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import read_usage
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget

    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="eu-west-1")
    usage = read_usage(cloudwatch, {instance_id: None}, AwsBudget(60), days).usage[instance_id]
    return {"calls": usage.calls, "rejected": usage.rejected, "datapoints": usage.datapoints}


def test_imdsv1_calls_and_refusals_are_counted_as_ec2_counts_them(emulator, moto_endpoint, ec2, instance_id):
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0)
    assert sums(moto_endpoint, instance_id) == {"calls": 0, "rejected": 0, "datapoints": 0}
    for _call in range(3):
        assert v1_get(emulator.url).status_code == 200
    assert v1_get(emulator.url, "meta-data/no-such-path").status_code == 404  # answered without a token: counted
    counted = sums(moto_endpoint, instance_id)
    # Datapoints are hourly periods with data; a period boundary can fall in the very last second, so 1 or 2.
    assert (counted["calls"], counted["rejected"]) == (4, 0)
    assert counted["datapoints"] in (1, 2)
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    assert v1_get(emulator.url).status_code == 401
    assert v1_get(emulator.url).status_code == 401
    assert v2_get(emulator.url).status_code == 200  # a token: a pair of zeros, once a minute
    assert v2_get(emulator.url).status_code == 200
    counted = sums(moto_endpoint, instance_id)
    assert (counted["calls"], counted["rejected"]) == (4, 2)
    assert counted["datapoints"] in (1, 2)  # MetadataNoToken periods: one, or two across an hour boundary
    assert emulator.request_observer.recorded == {"MetadataNoToken": 4, "MetadataNoTokenRejected": 2}


def test_a_time_offset_places_the_calls_in_the_past(emulator, moto_endpoint, instance_id):
    link_emulator(emulator, moto_endpoint, instance_id, "eu-west-1", cache_seconds=0, metrics_time_offset=-3 * 86400)
    assert v1_get(emulator.url).status_code == 200
    assert sums(moto_endpoint, instance_id, days=14)["calls"] == 1
    assert sums(moto_endpoint, instance_id, days=2) == {"calls": 0, "rejected": 0, "datapoints": 0}


def test_metrics_can_be_left_off_and_the_control_route_sets_them(emulator, moto_endpoint, instance_id):
    control = f"{emulator.url}/_emulator/link-moto"
    body = {"endpoint": moto_endpoint, "instance_id": instance_id, "region": "eu-west-1"}
    answer = requests.post(control, json={**body, "metrics": False}, timeout=5)
    assert answer.json()["metrics"] is False
    assert v1_get(emulator.url).status_code == 200
    assert sums(moto_endpoint, instance_id)["calls"] == 0
    answer = requests.post(control, json={**body, "metrics_time_offset": -3600}, timeout=5)
    assert (answer.json()["metrics"], answer.json()["metrics_time_offset"]) == (True, -3600)
    assert v1_get(emulator.url).status_code == 200
    assert sums(moto_endpoint, instance_id)["calls"] == 1
    assert requests.delete(control, timeout=5).status_code == 200
    assert v1_get(emulator.url).status_code == 200
    assert sums(moto_endpoint, instance_id)["calls"] == 1
