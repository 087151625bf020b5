# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import-cost benchmark: what a module process spends importing before and while it does its work.

    .venv/bin/python benchmarks/imports.py [--runs 7] [--against PATH]

Two tables, each the median of --runs fresh interpreters:

1. import only: ``python -X importtime -c "import <module>"`` for every file in plugins/modules/: the module's
   cumulative import time, and which heavy libraries (requests, boto3, concurrent.futures) its import pulled in.
2. a whole module process, as Ansible runs it (``python -m <module> args.json``) against the IMDS emulator on
   127.0.0.1: wall time, the total of the top-level imports, and again which heavy libraries were loaded. This is
   the figure that counts, since a library imported lazily is still paid for when the module needs it.

--against measures another checkout too (e.g. a git worktree of an older commit, with its .build/collections link
from scripts/bootstrap.sh), alternating run by run with this one, so that before/after figures come from the same
method and the same moments of a busy machine. Everything runs under the network guard; the run fails if it
logged a connection.
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


def environment(guard_log: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT", None)
    env["PYTHONPATH"] = python_path(HERE)
    env["EC2META_NETWORK_GUARD_LOG"] = str(guard_log)
    return env


def python_path(root: Path) -> str:
    """The network guard, and the checkout ``root`` as the collection ec2meta.imds."""
    return os.pathsep.join([str(HERE / "tests" / "network_guard"), str(root / ".build" / "collections")])


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


def run_import(root: Path, env: dict, name: str) -> tuple[float, str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {name}"],
        env={**env, "PYTHONPATH": python_path(root)},
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative = parse_importtime(done.stderr)[1]
    return cumulative[name] / 1000, heavy(cumulative)


def run_process(root: Path, env: dict, module: str, args_file: Path) -> tuple[float, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", PREFIX + module, str(args_file)],
        env={**env, "PYTHONPATH": python_path(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    result = json.loads(done.stdout)
    if result.get("failed"):
        raise SystemExit(f"{module} failed in {root}: {result.get('msg')}")
    total, cumulative = parse_importtime(done.stderr)
    return wall, total / 1000, heavy(cumulative)


def alternate(roots: list, runs: int, measure) -> list:
    """``measure(root)`` for each checkout in turn, ``runs`` rounds: both see the same moments of a busy machine.
    Returns, per checkout, the median of each number and the last text."""
    samples: list = [[] for _root in roots]
    for _round in range(runs):
        for index, root in enumerate(roots):
            samples[index].append(measure(root))
    medians = []
    for rows in samples:
        columns = list(zip(*rows))
        medians.append([statistics.median(column) for column in columns[:-1]] + [columns[-1][-1]])
    return medians


def start_emulator(env: dict) -> tuple[subprocess.Popen, str]:
    emulator = HERE / "tests" / "emulator" / "imds_emulator.py"
    command = [sys.executable, str(emulator), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    return process, json.loads(process.stdout.readline())["url"]


def print_imports(roots: list, env: dict, runs: int) -> None:
    names = sorted(path.stem for path in (HERE / "plugins" / "modules").glob("*.py"))
    print(_header("module", roots, ["import ms", "heavy libraries loaded"]))
    for stem in names:
        measured = alternate(roots, runs, lambda root, stem=stem: run_import(root, env, PREFIX + stem))
        print(_row(stem, measured, ["{:.1f}", "{}"]))


def print_processes(roots: list, env: dict, runs: int, workdir: Path) -> None:
    process, url = start_emulator(env)
    try:
        print(_header("module process", roots, ["wall ms", "imports ms", "heavy libraries loaded"]))
        for label, module, args in PROCESSES:
            args_file = workdir / f"{module}.json"
            args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "endpoint": url}}), encoding="utf-8")
            measured = alternate(roots, runs, lambda root, module=module, args_file=args_file: run_process(
                root, env, module, args_file
            ))  # fmt: skip
            print(_row(label, measured, ["{:.1f}", "{:.1f}", "{}"]))
    finally:
        process.terminate()
        process.wait(timeout=10)


def _header(first: str, roots: list, columns: list) -> str:
    names = [
        f"{column} ({index + 1})" if len(roots) > 1 else column for index in range(len(roots)) for column in columns
    ]
    return f"| {first} | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)


def _row(label: str, measured: list, formats: list) -> str:
    cells = [fmt.format(value) for values in measured for fmt, value in zip(formats, values)]
    return f"| {label} | " + " | ".join(cells) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout (e.g. a worktree of an older commit)")
    options = parser.parse_args()
    roots = [HERE] + ([options.against.resolve()] if options.against else [])
    with tempfile.TemporaryDirectory(prefix="ec2meta-imports-") as tmp:
        workdir = Path(tmp)
        guard_log = workdir / "network-guard.log"
        env = environment(guard_log)
        for index, root in enumerate(roots):
            print(f"({index + 1}) {root}")
        print()
        print_imports(roots, env, options.runs)
        print()
        print_processes(roots, env, options.runs, workdir)
        if guard_log.exists() and guard_log.read_text(encoding="utf-8").strip():
            print(f"network guard refused connections:\n{guard_log.read_text(encoding='utf-8')}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
