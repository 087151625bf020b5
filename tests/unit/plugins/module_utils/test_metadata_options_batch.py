# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The many-instance path: the guard decides in batches exactly as one instance at a time, the rate limiter keeps
to its bucket, a failure midway reports what was changed and a re-run picks up the rest."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.imdsv1_usage import (
    MAX_QUERIES,
    METRICS,
    REFUSE,
    UNKNOWN,
    USAGE_CHECKS,
    guard_decisions,
    guard_tokens_required,
    refusal_reason,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options_batch import (
    RateLimiter,
    enforce_many,
    not_changed_error,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsAccessDenied, AwsBudget, AwsError
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
LONG_AGO = NOW - timedelta(days=100)
HOURS = [NOW - (back + 1) * HOUR for back in range(5)]


class CloudWatch:
    """GetMetricData answering each query from ``answers[(instance_id, metric)]`` (None: left out)."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.calls = 0

    def get_metric_data(self, **arguments):
        self.calls += 1
        results = []
        for query in arguments["MetricDataQueries"]:
            metric = query["MetricStat"]["Metric"]
            answer = self.answers.get((metric["Dimensions"][0]["Value"], metric["MetricName"]))
            if answer is not None:
                results.append({"Id": query["Id"], **answer})
        return {"MetricDataResults": results}


class Refusing:
    calls = 0

    def get_metric_data(self, **_arguments):
        self.calls += 1
        raise AwsAccessDenied("AWS refused cloudwatch:GetMetricData (AccessDenied)")


timestamps = st.one_of(st.sampled_from(HOURS), st.just("yesterday"), st.just(NOW - 3 * HOUR))
values = st.one_of(
    st.sampled_from([0.0, 0.0, 0.0, 1.0, 7.0]), st.just(-1.0), st.just(0.5), st.just(math.nan), st.just("0")
)
results = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "StatusCode": st.sampled_from(["Complete", "Complete", "Complete", "PartialData", "InternalError"]),
            "Timestamps": st.lists(timestamps, max_size=5),
            "Values": st.lists(values, max_size=5),
        },
    ),
    # The common, complete answers, more often than chance would make them
    st.builds(lambda n: {"StatusCode": "Complete", "Timestamps": HOURS[:n], "Values": [0.0] * n}, st.integers(1, 5)),
)
instances = st.lists(
    st.tuples(st.tuples(results, results, results), st.sampled_from([LONG_AGO, NOW - timedelta(minutes=20), None])),
    min_size=1,
    max_size=6,
)


def single(answers: dict, instance: dict, check: str) -> tuple:
    """(action is REFUSE, reason or None, message or None, usage) of the one-instance guard of today."""
    warnings: list = []
    try:
        usage = guard_tokens_required(CloudWatch(answers), AwsBudget(60), instance, check, 14, warnings.append, NOW)
    except AwsError as error:
        return True, error.reason, str(error), error.result["imdsv1_usage"]
    return False, None, (warnings[0] if warnings else None), usage


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=instances, check=st.sampled_from(USAGE_CHECKS))
def test_the_batch_decides_every_instance_exactly_as_alone(fleet, check):
    answers, described = {}, []
    for number, (found, launched) in enumerate(fleet):
        instance_id = f"i-{number:017x}"
        answers.update({(instance_id, metric): answer for metric, answer in zip(METRICS, found)})
        described.append({"InstanceId": instance_id, **({"LaunchTime": launched} if launched else {})})
    decisions = guard_decisions(CloudWatch(answers), AwsBudget(60), described, check, 14, NOW)
    assert set(decisions) == {instance["InstanceId"] for instance in described}
    for instance in described:
        refused, reason, message, usage = single(answers, instance, check)
        decision = decisions[instance["InstanceId"]]
        assert (decision.action == REFUSE) is refused
        assert decision.message == message
        assert decision.usage == usage
        if refused:
            assert refusal_reason(decision.usage["calls_state"]) == reason


@pytest.mark.parametrize("count", [1, MAX_QUERIES // 3, MAX_QUERIES // 3 + 1, 400])
def test_get_metric_data_is_called_per_166_instances_not_per_instance(count):
    described = [{"InstanceId": f"i-{n:017x}", "LaunchTime": LONG_AGO} for n in range(count)]
    zeros = {"StatusCode": "Complete", "Timestamps": HOURS, "Values": [0.0] * 5}
    answers = {(i["InstanceId"], metric): zeros for i in described for metric in METRICS}
    answers[(described[-1]["InstanceId"], METRICS[0])] = {**zeros, "Values": [0.0, 2.0, 0.0, 0.0, 0.0]}
    cloudwatch = CloudWatch(answers)
    decisions = guard_decisions(cloudwatch, AwsBudget(60), described, "fail", 14, NOW)
    assert cloudwatch.calls == math.ceil(count / (MAX_QUERIES // 3))
    assert [decisions[i["InstanceId"]].action for i in described] == ["switch"] * (count - 1) + [REFUSE]


@pytest.mark.parametrize("check", ["fail", "warn"])
def test_a_batch_that_cannot_be_read_is_unknown_for_each_instance_in_it(check):
    described = [{"InstanceId": f"i-{n:017x}", "LaunchTime": LONG_AGO} for n in range(200)]
    decisions = guard_decisions(Refusing(), AwsBudget(60), described, check, 14, NOW)
    assert {decision.usage["calls_state"] for decision in decisions.values()} == {UNKNOWN}
    assert {decision.action for decision in decisions.values()} == {
        REFUSE if check == "fail" else "switch_with_warning"
    }
    assert all("AccessDenied" in decision.message for decision in decisions.values())


def test_skip_reads_nothing():
    cloudwatch = Refusing()
    decisions = guard_decisions(cloudwatch, AwsBudget(60), [{"InstanceId": "i-1"}], "skip", 14, NOW)
    assert decisions["i-1"].action == "switch"
    assert cloudwatch.calls == 0


# ----------------------------------------------------------------------------- the rate limiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_limiter_gives_its_burst_then_its_rate():
    clock = Clock()
    limiter = RateLimiter(5.0, 50, clock, clock.sleep)
    for _attempt in range(550):
        limiter.acquire()
    # 50 at once, then 500 at 5 a second: 100 seconds, no sooner.
    assert clock.now == pytest.approx(100.0)
    assert limiter.measured_rate() == pytest.approx(5.0, rel=0.01)


def test_throttling_halves_the_rate_and_success_wins_it_back():
    clock = Clock()
    limiter = RateLimiter(8.0, 1, clock, clock.sleep)
    limiter.acquire()
    limiter.throttled()
    assert limiter.rate == 4.0
    limiter.acquire()
    assert clock.now == pytest.approx(0.25)  # the bucket was emptied: the next token at the halved rate
    for _attempt in range(100):
        limiter.succeeded()
    assert limiter.rate == 8.0
    for _attempt in range(100):
        limiter.throttled()
    assert limiter.rate == 8.0 / 64


# ----------------------------------------------------------------------------- apply: a failure midway


class DeniedAfter:
    """An EC2 client whose Modify goes through ``allowed`` times, then is refused as unauthorized."""

    def __init__(self, ec2, allowed: int):
        self.ec2, self.allowed, self.calls = ec2, allowed, 0

    def modify_instance_metadata_options(self, **arguments):
        self.calls += 1
        if self.calls > self.allowed:
            raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "Modify")
        return self.ec2.modify_instance_metadata_options(**arguments)


def test_a_failure_midway_reports_what_changed_and_a_rerun_picks_up_the_rest(ec2):
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=6, MaxCount=6, InstanceType="t3.micro")
    ids = [instance["InstanceId"] for instance in reservation["Instances"]]
    wanted = {"instance_metadata_tags": "enabled"}
    denied = DeniedAfter(ec2, 2)
    first = enforce_many(ec2, denied, None, AwsBudget(60), wanted, instance_ids=ids, region="eu-west-1", concurrency=1)
    statuses = [entry["status"] for entry in first.instances]
    assert statuses == ["changed"] * 2 + ["failed"] * 4
    assert [entry["reason"] for entry in first.instances[2:]] == ["unauthorized"] + ["aws_error"] * 3
    assert "not attempted" in first.instances[3]["msg"]
    assert denied.calls == 3  # stopped sending after the refusal every further call would get
    again = enforce_many(ec2, ec2, None, AwsBudget(60), wanted, instance_ids=ids, region="eu-west-1")
    assert [entry["status"] for entry in again.instances] == ["unchanged"] * 2 + ["changed"] * 4
    assert again.api_calls["ec2:ModifyInstanceMetadataOptions"] == 4


class Reporting:
    """EC2 whose DescribeInstances, once a Modify went through, reports the options with ``changed`` applied."""

    def __init__(self, ec2, **changed):
        self.ec2, self.changed, self.modified = ec2, changed, False

    def describe_instances(self, **arguments):
        response = self.ec2.describe_instances(**arguments)
        for reservation in response["Reservations"] if self.modified else []:
            for instance in reservation["Instances"]:
                instance["MetadataOptions"].update(self.changed)
        return response

    def modify_instance_metadata_options(self, **arguments):
        self.modified = True
        return self.ec2.modify_instance_metadata_options(**arguments)


@pytest.mark.parametrize(
    ("reported", "wait", "reason"),
    [
        ({"State": "pending"}, True, "wait_timeout"),
        ({"InstanceMetadataTags": "disabled"}, False, "options_overwritten"),
    ],
)
def test_after_the_change_each_instance_is_checked_and_a_failure_still_says_changed(ec2, reported, wait, reason):
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3, InstanceType="t3.micro")
    ids = [instance["InstanceId"] for instance in reservation["Instances"]]
    reporting, clock = Reporting(ec2, **reported), Clock()
    result = enforce_many(
        reporting, reporting, None, AwsBudget(60), {"instance_metadata_tags": "enabled"}, instance_ids=ids,
        region="eu-west-1", wait=wait, wait_timeout=10, wait_interval=2, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert [(entry["status"], entry["reason"], entry["changed"]) for entry in result.instances] == [
        ("failed", reason, True)
    ] * 3
    # Counted as changed, in the summary and in the failure message too.
    assert result.changed is True
    assert result.summary["changed"] == 3
    assert "3 were changed" in str(not_changed_error(result))
    # One DescribeInstances before, then one round per poll (every 2 s for 10 s when waiting), not one per instance.
    assert result.api_calls["ec2:DescribeInstances"] == (1 + 6 if wait else 2)


# ----------------------------------------------------------------------------- select: only what the user asked for


class Padding:
    """EC2 whose DescribeInstances repeats what it found and adds instances nobody asked for."""

    def __init__(self, ec2, extra: list):
        self.ec2, self.extra, self.modified = ec2, extra, []

    def describe_instances(self, **arguments):
        response = self.ec2.describe_instances(**arguments)
        added = self.ec2.describe_instances(InstanceIds=self.extra)["Reservations"] if self.extra else []
        response["Reservations"] = response["Reservations"] * 2 + added
        return response

    def modify_instance_metadata_options(self, **arguments):
        self.modified.append(arguments["InstanceId"])
        return self.ec2.modify_instance_metadata_options(**arguments)


@pytest.mark.parametrize("by_ids", [True, False])
def test_an_answer_that_repeats_or_adds_instances_changes_each_asked_for_once(ec2, by_ids):
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Padding", "Value": str(by_ids)}]}]
    reservation = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=5, MaxCount=5, InstanceType="t3.micro", TagSpecifications=tags
    )
    ids = [instance["InstanceId"] for instance in reservation["Instances"]]
    asked, extra = ids[:3], ids[3:] if by_ids else []
    padding = Padding(ec2, extra)
    selection = {"instance_ids": asked} if by_ids else {"filters": {"tag:Padding": str(by_ids)}}
    result = enforce_many(
        padding, padding, None, AwsBudget(60), {"instance_metadata_tags": "enabled"}, region="eu-west-1", **selection
    )
    expected = asked if by_ids else ids
    assert sorted(padding.modified) == sorted(expected)
    assert sorted(entry["instance_id"] for entry in result.instances) == sorted(expected)
    assert result.summary["selected"] == result.summary["changed"] == len(expected)


def test_an_instance_id_filter_with_instance_ids_is_refused_before_any_call(ec2):
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3, InstanceType="t3.micro")
    ids = [instance["InstanceId"] for instance in reservation["Instances"]]
    padding = Padding(ec2, [])
    with pytest.raises(ImdsConfigError, match="filters holds instance-id and instance_ids"):
        enforce_many(
            padding, padding, None, AwsBudget(60), {"instance_metadata_tags": "enabled"}, region="eu-west-1",
            instance_ids=ids, filters={"instance-id": ids[0]},
        )  # fmt: skip
    assert padding.modified == []


# ----------------------------------------------------------------------------- the limiter under throttling


@pytest.mark.parametrize("concurrent", [1, 2, 8, 50])
def test_a_burst_of_throttles_slows_down_once(concurrent):
    clock = Clock()
    limiter = RateLimiter(5.0, 50, clock, clock.sleep)
    sent = [limiter.acquire() for _attempt in range(concurrent)]
    for sent_at in sent:
        clock.now += 0.01  # the answers come back one after the other
        limiter.throttled(sent_at)
    assert limiter.rate == 2.5
    # A request sent after the slowdown and throttled again: that is news, slow down once more.
    limiter.throttled(limiter.acquire())
    assert limiter.rate == 1.25


def test_a_wait_shortens_when_the_rate_recovers_meanwhile():
    clock = Clock()
    limiter = RateLimiter(8.0, 1, clock, clock.sleep)
    limiter.acquire()
    for _attempt in range(10):
        limiter.throttled()
    assert limiter.rate == 8.0 / 64  # the next token is due in 8 s at this rate

    def sleep(seconds):
        clock.sleep(seconds)
        for _attempt in range(20):  # meanwhile the other workers' requests went through
            limiter.succeeded()

    limiter._sleep = sleep
    limiter.acquire()
    assert clock.now <= 1.0 + 1e-9


@pytest.mark.parametrize(("rate", "burst"), [(5.0, 1), (0.1, 1), (10000.0, 5)])
def test_no_token_is_handed_out_after_the_deadline(rate, burst):
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock, clock.sleep)
    limiter.stop_after(20)
    got = []
    while (sent_at := limiter.acquire()) is not None:
        got.append(sent_at)
        limiter.throttled(sent_at)
    assert max(got) <= 20
    assert clock.now <= 20 + 1e-9


class Throttling:
    """EC2 that answers every Modify with RequestLimitExceeded."""

    def __init__(self, ec2):
        self.ec2, self.calls = ec2, 0

    def describe_instances(self, **arguments):
        return self.ec2.describe_instances(**arguments)

    def modify_instance_metadata_options(self, **_arguments):
        self.calls += 1
        raise ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}}, "Modify")


@pytest.mark.parametrize(("rate", "burst"), [(5.0, 1), (0.1, 1), (5.0, 50)])
def test_persistent_throttling_ends_by_the_budget_with_reason_throttled(ec2, rate, burst):
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=20, MaxCount=20, InstanceType="t3.micro")
    ids = [instance["InstanceId"] for instance in reservation["Instances"]]
    throttling, clock, budget = Throttling(ec2), Clock(), AwsBudget(20)
    result = enforce_many(
        throttling, throttling, None, budget, {"instance_metadata_tags": "enabled"}, instance_ids=ids,
        region="eu-west-1", concurrency=1, rate=rate, burst=burst, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert clock.now <= budget.seconds + 1e-6  # aws_timeout with the time the rate needs, no later
    assert {entry["reason"] for entry in result.instances} == {"throttled"}
    assert any("not attempted" in entry["msg"] for entry in result.instances)
    assert result.summary["failed"] == 20


# ----------------------------------------------------------------------------- an unclear Modify is read back


class Unclear:
    """EC2 whose Modify (after applying it, or not) fails as if the answer were lost."""

    def __init__(self, ec2, error: Exception, applies: bool):
        self.ec2, self.error, self.applies = ec2, error, applies

    def describe_instances(self, **arguments):
        return self.ec2.describe_instances(**arguments)

    def modify_instance_metadata_options(self, **arguments):
        if self.applies:
            self.ec2.modify_instance_metadata_options(**arguments)
        raise self.error


LOST_ANSWERS = [
    ClientError({"Error": {"Code": "InternalError", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "M"),
    ClientError({"Error": {"Code": "Unavailable", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "M"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:9"),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
]


@pytest.mark.parametrize("applies", [True, False])
@pytest.mark.parametrize("error", LOST_ANSWERS, ids=lambda error: type(error).__name__)
def test_a_modify_whose_answer_was_lost_is_read_back_before_it_is_reported(ec2, error, applies):
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3, InstanceType="t3.micro")
    ids = [instance["InstanceId"] for instance in reservation["Instances"]]
    unclear = Unclear(ec2, error, applies)
    result = enforce_many(
        unclear, unclear, None, AwsBudget(60), {"instance_metadata_tags": "enabled"}, instance_ids=ids,
        region="eu-west-1", concurrency=1,
    )  # fmt: skip
    first = result.instances[0]  # sent for sure (after a connection error the others are not attempted)
    assert first["changed"] is applies
    assert first["status"] == ("changed" if applies else "failed")
    assert result.changed is applies
    assert result.summary["changed"] == sum(entry["changed"] for entry in result.instances)
    if not applies:
        assert "DescribeInstances shows the change was not made" in first["msg"]
