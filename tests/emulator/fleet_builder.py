# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet in a moto server (with the stand-ins of moto_ec2_gaps), for the campaign's test, docs and benchmark.

    python tests/emulator/fleet_builder.py --endpoint http://127.0.0.1:PORT --regions eu-west-1 us-east-1

``story`` builds, per region, one of each case the campaign meets (instances ready, calling IMDSv1, required;
launch templates that allow IMDSv1, rely on an AMI's ImdsSupport, move on in their latest version, are pinned by a
group; a launch configuration). ``scale`` builds N instances, templates and groups for the benchmark. IMDSv1 use
is seeded into moto's CloudWatch as EC2 publishes it (MetadataNoToken per instance, hourly).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from moto_link import check_loopback, ec2_client

HOURS_AGO = timedelta(hours=3)


def _usage(cloudwatch: Any, instance_ids: list, metric: str, value: float) -> None:
    moment = datetime.now(timezone.utc) - HOURS_AGO
    for first in range(0, len(instance_ids), 500):
        cloudwatch.put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    "Timestamp": moment,
                    "Value": float(value),
                    "Unit": "Count",
                }
                for instance_id in instance_ids[first : first + 500]
            ],
        )


def _launch(ec2: Any, image: str, count: int, name: str, tokens: str = "optional") -> list:
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
    reservation = ec2.run_instances(
        ImageId=image,
        MinCount=count,
        MaxCount=count,
        InstanceType="t3.micro",
        TagSpecifications=tags,
        MetadataOptions={"HttpTokens": tokens, "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
    )
    return [instance["InstanceId"] for instance in reservation["Instances"]]


def story(endpoint: str, region: str) -> dict:
    """One of each case, in ``region``; returns the ids made."""
    check_loopback(endpoint)
    ec2, cloudwatch = ec2_client(endpoint, region), ec2_client(endpoint, region, "cloudwatch")
    autoscaling = ec2_client(endpoint, region, "autoscaling")
    made: dict = {
        "ami_v2": ec2.register_image(Name="golden-imdsv2", ImdsSupport="v2.0")["ImageId"],
        "ami_plain": ec2.register_image(Name="golden-legacy")["ImageId"],
    }
    plain = made["ami_plain"]
    made["ready"] = _launch(ec2, plain, 3, "web")
    made["calling"] = _launch(ec2, plain, 1, "reporting")
    made["required"] = _launch(ec2, plain, 1, "api", tokens="required")
    _usage(cloudwatch, made["ready"], "MetadataNoToken", 0)
    _usage(cloudwatch, made["calling"], "MetadataNoToken", 12)
    _usage(cloudwatch, made["required"], "MetadataNoTokenRejected", 0)

    def template(name: str, *versions: dict) -> str:
        template_id = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=versions[0])[
            "LaunchTemplate"
        ]["LaunchTemplateId"]
        for data in versions[1:]:
            ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data)
        made[name] = template_id
        return template_id

    base = {"ImageId": plain, "InstanceType": "t3.micro"}
    template("web", {**base, "MetadataOptions": {"HttpTokens": "optional"}})
    template("batch", {"ImageId": made["ami_v2"], "InstanceType": "t3.micro"})
    template("legacy", {**base, "MetadataOptions": {"HttpTokens": "optional"}})
    template("api", {**base, "MetadataOptions": {"HttpTokens": "required"}},
             {**base, "MetadataOptions": {"HttpTokens": "optional"}})  # fmt: skip
    zones = {"AvailabilityZones": [f"{region}a"], "MinSize": 0, "MaxSize": 2}
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web-asg", LaunchTemplate={"LaunchTemplateId": made["web"], "Version": "$Default"}, **zones
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="legacy-asg", LaunchTemplate={"LaunchTemplateId": made["legacy"], "Version": "1"}, **zones
    )
    autoscaling.create_launch_configuration(LaunchConfigurationName="old-lc", ImageId=plain, InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="old-asg", LaunchConfigurationName="old-lc", **zones)
    return made


def scale(endpoint: str, region: str, instances: int, templates: int, groups: int, fleets: int = 0) -> dict:
    """``instances`` instances (a tenth calling IMDSv1), ``templates`` templates (half requiring tokens),
    ``groups`` groups on them, ``fleets`` fleets (half EC2 Fleets of type maintain on a template version, half Spot
    Fleet requests launching the AMI; capacity 0, so moto launches nothing for them)."""
    check_loopback(endpoint)
    ec2, cloudwatch = ec2_client(endpoint, region), ec2_client(endpoint, region, "cloudwatch")
    autoscaling = ec2_client(endpoint, region, "autoscaling")
    image = ec2.register_image(Name=f"bench-{region}")["ImageId"]
    ids: list = []
    while len(ids) < instances:
        ids += _launch(ec2, image, min(100, instances - len(ids)), "bench")
    calling = ids[: instances // 10]
    _usage(cloudwatch, calling, "MetadataNoToken", 3)
    _usage(cloudwatch, ids[instances // 10 :], "MetadataNoToken", 0)
    template_ids = []
    for number in range(templates):
        tokens = "required" if number % 2 else "optional"
        template_ids.append(
            ec2.create_launch_template(
                LaunchTemplateName=f"bench-{number}",
                LaunchTemplateData={
                    "ImageId": image,
                    "InstanceType": "t3.micro",  # moto's CreateFleet needs one
                    "MetadataOptions": {"HttpTokens": tokens},
                },
            )["LaunchTemplate"]["LaunchTemplateId"]
        )
    for number in range(groups):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"bench-{number}",
            LaunchTemplate={"LaunchTemplateId": template_ids[number % len(template_ids)], "Version": "$Default"},
            AvailabilityZones=[f"{region}a"],
            MinSize=0,
            MaxSize=1,
        )
    for number in range(fleets):
        if number % 2:
            ec2.request_spot_fleet(
                SpotFleetRequestConfig={
                    "TargetCapacity": 0,
                    "IamFleetRole": "arn:aws:iam::123456789012:role/bench-spot-fleet",
                    "AllocationStrategy": "lowestPrice",
                    "LaunchSpecifications": [{"ImageId": image, "InstanceType": "t3.micro"}],
                }
            )
        else:
            ec2.create_fleet(
                Type="maintain",
                TargetCapacitySpecification={"TotalTargetCapacity": 0, "DefaultTargetCapacityType": "on-demand"},
                LaunchTemplateConfigs=[
                    {
                        "LaunchTemplateSpecification": {
                            "LaunchTemplateId": template_ids[number % len(template_ids)],
                            "Version": "1",
                        },
                        "Overrides": [{"InstanceType": "t3.small"}, {"InstanceType": "t3.large", "ImageId": image}],
                    }
                ],
            )
    return {"instances": len(ids), "templates": len(template_ids), "groups": groups, "fleets": fleets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--regions", nargs="+", default=["eu-west-1"])
    args = parser.parse_args()
    print(json.dumps({region: story(args.endpoint, region) for region in args.regions}, indent=2))


if __name__ == "__main__":
    main()
