# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.

from __future__ import annotations


class ModuleDocFragment:
    # Attribute support of the modules that only read IMDS on their host; the descriptions come from
    # ansible.builtin.action_common_attributes, and a module's own attributes win over these.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode and never reports a change.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
    details: Runs on the EC2 instance (or in a container on it) whose metadata service it reads.
"""
