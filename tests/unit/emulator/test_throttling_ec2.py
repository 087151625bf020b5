# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The throttling stand-in: a token bucket per action in front of moto, answering as EC2 does when it is empty."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from throttling_ec2 import ThrottlingEc2, TokenBucket, parse_bucket


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_gives_its_size_then_its_refill_rate():
    clock = FakeClock()
    bucket = TokenBucket(3, 2.0, clock)
    assert [bucket.take() for _take in range(4)] == [True, True, True, False]
    clock.now = 0.5  # one token back
    assert [bucket.take() for _take in range(2)] == [True, False]
    clock.now = 100.0  # never more than its size
    assert sum(bucket.take() for _take in range(10)) == 3


@pytest.mark.parametrize(("size", "refill"), [(0, 1.0), (5, 0.0), (5, -1.0)])
def test_a_bucket_that_could_never_answer_is_refused(size, refill):
    with pytest.raises(ValueError, match="size of at least 1 and a positive refill"):
        TokenBucket(size, refill)


def test_parse_bucket():
    assert parse_bucket("ModifyInstanceMetadataOptions=50:5") == ("ModifyInstanceMetadataOptions", 50, 5.0)


@pytest.fixture
def proxy(moto_endpoint):
    server = ThrottlingEc2(moto_endpoint, {"ModifyInstanceMetadataOptions": (2, 0.001)})
    yield server
    server.stop()


def client(url):
    # No retries: the test sees every answer the stand-in gives.
    return boto3.client(
        "ec2", endpoint_url=url, region_name="eu-west-1", config=Config(retries={"total_max_attempts": 1})
    )


def test_the_empty_bucket_answers_request_limit_exceeded_as_ec2_does(proxy, instance_id):
    ec2 = client(proxy.url)
    for _attempt in range(2):
        ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    with pytest.raises(ClientError) as raised:
        ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    # Other actions have no bucket here: forwarded to moto.
    for _attempt in range(5):
        assert ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    assert proxy.passed["ModifyInstanceMetadataOptions"] == 2
    assert proxy.throttled == {"ModifyInstanceMetadataOptions": 1}
    assert proxy.passed["DescribeInstances"] == 5


def test_reset_refills_and_takes_new_buckets(proxy, instance_id):
    ec2 = client(proxy.url)
    proxy.reset({"DescribeInstances": (1, 0.001)})
    ec2.describe_instances(InstanceIds=[instance_id])
    with pytest.raises(ClientError, match="RequestLimitExceeded"):
        ec2.describe_instances(InstanceIds=[instance_id])
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required")
    assert proxy.throttled == {"DescribeInstances": 1}


def test_only_loopback_upstreams():
    with pytest.raises(ValueError, match="loopback"):
        ThrottlingEc2("http://10.0.0.1:5000")
