# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the IMDS emulator and a moto server as background processes on 127.0.0.1.

    python tests/emulator/services.py start --state-dir DIR [--ec2-instance] [emulator options...]
    python tests/emulator/services.py stop --state-dir DIR

``start`` waits until both listen and writes DIR/services.json: {"imds_endpoint", "moto_endpoint", "pids"}.
With ``--ec2-instance`` it also launches an instance in moto (with the emulator's instance profile unless the
emulator runs with ``--no-role``) and links the emulator to it, adding "instance_id" and "region".
Used by the demo and the role's molecule scenarios, which need the services to outlive one command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from moto_helpers import ensure_role

HERE = Path(__file__).resolve().parent
STARTUP_SECONDS = 30.0


def _wait_for_port(port_file: Path, process: subprocess.Popen, what: str) -> int:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = port_file.with_suffix(".log")
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
            raise SystemExit(f"{what} exited with {process.returncode} before listening; its log ends:\n{tail}")
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text())
        time.sleep(0.05)
    raise SystemExit(f"{what} did not start listening within {STARTUP_SECONDS:g}s")


def _spawn(command: list, log: Path) -> subprocess.Popen:
    with open(log, "w", encoding="utf-8") as handle:
        return subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )


def start(state_dir: Path, emulator_args: list) -> dict:
    state_dir.mkdir(parents=True, exist_ok=True)
    stop(state_dir)
    moto_port_file = state_dir / "moto.port"
    imds_port_file = state_dir / "imds.port"
    for stale in (moto_port_file, imds_port_file):
        stale.unlink(missing_ok=True)
    moto = _spawn([sys.executable, __file__, "moto", "--port-file", str(moto_port_file)], state_dir / "moto.log")
    emulator = _spawn(
        [
            sys.executable,
            str(HERE / "imds_emulator.py"),
            "--port",
            "0",
            "--port-file",
            str(imds_port_file),
            *emulator_args,
        ],
        state_dir / "imds.log",
    )
    state = {
        "imds_endpoint": f"http://127.0.0.1:{_wait_for_port(imds_port_file, emulator, 'the IMDS emulator')}",
        "moto_endpoint": f"http://127.0.0.1:{_wait_for_port(moto_port_file, moto, 'the moto server')}",
        "pids": [emulator.pid, moto.pid],
    }
    (state_dir / "services.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    return state


def _ensure_instance_profile(iam) -> None:
    """web-server-role in web-server-profile; one moto server may already have them from an earlier test."""
    if any(p["InstanceProfileName"] == "web-server-profile" for p in iam.list_instance_profiles()["InstanceProfiles"]):
        return
    ensure_role(iam, "web-server-role")
    iam.create_instance_profile(InstanceProfileName="web-server-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-server-profile", RoleName="web-server-role")


def launch_instance(state: dict, with_role: bool, region: str = "eu-west-1") -> dict:
    """An EC2 instance in moto that the emulator then answers for: its id, and its metadata options."""
    import boto3
    import requests

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    ec2 = session.client("ec2", endpoint_url=state["moto_endpoint"])
    launch: dict = {
        "ImageId": ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": "t3.medium",
        "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
    }
    if with_role:
        _ensure_instance_profile(session.client("iam", endpoint_url=state["moto_endpoint"]))
        launch["IamInstanceProfile"] = {"Name": "web-server-profile"}
    instance_id = ec2.run_instances(**launch)["Instances"][0]["InstanceId"]
    link = {"endpoint": state["moto_endpoint"], "instance_id": instance_id, "region": region}
    response = requests.post(f"{state['imds_endpoint']}/_emulator/link-moto", json=link, timeout=10)
    response.raise_for_status()
    return {"instance_id": instance_id, "region": region}


def stop(state_dir: Path) -> None:
    state_file = state_dir / "services.json"
    if not state_file.exists():
        return
    for pid in json.loads(state_file.read_text())["pids"]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    state_file.unlink()


def run_moto(port_file: Path) -> None:
    from moto.server import ThreadedMotoServer
    from moto_ec2_gaps import install as install_ec2_gaps

    install_ec2_gaps()  # the EC2 calls moto lacks (MOTO_GAPS.md)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port_file.write_text(str(server.get_host_and_port()[1]))
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["start", "stop", "moto"])
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--ec2-instance", action="store_true", help="launch an instance in moto and link to it")
    args, emulator_args = parser.parse_known_args()
    if args.action == "moto":
        run_moto(args.port_file)
    elif args.action == "start":
        state = start(args.state_dir, emulator_args)
        if args.ec2_instance:
            state.update(launch_instance(state, with_role="--no-role" not in emulator_args))
            (args.state_dir / "services.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
        print(json.dumps(state))
    else:
        stop(args.state_dir)


if __name__ == "__main__":
    main()
