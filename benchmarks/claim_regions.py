# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The region proof of instance_claim_info (issue 28): which proof each case used, its outcome, wall time and peak
memory, against moto serving every region on one endpoint.

    .venv/bin/python benchmarks/claim_regions.py [--collections ROOT] [--repeat 2]

The fleet is the finding's: A in eu-west-3 and B in us-east-1 with the same private address, and C in eu-west-3
with a public address. Each case is main() in a child process (peak RSS is its VmHWM). "searched" cases list the
enabled regions (DescribeRegions) and look in each, 8 at a time; the first run of a case also pays moto's start-up
of each region, so --repeat shows the warm figure too. With --collections pointing at an older checkout's
collections root, the same cases run against that version (which knows no known_region: those cases are left out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile import REPO_ROOT, RUN_ONE, peak_rss_mb


def run(root: str, args: dict) -> tuple[float, float, dict]:
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_ONE, root, "instance_claim_info", json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    peak = 0.0
    while True:
        peak = max(peak, peak_rss_mb(child.pid) or 0.0)
        try:
            output = child.communicate(timeout=0.1)[0]
            break
        except subprocess.TimeoutExpired:
            continue
    elapsed = time.monotonic() - started
    try:
        return elapsed, peak, json.loads(output.decode("utf-8", errors="replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return elapsed, peak, {"failed": True, "reason": "no JSON result (crashed)"}


def fleet(endpoint: str) -> dict:
    import boto3

    def client(region):
        return boto3.client("ec2", endpoint_url=endpoint, region_name=region)

    def at(region, address):
        ec2 = client(region)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        one = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, "SubnetId": subnet, "PrivateIpAddress": address}
        return ec2.run_instances(**one)["Instances"][0]

    a, b = at("eu-west-3", "10.9.1.50"), at("us-east-1", "10.9.1.50")
    c = client("eu-west-3").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    return {"a": a["InstanceId"], "b": b["InstanceId"], "c": c["InstanceId"], "c_public": c["PublicIpAddress"]}


def cases(known: dict) -> list:
    """(case, module arguments, needs known_region)."""
    address = "10.9.1.50"
    return [
        ("finding: at A's address, claims B, names us-east-1", {"claimed": known["b"], "address": address}, False),
        (
            "truthful A, address repeated in us-east-1",
            {"claimed": known["a"], "address": address, "region": "eu-west-3"},
            False,
        ),
        (
            "A names us-east-1, controller knows eu-west-3",
            {"claimed": known["a"], "address": address, "known": "eu-west-3"},
            True,
        ),
        (
            "claims B, controller knows eu-west-3",
            {"claimed": known["b"], "address": address, "known": "eu-west-3"},
            True,
        ),
        ("C by its public address, names us-east-1", {"claimed": known["c"], "address": known["c_public"]}, False),
        ("A by the inventory's instance id", {"claimed": known["a"], "known_id": known["a"]}, False),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--collections", default=str(REPO_ROOT / ".build" / "collections"), type=os.path.abspath)
    parser.add_argument("--repeat", type=int, default=2)
    options = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    os.environ.pop("AWS_PROFILE", None)
    source = Path(options.collections) / "ansible_collections/ec2meta/imds/plugins/modules/instance_claim_info.py"
    knows_region = "known_region" in source.read_text()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    print(f"{'case':48} {'run':>3} {'proof':18} {'region (source, regions)':34} {'wall':>7} {'RSS':>7}  outcome")
    try:
        for name, case, needs_region in cases(fleet(endpoint)):
            if needs_region and not knows_region:
                continue
            args = {"endpoint_url": endpoint, "region": case.get("region", "us-east-1")}
            args.update(claimed_instance_id=case["claimed"], connection_address=case.get("address"))
            args.update(known_instance_id=case.get("known_id"))
            if case.get("known"):
                args["known_region"] = case["known"]
            for attempt in range(1, options.repeat + 1):
                elapsed, peak, result = run(options.collections, {k: v for k, v in args.items() if v is not None})
                searched = len(result.get("regions_searched") or [])
                where = f"{result.get('region')} ({result.get('region_source')}, {searched})"
                proof = result.get("proven_by") or "-"
                outcome = f"refused: {result.get('reason')}" if result.get("failed") else "proven"
                print(f"{name:48} {attempt:>3} {proof:18} {where:34} {elapsed:6.1f}s {peak:5.0f}MB  {outcome}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
