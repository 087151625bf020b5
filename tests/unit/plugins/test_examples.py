# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's EXAMPLES are valid YAML whose tasks use the module as documented.

The options come from ansible-doc (so doc fragments are included) and each example task's arguments go through
Ansible's own argument validator: an unknown option, a wrong choice or a wrong type fails here, before a user
copies it. Templated values are checked for the option name only, since their type is known only at run time.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = Path(__file__).resolve().parents[3]
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if not path.stem.startswith("_"))
SPEC_KEYS = ("type", "choices", "required", "elements", "aliases")


@functools.lru_cache(maxsize=None)
def all_docs() -> dict:
    """ansible-doc for every module at once (one ansible-doc start-up is most of the cost)."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module"]
        + [f"ec2meta.imds.{name}" for name in MODULES],
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections")},
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout)


def ansible_doc(name: str) -> dict:
    return all_docs()[f"ec2meta.imds.{name}"]


def argument_spec(options: dict) -> dict:
    return {name: {key: option[key] for key in SPEC_KEYS if key in option} for name, option in options.items()}


def usage_problems(spec: dict, args: dict) -> list:
    """What is wrong with one call's arguments: undocumented options, then what the validator says of the rest."""
    aliases = {alias for option in spec.values() for alias in option.get("aliases", [])}
    unknown = sorted(set(args) - set(spec) - aliases)
    if unknown:
        return [f"undocumented options {unknown}"]
    literal = {key: value for key, value in args.items() if "{{" not in str(value)}
    # A required option given as a template counts as present.
    checked = {key: {**option, "required": False} if key in args else option for key, option in spec.items()}
    return ArgumentSpecValidator(checked).validate(literal).error_messages


def tasks_in(node) -> list:
    """Every task of an EXAMPLES document: top-level tasks, and tasks inside plays and blocks."""
    found = []
    for item in node or []:
        if not isinstance(item, dict):
            continue
        nested = [item.get(key) for key in ("tasks", "pre_tasks", "post_tasks", "block", "rescue", "always")]
        if any(nested):
            for tasks in nested:
                found += tasks_in(tasks)
        else:
            found.append(item)
    return found


@pytest.mark.parametrize("module", MODULES)
def test_examples_use_the_module_as_documented(module):
    doc = ansible_doc(module)
    examples = yaml.safe_load(doc["examples"])
    spec = argument_spec(doc["doc"]["options"])
    calls = [task[f"ec2meta.imds.{module}"] or {} for task in tasks_in(examples) if f"ec2meta.imds.{module}" in task]
    assert calls, f"the EXAMPLES of {module} never call it"
    for args in calls:
        problems = usage_problems(spec, args)
        assert not problems, f"{module} EXAMPLES: {problems} in {args}"


def readme_tasks() -> list:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [block.split("\n", 1)[1] for block in text.split("```")[1::2] if block.startswith("yaml")]
    return [task for block in blocks for task in tasks_in(yaml.safe_load(block))]


def test_readme_examples_use_the_modules_as_documented():
    specs = {module: argument_spec(ansible_doc(module)["doc"]["options"]) for module in MODULES}
    calls = [(name, task[name] or {}) for task in readme_tasks() for name in task if name.startswith("ec2meta.imds.")]
    assert len({name for name, _args in calls}) == len(MODULES), "the README shows every module"
    for name, args in calls:
        problems = usage_problems(specs[name.rsplit(".", 1)[1]], args)
        assert not problems, f"README: {name}: {problems} in {args}"


@pytest.mark.parametrize("module", MODULES)
def test_a_page_does_not_point_at_itself_as_another_module(module):
    # ansible-doc renders M(x) and O(x#module:y) on x's own page as "x" and "(of module x)": a doc fragment shared
    # by several modules must not name one of them.
    text = json.dumps(ansible_doc(module)["doc"])
    assert f"M(ec2meta.imds.{module})" not in text
    assert f"O(ec2meta.imds.{module}#module:" not in text
