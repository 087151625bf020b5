# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's defaults and its argument specs describe the same variables with the same defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "instance_metadata"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


# Entry points main does not run (tasks_from only); their variables are in defaults/main.yml but not in main's spec.
STANDALONE = {"find_imdsv1_callers"}


def test_every_default_belongs_to_an_entry_point():
    declared = {name for spec in SPECS.values() for name in spec["options"]}
    assert declared == set(DEFAULTS)


def test_main_covers_every_default_but_the_standalone_entry_points():
    standalone = {name for entry in STANDALONE for name in SPECS[entry]["options"]}
    assert set(SPECS["main"]["options"]) == set(DEFAULTS) - standalone


@pytest.mark.parametrize("entry_point", sorted(SPECS))
def test_spec_defaults_match_role_defaults(entry_point):
    for name, option in SPECS[entry_point]["options"].items():
        assert name.startswith("instance_metadata_"), name
        assert name in DEFAULTS, f"{entry_point}: {name} has no entry in defaults/main.yml"
        assert option.get("default") == DEFAULTS[name], f"{entry_point}: {name} default differs from defaults/main.yml"
        if DEFAULTS[name] is not None and "choices" in option:
            assert DEFAULTS[name] in option["choices"], name


@pytest.mark.parametrize("entry_point", sorted(SPECS))
def test_every_option_is_documented(entry_point):
    for name, option in SPECS[entry_point]["options"].items():
        assert option.get("description"), f"{entry_point}: {name} has no description"
        assert option.get("type"), f"{entry_point}: {name} has no type"


def test_shared_options_are_identical_across_entry_points():
    seen: dict = {}
    for entry_point, spec in SPECS.items():
        for name, option in spec["options"].items():
            assert seen.setdefault(name, (entry_point, option))[1] == option, f"{name} differs in {entry_point}"


def test_main_is_enforce_plus_verify():
    assert set(SPECS["main"]["options"]) == set(SPECS["enforce"]["options"]) | set(SPECS["verify"]["options"])
