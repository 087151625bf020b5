# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The launch-path audit and the enforcement readiness check at scale, in a moto server with the stand-ins of
tests/emulator/MOTO_GAPS.md.

    .venv/bin/python benchmarks/launch_paths.py [--instances 1000] [--templates 200] [--groups 100] [--fleets 20]
                                                [--regions eu-west-1 us-east-1]

The counts are totals, split evenly over the regions. Builds the fleet with tests/emulator/fleet_builder.scale (a
tenth of the instances calling IMDSv1, half the templates requiring tokens, every group on a template's $Default,
half the fleets EC2 Fleets on a template version with an AMI override, half Spot Fleet requests on the AMI),
then runs, per region: the launch-path audit alone (metadata_options_info with every launch-path include), the
whole audit (instances too, as the campaign does), and the readiness check of http_tokens_enforced. Counts the
HTTP requests each API action received (botocore's before-send, retries included) and the wall time. Prints a
table; fails if the network guard logged anything.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "emulator"))

from audit import GUARD_LOG, collection_on_path, counted  # noqa: E402 - the guard is installed on import


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--templates", type=int, default=200)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--fleets", type=int, default=20)
    parser.add_argument("--regions", nargs="+", default=["eu-west-1", "us-east-1"])
    args = parser.parse_args()
    collection_on_path()

    import boto3
    import moto_ec2_gaps
    from fleet_builder import scale
    from moto.server import ThreadedMotoServer

    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import audit
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_paths import (
        LAUNCH_PATH_KINDS,
        audit_launch_paths,
        enforcement_readiness,
    )
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget, bound_client

    moto_ec2_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    share = len(args.regions)
    rows = []
    try:
        started = time.perf_counter()
        built = {
            region: scale(
                endpoint,
                region,
                args.instances // share,
                args.templates // share,
                args.groups // share,
                args.fleets // share,
            )
            for region in args.regions
        }
        setup = time.perf_counter() - started

        def clients(totals: Counter, budget: AwsBudget) -> dict:
            made = {}
            for region in args.regions:
                made[region] = {
                    service: bound_client(
                        counted(boto3.client(service, endpoint_url=endpoint, region_name=region), totals), budget
                    )
                    for service in ("ec2", "autoscaling", "cloudwatch")
                }
            return made

        runs = {
            "launch paths (templates, groups, configurations, fleets, images, defaults)": lambda c, b, r: (
                audit_launch_paths(c["ec2"], c["autoscaling"], b, r, [*LAUNCH_PATH_KINDS, "images", "account_defaults"])
            ),
            "campaign audit (instances + launch paths)": lambda c, b, r: (
                audit(c["ec2"], c["cloudwatch"], b, region=r),
                audit_launch_paths(
                    c["ec2"], c["autoscaling"], b, r, [*LAUNCH_PATH_KINDS, "images", "account_defaults"]
                ),
            ),
            "http_tokens_enforced readiness": lambda c, b, r: enforcement_readiness(
                c["ec2"], c["cloudwatch"], c["autoscaling"], b, r, 14
            ),
        }
        for name, run in runs.items():
            totals: Counter = Counter()
            budget = AwsBudget(600)
            made = clients(totals, budget)
            started = time.perf_counter()
            results = [run(made[region], budget, region) for region in args.regions]
            elapsed = time.perf_counter() - started
            rows.append((name, totals, elapsed, results))
    finally:
        server.stop()

    fleet = {key: sum(item[key] for item in built.values()) for key in ("instances", "templates", "groups", "fleets")}
    print(
        f"{fleet['instances']} instances, {fleet['templates']} launch templates, {fleet['groups']} Auto Scaling "
        f"groups, {fleet['fleets']} fleets in {len(args.regions)} regions (setup {setup:.1f} s)\n"
    )
    actions = sorted({action for _name, totals, _elapsed, _results in rows for action in totals})
    print("| run | " + " | ".join(actions) + " | API calls | wall s |")
    print("|---|" + "---:|" * (len(actions) + 2))
    for name, totals, elapsed, _results in rows:
        print(
            f"| {name} | "
            + " | ".join(str(totals[a]) for a in actions)
            + f" | {sum(totals.values())} | {elapsed:.2f} |"
        )
    readiness = rows[-1][3]
    print("\nready:", [item["ready"] for item in readiness], "blockers:", [len(item["blockers"]) for item in readiness])
    violations = GUARD_LOG.read_text().splitlines() if GUARD_LOG.exists() else []
    if violations:
        print("network guard:", violations)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
