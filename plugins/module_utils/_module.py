# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The one wrapper every module is built on, and the only place that knows AnsibleModule.

``ImdsModule`` composes the argument spec (the shared IMDS client options, the shared AWS options, the module's
own), checks the Python libraries, builds the IMDS client and the AWS clients (one region resolution, one AWS time
budget for the task), and turns failures into ``fail_json`` with a ``reason`` and every secret masked. A module's
``main()`` keeps only its own decisions.

requests and boto3 are imported only where a module needs them: the IMDS client and the AWS session are imported
inside the methods that build them, so an AWS-only module does not load requests and an IMDS-only module does not
load boto3. The imports are plain ``from`` statements so that Ansible still ships those files with the module.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, NoReturn

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError, internal_error
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import (
    client_argument_spec,
    client_config_from_params,
    refuse_empty_expectations,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._masking import mask_data, secret_forms

LIBRARIES = ("requests", "boto3")


def compose_argument_spec(argument_spec: dict, *, imds: bool = False, aws: bool = False) -> dict:
    """A module's own options plus the shared ones it asks for (documented in the client and aws doc fragments)."""
    spec: dict = {}
    if aws:
        from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AWS_ARGUMENT_SPEC

        spec.update(AWS_ARGUMENT_SPEC)
    spec.update(argument_spec)
    return client_argument_spec(**spec) if imds else spec


class ImdsModule:
    """An AnsibleModule with the collection's options, clients and failure reporting.

    ``imds=True`` adds the IMDS client options (doc fragment ``ec2meta.imds.client``), ``aws=True`` the AWS options
    (doc fragment ``ec2meta.imds.aws``); ``requires`` names the libraries every run needs (checked at once, before
    any work); ``ansible_options`` go to AnsibleModule as they are (``mutually_exclusive``, ...). Every module of
    this collection supports check mode unless it says otherwise.
    """

    def __init__(
        self,
        argument_spec: dict,
        *,
        imds: bool = False,
        aws: bool = False,
        requires: Iterable[str] = (),
        **ansible_options: Any,
    ):
        ansible_options.setdefault("supports_check_mode", True)
        spec = compose_argument_spec(argument_spec, imds=imds, aws=aws)
        self.ansible = AnsibleModule(argument_spec=spec, **ansible_options)
        self.params = self.ansible.params
        self._budget = None
        self._aws_clients: dict = {}
        self._aws_session = None
        for library in requires:
            self.require(library)

    @property
    def check_mode(self) -> bool:
        return self.ansible.check_mode

    @property
    def diff(self) -> bool:
        return self.ansible._diff

    def warn(self, warning: str) -> None:
        self.ansible.warn(warning)

    def exit(self, **result: Any) -> NoReturn:
        self.ansible.exit_json(**result)
        raise AssertionError("exit_json returned")  # it exits; this keeps the NoReturn promise honest

    def exit_with_diff(self, before: Any, after: Any, **result: Any) -> NoReturn:
        """:meth:`exit`, with ``diff: {before, after}`` when the task runs with ``--diff``."""
        if self.diff:
            result["diff"] = {"before": before, "after": after}
        self.exit(**result)

    # --- libraries -----------------------------------------------------------------------------------------------

    def require(self, library: str) -> None:
        """Fail the module, naming the library, where ``library`` (requests or boto3) is not installed."""
        if library == "requests":
            from ansible_collections.ec2meta.imds.plugins.module_utils._imds import client

            present, error = client.HAS_REQUESTS, client.REQUESTS_IMPORT_ERROR
        elif library == "boto3":
            from ansible_collections.ec2meta.imds.plugins.module_utils._aws import session

            present, error = session.HAS_BOTO3, session.BOTO3_IMPORT_ERROR
        else:
            raise ValueError(f"unknown library {library!r}: one of {LIBRARIES}")
        if not present:
            self.ansible.fail_json(msg=missing_required_lib(library), exception=error)

    # --- secrets and failures ------------------------------------------------------------------------------------

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Every form of each secret (_masking.secret_forms) joins ``no_log_values``: Ansible masks them in whatever
        the module returns, and :meth:`fail` masks them in dict keys too, where Ansible does not look."""
        self.ansible.no_log_values.update(secret_forms(secrets))

    def fail(self, error: ImdsError, **result: Any) -> NoReturn:
        # The top-level names are the collection's own (msg, reason, ...); everything under them is masked, keys too.
        failure = {"msg": str(error), **error.details(), **result}
        no_log_values = self.ansible.no_log_values
        self.ansible.fail_json(**{name: mask_data(value, no_log_values) for name, value in failure.items()})
        raise AssertionError("fail_json returned")  # it exits; this keeps the NoReturn promise honest

    def fail_json(self, **result: Any) -> NoReturn:
        self.ansible.fail_json(**result)
        raise AssertionError("fail_json returned")

    @contextmanager
    def failures_reported(self, secrets: set | None = None, **partial: Any) -> Iterator[None]:
        """Around a module's work: the collection's errors become fail_json (with ``partial`` added: what the task
        knows so far), and so does any other exception, as ``reason: internal_error`` (a bug, with a request to
        report it) instead of a traceback. ``secrets`` (read while the block runs) are masked in the failure in every
        form, whatever it says. An empty ``expected_*`` option fails here, before the module's work."""
        try:
            refuse_empty_expectations(self.params)
            yield
        except ImdsError as error:
            self.add_secrets(secrets or ())
            self.fail(error, **partial)
        except Exception as error:
            self.add_secrets(secrets or ())
            self.fail(internal_error(error, self.ansible.no_log_values))

    # --- IMDS ----------------------------------------------------------------------------------------------------

    def imds_client(self) -> Any:
        """The IMDS client of the module's client options; fails the module naming requests when it is missing, or
        the option and the fix when an option is bad. Use it as a context manager (it closes its connections)."""
        self.require("requests")
        from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import ImdsClient

        try:
            return ImdsClient(client_config_from_params(self.params))
        except ImdsError as error:
            self.fail(error)

    # --- AWS -----------------------------------------------------------------------------------------------------

    def session_region(self) -> str | None:
        """The region option, else the standard chain's (AWS_REGION, AWS_DEFAULT_REGION, the profile), else None."""
        from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import (
            aws_session_region,
            check_region_option,
        )

        return check_region_option(self.params["region"]) or aws_session_region(self.params["profile"])

    def region(self, missing: str) -> str:
        """:meth:`session_region`, or AwsRegionMissing with the message ``missing`` (say what needs the region)."""
        from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsRegionMissing

        region = self.session_region()
        if not region:
            raise AwsRegionMissing(missing)
        return region

    @property
    def budget(self) -> Any:
        """The task's one AwsBudget of ``aws_timeout`` seconds, shared by every AWS client of the task (created on
        first use, inside ``failures_reported``, so a bad aws_timeout fails with the option's name)."""
        if self._budget is None:
            from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AwsBudget

            self._budget = AwsBudget(self.params["aws_timeout"])
        return self._budget

    def aws_client(self, service: str, region: str, max_attempts: int | None = None) -> Any:
        """The boto3 client for ``service`` in ``region`` with the module's AWS options, bounded by :attr:`budget`;
        one per service, region and ``max_attempts`` (None: botocore's retries) for the task, from one session."""
        from ansible_collections.ec2meta.imds.plugins.module_utils._aws import session

        key = (service, region, max_attempts)
        if key not in self._aws_clients:
            options = session.aws_params(self.params)
            if self._aws_session is None:
                self._aws_session = session.aws_session(**options)
            self._aws_clients[key] = session.aws_client(
                service,
                **{**options, "region": region, "budget": self.budget, "session": self._aws_session},
                **({} if max_attempts is None else {"max_attempts": max_attempts}),
            )
            # Credentials from the environment, a profile or a role are no module option, so no_log never saw them;
            # an AWS answer that quotes them (an error message) is masked all the same.
            self.add_secrets(session.session_secrets(self._aws_session))
        return self._aws_clients[key]
