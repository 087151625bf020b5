# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""imdsv1_callers through main(): a fixture log and a fixture Jenkins tree in tmp_path."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from analyzer_log import Call, Process, jenkins_calls, line, write_log

from ansible_collections.ec2meta.imds.plugins.modules import imdsv1_callers

TOKEN = "AQAEAFEOMInKb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g=="
START = datetime(2026, 11, 30, 2, 0, 0)


@pytest.fixture
def host(tmp_path):
    """A Jenkins host: the analyzer's log (1.1 form, tokens as sent) and a plugin with an old AWS SDK for Java."""
    calls = [
        *jenkins_calls(START, 5),
        Call(
            chain=[Process(900, "curl", f"curl -s -H X-aws-ec2-metadata-token:{TOKEN} http://169.254.169.254/")],
            version="v2",
            token=TOKEN,
        ),
    ]
    write_log(tmp_path / "log", [line(call, "1.1") for call in calls])
    jar = tmp_path / "jenkins" / "plugins" / "aws-java-sdk" / "WEB-INF" / "lib" / "aws-java-sdk-core-1.11.500.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"PK")
    return tmp_path


def run(run_module, host, check_mode=False, **args):
    return run_module(
        imdsv1_callers,
        {
            "log_path": str(host / "log" / "imds-trace.log"),
            "scan_paths": [str(host / "jenkins")],
            "scan_system_paths": False,
            **args,
        },
        check_mode=check_mode,
    )


@pytest.mark.parametrize("check_mode", [False, True])
def test_names_the_caller_and_the_old_sdk(run_module, host, check_mode):
    result = run(run_module, host, check_mode=check_mode)
    assert not result.get("failed"), result
    assert result["changed"] is False
    first = result["callers"][0]
    assert (first["imds_version"], first["name"], first["count"]) == ("v1", "java", 5)
    assert [parent["name"] for parent in first["parents"]] == ["sh", "java"]
    assert result["log"]["complete"] is True
    sdk = result["outdated_sdks"][0]
    assert (sdk["what"], sdk["version"], sdk["minimum"]) == ("AWS SDK for Java", "1.11.500", "1.11.678")
    assert sdk["fix"].startswith("update the Jenkins plugin aws-java-sdk")
    assert "IMDSv1 callers: java (pid 21421, 5 calls)" in result["summary"]
    assert "AWS SDK for Java 1.11.500" in result["summary"]


def test_no_token_in_the_result(run_module, host):
    result = run(run_module, host)
    text = json.dumps(result)
    assert TOKEN not in text
    assert [c["name"] for c in result["callers"]] == ["java", "curl"]


def test_only_v1_and_since(run_module, host):
    result = run(run_module, host, only_v1=True, since="2026-11-30T02:00:03")
    assert [(c["name"], c["count"]) for c in result["callers"]] == [("java", 2)]
    assert result["log"]["lines_before_since"] == 3 + 1  # three report calls and the curl, all before 02:00:03


def test_without_an_analyzer_the_scan_still_runs(run_module, host):
    result = run(run_module, host, log_path=str(host / "none" / "imds-trace.log"))
    assert not result.get("failed")
    assert result["callers"] == []
    assert result["log"]["found"] is False
    assert "No readable IMDS packet analyzer log" in result["summary"]
    assert result["outdated_sdks"]


def test_read_log_false_and_no_scan(run_module, host):
    result = run(run_module, host, read_log=False, scan_paths=[])
    assert result["log"] is None
    assert result["scan"] is None
    assert result["callers"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"since": "last tuesday"}, "since must be an ISO 8601 time"),
        ({"max_log_bytes": 0}, "max_log_bytes must be a whole number greater than 0"),
        ({"time_budget": -1}, "time_budget must be a whole number greater than 0"),
        ({"max_scan_entries": 0}, "max_scan_entries must be a whole number greater than 0"),
        # Issue 28: these raised OverflowError or ValueError, reported as internal_error.
        ({"since": "0001-01-01T00:00:00+05:00"}, "since must be an ISO 8601 time"),
        ({"since": "9999-12-31T23:59:59-05:00"}, "since must be an ISO 8601 time"),
        ({"time_budget": 10**400}, "time_budget must be at most 604800"),
        ({"max_log_bytes": 10**400}, "max_log_bytes must be at most"),
        ({"log_path": "/var/log/imds/imds-trace\0.log"}, "log_path must be a path without a NUL character"),
        ({"scan_paths": ["/opt/\0"]}, "scan_paths must be a path without a NUL character"),
    ],
)
def test_bad_options_fail_with_a_reason(run_module, host, args, message):
    result = run(run_module, host, **args)
    assert result["failed"] is True
    if "reason" not in result and "NUL character" in message:
        # ansible-core 2.21 logs the invocation to syslog first and refuses a NUL there, before the module runs.
        assert "embedded null character" in result["msg"]
        return
    assert result["reason"] == "invalid_option"
    assert message in result["msg"]


def test_a_fifo_log_and_an_encoded_token_through_main(run_module, host):
    """Issue 28: a FIFO in place of a rotated file is refused, not waited on; a token in the standard alphabet,
    URL-encoded in the path, does not come back."""
    import os
    import signal
    from urllib.parse import quote

    standard = "AQAEAFEO+InKb/S7me+hLqzu83lYdeDV7r/sPh2D4SJF6v5IwD4S8g=="
    call = Call(chain=[Process(77, "python3", f"python3 poll.py {standard}")], path=f"/?t={quote(standard, safe='')}")
    with (host / "log" / "imds-trace.log").open("a") as stream:
        stream.write(line(call, "1.1") + "\n")
    os.mkfifo(host / "log" / "imds-trace.log.1")

    def expired(_signum, _frame):
        raise TimeoutError("the module blocked on a FIFO")

    previous = signal.signal(signal.SIGALRM, expired)  # the old reader blocked for ever: fail, do not hang
    signal.alarm(60)
    try:
        result = run(run_module, host)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert not result.get("failed"), result
    assert result["log"]["complete"] is False
    assert result["log"]["files"][1]["error"].startswith("unreadable: not a regular file but a FIFO")
    text = json.dumps(result)
    assert standard not in text
    assert quote(standard, safe="") not in text
    assert "the log was not read completely" in result["summary"]


def test_the_module_masks_tokens_itself_not_only_through_no_log(run_module, host, monkeypatch):
    """no_log_values is capped (LogLimits.max_tokens): what guarantees that no token comes back is the module's own
    masking, so it must hold with no_log registering nothing."""
    from ansible_collections.ec2meta.imds.plugins.module_utils import _module

    tokens = [f"AQAEA{index:04d}Kb-S7me-hLqzu83lYdeDV7r-sPh2D4SJF6v5IwD4S8g==" for index in range(150)]
    calls = [Call(chain=[Process(index, "poll", f"poll --token {token}")]) for index, token in enumerate(tokens)]
    with (host / "log" / "imds-trace.log").open("a") as stream:
        stream.writelines(line(call, "1.1") + "\n" for call in calls)
    monkeypatch.setattr(_module.ImdsModule, "add_secrets", lambda self, secrets: None)
    result = run(run_module, host)
    assert not result.get("failed"), result
    assert result["log"]["tokens_cap_reached"] is True
    text = json.dumps(result)
    assert not any(token in text or token.rstrip("=") in text for token in tokens)
