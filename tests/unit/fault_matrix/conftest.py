# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every fault scenario declares a wall-time budget (what its timeouts and retries allow); a scenario that runs past
``deadline_for(budget)`` fails: a hang, not a slow machine.

The budget is what the client may spend on an idle machine; the deadline is several times that, because the suite
must pass on a shared 2-core machine under load (scripts/under_load.sh proves it), while a scenario that hangs waits
for the server's hold (a black hole holds 30 s). Measured times are a benchmark's business: they are written with
their budgets to .build/fault_matrix.json for the record (tests/output/ belongs to ansible-test, which clears it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[3] / ".build" / "fault_matrix.json"
_TIMES: dict[str, dict] = {}


def budget_for(timeout: float, retries: int, extra: float = 0.0) -> float:
    """What the client may spend: every attempt's timeout, the largest backoff sum (429's), and scheduling slack."""
    backoff = sum(min(2.0, 0.25 * 2**attempt) for attempt in range(retries))
    return (retries + 1) * timeout + backoff + extra + 0.5


def deadline_for(budget: float) -> float:
    """The wall time a scenario must end by, even on a loaded machine: three times its budget plus 5 s."""
    return 3 * budget + 5.0


@pytest.fixture(autouse=True)
def _wall_time_budget(request):
    marker = request.node.get_closest_marker("fault")
    if marker is None:
        yield
        return
    budget = marker.kwargs["budget"]
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    deadline = deadline_for(budget)
    _TIMES[request.node.nodeid] = {"seconds": round(elapsed, 3), "budget": budget, "deadline": deadline}
    if elapsed > deadline:
        pytest.fail(
            f"scenario took {elapsed:.2f}s, past its deadline of {deadline:.2f}s (budget {budget:.2f}s)", pytrace=False
        )


def pytest_sessionfinish(session):
    if _TIMES:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        # Several pytest runs can finish at once (scripts/test.sh runs two steps at a time, xdist workers): each
        # writes a whole file and renames it, so a reader never sees half of one; a record lost to a race is a
        # record, not a result.
        try:
            existing = json.loads(REPORT.read_text())
        except (OSError, ValueError):
            existing = {}
        existing.update(_TIMES)
        partial = REPORT.with_name(f"{REPORT.name}.{os.getpid()}")
        partial.write_text(json.dumps(existing, indent=2, sort_keys=True))
        os.replace(partial, REPORT)
