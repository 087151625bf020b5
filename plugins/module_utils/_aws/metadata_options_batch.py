# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Many instances' metadata options in one task, at the speed EC2's request throttling allows.

Top to bottom, as for one instance (metadata_options.py), with each step batched: select the instances (paged
DescribeInstances), plan each (plan_change), decide each with the IMDSv1 guard (batched GetMetricData, the same
GUARD_DECISIONS), apply the changes concurrently under a client-side token bucket set to EC2's bucket for
ModifyInstanceMetadataOptions, then verify (and wait) with one paged DescribeInstances round per poll.

EC2 throttles each action per account and region with a token bucket ("Request throttling for the Amazon EC2 API":
https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). ModifyInstanceMetadataOptions is a
mutating action; its bucket's size and refill rate are the defaults of the rate limiter here, and options, since an
account's limits can be raised (or shared with other tools at the same time).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import DESCRIBE_ACTION, describe_fleet
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import (
    GET_METRIC_DATA_ACTION,
    REFUSE,
    _name_tag,
    guard_decisions,
    refusal_reason,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import (
    API_NAMES,
    MODIFY_ACTION,
    modify_metadata_options,
    options_from_api,
    overwritten,
    plan_change,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsError, AwsThrottled, AwsTimeout
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

# EC2's bucket for mutating actions such as ModifyInstanceMetadataOptions: its size and refill rate per second.
DEFAULT_MODIFY_BURST = 50
DEFAULT_MODIFY_RATE = 5.0
DEFAULT_CONCURRENCY = 8
# botocore keeps 10 connections a client: more threads would open and discard connections, not go faster.
MAX_CONCURRENCY = 10
# Instance ids per DescribeInstances call (as values of the instance-id filter, which, unlike InstanceIds, leaves
# out an id it does not know instead of failing the whole call).
IDS_PER_DESCRIBE = 200
# How often one instance's Modify is tried again after RequestLimitExceeded (each time the limiter slows down).
THROTTLE_RETRIES = 8
# After these, every further Modify would fail the same way: stop sending and report the rest as not attempted.
STOPPING_REASONS = ("unauthorized", "no_credentials", "aws_timeout", "aws_unreachable")
# A Modify that failed with these was refused before it could change anything; any other failure after sending (a
# 5xx, a reset connection, a timeout) leaves the outcome unclear, so the instance is read back.
REFUSED_BEFORE_CHANGE = ("unauthorized", "no_credentials", "throttled")
# The lowest modify_rate: below it one change would wait longer than a task should (10 s between two calls).
MIN_MODIFY_RATE = 0.1
# The longest a caller waiting for a token sleeps before it looks again: the rate may have recovered meanwhile.
WAIT_STEP = 1.0

CHANGED, UNCHANGED, REFUSED, FAILED = "changed", "unchanged", "refused", "failed"
STATUSES = (CHANGED, UNCHANGED, REFUSED, FAILED)


class InstancesNotChanged(AwsError):
    """Some instances were refused (the IMDSv1 guard) or failed; the others were changed or already right."""

    reason = "instances_not_changed"


def check_batch_options(rate: Any, burst: Any, concurrency: Any) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 10000:
        raise ImdsConfigError(
            f"modify_rate must be a number of requests a second above 0 (at most 10000), not {rate!r}: EC2's refill "
            f"rate for ModifyInstanceMetadataOptions is {DEFAULT_MODIFY_RATE:g} unless the account's limit was raised"
        )
    if rate < MIN_MODIFY_RATE:
        raise ImdsConfigError(
            f"modify_rate must be at least {MIN_MODIFY_RATE:g} requests a second, not {rate!r}: a slower pace would "
            "keep the task waiting for hours; to change fewer instances at a time, select fewer (instance_ids, filters)"
        )
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= 100000:
        raise ImdsConfigError(
            f"modify_burst must be a whole number of requests from 1 to 100000, not {burst!r}: EC2's bucket for "
            f"ModifyInstanceMetadataOptions holds {DEFAULT_MODIFY_BURST} unless the account's limit was raised"
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ImdsConfigError(
            f"max_concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, not {concurrency!r}: the rate "
            f"limiter, not the number of threads, sets the pace ({DEFAULT_CONCURRENCY} keeps it busy)"
        )


class RateLimiter:
    """A client-side token bucket (``burst`` tokens, ``rate`` more a second), adaptive and thread-safe.

    ``acquire`` takes the next token, sleeping until one is due at the rate of the moment (looking again at least
    every WAIT_STEP seconds, so a wait shortens as the rate recovers), and gives up at the deadline (``stop_after``).
    A RequestLimitExceeded (``throttled``) halves the rate and empties the bucket, once for a burst of them: the
    requests sent before the last slowdown were sent too fast already and say nothing new. Each success wins back a
    twentieth of the configured rate.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.max_rate = self.rate = float(rate)
        self.min_rate = self.max_rate / 64
        self.burst = burst
        self.tokens = float(burst)
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._lock = threading.Lock()
        self._slowed_at = float("-inf")
        self.deadline: float | None = None  # on ``clock``
        self.acquired: list = []  # when each token was handed out
        self.throttles = 0

    def stop_after(self, seconds: float) -> None:
        """No token is handed out more than ``seconds`` from now (the task's time budget)."""
        self.deadline = self._clock() + seconds

    def acquire(self) -> float | None:
        """When the token was handed out, or None once the deadline came first."""
        while True:
            with self._lock:
                now = self._clock()
                self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
                self._last = now
                # A hair below one: a sleep of exactly the time a token needs may land a rounding error short.
                if self.tokens >= 1 - 1e-9:
                    self.tokens -= 1
                    self.acquired.append(now)
                    return now
                wait = min((1 - self.tokens) / self.rate, WAIT_STEP)
                if self.deadline is not None:
                    if now >= self.deadline:
                        return None
                    wait = min(wait, self.deadline - now)
            self._sleep(wait)

    def throttled(self, sent_at: float | None = None) -> None:
        """RequestLimitExceeded for a request whose token was handed out at ``sent_at`` (None: slow down anyway)."""
        with self._lock:
            self.throttles += 1
            if sent_at is not None and sent_at < self._slowed_at:
                return
            self._slowed_at = self._clock()
            self.rate = max(self.min_rate, self.rate / 2)
            self.tokens = min(self.tokens, 0.0)

    def succeeded(self) -> None:
        with self._lock:
            self.rate = min(self.max_rate, self.rate + self.max_rate / 20)

    def report(self) -> dict:
        """What the limiter did, for the result's ``rate_limiter``."""
        return {
            "rate": self.max_rate,
            "burst": self.burst,
            "final_rate": round(self.rate, 3),
            "throttled": self.throttles,
            "measured_rate": self.measured_rate(),
            "seconds": self.seconds(),
        }

    def seconds(self) -> float:
        """From the first token handed out to the last: the time the changes took at the limiter's pace."""
        return round(max(self.acquired) - min(self.acquired), 3) if self.acquired else 0.0

    def measured_rate(self) -> float | None:
        """Tokens a second handed out after the first ``burst`` (the refill phase); None with too few."""
        ordered, first = sorted(self.acquired), self.burst
        after = ordered[first:]
        if len(after) < 2 or after[-1] <= after[0]:
            return None
        return round((len(after) - 1) / (after[-1] - after[0]), 3)


@dataclass
class InstancePlan:
    instance: dict
    current: dict
    desired: dict
    changes: dict

    @property
    def instance_id(self) -> str:
        return self.instance["InstanceId"]


@dataclass
class BatchResult:
    instances: list  # one entry per instance, in the order selected
    summary: dict
    api_calls: dict
    rate_limiter: dict
    warnings: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(entry["changed"] for entry in self.instances)

    @property
    def failures(self) -> list:
        return [entry for entry in self.instances if entry["status"] in (REFUSED, FAILED)]

    def diff(self) -> tuple[dict, dict]:
        """(before, after) keyed by instance id, of the instances changed (or that would be)."""
        changed = [entry for entry in self.instances if entry["changed"]]
        return (
            {entry["instance_id"]: entry["before"] for entry in changed},
            {entry["instance_id"]: entry["after"] for entry in changed},
        )

    def as_dict(self) -> dict:
        return {
            "changed": self.changed,
            "instances": self.instances,
            "summary": self.summary,
            "api_calls": self.api_calls,
            "rate_limiter": self.rate_limiter,
        }


def unique_ids(instance_ids: list | None) -> list:
    seen: dict = {}
    for instance_id in instance_ids or []:
        if not isinstance(instance_id, str) or not instance_id.strip():
            raise ImdsConfigError(
                f"instance_ids holds {instance_id!r}: every item must be an instance ID like i-0123456789abcdef0 (an "
                "empty item usually comes from an undefined variable)"
            )
        seen.setdefault(instance_id.strip(), None)
    return list(seen)


def describe_selected(
    ec2: Any, budget: Any, instance_ids: list, filters: Mapping[str, Any] | None, region: str | None
) -> tuple[list, int]:
    """(instances, DescribeInstances pages) selected by ``instance_ids`` (when given) and ``filters``; terminated
    instances and ids EC2 does not know are left out."""
    if not instance_ids:
        fleet = describe_fleet(ec2, budget, None, filters, False, region)
        return _unique_instances(fleet.instances, None), fleet.pages
    if "instance-id" in (filters or {}):
        # The ids go to EC2 as the instance-id filter: a user's instance-id filter would be replaced, not combined.
        raise ImdsConfigError(
            "filters holds instance-id and instance_ids is set too: list the instances in instance_ids only (or "
            "select by the instance-id filter without instance_ids)"
        )
    instances, pages = [], 0
    for first in range(0, len(instance_ids), IDS_PER_DESCRIBE):
        last = first + IDS_PER_DESCRIBE
        fleet = describe_fleet(ec2, budget, None, {**(filters or {}), "instance-id": instance_ids[first:last]})
        instances += fleet.instances
        pages += fleet.pages
    return _unique_instances(instances, set(instance_ids)), pages


def _unique_instances(instances: list, wanted: set | None) -> list:
    """Each instance once (an answer may repeat one across pages), and only the ids asked for: DescribeInstances is
    an untrusted answer, and an instance it adds on its own must never be changed."""
    unique: dict = {}
    for instance in instances:
        instance_id = instance["InstanceId"]
        if wanted is None or instance_id in wanted:
            unique.setdefault(instance_id, instance)
    return list(unique.values())


def _entry(plan: InstancePlan, region: str | None, status: str, **found: Any) -> dict:
    before = {name: plan.current.get(name) for name in API_NAMES}
    entry = {
        "instance_id": plan.instance_id,
        "name": _name_tag(plan.instance),
        "region": region,
        "status": status,
        "changed": False,
        "failed": status in (REFUSED, FAILED),
        "reason": None,
        "msg": None,
        "changes": plan.changes,
        "before": before,
        "after": dict(plan.desired),
        "metadata_options": plan.current,
        "imdsv1_usage": None,
        "warning": None,
    }
    entry.update(found)
    return entry


def _missing_entry(instance_id: str, region: str | None) -> dict:
    plan = InstancePlan({"InstanceId": instance_id}, options_from_api(None), {}, {})
    where = f" in region {region}" if region else ""
    return _entry(
        plan,
        region,
        FAILED,
        reason="instance_not_found",
        msg=f"Instance {instance_id!r} was not found{where}, or is terminated: check instance_ids and the region",
    )


class _Applier:
    """The Modify calls of one batch, on a bounded thread pool under one RateLimiter."""

    def __init__(self, ec2: Any, budget: Any, limiter: RateLimiter, region: str | None):
        self.ec2, self.budget, self.limiter, self.region = ec2, budget, limiter, region
        self.stop = threading.Event()
        self.sent = 0
        self.throttled = 0
        self.unclear: set = set()  # instance ids whose Modify failed after it was sent, outcome unknown
        self._lock = threading.Lock()

    def modify(self, plan: InstancePlan) -> AwsError | None:
        """None once the Modify went through, else the error (not sent at all after a stopping error)."""
        for _attempt in range(THROTTLE_RETRIES + 1):
            if self.stop.is_set():
                return AwsError("not attempted: an earlier call failed in a way every call would (see the others)")
            sent_at = self.limiter.acquire()
            if sent_at is None or self.budget.deadline.remaining() <= 0:
                return self._out_of_time()
            with self._lock:
                self.sent += 1
            try:
                modify_metadata_options(self.ec2, plan.instance_id, plan.desired, self.region)
            except AwsThrottled:
                with self._lock:
                    self.throttled += 1
                self.limiter.throttled(sent_at)
                continue
            except AwsError as error:
                if error.reason in STOPPING_REASONS:
                    self.stop.set()
                if error.reason not in REFUSED_BEFORE_CHANGE:
                    with self._lock:
                        self.unclear.add(plan.instance_id)
                return error
            self.limiter.succeeded()
            return None
        return AwsThrottled(
            f"AWS kept throttling {MODIFY_ACTION} (RequestLimitExceeded) for {plan.instance_id} after "
            f"{THROTTLE_RETRIES + 1} attempts, the rate limiter slowing down each time to "
            f"{self.limiter.rate:.2f}/s: other tools use the account's bucket too. Lower modify_rate, or run the task "
            "again later (it picks up the instances not changed)",
            code="RequestLimitExceeded",
        )

    def _out_of_time(self) -> AwsError:
        """The error of a Modify not sent because the task's time ran out waiting for the rate limiter."""
        if self.limiter.throttles:
            return AwsThrottled(
                f"not attempted: aws_timeout ({self.budget.seconds:g}s with the time modify_rate needs) ran out while "
                f"AWS throttled {MODIFY_ACTION} (RequestLimitExceeded {self.limiter.throttles} times; the rate "
                f"limiter slowed down to {self.limiter.rate:.2f}/s): other tools use the account's bucket too. Run "
                "the task again later (it changes only what is left), or lower modify_rate",
                code="RequestLimitExceeded",
            )
        return AwsTimeout(
            f"not attempted: aws_timeout ({self.budget.seconds:g}s with the time modify_rate needs) ran out before "
            f"this {MODIFY_ACTION} was due: raise aws_timeout, or run the task again (it changes only what is left)"
        )


def _observe(ec2: Any, budget: Any, instance_ids: list, region: str | None) -> dict:
    """{instance_id: options} from one DescribeInstances round over ``instance_ids``."""
    instances, _pages = describe_selected(ec2, budget, instance_ids, None, region)
    return {instance["InstanceId"]: options_from_api(instance.get("MetadataOptions")) for instance in instances}


def enforce_many(
    ec2: Any,
    modify_ec2: Any,
    cloudwatch: Any,
    budget: Any,
    wanted: Mapping[str, Any],
    *,
    instance_ids: list | None = None,
    filters: Mapping[str, Any] | None = None,
    check: str = "fail",
    window_days: int = 14,
    check_mode: bool = False,
    wait: bool = False,
    wait_timeout: float = 300.0,
    region: str | None = None,
    rate: float = DEFAULT_MODIFY_RATE,
    burst: int = DEFAULT_MODIFY_BURST,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait_interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Any = None,
) -> BatchResult:
    """Make every selected instance's options match ``wanted``; ``modify_ec2`` is an EC2 client without botocore's
    retries (the rate limiter retries RequestLimitExceeded itself). Per-instance failures are entries, not raises."""
    ids = unique_ids(instance_ids)
    api_calls = {DESCRIBE_ACTION: 0, GET_METRIC_DATA_ACTION: 0, MODIFY_ACTION: 0}
    selected, api_calls[DESCRIBE_ACTION] = describe_selected(ec2, budget, ids, filters, region)
    found = {instance["InstanceId"] for instance in selected}
    entries = {instance_id: _missing_entry(instance_id, region) for instance_id in ids if instance_id not in found}
    plans = [_plan(instance, wanted) for instance in selected]

    requiring = [plan.instance for plan in plans if plan.changes.get("http_tokens") == "required"]
    pages_before = budget.pages_read
    decisions = guard_decisions(cloudwatch, budget, requiring, check, window_days, now) if requiring else {}
    api_calls[GET_METRIC_DATA_ACTION] = budget.pages_read - pages_before
    to_change, warnings = _decide_all(plans, decisions, region, entries)

    limiter = RateLimiter(rate, burst, clock, sleep)
    if check_mode:
        for plan in to_change:
            entries[plan.instance_id]["metadata_options"] = {**plan.desired, "state": None}
    else:
        watch, unclear, api_calls[MODIFY_ACTION] = _apply_all(
            modify_ec2, budget, limiter, to_change, entries, concurrency, region
        )
        if unclear:
            pages_before = budget.pages_read
            watch += _read_back(ec2, budget, unclear, entries, region, warnings)
            api_calls[DESCRIBE_ACTION] += budget.pages_read - pages_before
        if wait:
            watch += [plan for plan in plans if not plan.changes and plan.current.get("state") != "applied"]
        if watch:
            timing = (wait_timeout, wait_interval, clock, sleep)
            api_calls[DESCRIBE_ACTION] += _verify(ec2, budget, watch, entries, wait, timing, region)

    given = set(ids)
    ordered = [entries[instance_id] for instance_id in ids if instance_id in entries]
    ordered += [entries[plan.instance_id] for plan in plans if plan.instance_id not in given]
    return BatchResult(ordered, _summary(ordered, len(to_change), rate, burst), api_calls, limiter.report(), warnings)


def _plan(instance: dict, wanted: Mapping[str, Any]) -> InstancePlan:
    current = options_from_api(instance.get("MetadataOptions"))
    desired, changes = plan_change(current, wanted)
    return InstancePlan(instance, current, desired, changes)


def _decide_all(plans: list, decisions: dict, region: str | None, entries: dict) -> tuple[list, list]:
    """(plans to change, warnings): each plan's entry as the guard decided, refused ones not to be changed."""
    to_change, warnings = [], []
    for plan in plans:
        decision = decisions.get(plan.instance_id)
        usage = decision.usage if decision else None
        message = decision.message if decision else None
        if decision and decision.action == REFUSE:
            reason = refusal_reason(usage["calls_state"])
            entries[plan.instance_id] = _entry(plan, region, REFUSED, reason=reason, msg=message, imdsv1_usage=usage)
        elif plan.changes:
            if message:
                warnings.append(message)
            to_change.append(plan)
            entries[plan.instance_id] = _entry(plan, region, CHANGED, changed=True, imdsv1_usage=usage, warning=message)
        else:
            entries[plan.instance_id] = _entry(plan, region, UNCHANGED)
    return to_change, warnings


def _apply_all(
    modify_ec2: Any, budget: Any, limiter: RateLimiter, to_change: list, entries: dict, concurrency: int, region: Any
) -> tuple[list, list, int]:
    """(the plans whose Modify went through, those whose Modify failed after it was sent, Modify requests sent); a
    failed one's entry says why."""
    if not to_change:
        return [], [], 0
    # aws_timeout bounds the calls; the pace EC2's bucket sets for N changes comes on top, as wait_timeout does.
    budget.extend(max(0.0, (len(to_change) - limiter.burst) / limiter.max_rate))
    limiter.stop_after(budget.deadline.remaining())
    applier = _Applier(modify_ec2, budget, limiter, region)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        errors = list(pool.map(applier.modify, to_change))
    for plan, error in zip(to_change, errors):
        if error is not None:
            entries[plan.instance_id].update(
                status=FAILED, changed=False, failed=True, reason=error.reason, msg=str(error)
            )
    applied = [plan for plan, error in zip(to_change, errors) if error is None]
    return applied, [plan for plan in to_change if plan.instance_id in applier.unclear], applier.sent


def _read_back(ec2: Any, budget: Any, plans: list, entries: dict, region: Any, warnings: list) -> list:
    """The plans of ``plans`` (a Modify failed after it was sent) whose change DescribeInstances shows made after
    all: their entries say changed. The others stay failed, saying whether the change was made or is unknown."""
    try:
        observed = _observe(ec2, budget, [plan.instance_id for plan in plans], region)
    except AwsError as error:
        for plan in plans:
            entries[plan.instance_id]["msg"] += (
                f" Whether the change was made is unknown: reading it back failed ({error})"
            )
        return []
    made = []
    for plan in plans:
        entry, options = entries[plan.instance_id], observed.get(plan.instance_id)
        if options is None or overwritten({name: plan.desired[name] for name in plan.changes}, options):
            entry["msg"] += " DescribeInstances shows the change was not made."
            continue
        warning = f"{plan.instance_id}: {MODIFY_ACTION} failed ({entry['msg']}), but DescribeInstances shows it made"
        entry.update(status=CHANGED, changed=True, failed=False, reason=None, msg=None, warning=warning)
        entry["metadata_options"] = options
        warnings.append(warning)
        made.append(plan)
    return made


def _summary(ordered: list, changes: int, rate: float, burst: int) -> dict:
    summary = dict.fromkeys(STATUSES, 0)
    for entry in ordered:
        summary[entry["status"]] += 1
    # Changed counts what was changed, also an instance that failed afterwards (wait_timeout, options_overwritten).
    summary[CHANGED] = sum(1 for entry in ordered if entry["changed"])
    summary["selected"] = len(ordered)
    summary["modify_calls_needed"] = changes
    summary["seconds_the_bucket_needs"] = round(max(0.0, (changes - burst) / rate), 1)
    return summary


def _settle(entry: dict, wanted: Mapping[str, Any], options: dict | None, wait: bool) -> bool:
    """Record what one poll saw of the instance of ``entry``; True once there is nothing more to wait for."""
    if options is None:
        entry.update(status=FAILED, failed=True, reason="instance_not_found", msg="gone after the change")
        return True
    entry["metadata_options"] = options
    lost = overwritten(wanted, options)
    if lost:
        found = "; ".join(f"{name}: wanted {want!r}, found {got!r}" for name, (want, got) in lost.items())
        entry.update(
            status=FAILED,
            failed=True,
            reason="options_overwritten",
            msg=(
                f"Instance {entry['instance_id']} no longer has the metadata options this task set ({found}): "
                "another change made at the same time overwrote them. Run this task again once the other is done"
            ),
        )
        return True
    return not wait or options.get("state") == "applied"


def _verify(ec2: Any, budget: Any, watch: list, entries: dict, wait: bool, timing: tuple, region: Any) -> int:
    """After the changes: each watched instance must still hold what it asked for (one DescribeInstances round per
    poll), and with ``wait`` reach ``applied`` within the wait timeout. Returns the DescribeInstances pages read.

    ``timing`` is (wait_timeout, poll interval, clock, sleep)."""
    wait_timeout, interval, clock, sleep = timing
    wanted = {plan.instance_id: {name: plan.desired[name] for name in plan.changes} for plan in watch}
    waiting = [plan.instance_id for plan in watch]
    deadline = clock() + wait_timeout
    pages_before = budget.pages_read
    while waiting:
        try:
            observed = _observe(ec2, budget, waiting, region)
        except AwsError as error:
            for instance_id in waiting:
                entries[instance_id].update(status=FAILED, failed=True, reason=error.reason, msg=str(error))
            break
        waiting = [i for i in waiting if not _settle(entries[i], wanted[i], observed.get(i), wait)]
        remaining = deadline - clock()
        if waiting and remaining <= 0:
            for instance_id in waiting:
                state = entries[instance_id]["metadata_options"].get("state")
                entries[instance_id].update(
                    status=FAILED,
                    failed=True,
                    reason="wait_timeout",
                    msg=(
                        f"The metadata options were still {state} after {wait_timeout:g} seconds: raise "
                        "wait_timeout, or check later that they are applied"
                    ),
                )
            break
        if waiting:
            sleep(min(interval, remaining))
    return budget.pages_read - pages_before


def not_changed_error(result: BatchResult) -> InstancesNotChanged:
    """The task's failure when instances were refused or failed: counts, the first reasons, and what to do."""
    failures = result.failures
    by_reason: dict = {}
    for entry in failures:
        by_reason.setdefault(entry["reason"] or entry["status"], []).append(entry["instance_id"])
    reasons = "; ".join(
        f"{reason}: {', '.join(ids[:5])}{f' and {len(ids) - 5} more' if len(ids) > 5 else ''}"
        for reason, ids in by_reason.items()
    )
    changed = result.summary[CHANGED]
    return InstancesNotChanged(
        f"{len(failures)} of {result.summary['selected']} instance(s) were refused or failed ({reasons}); {changed} "
        "were changed (some perhaps before they failed: see instances[].changed) and the others already had the "
        "options. instances[] holds each one's reason and message. Fix what they name (for imdsv1_in_use, the IMDSv1 "
        "caller), then run the task again: it changes only what is left",
        result=result.as_dict(),
    )
