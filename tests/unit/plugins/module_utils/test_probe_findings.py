# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's table of findings, row by row: every row reachable, consistent, documented, and its fixes valid."""

from __future__ import annotations

import itertools

import pytest
import yaml

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.transport import Answer
from ansible_collections.ec2meta.imds.plugins.module_utils._probe.findings import (
    FINDING_TABLE,
    FINDINGS,
    AttachProfileFix,
    Observed,
    OptionFix,
    ProbeReport,
    build_findings,
    outcome,
)
from ansible_collections.ec2meta.imds.plugins.modules import metadata_options, probe

ROWS = [(name, index, row) for name, rows in FINDING_TABLE.items() for index, row in enumerate(rows)]
ROW_IDS = [f"{name}-{index}" for name, index, _row in ROWS]
PUTS = [Answer(200, 1.0, b"token"), Answer(None, 0.0, failure="read_timeout"), Answer(403, 1.0)]


# Every value each report field the findings read can take (one of each kind for the free-text ones).
REPORT_VALUES = {
    "reachable": [True, False],
    "endpoint_disabled": [True, False],
    "tokens_work": [True, False],
    "token_put_timed_out": [True, False],
    "hop_limit_suspected": [True, False],
    "v1_allowed": [True, False, None],
    "throttled": [True, False],
    "tags_enabled": [True, False, None],
    "role_attached": [True, False, None],
    "ipv6_endpoint": [None, "http://[::1]:1"],
    "ipv6_reachable": [True, False],
}


def observations():
    """Every combination of those values, with and without the IMDSv1 check, for each kind of token PUT outcome."""
    for values in itertools.product(*REPORT_VALUES.values()):
        report = ProbeReport(endpoint="http://127.0.0.1:1", instance_id="i-1", **dict(zip(REPORT_VALUES, values)))
        for check_imdsv1, put in itertools.product([True, False], PUTS):
            yield Observed(report, check_imdsv1, put)
    # AWS_EC2_METADATA_DISABLED=true: nothing was sent, so every other field keeps its default.
    disabled = ProbeReport(endpoint="http://127.0.0.1:1", disabled_by_environment="IMDS use is turned off.")
    for check_imdsv1 in (True, False):
        yield Observed(disabled, check_imdsv1, Answer(None, failure="disabled"))


@pytest.fixture(scope="module")
def chosen():
    """For each observation, which row each finding took."""
    return [{name: outcome(name, observed) for name in FINDING_TABLE} for observed in observations()]


def test_the_table_is_the_require_choices_and_the_order_of_the_report():
    assert tuple(FINDING_TABLE) == FINDINGS
    documented = yaml.safe_load(probe.DOCUMENTATION)["options"]["require"]["choices"]
    assert documented == list(FINDING_TABLE)
    report = ProbeReport(endpoint="http://127.0.0.1:1")
    assert [finding.name for finding in build_findings(report, True, PUTS[0])] == list(FINDING_TABLE)


@pytest.mark.parametrize(("name", "index", "row"), ROWS, ids=ROW_IDS)
def test_every_row_is_reachable(chosen, name, index, row):
    assert any(choice[name] is row for choice in chosen), f"row {index} of {name} is never chosen"


@pytest.mark.parametrize("name", list(FINDING_TABLE))
def test_every_finding_ends_in_a_row_that_always_applies(name):
    last = FINDING_TABLE[name][-1]
    assert all(last.when(observed) for observed in itertools.islice(observations(), 0, None, 97))


@pytest.mark.parametrize(("name", "index", "row"), ROWS, ids=ROW_IDS)
def test_rows_are_consistent(name, index, row):
    assert row.severity in ("ok", "info", "warning", "error")
    assert (row.ok is True) == (row.severity == "ok")
    if row.ok is None:
        assert row.severity == "info"
        assert row.message.startswith("not checked: ")
    if row.ok is not False:
        assert row.fix is None, "only a failed finding has something to fix"
    observed = next(observations())
    finding = row.finding(name, observed)
    assert "{" not in finding.message
    assert finding.message.endswith(".") or row.ok is None


OPTION_FIXES = sorted(
    {row.fix for _name, _index, row in ROWS if isinstance(row.fix, OptionFix)}, key=lambda fix: fix.option
)


@pytest.mark.parametrize("fix", OPTION_FIXES, ids=[fix.option for fix in OPTION_FIXES])
def test_option_fixes_are_valid_metadata_options_tasks(fix):
    options = yaml.safe_load(metadata_options.DOCUMENTATION)["options"]
    assert fix.option in options
    assert "choices" not in options[fix.option] or fix.value in options[fix.option]["choices"]
    ansible, aws_cli = fix.render("i-0a1b2c3d4e5f60718")
    task = yaml.safe_load(ansible)["ec2meta.imds.metadata_options"]
    assert task == {"instance_id": "i-0a1b2c3d4e5f60718", fix.option: fix.value}
    assert aws_cli.split() == [
        "aws",
        "ec2",
        "modify-instance-metadata-options",
        "--instance-id",
        "i-0a1b2c3d4e5f60718",
        "--" + fix.option.replace("_", "-"),
        str(fix.value),
    ]


def test_attach_profile_fix_without_an_instance_id():
    ansible, aws_cli = AttachProfileFix().render("<instance-id>")
    assert yaml.safe_load(ansible)["amazon.aws.ec2_instance"]["instance_ids"] == ["<instance-id>"]
    assert "associate-iam-instance-profile --instance-id <instance-id>" in aws_cli
