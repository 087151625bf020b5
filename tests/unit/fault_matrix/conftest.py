# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every fault scenario declares a wall-time budget (its timeouts and retries allow no more); exceeding it fails.

Times are also written to .build/fault_matrix.json for the record (tests/output/ belongs to ansible-test, which
clears it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[3] / ".build" / "fault_matrix.json"
_TIMES: dict[str, dict] = {}


def budget_for(timeout: float, retries: int, extra: float = 0.0) -> float:
    """What the client may spend: every attempt's timeout, the largest backoff sum (429's), and scheduling slack."""
    backoff = sum(min(2.0, 0.25 * 2**attempt) for attempt in range(retries))
    return (retries + 1) * timeout + backoff + extra + 0.5


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
    _TIMES[request.node.nodeid] = {"seconds": round(elapsed, 3), "budget": budget}
    if elapsed > budget:
        pytest.fail(f"scenario took {elapsed:.2f}s, over its budget of {budget:.2f}s", pytrace=False)


def pytest_sessionfinish(session):
    if _TIMES:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        existing.update(_TIMES)
        REPORT.write_text(json.dumps(existing, indent=2, sort_keys=True))
