# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The imdsv1_callers guide shows the table the scan reads, and the analyzer forms the tests write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from analyzer_log import FORMS

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.log import ANALYZER_URL
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.sdk_scan import READINESS, SOURCE
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.versions import SUFFIX_FORMS

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "docsite" / "rst" / "guide_imdsv1_callers.rst"


@pytest.mark.parametrize("row", READINESS, ids=[row.key for row in READINESS])
def test_the_readiness_table_has_each_row_with_its_minimum(row):
    text = GUIDE.read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(row.what)}\s+{re.escape(row.minimum)}\s", text, re.MULTILINE), row


def test_the_guide_cites_its_sources():
    text = GUIDE.read_text(encoding="utf-8")
    assert SOURCE in text
    assert ANALYZER_URL in text


@pytest.mark.parametrize("form", FORMS)
def test_each_form_the_tests_write_is_in_the_guide(form):
    assert f"{form}.0" in GUIDE.read_text(encoding="utf-8")


@pytest.mark.parametrize("form", SUFFIX_FORMS, ids=[form.written_by for form in SUFFIX_FORMS])
def test_the_guide_shows_each_version_suffix_form(form):
    text = GUIDE.read_text(encoding="utf-8")
    for example in form.examples.split(", "):
        assert f"``{example.split(' ')[0]}``" in text, example
