# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""imdsv1_callers on a huge analyzer log: wall time and peak memory of reading it.

    .venv/bin/python benchmarks/callers_log.py [--size-mb 1024] [--keep]

Writes a log of --size-mb MiB in the system temp directory, in the analyzer's forms (tests/emulator/analyzer_log.py:
every release's line, a few hundred distinct programs, tokens in argv, missing payloads, ended processes, binary
junk and 300 KiB lines), then reads it in a child process per case (so that the child's peak RSS, VmHWM, is the
reader's own): with the module's default limits (it stops at max_log_bytes, 512 MiB), and with limits raised so
the whole file is read. Prints a table and deletes the file. Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "emulator"))
sys.path.insert(0, str(REPO_ROOT / ".build" / "collections"))

TOKEN = "AQAEAFEOMInKb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g=="  # noqa: S105 - a made-up token to look for


def block(seed: int = 20) -> bytes:
    """About 4 MiB of log lines, in a fixed mix of forms."""
    from analyzer_log import FORMS, Call, Process, jenkins_calls, line

    rng = random.Random(seed)
    start = datetime(2026, 11, 30, 0, 0, 0)
    lines: list = []
    size = 0
    while size < 4 * 1024 * 1024:
        kind = rng.random()
        moment = start + timedelta(seconds=len(lines))
        if kind < 0.4:
            call = jenkins_calls(moment, 1, first_pid=20000 + rng.randrange(100))[0]
        elif kind < 0.7:
            program = rng.randrange(300)
            call = Call(
                chain=[Process(rng.randrange(1, 99999), f"agent{program}", f"/opt/agent{program}/bin/agent --poll")],
                version=rng.choice(["v1", "v2"]),
                token=TOKEN if rng.random() < 0.5 else None,
                time=moment,
            )
        elif kind < 0.8:
            call = Call(
                chain=[Process(rng.randrange(1, 99999), "curl", f"curl -H X-aws-ec2-metadata-token:{TOKEN} u")],
                version="v2",
                token=TOKEN,
                time=moment,
            )
        elif kind < 0.9:
            call = Call(chain=[Process(rng.randrange(1, 99999), None)], missing_payload=True, time=moment)
        elif kind < 0.999:
            lines.append(bytes(rng.randrange(256) for _byte in range(rng.randrange(1, 200))).replace(b"\n", b" "))
            size += len(lines[-1]) + 1
            continue
        else:
            call = Call(chain=[Process(7, "java", "java -cp " + "x" * 300_000)], time=moment)
        text = line(call, rng.choice(FORMS)).encode()
        lines.append(text)
        size += len(text) + 1
    return b"\n".join(lines) + b"\n"


def write_log(path: Path, size_mb: int) -> int:
    chunk = block()
    with path.open("wb") as stream:
        while stream.tell() < size_mb * 1024 * 1024:
            stream.write(chunk)
        return stream.tell()


def child(path: str, max_bytes: int) -> None:
    """Read the log: the module's default limits with max_bytes 0, else up to max_bytes with an hour's budget."""
    from dataclasses import replace

    from ansible_collections.ec2meta.imds.plugins.module_utils._callers.log import LogLimits, read_callers

    began = time.monotonic()
    limits = LogLimits() if max_bytes == 0 else replace(LogLimits(), max_bytes=max_bytes, max_seconds=3600)
    callers, summary, _tokens = read_callers(path, limits=limits)
    wall = time.monotonic() - began
    peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    leaked = TOKEN in json.dumps(callers)
    print(
        json.dumps(
            {
                "wall": wall,
                "peak_mb": int(peak.split()[1]) / 1024,
                "bytes": summary["bytes_read"],
                "lines": summary["lines_read"],
                "unparsed": summary["lines_unparsed"],
                "cut": summary["lines_cut"],
                "callers": len(callers),
                "stopped": summary["stopped"],
                "token_in_result": leaked,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    directory = Path(tempfile.mkdtemp(prefix="ec2meta-callers-bench-"))
    path = directory / "imds-trace.log"
    try:
        began = time.monotonic()
        size = write_log(path, args.size_mb)
        print(f"wrote {size / 1024 / 1024:.0f} MiB to {path} in {time.monotonic() - began:.1f} s")
        print("| case | MiB read | lines | unparsed | cut | callers | stopped | wall s | peak RSS MB | token out |")
        print("|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
        for case, max_bytes in (("default limits (512 MiB, 60 s)", 0), ("whole file (limits raised)", size + 1)):
            completed = subprocess.run(
                [sys.executable, __file__, "--child", str(path), str(max_bytes)],
                capture_output=True,
                text=True,
                check=True,
                timeout=7200,
            )
            r = json.loads(completed.stdout)
            print(
                f"| {case} | {r['bytes'] / 1024 / 1024:.0f} | {r['lines']} | {r['unparsed']} | {r['cut']} | "
                f"{r['callers']} | {r['stopped']} | {r['wall']:.1f} | {r['peak_mb']:.0f} | {r['token_in_result']} |"
            )
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            directory.rmdir()


if __name__ == "__main__":
    main()
