# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""imdsv1_callers against hostile host files (issue 28): the worst line of each class, and the worst files.

    .venv/bin/python benchmarks/hostile_lines.py [--against PATH] [--sizes 10000,100000,1000000] [--timeout 60]

Each case is a file written in the system temp directory, then read by ``read_callers`` (or the SDK scan for
archives) in a child process with ``time_budget`` 10 s, as a user would run the module; the child's peak RSS
(VmHWM) is the reader's own. A case still running after --timeout seconds is killed and shown as such, and the
larger sizes of its class are not tried. Line classes put N characters where a local user can: its own argv,
written by the analyzer into the log. --against measures another checkout too (a git worktree of an older commit,
whose tests/conftest.py has made its .build/collections link), so a before/after table is one command.
Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TOKEN = "AQAEAFEO+InKb/S7me+hLqzu83lYdeDV7r/sPh2D4SJF6v5IwD4S8g=="  # noqa: S105 - a made-up token to look for
PREFIX = "[2026-11-30 02:00:00,000] [WARNING] IMDSv1(!) (pid:4242:sh argv:"
DETAILS = ") req details: GET /latest/meta-data/ HTTP/1.1, Host: 169.254.169.254, User-Agent: curl/8.0, Accept: */*"


def argv_line(argv: str) -> bytes:
    return (PREFIX + argv + DETAILS + "\n").encode()


# class: (what it is, the file's bytes for N characters, max_line_bytes or None for the default)
LINES = {
    "header+blanks": (
        "the token header name, then N blanks",
        lambda n: argv_line("x-aws-ec2-metadata-token" + " " * n),
    ),
    "header repeated": (
        "the header name and blanks, again and again",
        lambda n: argv_line(("x-aws-ec2-metadata-token" + " " * 40) * (n // 64)),
    ),
    "cut run+tail": (
        "a line cut at max_line_bytes after N token characters and a short tail",
        lambda n: (PREFIX + "A" * n + " x" + " " * 64 + "\n").encode(),
    ),
    "short runs": ("runs of 20 token characters between blanks", lambda n: argv_line(("a" * 20 + " ") * (n // 21))),
    "std base64": (
        "the standard-alphabet token, then N characters of its pieces",
        lambda n: argv_line(f"{TOKEN} " + ("AQAEAFEO+InKb/S7me" * (n // 18))),
    ),
    "URL-encoded": (
        "the token URL-encoded, then N characters of %2B",
        lambda n: argv_line(_quoted() + "%2B" * (n // 3)),
    ),
    "chain links": ("N characters of ') -> (pid:1:x argv:'", lambda n: argv_line(") -> (pid:1:x argv:" * (n // 19))),
}


def _quoted() -> str:
    from urllib.parse import quote

    return quote(TOKEN, safe="") + " "


def _line_limits(case: str, size: int) -> dict:
    # The cut class is cut inside its tail; the others are read whole, however long.
    return {"max_line_bytes": len(PREFIX) + size + 2 if case == "cut run+tail" else 4 * size + 4096}


def _gzip_bomb(path: Path, inflated: int) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    with path.open("wb") as stream:
        for _mebibyte in range(inflated // len(chunk)):
            stream.write(compressor.compress(chunk))
        stream.write(compressor.flush())


def _central_directory_only(path: Path, entries: int) -> None:
    """A .jar whose central directory lists ``entries`` members (no member data: the directory is all a scan of
    names reads)."""
    record = struct.Struct("<4s6H3L5H2L")
    directory = bytearray()
    for index in range(entries):
        name = f"c/{index:08x}.class".encode()
        directory += record.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0) + name
    if entries >= 0xFFFF:
        end64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, len(directory), 0)
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(directory), 1)
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        path.write_bytes(bytes(directory) + end64 + locator + end)
    else:
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), 0, 0)
        path.write_bytes(bytes(directory) + end)


FILES = {
    "FIFO": "log_path a FIFO with no writer",
    "/dev/zero": "log_path a link to /dev/zero",
    "gzip bomb": "a rotated .gz of N MiB of zeros (one endless line), max_log_bytes 64 MiB",
    "jar entries": "a .jar whose central directory lists N entries (the SDK scan)",
}


def _install(root: Path) -> None:
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(root / ".build" / "collections")])._install()


def prepare(case: str, size: int, directory: Path) -> None:
    """The case's files, written by the parent so that the child's time and peak RSS are the reader's alone."""
    log = directory / "imds-trace.log"
    if case in LINES:
        log.write_bytes(LINES[case][1](size))
    elif case == "FIFO":
        os.mkfifo(log)
    elif case == "/dev/zero":
        log.symlink_to("/dev/zero")
    elif case == "gzip bomb":
        log.write_bytes(b"")
        _gzip_bomb(directory / "imds-trace.log.1.gz", size * 1024 * 1024)
    elif case == "jar entries":
        _central_directory_only(directory / "app.jar", size)


def child(root: Path, case: str, size: int, directory: Path) -> dict:
    _install(root)
    from dataclasses import replace

    from ansible_collections.ec2meta.imds.plugins.module_utils._callers.log import LogLimits, read_callers
    from ansible_collections.ec2meta.imds.plugins.module_utils._callers.sdk_scan import ScanLimits, scan

    limits = replace(LogLimits(), max_seconds=10.0)
    if case in LINES:
        limits = replace(limits, **_line_limits(case, size))
    elif case == "gzip bomb":
        limits = replace(limits, max_bytes=64 * 1024 * 1024)
    began = time.monotonic()
    if case == "jar entries":
        _found, summary = scan([str(directory)], include_system=False, limits=replace(ScanLimits(), max_seconds=10.0))
        outcome = {"stopped": summary["stopped"], "complete": summary["complete"], "out": ""}
        outcome["note"] = (summary["unreadable"] or [{"error": ""}])[0]["error"][:60]
    else:
        callers, summary, _tokens = read_callers(str(directory / "imds-trace.log"), limits=limits)
        outcome = {"stopped": summary["stopped"], "complete": summary["complete"], "out": json.dumps(callers)}
        outcome["note"] = next((f["error"] for f in summary["files"] if f["error"]), "") or ""
        outcome["note"] = outcome["note"][:60]
    wall = time.monotonic() - began
    peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    out = outcome.pop("out")
    leaked = any(form in out for form in (TOKEN, _quoted().strip(), TOKEN[:20]))
    return {"wall": wall, "peak_mb": int(peak.split()[1]) / 1024, "token_out": leaked, **outcome}


def run_case(root: Path, case: str, size: int, timeout: float) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="ec2meta-hostile-") as directory:
        prepare(case, size, Path(directory))
        try:
            completed = subprocess.run(
                [sys.executable, __file__, "--child", str(root), case, str(size), directory],
                capture_output=True,
                text=True,
                check=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None
        except subprocess.CalledProcessError as error:
            return {"wall": 0, "peak_mb": 0, "stopped": "crashed", "complete": None, "token_out": None,
                    "note": error.stderr.strip().splitlines()[-1][:60]}  # fmt: skip
    return json.loads(completed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--against", type=Path, help="another checkout (e.g. a worktree of an older commit)")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--only", help="comma-separated classes to run")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, case, size, directory = args.child
        print(json.dumps(child(Path(root), case, int(size), Path(directory))))
        return
    roots = [("new", HERE)] + ([("old", args.against.resolve())] if args.against else [])
    sizes = [int(size) for size in args.sizes.split(",")]
    cases = [(case, sizes) for case in LINES] + [
        ("FIFO", [0]),
        ("/dev/zero", [0]),
        ("gzip bomb", [256, 1024]),
        ("jar entries", sizes),
    ]
    only = set(args.only.split(",")) if args.only else None
    print("| class | N | checkout | wall s | peak RSS MB | stopped | complete | token out | note |")
    print("|---|---:|---|---:|---:|---|---|---|---|")
    for case, case_sizes in cases:
        if only and case not in only:
            continue
        for label, root in roots:
            for size in case_sizes:
                result = run_case(root, case, size, args.timeout)
                if result is None:
                    print(f"| {case} | {size} | {label} | > {args.timeout:.0f} (killed) | | | | | |", flush=True)
                    break
                print(
                    f"| {case} | {size} | {label} | {result['wall']:.2f} | {result['peak_mb']:.0f} | "
                    f"{result['stopped']} | {result['complete']} | {result['token_out']} | {result['note']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
