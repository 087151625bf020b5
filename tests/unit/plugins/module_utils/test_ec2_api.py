# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EC2 side of the metadata options: pure planning, the waiter, errors, and real calls to moto."""

from __future__ import annotations

import itertools
import re

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from moto_helpers import EC2_DEFAULT_METADATA_OPTIONS as DEFAULTS

from ansible_collections.ec2meta.imds.plugins.module_utils._aws.ec2 import (
    InstanceNotFound,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.metadata_options import (
    OptionsOverwritten,
    WaitTimeout,
    api_parameters,
    apply_metadata_options,
    check_instance_id,
    describe_metadata_options,
    options_from_api,
    plan_change,
    plan_metadata_options,
    validate_requested,
    wait_until_applied,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
    AwsAccessDenied,
    AwsCredentialsMissing,
    AwsError,
    AwsRegionMissing,
    AwsThrottled,
    AwsUnreachable,
    aws_client,
    aws_error,
    error_code,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.instance_discovery import (
    discover_instance,
)


def ensure_metadata_options(ec2, instance_id, wanted, **apply):
    """Plan then apply, as metadata_options does when the guard has nothing to say."""
    return apply_metadata_options(ec2, plan_metadata_options(ec2, instance_id, wanted), **apply)


@pytest.fixture(autouse=True)
def _no_sdk_imds(monkeypatch):
    """botocore looks for a region and credentials in IMDS when it finds none elsewhere: not from these tests."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def moto_options(ec2, instance_id):
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return reservation["Instances"][0]["MetadataOptions"]


# ----------------------------------------------------------------------------- pure


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ({}, {}),
        ({"http_tokens": None, "wait": True, "region": "eu-west-1"}, {}),
        ({"http_tokens": "required"}, {"http_tokens": "required"}),
        ({"http_put_response_hop_limit": 1}, {"http_put_response_hop_limit": 1}),
        ({"http_put_response_hop_limit": 64}, {"http_put_response_hop_limit": 64}),
        ({**DEFAULTS}, DEFAULTS),
    ],
)
def test_validate_requested_keeps_set_options(requested, expected):
    assert validate_requested(requested) == expected


@pytest.mark.parametrize(
    ("requested", "named"),
    [
        ({"http_put_response_hop_limit": 0}, "http_put_response_hop_limit must be an integer from 1 to 64"),
        ({"http_put_response_hop_limit": 65}, "http_put_response_hop_limit must be an integer from 1 to 64"),
        ({"http_put_response_hop_limit": -1}, "not -1"),
        ({"http_put_response_hop_limit": True}, "http_put_response_hop_limit"),
        ({"http_put_response_hop_limit": "2"}, "http_put_response_hop_limit"),
    ],
)
def test_validate_requested_rejects_bad_values(requested, named):
    with pytest.raises(ImdsConfigError, match=named.replace("(", r"\(")):
        validate_requested(requested)


@pytest.mark.parametrize(
    ("current", "requested", "desired", "changes"),
    [
        pytest.param(DEFAULTS, {}, DEFAULTS, {}, id="nothing requested"),
        pytest.param(DEFAULTS, {"http_tokens": "optional"}, DEFAULTS, {}, id="already so"),
        pytest.param(
            DEFAULTS,
            {"http_tokens": "required"},
            {**DEFAULTS, "http_tokens": "required"},
            {"http_tokens": "required"},
            id="one change keeps the rest",
        ),
        pytest.param(
            DEFAULTS,
            {"http_tokens": "required", "http_put_response_hop_limit": 1, "instance_metadata_tags": "enabled"},
            {**DEFAULTS, "http_tokens": "required", "instance_metadata_tags": "enabled"},
            {"http_tokens": "required", "instance_metadata_tags": "enabled"},
            id="only what differs",
        ),
        pytest.param(
            {"http_tokens": "required", "http_put_response_hop_limit": 1},
            {"http_endpoint": "enabled"},
            {
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "http_endpoint": "enabled",
                "http_protocol_ipv6": None,
                "instance_metadata_tags": None,
            },
            {"http_endpoint": "enabled"},
            id="a member the API left out counts as different",
        ),
        pytest.param(DEFAULTS, {"http_tokens": None}, DEFAULTS, {}, id="unset is not a change"),
    ],
)
def test_plan_change(current, requested, desired, changes):
    assert plan_change(current, requested) == (desired, changes)


def test_api_parameters_send_the_full_block_and_skip_unknown_members():
    desired = {**DEFAULTS, "http_tokens": "required", "http_protocol_ipv6": None}
    assert api_parameters("i-1", desired) == {
        "InstanceId": "i-1",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
        "HttpEndpoint": "enabled",
        "InstanceMetadataTags": "disabled",
    }


def test_options_from_api_uses_snake_case_and_none_for_missing():
    assert options_from_api({"State": "pending", "HttpTokens": "required", "HttpPutResponseHopLimit": 2}) == {
        "http_tokens": "required",
        "http_put_response_hop_limit": 2,
        "http_endpoint": None,
        "http_protocol_ipv6": None,
        "instance_metadata_tags": None,
        "state": "pending",
    }
    assert options_from_api(None)["state"] is None


# ----------------------------------------------------------------------------- waiter


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def states(*values):
    source = iter(values)
    calls = itertools.count(1)

    def read():
        read.calls = next(calls)
        return {"http_tokens": "required", "state": next(source)}

    return read


@pytest.mark.parametrize("pending", [0, 1, 5])
def test_wait_returns_once_applied(pending):
    fake = FakeTime()
    read = states(*(["pending"] * pending + ["applied"]))
    options = wait_until_applied(read, timeout=60, interval=2, clock=fake.clock, sleep=fake.sleep)
    assert options["state"] == "applied"
    assert read.calls == pending + 1
    assert fake.sleeps == [2] * pending


def test_wait_times_out_while_pending_and_says_what_to_do():
    fake = FakeTime()
    read = states(*(["pending"] * 100))
    with pytest.raises(WaitTimeout, match=r"still pending after 5 seconds.*Raise wait_timeout") as caught:
        wait_until_applied(read, timeout=5, interval=2, clock=fake.clock, sleep=fake.sleep)
    assert caught.value.reason == "wait_timeout"
    # Never sleeps past the deadline: 2 + 2 + 1.
    assert fake.sleeps == [2, 2, 1]


def test_wait_with_the_real_clock_gives_up_at_its_timeout():
    read = states(*(["pending"] * 10000))
    with pytest.raises(WaitTimeout):
        wait_until_applied(read, timeout=0.2, interval=0.05)


# ----------------------------------------------------------------------------- errors


def client_error(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ModifyInstanceMetadataOptions")


@pytest.mark.parametrize("code", ["UnauthorizedOperation", "AccessDenied"])
def test_access_denied_names_the_iam_action(code):
    error = aws_error(client_error(code), "ec2:ModifyInstanceMetadataOptions")
    assert isinstance(error, AwsAccessDenied)
    assert error.details() == {"reason": "unauthorized", "aws_error_code": code}
    assert "IAM permission ec2:ModifyInstanceMetadataOptions" in str(error)
    assert "Allow ec2:ModifyInstanceMetadataOptions" in str(error)


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (
            NoCredentialsError(),
            AwsCredentialsMissing,
            "No AWS credentials found for ec2:DescribeInstances: give the access_key and secret_key options",
        ),
        (client_error("AuthFailure"), AwsCredentialsMissing, "rejected the credentials"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), AwsUnreachable, "check endpoint_url"),
        (
            client_error("Throttling", "slow down"),
            AwsThrottled,
            r"AWS kept throttling ec2:DescribeInstances \(Throttling\)",
        ),
        (client_error("RequestLimitExceeded"), AwsThrottled, r"Run fewer hosts at a time \(serial: or throttle:"),
        (
            client_error("InvalidParameterValue", "bad"),
            AwsError,
            r"ec2:DescribeInstances failed \(InvalidParameterValue\): bad",
        ),
    ],
)
def test_aws_error_kinds(error, kind, text):
    converted = aws_error(error, "ec2:DescribeInstances")
    assert type(converted) is kind  # pylint: disable=unidiomatic-typecheck
    assert re.search(text, str(converted))


def test_error_code():
    assert error_code(client_error("InvalidInstanceID.Malformed")) == "InvalidInstanceID.Malformed"
    assert error_code(ValueError("x")) is None


def test_aws_client_without_any_region_says_where_to_set_it(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(AwsRegionMissing, match="set the region option, AWS_REGION or AWS_DEFAULT_REGION"):
        aws_client("ec2")


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"access_key": "AKIA"}, "access_key is set but secret_key is not"),
        ({"secret_key": "s"}, "secret_key is set but access_key is not"),
        ({"session_token": "t"}, "session_token needs access_key and secret_key"),
        ({"profile": "no-such-profile"}, "profile 'no-such-profile' is not in the AWS config"),
    ],
)
def test_aws_client_option_errors(options, text, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with pytest.raises(ImdsConfigError, match=text):
        aws_client("ec2", region="eu-west-1", **options)


def test_aws_client_rejects_a_malformed_endpoint_url():
    with pytest.raises(ImdsConfigError, match="endpoint_url 'not a url' is not a valid URL"):
        aws_client("ec2", region="eu-west-1", endpoint_url="not a url")


def test_aws_region_from_aws_region_variable(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert aws_client("ec2").meta.region_name == "ap-southeast-2"
    assert aws_client("ec2", region="us-east-2").meta.region_name == "us-east-2"


# ----------------------------------------------------------------------------- against moto


def test_describe_reads_moto_defaults(ec2, instance_id):
    assert describe_metadata_options(ec2, instance_id) == {**DEFAULTS, "state": "applied"}


@pytest.mark.parametrize("bad_id", ["i-00000000000000000", "not-an-id"])
def test_describe_unknown_instance(ec2, bad_id):
    with pytest.raises(InstanceNotFound, match=f"Instance '{bad_id}' was not found in region eu-west-1: check"):
        describe_metadata_options(ec2, bad_id, "eu-west-1")


def test_ensure_changes_only_what_differs_then_nothing(ec2, instance_id):
    first = ensure_metadata_options(ec2, instance_id, {"http_tokens": "required", "http_endpoint": "enabled"})
    assert first.changed
    assert first.changes == {"http_tokens": "required"}
    assert first.before == DEFAULTS
    assert first.after == {**DEFAULTS, "http_tokens": "required"}
    assert moto_options(ec2, instance_id)["HttpTokens"] == "required"
    second = ensure_metadata_options(ec2, instance_id, {"http_tokens": "required", "http_endpoint": "enabled"})
    assert not second.changed
    assert second.metadata_options == {**DEFAULTS, "http_tokens": "required", "state": "applied"}


def test_ensure_sends_the_full_block_so_moto_keeps_earlier_changes(ec2, instance_id):
    ensure_metadata_options(ec2, instance_id, {"http_tokens": "required", "instance_metadata_tags": "enabled"})
    ensure_metadata_options(ec2, instance_id, {"http_put_response_hop_limit": 3})
    # moto resets members a call leaves out; these survive only because the whole block was sent.
    assert moto_options(ec2, instance_id) == {
        "State": "applied",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 3,
        "HttpEndpoint": "enabled",
        "HttpProtocolIpv6": "disabled",
        "InstanceMetadataTags": "enabled",
    }


def test_ensure_in_check_mode_changes_nothing(ec2, instance_id):
    result = ensure_metadata_options(ec2, instance_id, {"http_tokens": "required"}, check_mode=True)
    assert result.changed
    assert result.metadata_options["http_tokens"] == "required"
    assert moto_options(ec2, instance_id)["HttpTokens"] == "optional"


def test_ensure_with_wait_reads_back_applied(ec2, instance_id):
    result = ensure_metadata_options(ec2, instance_id, {"http_protocol_ipv6": "enabled"}, wait=True, wait_timeout=5)
    assert result.metadata_options == {**DEFAULTS, "http_protocol_ipv6": "enabled", "state": "applied"}


def test_discover_instance_from_the_emulator(make_client):
    assert discover_instance(make_client()) == ("i-0a1b2c3d4e5f60718", "eu-west-1")


# ----------------------------------------------------------------------------- races and untrusted answers


class Hooked:
    """The boto3 client with a hook after each call of one operation: what someone else does in between."""

    def __init__(self, client, operation, after):
        self._client, self._operation, self._after = client, operation, after

    def __getattr__(self, name):
        call = getattr(self._client, name)
        if name != self._operation:
            return call

        def hooked(**kwargs):
            answer = call(**kwargs)
            self._after()
            return answer

        return hooked


def stale_full_block(ec2, instance_id):
    """Another run's Modify (B): instance_metadata_tags enabled, with the rest of the block it read before A's."""
    return lambda: ec2.modify_instance_metadata_options(
        InstanceId=instance_id,
        HttpTokens="optional",
        HttpPutResponseHopLimit=1,
        HttpEndpoint="enabled",
        InstanceMetadataTags="enabled",
    )


@pytest.mark.parametrize("wait", [False, True])
def test_an_overlapping_change_that_undoes_ours_fails_naming_the_option(ec2, instance_id, wait):
    hooked = Hooked(ec2, "modify_instance_metadata_options", stale_full_block(ec2, instance_id))
    with pytest.raises(OptionsOverwritten) as caught:
        ensure_metadata_options(hooked, instance_id, {"http_tokens": "required"}, wait=wait, wait_timeout=5)
    message = str(caught.value)
    assert f"Instance {instance_id} no longer has the metadata options this task set" in message
    assert "http_tokens: wanted 'required', found 'optional'" in message
    assert caught.value.details()["reason"] == "options_overwritten"
    assert caught.value.details()["changed"] is True
    assert caught.value.details()["metadata_options"]["http_tokens"] == "optional"


def test_an_overlapping_change_of_other_options_is_not_a_failure(ec2, instance_id):
    def other_option():
        ec2.modify_instance_metadata_options(
            InstanceId=instance_id, HttpTokens="required", HttpPutResponseHopLimit=3, HttpEndpoint="enabled"
        )

    hooked = Hooked(ec2, "modify_instance_metadata_options", other_option)
    result = ensure_metadata_options(hooked, instance_id, {"http_tokens": "required"}, wait=True, wait_timeout=5)
    assert result.metadata_options["http_put_response_hop_limit"] == 3


def test_an_overwrite_while_waiting_is_caught_by_the_next_poll(ec2, instance_id):
    """No change needed, wait=true, and the option is undone while the task waits for 'applied'."""
    ec2.modify_instance_metadata_options(InstanceId=instance_id, HttpTokens="required", HttpEndpoint="enabled")
    reads = []

    class PendingOnce:
        def __getattr__(self, name):
            return getattr(ec2, name)

        def describe_instances(self, **kwargs):
            answer = ec2.describe_instances(**kwargs)
            reads.append(1)
            if len(reads) == 1:
                answer["Reservations"][0]["Instances"][0]["MetadataOptions"]["State"] = "pending"
                stale_full_block(ec2, instance_id)()
            return answer

    with pytest.raises(OptionsOverwritten, match="http_tokens: wanted 'required', found 'optional'") as caught:
        ensure_metadata_options(
            PendingOnce(), instance_id, {"http_tokens": "required"}, wait=True, wait_timeout=5, wait_interval=0.01
        )
    assert caught.value.details()["changed"] is False


class Answers:
    """A client whose calls answer with the given values, as a broken or hostile endpoint might."""

    def __init__(self, describe=None, modify=None):
        self.describe, self.modify = describe, modify

    def describe_instances(self, **kwargs):
        return self.describe

    def modify_instance_metadata_options(self, **kwargs):
        return self.modify


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        "text",
        {"Reservations": None},
        {"Reservations": "x"},
        {"Reservations": [None, 1, {"Instances": None}]},
        {"Reservations": [{"Instances": ["i-1", {"InstanceId": 5}]}]},
    ],
)
def test_describe_answers_that_make_no_sense_are_instance_not_found(answer):
    with pytest.raises(InstanceNotFound):
        describe_metadata_options(Answers(describe=answer), "i-1", "eu-west-1")


@pytest.mark.parametrize("block", [None, "text", [1], {"HttpTokens": ["x"]}])
def test_odd_metadata_blocks_do_not_crash(block):
    answer = {"Reservations": [{"Instances": [{"InstanceId": "i-1", "MetadataOptions": block}]}]}
    options = describe_metadata_options(Answers(describe=answer), "i-1")
    assert set(options) == set(DEFAULTS) | {"state"}


def test_a_modify_answer_that_makes_no_sense_still_ends_in_a_check():
    current = {"Reservations": [{"Instances": [{"InstanceId": "i-1", "MetadataOptions": {"HttpTokens": "optional"}}]}]}
    with pytest.raises(OptionsOverwritten, match="http_tokens: wanted 'required', found 'optional'"):
        ensure_metadata_options(Answers(describe=current, modify="nonsense"), "i-1", {"http_tokens": "required"})


@pytest.mark.parametrize("instance_id", ["", "  "])
def test_an_empty_instance_id_is_refused(instance_id):
    with pytest.raises(ImdsConfigError, match=r"instance_id is set but empty .*leave the option out"):
        check_instance_id(instance_id)


def test_an_unset_or_real_instance_id_passes():
    check_instance_id(None)
    check_instance_id("i-0123456789abcdef0")
