# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather benchmark: ec2meta.imds.metadata_facts against amazon.aws.ec2_metadata_facts and a bare crawl.

    .venv/bin/python benchmarks/gather.py [--runs 5] [--latencies 0,1,5]

Everything talks to the IMDS emulator, started as a subprocess on 127.0.0.1 (its own process, so its request
handling does not share this interpreter's GIL with the code being measured). The network guard is installed
here and in the emulator; the run fails if it recorded any connection attempt outside loopback.

Method (the same for both modules): each module's main() runs in this process with its arguments patched in,
as Ansible's own unit tests run modules; its JSON result is captured. This measures the gather itself rather
than ansible-playbook's start-up, which is the same for both. amazon.aws.ec2_metadata_facts hard-codes the
real IMDS address, so a copy of it is written to a temporary collection directory with that address replaced
by the emulator's URL (the copy is checked to no longer contain it). Each case is run once to warm up, then
--runs times; the table shows the median wall time and the requests the emulator counted in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GUARD_DIR = REPO_ROOT / "tests" / "network_guard"
EMULATOR = REPO_ROOT / "tests" / "emulator" / "imds_emulator.py"
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
REAL_IMDS = "169.254.169.254"

GUARD_LOG = Path(tempfile.mkdtemp(prefix="ec2meta-bench-")) / "network-guard.log"
os.environ["EC2META_NETWORK_GUARD_LOG"] = str(GUARD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARD_DIR), os.environ.get("PYTHONPATH")]))
for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(name, None)
for name in (
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
):
    os.environ.pop(name, None)
sys.path.insert(0, str(GUARD_DIR))
import sitecustomize as network_guard  # noqa: E402 - the guard module, from the path above

network_guard.install()


def _load_collection() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "ec2meta" / "imds"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(REPO_ROOT, link.parent))
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(COLLECTIONS_ROOT)])._install()


class Emulator:
    """The emulator CLI in a subprocess, driven through its /_emulator control interface."""

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


def amazon_aws_copy(emulator_url: str, workdir: Path) -> Path:
    # The amazon.aws that scripts/bootstrap.sh installs beside the checkout's link.
    source = COLLECTIONS_ROOT.joinpath(
        "ansible_collections", "amazon", "aws", "plugins", "modules", "ec2_metadata_facts.py"
    )
    target = workdir / "ansible_collections" / "bench" / "aws_copy" / "plugins" / "modules" / "ec2_metadata_facts.py"
    target.parent.mkdir(parents=True)
    text = source.read_text(encoding="utf-8").replace(f"http://{REAL_IMDS}", emulator_url)
    if REAL_IMDS in text:
        raise SystemExit(f"refusing to run: the copy of {source} still contains {REAL_IMDS}")
    target.write_text(text, encoding="utf-8")
    return target


def load_file(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(module, args: dict) -> tuple[float, dict]:
    from ansible.module_utils.testing import patch_module_args

    out = io.StringIO()
    started = time.perf_counter()
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        module.main()
    elapsed = time.perf_counter() - started
    result = json.loads(out.getvalue())
    if result.get("failed"):
        raise SystemExit(f"{module.__name__} failed: {result.get('msg')}")
    return elapsed, result


def tree_depth(node) -> int:
    """Requests on the longest chain of a crawl: one per listing level, one for the leaf."""
    if not isinstance(node, dict):
        return 1
    return 1 + max((tree_depth(child) for child in node.values()), default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latencies", default="0,1,5", help="injected latency per request, in ms")
    options = parser.parse_args()
    _load_collection()
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import client_config_from_params
    from ansible_collections.ec2meta.imds.plugins.module_utils._imds.crawl import walk
    from ansible_collections.ec2meta.imds.plugins.modules import metadata_facts

    emulator = Emulator()
    workdir = Path(tempfile.mkdtemp(prefix="ec2meta-bench-aws-"))
    try:
        amazon = load_file("bench_ec2_metadata_facts", amazon_aws_copy(emulator.url, workdir))

        def ours_full() -> None:
            run_main(metadata_facts, {"endpoint": emulator.url})

        def ours_min() -> None:
            run_main(metadata_facts, {"endpoint": emulator.url, "gather_subset": ["min"]})

        def amazon_full() -> None:
            run_main(amazon, {})

        depth = {}

        def direct_crawl() -> None:
            with ImdsClient(client_config_from_params(endpoint=emulator.url, environ={})) as client:
                depth["meta-data"] = tree_depth(walk(client, dirs=["meta-data"], missing_ok=False).values["meta-data"])

        cases = [
            ("metadata_facts (all)", ours_full),
            ("metadata_facts (min)", ours_min),
            ("amazon.aws ec2_metadata_facts", amazon_full),
            ("walk(meta-data) direct", direct_crawl),
        ]
        rows = []
        for latency_ms in [float(value) for value in options.latencies.split(",")]:
            emulator.control("POST", "options", {"latency": latency_ms / 1000.0})
            for name, case in cases:
                case()  # warm-up: imports, first connection
                emulator.control("POST", "reset-counters", {})
                case()
                state = emulator.control("GET", "state")
                times = []
                for _run in range(options.runs):
                    started = time.perf_counter()
                    case()
                    times.append(time.perf_counter() - started)
                counters = state["counters"]
                rows.append(
                    {
                        "case": name,
                        "latency_ms": latency_ms,
                        "requests": counters.get("total", 0),
                        "token_puts": counters.get("token_put", 0),
                        "max_same_path": max(state["path_counts"].values(), default=0),
                        "median_ms": statistics.median(times) * 1000,
                    }
                )
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print_table(rows)
    return check_targets(rows, depth.get("meta-data", 0))


def print_table(rows: list) -> None:
    header = f"{'case':32} {'latency':>8} {'requests':>9} {'token PUTs':>11} {'max/path':>9} {'median ms':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['case']:32} {row['latency_ms']:>6g}ms {row['requests']:>9} {row['token_puts']:>11} "
            f"{row['max_same_path']:>9} {row['median_ms']:>10.1f}"
        )


def check_targets(rows: list, depth: int) -> int:
    def find(case: str, latency: float) -> dict | None:
        return next((r for r in rows if r["case"] == case and r["latency_ms"] == latency), None)

    print()
    ours_rows = [r for r in rows if r["case"].startswith("metadata_facts")]
    results = []
    ours, theirs = find("metadata_facts (all)", 1.0), find("amazon.aws ec2_metadata_facts", 1.0)
    if ours and theirs:
        speedup = theirs["median_ms"] / ours["median_ms"]
        results.append(
            (f"full gather at 1 ms is >= 10x faster than ec2_metadata_facts ({speedup:.1f}x)", speedup >= 10)
        )
    results.append(("one token PUT per run", all(r["token_puts"] == 1 for r in ours_rows)))
    results.append(("no path requested twice in a run", all(r["max_same_path"] <= 1 for r in ours_rows)))
    for row in [r for r in rows if r["case"].startswith("crawl") and r["latency_ms"] > 0]:
        bound = 1.5 * (depth + 1) * row["latency_ms"]
        results.append(
            (
                f"crawl at {row['latency_ms']:g} ms within 1.5 x (depth {depth} + 1) x latency = {bound:.1f} ms "
                f"({row['median_ms']:.1f} ms)",
                row["median_ms"] <= bound,
            )
        )
    for text, met in results:
        print(f"[{'met' if met else 'MISSED'}] {text}")
    violations = GUARD_LOG.read_text(encoding="utf-8").splitlines() if GUARD_LOG.exists() else []
    if violations:
        print(f"network guard: {len(violations)} connection(s) outside loopback were refused: {violations}")
        return 2
    print("network guard: no connection outside loopback")
    return 0


if __name__ == "__main__":
    sys.exit(main())
