# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The campaign's instances phase at scale: require IMDSv2 on N instances, one at a time (before) and in one
batch (after), against moto alone and against EC2's request throttling (tests/emulator/throttling_ec2.py).

    .venv/bin/python benchmarks/instances_phase.py [--moto 100 300] [--throttled 1000] [--before-limit 300]
                                                  [--bucket-scale 1] [--playbook 100 300]
    .venv/bin/python benchmarks/instances_phase.py --moto --throttled --fast-ec2 10000 --bucket-scale 4 --guard skip

moto runs in a process of its own, so the RSS printed is this process's: the controller's side (plus the
stand-in's threads). Each size gets a fresh region: N instances, a tenth calling IMDSv1 (fleet_builder.scale), so
the guard refuses a tenth and the rest are changed.

- before: the path of one metadata_options task per instance (plan, guard, apply), in-process, one after another:
  a lower bound of the old campaign, which also started one module process per instance.
- after: enforce_many, the path of metadata_options with instance_ids (one task per region).
- throttled: after, behind the stand-in with EC2's documented buckets (ModifyInstanceMetadataOptions 50 and 5/s,
  DescribeInstances 100 and 20/s), times ``--bucket-scale`` (the bucket and the limiter alike; 1 is the documented
  pace, where 10,000 changes take half an hour). "bucket s" is the least time the bucket allows for the changes
  (burst, then refill rate); "Modify s" the time from the first Modify to the last, "x bucket" that over the
  bucket's time (the reads before, moto's, are in "wall s" only); "throttled" the RequestLimitExceeded answers the
  stand-in gave, "to user" those that reached a result.
- playbook: the campaign's instances phase itself (ansible-playbook: the audit before, the task, the audit after,
  the report), against moto alone.
- fast-ec2: the throttled run over a minimal EC2 (FastEc2) instead of moto, for 10,000 instances: moto's
  DescribeInstances over 10,000 instances takes longer than a read timeout.
Prints a Markdown table; fails if the network guard logged anything.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "emulator"))

from audit import GUARD_LOG, collection_on_path, counted  # noqa: E402 - the guard is installed on import

REGIONS = ["eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2", "us-west-2", "eu-north-1", "sa-east-1",
           "ap-northeast-1", "ca-central-1", "eu-west-2", "us-east-2"]  # fmt: skip
WANTED = {"http_tokens": "required"}


class FastEc2:
    """A minimal EC2 for fleets moto cannot list in time (10,000 instances): DescribeInstances answers the ids of
    its instance-id filter, ModifyInstanceMetadataOptions requires tokens. Only for the pace of the changes."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        tokens: dict = {}

        def instance(instance_id: str) -> str:
            return (
                f"<item><instanceId>{instance_id}</instanceId><instanceState><code>16</code><name>running</name>"
                "</instanceState><launchTime>2026-01-05T10:00:00.000Z</launchTime><metadataOptions><state>applied"
                f"</state><httpTokens>{tokens.get(instance_id, 'optional')}</httpTokens><httpPutResponseHopLimit>1"
                "</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions></item>"
            )

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                if form["Action"][0] == "ModifyInstanceMetadataOptions":
                    tokens[form["InstanceId"][0]] = form.get("HttpTokens", ["optional"])[0]
                    body = "<ModifyInstanceMetadataOptionsResponse><requestId>r</requestId>"
                    body += "<instanceMetadataOptions><state>pending</state></instanceMetadataOptions>"
                    body += "</ModifyInstanceMetadataOptionsResponse>"
                else:
                    ids = [v[0] for k, v in form.items() if k.startswith("Filter.") and ".Value." in k]
                    items = "".join(instance(instance_id) for instance_id in ids)
                    body = "<DescribeInstancesResponse><requestId>r</requestId><reservationSet><item><reservationId>"
                    body += f"r-1</reservationId><instancesSet>{items}</instancesSet></item></reservationSet>"
                    body += "</DescribeInstancesResponse>"
                payload = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.tokens = tokens
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_moto(workdir: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "moto.port"
    process = subprocess.Popen(
        [
            sys.executable,
            str(HERE.parent / "tests" / "emulator" / "services.py"),
            "moto",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (port_file.exists() and port_file.read_text().strip()):
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port_file.read_text().strip()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto", type=int, nargs="*", default=[100, 300], help="sizes against moto alone")
    parser.add_argument("--throttled", type=int, nargs="*", default=[1000], help="sizes behind the stand-in")
    parser.add_argument("--before-limit", type=int, default=300, help="largest size the one-at-a-time path runs")
    parser.add_argument("--bucket-scale", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    # moto answers GetMetricData by scanning every datapoint for every query: at 10,000 instances its reads take
    # hours, so a run that large skips the guard (its calls are counted in the unit tests: one per 166 instances).
    parser.add_argument("--guard", choices=["fail", "skip"], default="fail")
    parser.add_argument("--fast-ec2", type=int, nargs="*", default=[], help="sizes behind the stand-in, FastEc2 behind")
    parser.add_argument(
        "--playbook",
        type=int,
        nargs="*",
        default=[],
        help="sizes for the campaign's instances phase (ansible-playbook)",
    )
    args = parser.parse_args()
    collection_on_path()

    import boto3
    from fleet_builder import scale
    from throttling_ec2 import MUTATING_BUCKET, NON_MUTATING_BUCKET, ThrottlingEc2

    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import guard_tokens_required
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import (
        apply_metadata_options,
        plan_metadata_options,
    )
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options_batch import enforce_many
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
        AwsBudget,
        AwsError,
        aws_session,
    )
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import aws_client as make_client

    workdir = Path(tempfile.mkdtemp(prefix="ec2meta-instances-phase-"))
    moto, endpoint = start_moto(workdir)
    regions = iter(REGIONS)
    rows = []

    def fleet(count: int) -> tuple[str, list]:
        region = next(regions)
        scale(endpoint, region, count, 0, 0)
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
        pages = ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 500})
        ids = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
        return region, ids

    def clients(url: str, region: str, budget: AwsBudget, totals: dict) -> tuple:
        session = aws_session()
        common = {"region": region, "endpoint_url": url, "budget": budget, "session": session}
        return (
            counted(make_client("ec2", **common), totals),
            counted(make_client("ec2", **common, max_attempts=1), totals),
            counted(make_client("cloudwatch", **common), totals),
        )

    def before(url: str, region: str, ids: list) -> dict:
        from collections import Counter

        totals: Counter = Counter()
        budget = AwsBudget(86400)
        ec2, _modify, cloudwatch = clients(url, region, budget, totals)
        outcome = Counter()
        started = time.perf_counter()
        for instance_id in ids:
            try:
                plan = plan_metadata_options(ec2, instance_id, WANTED, region)
                usage = guard_tokens_required(cloudwatch, budget, plan.instance, "fail", 14, lambda _w: None)
                apply_metadata_options(ec2, plan, region=region, imdsv1_usage=usage)
                outcome["changed"] += 1
            except AwsError as error:
                outcome[error.reason] += 1
        return {"seconds": time.perf_counter() - started, "calls": totals, "outcome": dict(outcome)}

    def after(url: str, region: str, ids: list, rate: float, burst: int) -> dict:
        from collections import Counter

        totals: Counter = Counter()
        budget = AwsBudget(3600)
        ec2, modify, cloudwatch = clients(url, region, budget, totals)
        started = time.perf_counter()
        result = enforce_many(
            ec2, modify, cloudwatch, budget, WANTED, instance_ids=ids, region=region, rate=rate, burst=burst,
            concurrency=args.concurrency, check=args.guard,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        reasons = Counter(entry["reason"] or entry["status"] for entry in result.instances)
        return {"seconds": seconds, "calls": totals, "outcome": dict(reasons), "result": result}

    def row(kind: str, size: int, found: dict, bucket_seconds: float | None = None, stand_in=None) -> None:
        calls = found["calls"]
        throttled = stand_in.throttled["ModifyInstanceMetadataOptions"] if stand_in else 0
        to_user = found["outcome"].get("throttled", 0)
        measured = found["result"].rate_limiter["measured_rate"] if "result" in found else None
        rows.append(
            {
                "run": kind,
                "instances": size,
                "wall s": round(found["seconds"], 1),
                "bucket s": "-" if bucket_seconds is None else round(bucket_seconds, 1),
                "Modify s": found["result"].rate_limiter["seconds"] if "result" in found else "-",
                "x bucket": "-"
                if not bucket_seconds
                else round(found["result"].rate_limiter["seconds"] / bucket_seconds, 2),
                "Describe": calls["DescribeInstances"],
                "GetMetricData": calls["GetMetricData"],
                "Modify": calls["ModifyInstanceMetadataOptions"],
                "throttled": throttled,
                "to user": to_user,
                "limiter /s": measured if measured is not None else "-",
                "stand-in /s": (round(stand_in.rate("ModifyInstanceMetadataOptions") or 0, 2) if stand_in else "-"),
                "outcome": json.dumps(found["outcome"], sort_keys=True),
                "RSS MB": round(rss_mb()),
            }
        )
        print(rows[-1], flush=True)

    def playbook(size: int) -> None:
        """The whole phase as a user runs it: audit before, one task per region, audit after, the report."""
        sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
        from playbook_runner import run_playbook

        region, _ids = fleet(size)
        play = workdir / "campaign.yml"
        play.write_text("- ansible.builtin.import_playbook: ec2meta.imds.imdsv2_campaign\n", encoding="utf-8")
        variables = {
            "campaign_phase": "instances",
            "campaign_regions": [region],
            "campaign_endpoint_url": endpoint,
            "campaign_report_dir": str(workdir / "report"),
        }
        started = time.perf_counter()
        run = run_playbook(play, variables, verbosity="")
        seconds = time.perf_counter() - started
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
        required = sum(
            1 for p in ec2.get_paginator("describe_instances").paginate() for r in p["Reservations"]
            for i in r["Instances"] if i["MetadataOptions"]["HttpTokens"] == "required"
        )  # fmt: skip
        print(f"| campaign instances phase (ansible-playbook) | {size} | {seconds:.1f} s | rc {run.returncode} | "
              f"{required} required |", flush=True)  # fmt: skip

    def fast(size: int) -> None:
        upstream = FastEc2()
        ids = [f"i-{number:017x}" for number in range(size)]
        buckets = {"ModifyInstanceMetadataOptions": (int(size_burst), size_rate)}
        stand_in = ThrottlingEc2(upstream.url, buckets)
        try:
            found = after(stand_in.url, "eu-west-1", ids, size_rate, int(size_burst))
        finally:
            stand_in.stop()
            upstream.server.shutdown()
        assert set(upstream.tokens.values()) == {"required"}
        assert len(upstream.tokens) == size
        bucket_seconds = max(0.0, (size - size_burst) / size_rate)
        row(f"after, stand-in x{args.bucket_scale:g} over FastEc2", size, found, bucket_seconds, stand_in)

    size_burst, size_rate = MUTATING_BUCKET[0] * args.bucket_scale, MUTATING_BUCKET[1] * args.bucket_scale
    try:
        for size in args.fast_ec2:
            fast(size)
        for size in args.playbook:
            playbook(size)
        for size in args.moto:
            if size <= args.before_limit:
                region, ids = fleet(size)
                row("before, moto", size, before(endpoint, region, ids))
            region, ids = fleet(size)
            row("after, moto", size, after(endpoint, region, ids, 1000.0, 1000))
        for size in args.throttled:
            region, ids = fleet(size)
            buckets = {
                "ModifyInstanceMetadataOptions": (int(size_burst), size_rate),
                "DescribeInstances": (NON_MUTATING_BUCKET[0], NON_MUTATING_BUCKET[1]),
            }
            stand_in = ThrottlingEc2(endpoint, buckets)
            try:
                found = after(stand_in.url, region, ids, size_rate, int(size_burst))
            finally:
                stand_in.stop()
            changes = found["result"].summary["modify_calls_needed"]
            bucket_seconds = max(0.0, (changes - size_burst) / size_rate)
            row(f"after, stand-in x{args.bucket_scale:g}", size, found, bucket_seconds, stand_in)
    finally:
        moto.terminate()
        moto.wait(timeout=30)

    columns = list(rows[0]) if rows else []
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for item in rows:
        print("| " + " | ".join(str(item[column]) for column in columns) + " |")
    violations = GUARD_LOG.read_text().splitlines() if GUARD_LOG.exists() else []
    if violations:
        print("network guard:", violations)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
