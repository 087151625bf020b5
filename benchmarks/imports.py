# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import-cost benchmark: what a module process spends importing before and while it does its work.

    .venv/bin/python benchmarks/imports.py [--runs 7] [--root PATH]

Two tables, each the median of --runs fresh interpreters:

1. import only: ``python -X importtime -c "import <module>"`` for every file in plugins/modules/: the module's
   cumulative import time, and which heavy libraries (requests, boto3, concurrent.futures) its import pulled in.
2. a whole module process, as Ansible runs it (``python -m <module> args.json``) against the IMDS emulator on
   127.0.0.1: wall time, the total of the top-level imports, and again which heavy libraries were loaded. This is
   the figure that counts, since a library imported lazily is still paid for when the module needs it.

--root measures another checkout (e.g. a git worktree of an older commit) with this script, so before/after figures
come from the same method. Everything runs under the network guard; the run fails if it logged a connection.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
HEAVY = ("requests", "boto3", "botocore", "concurrent.futures")
PREFIX = "ansible_collections.ec2meta.imds.plugins.modules."
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")

# The module processes timed end to end: (label, module, args); the emulator's URL is added as `endpoint`.
PROCESSES = (
    ("metadata_facts (min)", "metadata_facts", {"gather_subset": ["min"]}),
    ("metadata_facts (all)", "metadata_facts", {"gather_subset": ["all"]}),
    ("metadata (instance-id)", "metadata", {"path": "meta-data/instance-id"}),
    ("role_credentials_info", "role_credentials_info", {}),
)


def environment(root: Path, guard_log: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT", None)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "tests" / "network_guard"), str(root / ".build" / "collections")])
    env["EC2META_NETWORK_GUARD_LOG"] = str(guard_log)
    return env


def parse_importtime(stderr: str) -> tuple[int, dict]:
    """Total microseconds of the top-level imports, and the cumulative time of each imported name."""
    total, cumulative = 0, {}
    for match in LINE.finditer(stderr):
        cum, indent, name = int(match.group(2)), len(match.group(3)), match.group(4)
        cumulative.setdefault(name, cum)
        if indent == 0:
            total += cum
    return total, cumulative


def heavy(cumulative: dict) -> str:
    return ", ".join(name for name in HEAVY if name in cumulative) or "-"


def import_only(root: Path, env: dict, runs: int) -> list:
    rows = []
    for path in sorted((root / "plugins" / "modules").glob("*.py")):
        name = PREFIX + path.stem
        times, loaded = [], ""
        for _run in range(runs):
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", f"import {name}"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            cumulative = parse_importtime(done.stderr)[1]
            times.append(cumulative[name] / 1000)
            loaded = heavy(cumulative)
        rows.append((path.stem, statistics.median(times), loaded))
    return rows


def start_emulator(env: dict) -> tuple[subprocess.Popen, str]:
    emulator = HERE / "tests" / "emulator" / "imds_emulator.py"
    command = [sys.executable, str(emulator), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    return process, json.loads(process.stdout.readline())["url"]


def whole_process(root: Path, env: dict, runs: int, workdir: Path) -> list:
    process, url = start_emulator(env)
    try:
        rows = []
        for label, module, args in PROCESSES:
            args_file = workdir / f"{module}.json"
            args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "endpoint": url}}), encoding="utf-8")
            walls, imports, loaded = [], [], ""
            for _run in range(runs):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-X", "importtime", "-m", PREFIX + module, str(args_file)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                walls.append((time.perf_counter() - started) * 1000)
                result = json.loads(done.stdout)
                if result.get("failed"):
                    raise SystemExit(f"{label} failed: {result.get('msg')}")
                total, cumulative = parse_importtime(done.stderr)
                imports.append(total / 1000)
                loaded = heavy(cumulative)
            rows.append((label, statistics.median(walls), statistics.median(imports), loaded))
        return rows
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to measure (default: this one)")
    options = parser.parse_args()
    root = options.root.resolve()
    with tempfile.TemporaryDirectory(prefix="ec2meta-imports-") as tmp:
        workdir = Path(tmp)
        guard_log = workdir / "network-guard.log"
        env = environment(root, guard_log)
        print(f"checkout: {root}\n\n| module | import ms | heavy libraries loaded |\n|---|---:|---|")
        for stem, ms, loaded in import_only(root, env, options.runs):
            print(f"| {stem} | {ms:.1f} | {loaded} |")
        print("\n| module process | wall ms | imports ms | heavy libraries loaded |\n|---|---:|---:|---|")
        for label, wall, imports, loaded in whole_process(root, env, options.runs, workdir):
            print(f"| {label} | {wall:.1f} | {imports:.1f} | {loaded} |")
        if guard_log.exists() and guard_log.read_text(encoding="utf-8").strip():
            print(f"network guard refused connections:\n{guard_log.read_text(encoding='utf-8')}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
