# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CompleteLifecycleAction, which moto (5.2.5) lacks, for the drain playbook's end-to-end test: installed into the
moto server's own process like moto_ec2_gaps.py.

The stand-in checks what Auto Scaling checks (the group and its hook exist) and records each call in
``COMPLETED``, so a test proves the call reached the API with the right instance, hook and result. An unknown group
or hook is a ``ValidationError``, as AWS answers.
"""

from __future__ import annotations

import threading
from typing import Any

COMPLETED: list = []
_LOCK = threading.Lock()
_INSTALLED: dict = {}


def install() -> None:
    if _INSTALLED:
        return
    from moto.autoscaling.exceptions import ValidationError
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import EmptyResult

    def complete_lifecycle_action(self: Any) -> Any:
        group = self._get_param("AutoScalingGroupName")
        hook = self._get_param("LifecycleHookName")
        hooks = self.autoscaling_backend.describe_lifecycle_hooks(as_name=group, lifecycle_hook_names=[hook])
        if not hooks:
            raise ValidationError(f"No Lifecycle Hook found with name {hook} for group {group}")
        call = {
            "AutoScalingGroupName": group,
            "LifecycleHookName": hook,
            "LifecycleActionResult": self._get_param("LifecycleActionResult"),
            "InstanceId": self._get_param("InstanceId"),
            "LifecycleActionToken": self._get_param("LifecycleActionToken"),
        }
        with _LOCK:
            COMPLETED.append(call)
        return EmptyResult()

    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action
    _INSTALLED["complete_lifecycle_action"] = True
