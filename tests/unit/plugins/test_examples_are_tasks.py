# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every EXAMPLES block (modules and the lookup) is a list of tasks, as a user pastes it under ``tasks:``.

Each entry goes through Ansible's own task parser (ModuleArgsParser): a play pasted into a task list, an entry
with no action or two, or an action Ansible cannot resolve fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from ansible.parsing.mod_args import ModuleArgsParser

REPO = Path(__file__).resolve().parents[3]
PLUGINS = sorted(
    path.relative_to(REPO).as_posix()
    for folder in ("modules", "lookup")
    for path in (REPO / "plugins" / folder).glob("*.py")
    if not path.stem.startswith("_")
)
BLOCK_KEYS = ("block", "rescue", "always")
OWN_PREFIXES = ("ec2meta.imds.", "ansible.builtin.")


def examples(path: str) -> str:
    for node in ast.parse((REPO / path).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no EXAMPLES")


def actions(tasks: list) -> list[str]:
    found = []
    for task in tasks:
        assert isinstance(task, dict), f"not a task: {task!r}"
        assert not {"hosts", "tasks"} & set(task), f"a play where a task belongs: {task.get('name')!r}"
        if any(key in task for key in BLOCK_KEYS):
            for key in BLOCK_KEYS:
                found += actions(task.get(key) or [])
            continue
        # Actions of other collections (amazon.aws) resolve only where those are installed: their names are kept.
        foreign = any(key.count(".") == 2 and not key.startswith(OWN_PREFIXES) for key in task)
        found.append(ModuleArgsParser(task).parse(skip_action_validation=foreign)[0])
    return found


@pytest.mark.parametrize("path", PLUGINS)
def test_examples_are_a_task_list(path):
    text = examples(path)
    assert text.lstrip().startswith("---")
    tasks = yaml.safe_load(text)
    assert isinstance(tasks, list)
    assert tasks
    used = actions(tasks)
    plugin = f"ec2meta.imds.{Path(path).stem}"
    # a module's examples call it; the lookup's call it from a template
    assert plugin in used if "/modules/" in path else f"lookup('{plugin}'" in text


def test_a_play_is_refused():
    with pytest.raises(AssertionError, match="a play where a task belongs"):
        actions([{"name": "a play", "hosts": "all", "tasks": []}])
