# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile-server benchmark: wall time and peak memory of each module against a misbehaving IMDS.

    .venv/bin/python benchmarks/hostile.py [--kill-after 30] [--collections .build/collections]

Starts the emulator as a subprocess (127.0.0.1, under the network guard), injects one fault per scenario through
its control interface, and runs the module's main() in a child process with the default client options
(timeout 1 s, total_timeout 10 s). For each run it prints the wall time, the child's peak RSS (VmHWM), the size
of its output and the outcome (reason, or "killed" once it ran past --kill-after seconds or above
--kill-above-mb). --collections points at another
checkout's collections root, to measure an older version the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GUARD_DIR = REPO_ROOT / "tests" / "network_guard"
EMULATOR = REPO_ROOT / "tests" / "emulator" / "imds_emulator.py"
GUARD_LOG = Path(tempfile.mkdtemp(prefix="ec2meta-hostile-")) / "network-guard.log"
os.environ["EC2META_NETWORK_GUARD_LOG"] = str(GUARD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")]))
for name in (
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
):
    os.environ.pop(name, None)

TOKEN = "/latest/api/token"  # noqa: S105 - a path
INSTANCE_ID = "/latest/meta-data/instance-id"
# 80 header lines just under http.client's 64 KiB line limit.
HUGE_HEADERS = "".join(f"\r\nX-Filler-{index}: {'h' * 64_000}" for index in range(80))
# (name, module, module args, faults to inject, accept stall)
SCENARIOS = [
    (
        "slow body (1 B / 0.5 s)",
        "metadata",
        {"path": "meta-data/instance-id"},
        [{"kind": "slow_body", "path": INSTANCE_ID, "length": 60000, "interval": 0.5}],
        None,
    ),
    (
        "slow token body",
        "metadata",
        {"path": "meta-data/instance-id"},
        [{"kind": "slow_body", "path": TOKEN, "length": 900, "interval": 0.5}],
        None,
    ),
    (
        "endless header lines",
        "metadata",
        {"path": "meta-data/instance-id"},
        [{"kind": "slow_headers", "path": TOKEN, "interval": 0.5}],
        None,
    ),
    (
        "endless chunked user-data",
        "metadata",
        {"path": "user-data"},
        [{"kind": "endless_body", "path": "/latest/user-data"}],
        None,
    ),
    (
        "gzip bomb (1 GiB inflated)",
        "metadata",
        {"path": "meta-data/instance-id"},
        [{"kind": "compressed_body", "path": INSTANCE_ID, "inflated": 1024**3}],
        None,
    ),
    (
        "50 MB token",
        "metadata",
        {"path": "meta-data/instance-id"},
        [{"kind": "huge_body", "path": TOKEN, "length": 50_000_000}],
        None,
    ),
    (
        "20 MB instance-id, probe",
        "probe",
        {"check_ipv6": False},
        [{"kind": "huge_body", "path": INSTANCE_ID, "length": 20_000_000}],
        None,
    ),
    (
        "slow body, full gather",
        "metadata_facts",
        {},
        [{"kind": "slow_body", "path": "/latest/meta-data/ami-id", "length": 60000, "interval": 0.5}],
        None,
    ),
    (
        "5 MB of headers on every answer, full gather",
        "metadata_facts",
        {},
        [{"kind": "raw_answer", "head": "HTTP/1.1 200 OK\r\nContent-Length: {length}" + HUGE_HEADERS}],
        None,
    ),
    ("accepts TCP, never answers", "metadata", {"path": "meta-data/instance-id"}, [{"kind": "blackhole"}], None),
    ("stops accepting 2.5 s after 3 connections", "metadata_facts", {}, [], {"after": 3, "seconds": 2.5}),
]

RUN_ONE = r"""
import contextlib, io, json, sys
root, name, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[root])._install()
import importlib
from ansible.module_utils.testing import patch_module_args
module = importlib.import_module(f"ansible_collections.ec2meta.imds.plugins.modules.{name}")
with patch_module_args(args), contextlib.suppress(SystemExit):
    module.main()
"""


class Emulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(EMULATOR), "--port", "0"], stdout=subprocess.PIPE, text=True, env=os.environ
        )
        self.url = json.loads(self.process.stdout.readline())["url"]

    def control(self, method: str, action: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_emulator/{action}", data=data, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the loopback emulator
            return json.loads(response.read() or b"{}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_module(
    root: str, module: str, args: dict, kill_after: float, kill_above_mb: float
) -> tuple[float, float, str, int]:
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_ONE, root, module, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    peak = 0.0
    output = b""
    while True:
        peak = max(peak, peak_rss_mb(child.pid) or 0.0)
        try:
            output = child.communicate(timeout=0.1)[0]
            break
        except subprocess.TimeoutExpired:
            over_time = time.monotonic() - started > kill_after
            if over_time or peak > kill_above_mb:
                child.kill()
                child.communicate()
                why = f"after {kill_after:g}s" if over_time else f"above {kill_above_mb:g} MB"
                return time.monotonic() - started, peak, f"killed {why}", 0
    elapsed = time.monotonic() - started
    try:
        result = json.loads(output.decode("utf-8", errors="replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return elapsed, peak, "no JSON result (crashed)", len(output)
    outcome = f"failed: {result.get('reason')}" if result.get("failed") else "ok"
    return elapsed, peak, outcome, len(output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kill-after", type=float, default=30.0)
    parser.add_argument("--collections", default=str(REPO_ROOT / ".build" / "collections"), type=os.path.abspath)
    parser.add_argument("--kill-above-mb", type=float, default=3000.0, help="stop a run whose RSS passes this")
    parser.add_argument("--only", help="run only scenarios whose name contains this")
    options = parser.parse_args()
    emulator = Emulator()
    rows = []
    try:
        for name, module, args, faults, stall in SCENARIOS:
            if options.only and options.only not in name:
                continue
            emulator.control("DELETE", "faults")
            for fault in faults:
                emulator.control("POST", "faults", fault)
            if stall:
                emulator.control("POST", "accept-stall", stall)
            elapsed, peak, outcome, size = run_module(
                options.collections,
                module,
                {"endpoint": emulator.url, **args},
                options.kill_after,
                options.kill_above_mb,
            )
            rows.append((name, module, elapsed, peak, outcome, size))
            print(f"{name:44} {module:15} {elapsed:7.2f}s {peak:8.1f} MB  {size:>9} B  {outcome}", flush=True)
    finally:
        emulator.stop()
    violations = GUARD_LOG.read_text().splitlines() if GUARD_LOG.exists() else []
    print("network guard:", "; ".join(violations) if violations else "no connection outside loopback")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
