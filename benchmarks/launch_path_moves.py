# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving pinned groups and fleets (issue 30) at scale, in a moto server with the stand-ins of
tests/emulator/MOTO_GAPS.md.

    .venv/bin/python benchmarks/launch_path_moves.py [--groups 100] [--fleets 20] [--templates 20]

Builds ``templates`` templates whose version 1 allows IMDSv1 (version 2 another AMI), ``groups`` groups pinned to
version 1 (every fourth a mixed-instances policy with an override on the next template), and ``fleets`` maintain
fleets pinned to version 1 (half EC2 Fleets, half Spot Fleet requests). Then runs what the launch_paths phase runs
with campaign_move_pinned_groups and campaign_move_pinned_fleets: the template step per template (successors),
then each group's and each fleet's move planned (check mode: reads only) and applied. Counts the HTTP requests per
API action (botocore's before-send, retries included) and the wall time per step; prints a table; fails if the
network guard logged anything or anything was left unmoved.
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

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/bench-spot-fleet"


def build(ec2, autoscaling, templates: int, groups: int, fleets: int) -> dict:
    template_ids = []
    for number in range(templates):
        data = {
            "ImageId": "ami-0000000000000a001",
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "optional"},
        }
        made = ec2.create_launch_template(LaunchTemplateName=f"moves-{number}", LaunchTemplateData=data)
        template_id = made["LaunchTemplate"]["LaunchTemplateId"]
        ec2.create_launch_template_version(
            LaunchTemplateId=template_id, LaunchTemplateData={**data, "ImageId": "ami-0000000000000b002"}
        )
        template_ids.append(template_id)
    group_names = []
    for number in range(groups):
        spec = {"LaunchTemplateId": template_ids[number % templates], "Version": "1"}
        name = f"moves-{number}"
        launch = {"LaunchTemplate": spec}
        if number % 4 == 0:
            other = {"LaunchTemplateId": template_ids[(number + 1) % templates], "Version": "1"}
            launch = {
                "MixedInstancesPolicy": {
                    "LaunchTemplate": {
                        "LaunchTemplateSpecification": spec,
                        "Overrides": [
                            {"InstanceType": "t3.micro"},
                            {"InstanceType": "t3.small", "LaunchTemplateSpecification": other},
                        ],
                    }
                }
            }
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name, AvailabilityZones=[f"{REGION}a"], MinSize=0, MaxSize=1, **launch
        )
        group_names.append(name)
    fleet_ids = []
    for number in range(fleets):
        config = {
            "LaunchTemplateSpecification": {"LaunchTemplateId": template_ids[number % templates], "Version": "1"},
            "Overrides": [{"InstanceType": "t3.small"}],
        }
        if number % 2:
            request = {
                "TargetCapacity": 0,
                "IamFleetRole": ROLE,
                "AllocationStrategy": "lowestPrice",
                "Type": "maintain",
                "LaunchTemplateConfigs": [config],
            }
            fleet_ids.append(
                ("spot_fleet_requests", ec2.request_spot_fleet(SpotFleetRequestConfig=request)["SpotFleetRequestId"])
            )
        else:
            capacity = {"TotalTargetCapacity": 0, "DefaultTargetCapacityType": "on-demand"}
            made = ec2.create_fleet(
                Type="maintain", TargetCapacitySpecification=capacity, LaunchTemplateConfigs=[config]
            )
            fleet_ids.append(("ec2_fleets", made["FleetId"]))
    return {"templates": template_ids, "groups": group_names, "fleets": fleet_ids}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=20)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--fleets", type=int, default=20)
    args = parser.parse_args()
    collection_on_path()

    import boto3
    import moto_ec2_gaps
    from moto.server import ThreadedMotoServer

    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.fleet_moves import apply_fleet, plan_fleet
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.group_moves import apply_group, plan_group
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.launch_path_changes import (
        apply_template,
        check_users,
        plan_template,
    )
    from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget, bound_client

    moto_ec2_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    wanted = {"http_tokens": "required"}
    rows, left = [], []
    try:
        raw = {
            service: boto3.client(service, endpoint_url=endpoint, region_name=REGION)
            for service in ("ec2", "autoscaling")
        }
        started = time.perf_counter()
        made = build(raw["ec2"], raw["autoscaling"], args.templates, args.groups, args.fleets)
        setup = time.perf_counter() - started

        def step(name, work) -> None:
            totals: Counter = Counter()
            budget = AwsBudget(900)
            clients = {
                service: bound_client(
                    counted(boto3.client(service, endpoint_url=endpoint, region_name=REGION), totals), budget
                )
                for service in ("ec2", "autoscaling")
            }
            began = time.perf_counter()
            work(clients, budget)
            rows.append((name, totals, time.perf_counter() - began))

        def templates(clients, budget) -> None:
            users = [{"kind": "auto_scaling_group", "name": "bench", "version": "1"}]
            for template_id in made["templates"]:
                plan = plan_template(clients["ec2"], budget, wanted, template_id=template_id, users=check_users(users))
                apply_template(clients["ec2"], budget, plan, "ec2meta.imds: metadata options")

        def groups(apply: bool):
            def work(clients, budget) -> None:
                for name in made["groups"]:
                    plan = plan_group(clients["autoscaling"], clients["ec2"], budget, name, wanted)
                    if apply:
                        apply_group(clients["autoscaling"], budget, plan)
                        left.extend(plan.left)

            return work

        def fleets(apply: bool):
            def work(clients, budget) -> None:
                for kind, fleet_id in made["fleets"]:
                    plan = plan_fleet(clients["ec2"], budget, kind, fleet_id, wanted)
                    if apply:
                        apply_fleet(clients["ec2"], budget, plan)
                        left.extend(plan.left)

            return work

        step(f"template step ({args.templates} templates)", templates)
        step(f"groups, check mode ({args.groups})", groups(apply=False))
        step(f"groups, moved ({args.groups})", groups(apply=True))
        step(f"fleets, check mode ({args.fleets})", fleets(apply=False))
        step(f"fleets, moved ({args.fleets})", fleets(apply=True))
        step(f"groups, second run ({args.groups})", groups(apply=True))
    finally:
        server.stop()

    print(
        f"{args.templates} templates, {args.groups} groups (a quarter mixed), {args.fleets} maintain fleets; "
        f"setup {setup:.1f} s\n"
    )
    actions = sorted({action for _name, totals, _elapsed in rows for action in totals})
    print("| step | " + " | ".join(actions) + " | API calls | wall s |")
    print("|---|" + "---:|" * (len(actions) + 2))
    for name, totals, elapsed in rows:
        print(
            f"| {name} | "
            + " | ".join(str(totals[a]) for a in actions)
            + f" | {sum(totals.values())} | {elapsed:.2f} |"
        )
    violations = GUARD_LOG.read_text().splitlines() if GUARD_LOG.exists() else []
    if violations or left:
        print("network guard:", violations, "left:", [spec.as_dict() for spec in left])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
