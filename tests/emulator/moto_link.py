# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Link the IMDS emulator to an instance in a moto server, for end-to-end tests of the EC2 API side.

Once linked, the emulator behaves as the moto instance: its metadata options come from moto's
DescribeInstances (cached briefly), and meta-data/instance-id and the identity document name the moto
instance. So a change made through ModifyInstanceMetadataOptions shows in the emulator's answers.

And it counts what real EC2 counts (MotoMetricsSink): each IMDSv1 call IMDS answers as a MetadataNoToken
datapoint, each IMDSv1 call refused with 401 because tokens are required as a MetadataNoTokenRejected datapoint,
put into moto's CloudWatch (AWS/EC2, dimension InstanceId). Calls with a token add zero datapoints (at most one
pair a minute), as EC2 publishes zeros for a running instance: so a fixed caller leaves data, not a gap.
``metrics_time_offset`` (seconds, negative = in the past) lets a test place those calls days back.

boto3 is imported only here, and only when a link is made: the emulator itself stays stdlib-only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import threading
import time
from collections import Counter
from typing import Any, Callable
from urllib.parse import urlsplit

DEFAULT_CACHE_SECONDS = 0.2
# MetadataOptions member of the EC2 API -> the emulator's option name.
OPTION_NAMES = {
    "HttpTokens": "http_tokens",
    "HttpEndpoint": "http_endpoint",
    "HttpPutResponseHopLimit": "http_put_response_hop_limit",
    "InstanceMetadataTags": "instance_metadata_tags",
    "HttpProtocolIpv6": "http_protocol_ipv6",
}


def check_loopback(endpoint: str) -> None:
    """The link, like everything in the tests, talks to loopback only."""
    host = urlsplit(endpoint).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if urlsplit(endpoint).scheme not in ("http", "https") or not loopback:
        raise ValueError(f"the moto endpoint must be an http URL on a loopback address, not {endpoint!r}")


def ec2_client(endpoint: str, region: str, service: str = "ec2") -> Any:
    import boto3  # lazily, see the module docstring

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        # moto accepts any credentials; fixed ones keep the link independent of the environment.
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


class MotoOptionsSource:
    """A callable for ``ImdsEmulator.options_source``: the moto instance's options in the emulator's names."""

    def __init__(
        self,
        endpoint: str,
        instance_id: str,
        region: str | None = None,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        check_loopback(endpoint)
        self.endpoint = endpoint
        self.instance_id = instance_id
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
        self.cache_seconds = cache_seconds
        self._client = client or ec2_client(endpoint, self.region)
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict | None = None
        self._fetched_at = float("-inf")
        self.calls = 0

    def describe_instance(self) -> dict:
        response = self._client.describe_instances(InstanceIds=[self.instance_id])
        for reservation in response.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance.get("InstanceId") == self.instance_id:
                    return instance
        raise KeyError(f"moto has no instance {self.instance_id}")

    def fetch(self) -> dict:
        self.calls += 1
        block = self.describe_instance().get("MetadataOptions") or {}
        # moto drops members a modify call left out; those keep the emulator's own value.
        return {name: block[api_name] for api_name, name in OPTION_NAMES.items() if block.get(api_name) is not None}

    def __call__(self) -> dict:
        with self._lock:
            if self._cached is None or self._clock() - self._fetched_at >= self.cache_seconds:
                try:
                    self._cached = self.fetch()
                except Exception:
                    # An unreachable moto must not break the emulator: keep serving the last known options.
                    if self._cached is None:
                        self._cached = {}
                self._fetched_at = self._clock()
            return dict(self._cached)


NO_TOKEN = "MetadataNoToken"
NO_TOKEN_REJECTED = "MetadataNoTokenRejected"
WITNESS = "StatusCheckFailed"
HEARTBEAT_SECONDS = 60.0


class MotoMetricsSink:
    """A callable for ``ImdsEmulator.request_observer``: IMDSv1 use as EC2 reports it, into moto's CloudWatch."""

    def __init__(
        self,
        endpoint: str,
        instance_id: str,
        region: str | None = None,
        time_offset: float = 0.0,
        client: Any = None,
        clock: Callable[[], float] = time.time,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ):
        check_loopback(endpoint)
        self.instance_id = instance_id
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
        self.time_offset = float(time_offset)
        self._client = client or ec2_client(endpoint, self.region, "cloudwatch")
        self._clock = clock
        self._heartbeat_seconds = heartbeat_seconds
        self._last_heartbeat = float("-inf")
        self._lock = threading.Lock()
        self.recorded: Counter = Counter()
        self.errors = 0

    def __call__(self, kind: str, status: int, sent_token: bool) -> None:
        if kind.startswith("token_put"):
            return
        if not sent_token and status == 401:
            self.put({NO_TOKEN_REJECTED: 1})
        elif not sent_token and kind.endswith("_v1"):
            self.put({NO_TOKEN: 1})
        elif sent_token:
            with self._lock:
                due = self._clock() - self._last_heartbeat >= self._heartbeat_seconds
                if due:
                    self._last_heartbeat = self._clock()
            if due:
                self.put({NO_TOKEN: 0, NO_TOKEN_REJECTED: 0})

    def put(self, values: dict) -> None:
        # EC2 publishes its status-check metric for every running instance: the guard's witness.
        published = {**values, WITNESS: 0}
        moment = datetime.datetime.fromtimestamp(self._clock() + self.time_offset, datetime.timezone.utc)
        data = [
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "InstanceId", "Value": self.instance_id}],
                "Timestamp": moment,
                "Value": float(value),
                "Unit": "Count",
            }
            for metric, value in published.items()
        ]
        try:
            self._client.put_metric_data(Namespace="AWS/EC2", MetricData=data)
        except Exception:
            # Like the options source: an unreachable moto must not break the emulator's answers.
            self.errors += 1
            return
        with self._lock:
            self.recorded.update(values)


def link_emulator(
    emulator: Any,
    endpoint: str,
    instance_id: str,
    region: str | None = None,
    cache_seconds: float = DEFAULT_CACHE_SECONDS,
    metrics: bool = True,
    metrics_time_offset: float = 0.0,
) -> dict:
    """Make ``emulator`` answer as moto's ``instance_id`` (and, with ``metrics``, count its IMDSv1 use in moto's
    CloudWatch, dated ``metrics_time_offset`` seconds from now); returns what the link set."""
    source = MotoOptionsSource(endpoint, instance_id, region, cache_seconds)
    instance = source.describe_instance()  # fails here, not on a later request, if the instance is unknown
    zone = instance.get("Placement", {}).get("AvailabilityZone") or f"{source.region}a"
    emulator.set_metadata("instance-id", instance_id)
    emulator.set_metadata("placement/region", source.region)
    emulator.set_metadata("placement/availability-zone", zone)
    fields = {"instanceId": instance_id, "region": source.region, "availabilityZone": zone}
    if instance.get("ImageId"):
        fields["imageId"] = instance["ImageId"]
    if instance.get("InstanceType"):
        fields["instanceType"] = instance["InstanceType"]
    emulator.update_identity_document(**fields)
    emulator.options_source = source
    emulator.request_observer = (
        MotoMetricsSink(endpoint, instance_id, source.region, metrics_time_offset) if metrics else None
    )
    return {
        "endpoint": endpoint,
        "instance_id": instance_id,
        "region": source.region,
        "options": source(),
        "metrics": bool(metrics),
        "metrics_time_offset": float(metrics_time_offset),
    }


def unlink_emulator(emulator: Any) -> None:
    """Stop reading options from moto and counting metrics there (the instance identity stays as linked)."""
    emulator.options_source = None
    emulator.request_observer = None
