# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process with given arguments and get back its JSON result."""

from __future__ import annotations

import contextlib
import json

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 and 2.18 have no public helper: set what AnsibleModule reads instead

    @contextlib.contextmanager
    def patch_module_args(args: dict):
        from ansible.module_utils import basic

        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


@pytest.fixture
def run_module(capsys):
    """``run_module(module, args, check_mode=False) -> dict``: the module's result; ``failed`` is set on failure."""

    def run(module, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
        full_args = dict(args)
        if check_mode:
            full_args["_ansible_check_mode"] = True
        if diff:
            full_args["_ansible_diff"] = True
        capsys.readouterr()
        with patch_module_args(full_args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run
