# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs ec2meta.imds.role_credentials_info and hides its result from output when it carries credentials.

A module can only mask values by replacing them in its own result, which would also empty the registered
variable. Only the controller can keep the values for ``register`` and still censor the displayed result:
``_ansible_no_log`` on the result does exactly what ``no_log: true`` on the task does.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.10
        result.update(self._execute_module(task_vars=task_vars))
        if "credentials" in result:
            result["_ansible_no_log"] = True
        return result
