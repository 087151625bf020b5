# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs ec2meta.imds.instance_identity on the host to read the document and its signature, verifies them here.

The host is the party being checked: of its module's result only the document and signature texts are used,
and the task result is built here from what the signature proves (plugin_utils/_identity_verification.py).
The certificate is read and checked here, before the host is contacted, and never sent to it.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.ec2meta.imds.plugins.module_utils._imds.identity_documents import DEFAULT_SIGNATURE_TYPE
from ansible_collections.ec2meta.imds.plugins.plugin_utils._identity_verification import (
    CERTIFICATE_ON_CONTROLLER,
    IdentityCheckFailed,
    checked_certificate,
    controller_options,
    describe_option_value,
    failure_result,
    identity_result,
    is_pem,
    read_certificate_file,
)


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.10
        module_args = dict(self._task.args)
        try:
            options = controller_options(module_args)
            options["certificate"] = self._certificate(options["certificate"])
        except IdentityCheckFailed as error:
            result.update(failure_result(error, module_args.get("signature_type") or DEFAULT_SIGNATURE_TYPE))
            return result
        # The host reads IMDS and nothing else: the certificate, or a controller file, is none of its business.
        module_args["certificate"] = CERTIFICATE_ON_CONTROLLER
        module_result = self._execute_module(
            module_name="ec2meta.imds.instance_identity", module_args=module_args, task_vars=task_vars
        )
        result.update(identity_result(module_result, options))
        return result

    def _certificate(self, value: str) -> str:
        """The checked PEM text: as given, or from the controller file it names."""
        if is_pem(value):
            return checked_certificate(value, "certificate")
        try:
            path = self._find_needle("files", value)
        except AnsibleError:
            raise IdentityCheckFailed(
                f"certificate {describe_option_value(value)} is neither PEM text nor a file on the controller "
                "(searched the play's and role's files/ directories too). Give the path of AWS's certificate, or its "
                "PEM text.",
                "invalid_option",
            ) from None
        return checked_certificate(read_certificate_file(path), f"certificate file {path}")
