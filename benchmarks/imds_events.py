# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""imds_events benchmark: how fast a notice reaches the queue, what a poll costs, and that memory stays flat.

    .venv/bin/python benchmarks/imds_events.py [--notices 20] [--polls 10000] [--ttl-seconds 12 --token-ttl 3]

The IMDS emulator runs as a subprocess on 127.0.0.1 (its own process: the CPU measured here is the source's own),
driven through its control routes (/_emulator/schedule puts a notice in at a chosen moment).

1. Latency: the source's main() at its defaults (interval 2 s, jitter 0.1) over a real asyncio loop; each notice
   is scheduled at a random moment, and the latency is from that moment to the event on the queue. The target is
   interval + 1 s. (ansible-rulebook adds its rule engine's own delay after the queue; tests/eda shows it runs.)
2. Requests: EventWatcher.poll() back to back for --ttl-seconds with a --token-ttl token: token PUTs per token
   lifetime, and GETs per watched path per poll.
3. Memory and CPU: --polls polls back to back; RSS (VmRSS) at the start, a tenth, half and the end; CPU (user +
   system of this process) per poll.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import runpy
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EMULATOR = REPO_ROOT / "tests" / "emulator" / "imds_emulator.py"
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
SOURCE = REPO_ROOT / "extensions" / "eda" / "plugins" / "event_source" / "imds_events.py"
sys.path.insert(0, str(COLLECTIONS_ROOT))

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import (  # noqa: E402
    client_config_from_params,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.events import (  # noqa: E402
    WATCHED_PATHS,
    EventWatcher,
)


def control(url: str, method: str, route: str, body: dict | None = None) -> dict:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(  # noqa: S310 - the emulator on 127.0.0.1
        f"{url}/_emulator/{route}", data=data if method != "GET" else None, method=method
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - the emulator on 127.0.0.1
        return json.loads(answer.read() or b"{}")


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def latencies(url: str, count: int) -> list:
    main = runpy.run_path(str(SOURCE))["main"]
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(main(queue, {"endpoint": url, "kinds": ["spot_interruption"]}))
    measured = []
    try:
        for number in range(count):
            lead = random.uniform(0.2, 2.0)
            notice = {"$json": {"action": "terminate", "time": f"2030-01-01T00:{number // 60:02d}:{number % 60:02d}Z"}}
            due_in = control(url, "POST", "schedule", {"after": lead, "path": "spot/instance-action", "value": notice})
            due = time.monotonic() + due_in["due_in"]
            event = await asyncio.wait_for(queue.get(), 30)
            measured.append(time.monotonic() - due)
            assert event["kind"] == "spot_interruption"
            control(url, "POST", "metadata", {"path": "spot", "value": None})
    finally:
        task.cancel()
    return measured


def new_watcher(url: str, token_ttl: int = 21600) -> EventWatcher:
    config = client_config_from_params(endpoint=url, allow_imdsv1=False, token_ttl=token_ttl, timeout=1.0, retries=1)
    return EventWatcher(lambda: ImdsClient(config))


def requests_per_poll(url: str, seconds: float, token_ttl: int) -> dict:
    watcher = new_watcher(url, token_ttl)
    control(url, "POST", "reset-counters")
    polls = 0
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        watcher.poll()
        polls += 1
        time.sleep(0.02)
    counters = control(url, "GET", "state")["counters"]
    watcher.close()
    return {"polls": polls, "token_put": counters.get("token_put", 0), "get_v2": counters.get("get_v2", 0)}


def memory_and_cpu(url: str, polls: int) -> tuple:
    watcher = new_watcher(url)
    watcher.poll()
    marks = {0: rss_kib()}
    started_cpu, started = cpu_seconds(), time.monotonic()
    for number in range(1, polls + 1):
        watcher.poll()
        if number in (polls // 10, polls // 2, polls):
            marks[number] = rss_kib()
    cpu, wall = cpu_seconds() - started_cpu, time.monotonic() - started
    watcher.close()
    return marks, cpu / polls, wall / polls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=20)
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--ttl-seconds", type=float, default=12.0)
    parser.add_argument("--token-ttl", type=int, default=3)
    args = parser.parse_args()
    emulator = subprocess.Popen(
        [sys.executable, str(EMULATOR), "--port", "0", "--http-tokens", "required"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = json.loads(emulator.stdout.readline())["url"]
        control(url, "POST", "clear-announcements")
        measured = asyncio.run(latencies(url, args.notices))
        counts = requests_per_poll(url, args.ttl_seconds, args.token_ttl)
        marks, cpu_per_poll, wall_per_poll = memory_and_cpu(url, args.polls)
    finally:
        emulator.terminate()
        emulator.wait(10)
    lifetimes = args.ttl_seconds / args.token_ttl
    print(f"1. Notice -> queue latency, {len(measured)} notices, interval 2 s, jitter 0.1 (target <= 3 s)")
    print("| p50 | p95 | max |\n|---|---|---|")
    print(f"| {statistics.median(measured):.2f} s | {percentile(measured, 0.95):.2f} s | {max(measured):.2f} s |")
    print(f"\n2. Requests, {counts['polls']} polls in {args.ttl_seconds:g} s with token_ttl={args.token_ttl} s")
    print("| token PUTs | token lifetimes | PUTs per lifetime | GETs per path per poll |\n|---|---|---|---|")
    gets = counts["get_v2"] / counts["polls"] / len(WATCHED_PATHS)
    print(f"| {counts['token_put']} | {lifetimes:.1f} | {counts['token_put'] / lifetimes:.2f} | {gets:.3f} |")
    print(f"\n3. {args.polls} polls back to back: RSS (KiB) and cost per poll")
    print("| " + " | ".join(f"RSS after {poll}" for poll in marks) + " | CPU per poll | wall per poll |")
    print("|" + "---|" * (len(marks) + 2))
    print(
        "| "
        + " | ".join(str(value) for value in marks.values())
        + f" | {cpu_per_poll * 1000:.2f} ms | {wall_per_poll * 1000:.2f} ms |"
    )
    return 0


if __name__ == "__main__":
    os.environ.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT", None)
    sys.exit(main())
