# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ansible_ec2_*`` table of the migration guide, generated from the module itself.

Runs ``ec2meta.imds.metadata_facts`` (``gather_subset: all``, ``flatten: true``) against the IMDS emulator and
places every ``ansible_ec2_*`` name it returned under ``ansible_facts.ec2``: the typed fact holding the same value
where there is one, else the ``raw`` path the value was read from. Instance-specific parts of a name (a MAC, the
role, a tag key, a public key or block device name) become placeholders.

    python tests/docs/migration_table.py          rewrite the table in the guide
    python tests/docs/migration_table.py --check  exit 1 when the guide's table is not what the code gives
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "docsite" / "rst" / "guide_migrate_from_amazon_aws.rst"
BEGIN = ".. BEGIN GENERATED TABLE (tests/docs/migration_table.py)"
END = ".. END GENERATED TABLE"
# Facts that describe the gather itself or repeat another one: never the home of an ansible_ec2_* value.
NOT_A_HOME = {"raw", "identity_document", "gather_subset", "available", "imds_version"}


def _setup_paths() -> None:
    sys.path[:0] = [str(REPO_ROOT / "tests" / "emulator")]
    link = REPO_ROOT / ".build" / "collections" / "ansible_collections" / "ec2meta" / "imds"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("../../../..")
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    # under pytest, tests/conftest.py has installed it already
    if not any(isinstance(finder, _AnsibleCollectionFinder) for finder in sys.meta_path):
        _AnsibleCollectionFinder(paths=[str(REPO_ROOT / ".build" / "collections")])._install()


def run_module(endpoint: str) -> dict:
    """The real module's result: main() with patched arguments, its JSON read back."""
    from ansible_collections.ec2meta.imds.plugins.modules import metadata_facts

    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        from ansible.module_utils import basic

        @contextlib.contextmanager
        def patch_module_args(args):
            basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
            yield

    out = io.StringIO()
    args = {"endpoint": endpoint, "gather_subset": ["all"], "flatten": True}
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        metadata_facts.main()
    return json.loads(out.getvalue())


def _leaves(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))


def _same(flat_value: Any, value: Any) -> bool:
    if flat_value is None or value is None or isinstance(value, bool):
        return False
    if isinstance(value, list) and isinstance(flat_value, str):
        return bool(value) and ",".join(map(str, value)) == flat_value
    if isinstance(value, int) and isinstance(flat_value, str):
        return str(value) == flat_value
    return flat_value == value


def _tokens(text: str) -> list[str]:
    return [token for token in re.split(r"[^a-z0-9]+", text.lower()) if token]


def _score(name: str, path: tuple, value: Any, variable: set) -> tuple:
    """How surely the typed fact at ``path`` is the home of ``name`` (higher is surer; (0,) is not at all).

    Every word of the fact's path in the name beats the name ending in the fact's key, which beats a value too
    distinctive to be another fact's; then the path sharing more words with the name wins (local_hostname over
    hostname, iam.credentials_last_updated over iam.last_updated).
    """
    keys = [part for part in path if part not in variable]
    wanted = set(_tokens(" ".join(keys)))
    if wanted <= set(_tokens(name)):
        return (3, len(wanted))
    # The name's last word may glue the key's last words together (lastupdated for credentials_last_updated).
    last, words, glued = _tokens(keys[-1]), set(_tokens(name)), name.replace("_", "")
    parents = set(_tokens(" ".join(keys[:-1])))
    for split in range(len(last)):
        # the whole key at the end of the name is enough; a part of it needs the rest and the parents' words
        if glued.endswith("".join(last[split:])) and (split == 0 or parents | set(last[:split]) <= words):
            return (2, len(wanted & words) + len(last) - split)
    distinctive = (isinstance(value, str) and len(value) >= 8) or isinstance(value, (list, dict))
    return (1, 0) if distinctive else (0,)


def _render(path: tuple) -> str:
    text = "ansible_facts.ec2"
    for part in path:
        text += f".{part}" if re.fullmatch(r"[a-z_][a-z0-9_]*", part) else f"[{part!r}]"
    return text


def _raw_home(name: str, raw: dict) -> str | None:
    for path, value in _leaves(raw):
        if len(path) < 2 or isinstance(value, dict):
            continue
        joined = "ansible_ec2_" + re.sub("[:-]", "_", "-".join(path[1:]))
        if name == joined:
            return _render(("raw", *path))
        if name.startswith(joined + "_") and isinstance(value, str) and value.lstrip().startswith("{"):
            key = name[len(joined) + 1 :]
            return f"{_render(('raw', *path))} | from_json | <{key}>"
    return None


def table_rows(result: dict) -> list[tuple[str, str]]:
    facts = result["ansible_facts"]
    ec2 = facts["ec2"]
    typed = [
        (path, value) for path, value in _leaves(ec2) if path and path[0] not in NOT_A_HOME and value not in ({}, [])
    ]
    placeholders = dict.fromkeys(ec2.get("network_interfaces", {}), "<mac>")
    placeholders.update(dict.fromkeys(ec2.get("tags", {}), "<tag>"))
    placeholders.update(dict.fromkeys(ec2.get("public_keys", {}), "<key name>"))
    if ec2.get("public_ipv4"):
        placeholders[ec2["public_ipv4"]] = "<public ip>"
    if (ec2.get("iam") or {}).get("role_name"):
        placeholders[ec2["iam"]["role_name"]] = "<role>"

    def generalize(text: str) -> str:
        for value, placeholder in sorted(placeholders.items(), key=lambda item: -len(item[0])):
            text = text.replace(repr(value), placeholder).replace(re.sub("[:-]", "_", value), placeholder)
        return text

    special = {
        "ansible_ec2_instance_tags_keys": "ansible_facts.ec2.tags | list",
        "ansible_ec2_user_data": "ansible_facts.ec2.user_data.text (ansible_facts.ec2.user_data.base64 if binary)",
    }
    rows = {}
    for name, value in facts.items():
        if not name.startswith("ansible_ec2_"):
            continue
        home = special.get(name)
        if home is None:
            scored = [(_score(name, path, leaf, set(placeholders)), path) for path, leaf in typed if _same(value, leaf)]
            scored = sorted((s for s in scored if s[0] != (0,)), key=lambda s: ([-n for n in s[0]], len(s[1]), s[1]))
            home = _render(scored[0][1]) if scored else _raw_home(name, ec2["raw"])
        rows[generalize(name)] = generalize(home or "(none: only with flatten: true)")
    return sorted(rows.items())


def render_table(rows: list[tuple[str, str]]) -> str:
    lines = [BEGIN, "", ".. list-table::", "   :header-rows: 1", "   :widths: 45 55", ""]
    lines += ["   * - amazon.aws.ec2_metadata_facts", "     - ec2meta.imds.metadata_facts"]
    for name, home in rows:
        lines += [f"   * - ``{name}``", f"     - ``{home}``"]
    return "\n".join([*lines, "", END])


def generated_table() -> str:
    _setup_paths()
    from imds_emulator import ImdsEmulator

    with ImdsEmulator() as emulator:
        return render_table(table_rows(run_module(emulator.url)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail when the guide's table is out of date")
    args = parser.parse_args()
    text = GUIDE.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    wanted = text[:start] + generated_table() + text[end:]
    if args.check:
        if wanted != text:
            print(f"{GUIDE} is out of date: run python {Path(__file__).relative_to(REPO_ROOT)}", file=sys.stderr)
            return 1
        return 0
    GUIDE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
