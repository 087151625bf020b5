# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IMDSv2 campaign report as Markdown or HTML (docs: imdsv2_campaign_markdown.yml, imdsv2_campaign_html.yml)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.ec2meta.imds.plugins.plugin_utils._campaign_report import to_html, to_markdown


def _checked(report: Any) -> Any:
    if not isinstance(report, dict):
        raise AnsibleFilterError(
            "the IMDSv2 campaign report filters take a dict with phase, generated, regions (each a "
            f"metadata_options_info result with region) and changes, not {type(report).__name__}"
        )
    return report


def imdsv2_campaign_markdown(report: Any) -> str:
    return to_markdown(_checked(report))


def imdsv2_campaign_html(report: Any) -> str:
    return to_html(_checked(report))


class FilterModule:
    def filters(self) -> dict:
        return {"imdsv2_campaign_markdown": imdsv2_campaign_markdown, "imdsv2_campaign_html": imdsv2_campaign_html}
