# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit at scale: metadata_options_info's audit over N instances in each of R regions of a moto server.

    .venv/bin/python benchmarks/audit.py [--instances 500] [--regions eu-west-1 us-east-1] [--page-sizes 1000 100]

Launches the instances (one reservation each: moto pages DescribeInstances by reservation, EC2 by instance),
seeds IMDSv1 use in moto's CloudWatch for one in ten, then runs
the audit per region and per DescribeInstances page size, counting the HTTP requests each API really received
(botocore's before-send event, retries included). A last row makes the per-instance calls a naive audit would
(one GetMetricStatistics per instance and metric) for comparison. Prints a table. Nothing leaves loopback: moto
runs on 127.0.0.1 under the network guard, and the script fails if the guard logged anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "network_guard"))

import sitecustomize as network_guard  # noqa: E402

GUARD_LOG = Path(tempfile.gettempdir()) / f"ec2meta-audit-benchmark-{os.getpid()}.log"
os.environ["EC2META_NETWORK_GUARD_LOG"] = str(GUARD_LOG)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # noqa: S106 - moto takes any
network_guard.install()


def collection_on_path() -> None:
    root = REPO / ".build" / "collections"
    link = root / "ansible_collections" / "ec2meta" / "imds"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(REPO, link.parent))
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(root)])._install()


def counted(client, counter: Counter, seconds: Counter | None = None):
    """The client, with every HTTP request it sends counted by operation name (and the calls' time summed)."""
    started: dict = {}

    def count(request, event_name: str = "", **kwargs):
        counter[event_name.rsplit(".", 1)[-1]] += 1

    def before(event_name: str = "", **kwargs):
        started[event_name.rsplit(".", 1)[-1]] = time.perf_counter()

    def after(event_name: str = "", **kwargs):
        operation = event_name.rsplit(".", 1)[-1]
        if seconds is not None and operation in started:
            seconds[operation] += time.perf_counter() - started.pop(operation)

    client.meta.events.register("before-send", count)
    client.meta.events.register("before-call", before)
    client.meta.events.register("after-call", after)
    return client


def launch(ec2, instances: int) -> list[str]:
    ids = []
    while len(ids) < instances:
        reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
        ids += [instance["InstanceId"] for instance in reservation["Instances"]]
    return ids


def seed(cloudwatch, ids: list[str]) -> int:
    """MetadataNoToken datapoints: 3 calls for one instance in ten, zeros for the rest. Returns the users."""
    now = datetime.now(timezone.utc) - timedelta(hours=2)
    data = [
        {
            "MetricName": "MetadataNoToken",
            "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            "Timestamp": now,
            "Value": 3.0 if index % 10 == 0 else 0.0,
            "Unit": "Count",
        }
        for index, instance_id in enumerate(ids)
    ]
    for first in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=data[first : first + 1000])
    return sum(1 for index in range(len(ids)) if index % 10 == 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500, help="instances per region")
    parser.add_argument("--regions", nargs="+", default=["eu-west-1", "us-east-1"])
    parser.add_argument("--page-sizes", nargs="+", type=int, default=[1000, 100])
    parser.add_argument("--no-naive", action="store_true", help="skip the per-instance comparison row")
    args = parser.parse_args()
    collection_on_path()

    import boto3
    from moto.server import ThreadedMotoServer

    from ansible_collections.ec2meta.imds.plugins.module_utils._aws import ec2 as ec2_reads
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import METRICS, audit

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    rows = []
    try:
        fleet = {}
        started = time.perf_counter()
        for region in args.regions:
            ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
            cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region)
            ids = launch(ec2, args.instances)
            fleet[region] = (ids, seed(cloudwatch, ids))
        setup = time.perf_counter() - started
        for page_size in args.page_sizes:
            ec2_reads.PAGE_SIZE = page_size
            totals: Counter = Counter()
            seconds: Counter = Counter()
            found = users = 0
            started = time.perf_counter()
            for region, (_ids, seeded) in fleet.items():
                ec2 = counted(boto3.client("ec2", endpoint_url=endpoint, region_name=region), totals, seconds)
                cloudwatch = counted(
                    boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region), totals, seconds
                )
                result = audit(ec2, cloudwatch, region=region)
                found += len(result["instances"])
                users += result["summary"]["uses_imdsv1"]
                if result["summary"]["uses_imdsv1"] != seeded:
                    raise SystemExit(f"{region}: audit found {result['summary']['uses_imdsv1']} users, seeded {seeded}")
            elapsed = time.perf_counter() - started
            rows.append(
                (
                    f"audit, page size {page_size}",
                    found,
                    totals["DescribeInstances"],
                    totals["GetMetricData"],
                    sum(totals.values()),
                    elapsed,
                    seconds["DescribeInstances"],
                    seconds["GetMetricData"],
                    users,
                )
            )
        if not args.no_naive:
            totals = Counter()
            started = time.perf_counter()
            for region, (ids, _seeded) in fleet.items():
                cloudwatch = counted(boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region), totals)
                end = datetime.now(timezone.utc)
                for instance_id in ids:
                    for metric in METRICS:
                        cloudwatch.get_metric_statistics(
                            Namespace="AWS/EC2",
                            MetricName=metric,
                            Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
                            StartTime=end - timedelta(days=14),
                            EndTime=end,
                            Period=3600,
                            Statistics=["Sum"],
                        )
            elapsed = time.perf_counter() - started
            total = sum(len(ids) for ids, _users in fleet.values())
            rows.append(("naive: 2 calls per instance", total, 0, 0, sum(totals.values()), elapsed, 0, 0, None))
    finally:
        server.stop()

    print(
        f"{sum(len(ids) for ids, _users in fleet.values())} instances in {len(fleet)} regions (setup {setup:.1f} s)\n"
    )
    print(
        "| run | instances | DescribeInstances | GetMetricData | API calls | wall s | in Describe s | in GMD s |",
        end="",
    )
    print(" uses_imdsv1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, instances, describe, metric_data, calls, elapsed, in_describe, in_metrics, users in rows:
        shown = "-" if users is None else users
        print(
            f"| {name} | {instances} | {describe} | {metric_data} | {calls} | {elapsed:.2f} | {in_describe:.2f} | "
            f"{in_metrics:.2f} | {shown} |"
        )
    violations = GUARD_LOG.read_text().splitlines() if GUARD_LOG.exists() else []
    if violations:
        print("network guard:", violations)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
