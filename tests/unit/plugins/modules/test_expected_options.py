# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every ``expected_*`` option of every module refuses an empty value instead of turning its check off.

The options are read from each module's own argument spec (captured as main() builds its AnsibleModule, through
ImdsModule), so an ``expected_*`` option added later is covered without touching this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from unittest import mock

import pytest

from ansible_collections.ec2meta.imds.plugins import modules as modules_package
from ansible_collections.ec2meta.imds.plugins.module_utils import _module
from ansible_collections.ec2meta.imds.plugins.plugin_utils._identity_verification import (
    IdentityCheckFailed,
    controller_options,
)


class SpecCaptured(Exception):
    pass


def argument_spec(module) -> dict:
    """The argument spec ``module.main()`` gives AnsibleModule (main() stops right there)."""
    captured: dict = {}

    def capture(argument_spec, **kwargs):
        captured.update(argument_spec)
        raise SpecCaptured

    with mock.patch.object(_module, "AnsibleModule", capture), pytest.raises(SpecCaptured):
        module.main()
    return captured


MODULES = {
    name: importlib.import_module(f"{modules_package.__name__}.{name}")
    for name in (info.name for info in pkgutil.iter_modules(modules_package.__path__))
}
SPECS = {name: argument_spec(module) for name, module in MODULES.items()}
EXPECTED_OPTIONS = sorted(
    (name, option) for name, spec in SPECS.items() for option in spec if option.startswith("expected_")
)
EMPTY_VALUES = ["", "   ", "\t\n"]


def test_the_modules_with_expectations_are_found():
    """The control: the collection has these options today, so the capture above really reads the specs."""
    assert {
        ("instance_identity", "expected_account_id"),
        ("instance_identity", "expected_instance_id"),
        ("instance_identity", "expected_region"),
        ("instance_identity", "expected_image_id"),
        ("role_credentials_info", "expected_role"),
        ("role_credentials_info", "expected_instance_profile"),
    } <= set(EXPECTED_OPTIONS)


@pytest.mark.parametrize("value", EMPTY_VALUES, ids=["empty", "spaces", "whitespace"])
@pytest.mark.parametrize(("module_name", "option"), EXPECTED_OPTIONS)
def test_an_empty_expectation_is_refused_before_any_request(run_module, emulator, module_name, option, value):
    required = {name: "unused" for name, spec in SPECS[module_name].items() if spec.get("required")}
    result = run_module(MODULES[module_name], {"endpoint": emulator.url, **required, option: value})
    assert result.get("failed") is True, result
    assert result["reason"] == "invalid_option"
    assert result["msg"].startswith(f"{option} is set but empty ({value!r}): give the value the check must find")
    assert f"leave {option} out" in result["msg"]
    assert emulator.counters["total"] == 0


@pytest.mark.parametrize("value", EMPTY_VALUES, ids=["empty", "spaces", "whitespace"])
@pytest.mark.parametrize("option", [option for name, option in EXPECTED_OPTIONS if name == "instance_identity"])
def test_the_identity_controller_refuses_an_empty_expectation(option, value):
    """The action plugin checks its options before it runs anything on the host."""
    with pytest.raises(IdentityCheckFailed) as caught:
        controller_options({"certificate": "unused", option: value})
    assert caught.value.reason == "invalid_option"
    assert str(caught.value).startswith(f"{option} is set but empty")
