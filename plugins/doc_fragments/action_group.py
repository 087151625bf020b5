# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.

from __future__ import annotations


class ModuleDocFragment:
    # Every module of the imds action group (meta/runtime.yml action_groups) lists this fragment.
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/ec2meta.imds.imds) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ec2meta.imds.imds
"""
