# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter ec2meta.imds.imdsv2_campaign_markdown: the IMDSv2 campaign report as Markdown."""

from __future__ import annotations

from typing import Any

from ansible_collections.ec2meta.imds.plugins.plugin_utils._campaign_report import filter_input, to_markdown

DOCUMENTATION = r"""
name: imdsv2_campaign_markdown
short_description: The IMDSv2 campaign report as Markdown
version_added: 1.0.0
description:
  - Renders what the playbook C(ec2meta.imds.imdsv2_campaign) gathered as a report a person reads, in Markdown -
    a top line per region and overall (ready to enforce IMDSv2 or not, and how many blockers), what the phase
    changed (or would change, in a dry run), the steps that failed, what the audit cannot see, and everything
    that blocks C(http_tokens_enforced) with a Name column and what to do about each, then per-region overviews.
    Progress is a text bar per region and phase; every string from AWS is escaped (no raw HTML, no link, no
    table break - C(<), C(>), C(&) as entities, Markdown punctuation with a backslash, newlines as spaces).
  - Verdicts and launch path kinds the report does not know are shown as they are and counted as blockers.
  - Tables list at most 500 rows and count the rest; a text longer than 2000 characters is shortened between
    words and says how much was left out.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  _input:
    description:
      - A dict with C(phase) (V(audit), V(instances), V(launch_paths) or V(account)), C(generated) (a time),
        C(regions) (a list of M(ec2meta.imds.metadata_options_info) results, each with C(region); a failed
        result makes that region's readiness unknown), C(changes) (a list of dicts with C(region), C(kind),
        C(name), C(id) and C(change)), C(task_results) (the phase's registered results), C(failures) (a list of
        dicts with C(task), C(reason) and C(msg)) and C(check_mode) (true marks the report as a dry run).
    type: dict
    required: true
seealso:
  - module: ec2meta.imds.metadata_options_info
"""

EXAMPLES = r"""
---
- name: Write the report
  ansible.builtin.copy:
    content: "{{ {'phase': 'audit', 'generated': now(utc=true).isoformat(), 'regions': [audit], 'changes': []}
                 | ec2meta.imds.imdsv2_campaign_markdown }}"
    dest: /tmp/imdsv2-campaign.md
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The report.
  type: str
"""


def imdsv2_campaign_markdown(report: Any) -> str:
    return to_markdown(filter_input(report))


class FilterModule:
    def filters(self) -> dict:
        return {"imdsv2_campaign_markdown": imdsv2_campaign_markdown}
