# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter ec2meta.imds.imdsv2_campaign_html: the IMDSv2 campaign report as HTML."""

from __future__ import annotations

from typing import Any

from ansible_collections.ec2meta.imds.plugins.plugin_utils._campaign_report import filter_input, to_html

DOCUMENTATION = r"""
name: imdsv2_campaign_html
short_description: The IMDSv2 campaign report as HTML
version_added: 1.0.0
description:
  - Renders what the playbook C(ec2meta.imds.imdsv2_campaign) gathered as a report a person reads, in HTML,
    with per-region, per-verdict tables and the list of what blocks the next phase (instances still calling
    IMDSv1 with their counts and last seen, instances whose use is unknown or that still allow IMDSv1, launch
    paths still allowing IMDSv1).
  - Tables list at most 500 rows and count the rest.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  _input:
    description:
      - A dict with C(phase) (V(audit), V(instances), V(launch_paths) or V(account)), C(generated) (a time),
        C(regions) (a list of M(ec2meta.imds.metadata_options_info) results, each with C(region)) and
        C(changes) (a list of dicts with C(region), C(kind), C(id) and C(change)).
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
                 | ec2meta.imds.imdsv2_campaign_html }}"
    dest: /tmp/imdsv2-campaign.html
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The report.
  type: str
"""


def imdsv2_campaign_html(report: Any) -> str:
    return to_html(filter_input(report))


class FilterModule:
    def filters(self) -> dict:
        return {"imdsv2_campaign_html": imdsv2_campaign_html}
