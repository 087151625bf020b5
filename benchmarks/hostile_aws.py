# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile-AWS benchmark: wall time, peak memory and outcome of metadata_options / metadata_options_info against
each answer class of tests/emulator/hostile_aws.py.

    .venv/bin/python benchmarks/hostile_aws.py [--aws-timeout 20] [--kill-after 120] [--collections ROOT]

metadata_options asks for http_tokens=required with imdsv1_usage_check=fail (the guard reads CloudWatch first);
the audit classes run metadata_options_info over the whole (endless) fleet. Each run is main() in a child process
(peak RSS is its VmHWM); "modified" counts the ModifyInstanceMetadataOptions calls the endpoint received. With
--collections pointing at an older checkout's collections root, the same table measures that version (which may
not know aws_timeout: then it is left out).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "emulator"))

from hostile import GUARD_LOG, REPO_ROOT, run_module
from hostile_aws import AUDIT_SCENARIOS, INSTANCE_ID, SCENARIOS, HostileAws


def knows_aws_timeout(root: str) -> bool:
    aws = Path(root) / "ansible_collections" / "ec2meta" / "imds" / "plugins" / "module_utils" / "_aws.py"
    return '"aws_timeout"' in aws.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--aws-timeout", type=float, default=20.0)
    parser.add_argument("--kill-after", type=float, default=120.0)
    parser.add_argument("--kill-above-mb", type=float, default=3000.0)
    parser.add_argument("--collections", default=str(REPO_ROOT / ".build" / "collections"), type=os.path.abspath)
    parser.add_argument("--only", help="run only classes whose name contains this")
    options = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    os.environ.pop("AWS_PROFILE", None)
    timeout = {"aws_timeout": options.aws_timeout} if knows_aws_timeout(options.collections) else {}
    server = HostileAws()
    runs = [("metadata_options", scenario.name, scenario, None) for scenario in SCENARIOS]
    runs += [
        ("metadata_options_info", name, "complete_zero", describe) for name, (_r, describe) in AUDIT_SCENARIOS.items()
    ]
    print(f"aws_timeout: {timeout.get('aws_timeout', 'not an option of this version')}")
    print(f"{'class':28} {'module':22} {'wall':>8} {'peak RSS':>10} {'modified':>8}  outcome")
    try:
        for module, name, scenario, describe in runs:
            if options.only and options.only not in name:
                continue
            server.use(scenario, describe=describe)
            args = {"region": "eu-west-1", "endpoint_url": server.url, **timeout}
            if module == "metadata_options":
                args.update(instance_id=INSTANCE_ID, http_tokens="required", imdsv1_usage_check="fail")
            elapsed, peak, outcome, _size = run_module(
                options.collections, module, args, options.kill_after, options.kill_above_mb
            )
            print(
                f"{name:28} {module:22} {elapsed:7.1f}s {peak:8.0f} MB {len(server.modified):>8}  {outcome}",
                flush=True,
            )
    finally:
        server.stop()
    violations = GUARD_LOG.read_text().splitlines() if GUARD_LOG.exists() else []
    print("network guard:", "; ".join(violations) if violations else "no connection outside loopback")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
