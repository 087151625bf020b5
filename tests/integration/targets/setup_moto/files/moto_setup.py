# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create things in the moto server for integration targets; prints one JSON object.

moto_setup.py instance URL REGION              -> {"instance_id": ...}
moto_setup.py describe-only-user URL NAME      -> {"access_key": ..., "secret_key": ...} (run it under no_log)
moto_setup.py enforce-iam URL on|off           -> {"previous": ...}
moto_setup.py image URL REGION                 -> {"image_id": ...} (an AMI registered without ImdsSupport)
"""

from __future__ import annotations

import json
import sys

import boto3
import requests

# moto 5 knows this AMI in every region.
IMAGE_ID = "ami-12c6146b"


def create_instance(endpoint: str, region: str) -> dict:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
    reservation = ec2.run_instances(ImageId=IMAGE_ID, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    return {"instance_id": reservation["Instances"][0]["InstanceId"]}


def create_describe_only_user(endpoint: str, name: str) -> dict:
    """An IAM user allowed ec2:Describe* only: enough to read the options, not to change them."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="describe-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


def enforce_iam(endpoint: str, switch: str) -> dict:
    """moto's server-mode switch: IAM policies are checked from the next request on, or not at all."""
    count = {"on": "0", "off": "inf"}[switch]
    answer = requests.post(f"{endpoint}/moto-api/reset-auth", data=count.encode(), timeout=10)
    answer.raise_for_status()
    return {"previous": answer.json()["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]}


def register_image(endpoint: str, region: str) -> dict:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
    return {"image_id": ec2.register_image(Name="integration-golden")["ImageId"]}


def main(argv: list) -> int:
    command, endpoint, argument = argv
    if command == "image":
        result = register_image(endpoint, argument)
    elif command == "instance":
        result = create_instance(endpoint, argument)
    elif command == "describe-only-user":
        result = create_describe_only_user(endpoint, argument)
    elif command == "enforce-iam":
        result = enforce_iam(endpoint, argument)
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
