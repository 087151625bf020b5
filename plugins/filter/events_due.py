# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter ec2meta.imds.events_due: the announced events that take effect within the next N hours."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.events import due_within

# Ten years: further ahead than anything EC2 announces, and far from the end of the calendar datetime can hold.
MAX_HOURS = 87600

DOCUMENTATION = r"""
name: events_due
short_description: The events EC2 announced for a host that take effect within the next hours
version_added: 1.1.0
description:
  - Takes the facts' C(ec2.events.announced) (M(ec2meta.imds.metadata_facts) with the V(events) subset) and keeps
    the events that take effect before now plus O(hours) - a Spot interruption, a rebalance recommendation, a
    maintenance window that starts - and every lifecycle state but V(InService).
  - An event whose time cannot be read counts as due (fail closed), so a deploy refuses rather than starts; so
    does an event of kind V(unknown) (a notice path the facts could not read) and a lifecycle event without a
    state.
author:
  - ec2meta.imds maintainers (@ec2meta)
options:
  _input:
    description: The list C(ec2.events.announced).
    type: list
    elements: dict
    required: true
  hours:
    description: How far ahead to look, in hours, from V(0) to V(87600) (ten years).
    type: float
    default: 24
seealso:
  - module: ec2meta.imds.metadata_facts
"""

EXAMPLES = r"""
---
- name: Refuse to deploy on an instance about to be interrupted or rebooted
  ansible.builtin.assert:
    that: ec2.events.announced | ec2meta.imds.events_due(hours=6) | length == 0
    fail_msg: "{{ ec2.events.announced | ec2meta.imds.events_due(hours=6) | map(attribute='kind') | list }}"
"""

RETURN = r"""
_value:
  description: The events that are due, in the shape of C(ec2.events.announced).
  type: list
  elements: dict
"""


def events_due(events: Any, hours: Any = 24) -> list:
    if not isinstance(events, list) or not all(isinstance(event, dict) and "kind" in event for event in events):
        raise AnsibleFilterError("events_due: give it ec2.events.announced (a list of event dicts).")
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 <= hours <= MAX_HOURS:
        raise AnsibleFilterError(
            f"events_due: hours must be a number of hours from 0 to {MAX_HOURS} (ten years), not {hours!r}."
        )
    try:
        return due_within(events, float(hours))
    except (TypeError, ValueError, OverflowError) as error:
        raise AnsibleFilterError(f"events_due: cannot read the events given ({error}).") from None


class FilterModule:
    def filters(self) -> dict:
        return {"events_due": events_due}
