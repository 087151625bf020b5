# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AwsBudget: the one pager of the collection, the deadline every AWS request checks, and the bounded client."""

from __future__ import annotations

import pytest

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
    AwsBadResponse,
    AwsBudget,
    AwsTimeout,
    aws_client,
    bound_client,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._deadline_io import DeadlineResponse
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError


def pager(tokens):
    """A paginated call answering with the given NextToken values in turn (None ends)."""
    calls = []

    def call(**arguments):
        calls.append(dict(arguments))
        return {"Items": [len(calls)], "NextToken": tokens[len(calls) - 1]}

    return call, calls


def test_pages_follow_the_token_until_it_ends():
    call, calls = pager(["a", "b", None])
    budget = AwsBudget(10)
    pages = list(budget.pages(call, {"Filters": []}, "ec2:DescribeInstances"))
    assert [page["Items"] for page in pages] == [[1], [2], [3]]
    assert [arguments.get("NextToken") for arguments in calls] == [None, "a", "b"]
    assert budget.pages_read == 3


@pytest.mark.parametrize("tokens", [["a", "a"], ["a", "b", "a"]])
def test_a_token_seen_twice_is_a_bad_response(tokens):
    call, calls = pager([*tokens, None])
    with pytest.raises(AwsBadResponse, match="sent the same NextToken twice"):
        list(AwsBudget(10).pages(call, {}, "ec2:DescribeInstances"))
    assert len(calls) == len(tokens)


def test_pages_stop_at_the_cap():
    call, calls = pager([f"t{number}" for number in range(50)])
    with pytest.raises(AwsBadResponse, match="still sending pages after 5"):
        list(AwsBudget(10).pages(call, {}, "ec2:DescribeInstances", max_pages=5))
    assert len(calls) == 5


@pytest.mark.parametrize("answer", [None, "text", ["a"], 5])
def test_a_page_that_is_not_an_object_is_a_bad_response(answer):
    with pytest.raises(AwsBadResponse, match="not an object"):
        list(AwsBudget(10).pages(lambda **_arguments: answer, {}, "cloudwatch:GetMetricData"))


@pytest.mark.parametrize("token", [5, ["a"], {"a": 1}])
def test_a_token_that_is_not_text_is_a_bad_response(token):
    with pytest.raises(AwsBadResponse):
        list(AwsBudget(10).pages(lambda **_arguments: {"NextToken": token}, {}, "ec2:DescribeInstances"))


def test_an_expired_budget_sends_nothing():
    budget = AwsBudget(1)
    budget.deadline.expires -= 2
    call, calls = pager([None])
    with pytest.raises(AwsTimeout, match="ran past aws_timeout"):
        list(budget.pages(call, {}, "ec2:DescribeInstances"))
    assert calls == []


def test_extend_gives_a_wait_more_time():
    budget = AwsBudget(10)
    before = budget.deadline.remaining()
    budget.extend(300)
    assert budget.deadline.remaining() > before + 299


@pytest.mark.parametrize("seconds", [0, 0.5, -1, float("nan"), float("inf"), 86401, True, "60", None])
def test_the_budget_refuses_what_is_not_a_sane_number_of_seconds(seconds):
    with pytest.raises(ImdsConfigError, match="aws_timeout must be a number of seconds from 1 to 86400"):
        AwsBudget(seconds)


def test_every_client_reads_through_the_bounded_response(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = aws_client("ec2", region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    pools = client._endpoint.http_session._pool_classes_by_scheme
    assert all(pool.ConnectionCls.response_class is DeadlineResponse for pool in pools.values())


def test_a_client_that_cannot_be_bounded_is_refused():
    class Unboundable:
        _endpoint = None

    with pytest.raises(ImdsConfigError, match=r"does not let ec2meta\.imds bound"):
        bound_client(Unboundable(), AwsBudget(10))
