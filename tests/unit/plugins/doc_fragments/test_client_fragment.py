# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared options exist twice, as a spec and as documentation; they must agree."""

from __future__ import annotations

import yaml

from ansible_collections.ec2meta.imds.plugins.doc_fragments.client import ModuleDocFragment
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import CLIENT_ARGUMENT_SPEC


def _documented(fragment: str) -> dict:
    return yaml.safe_load(fragment)["options"]


def test_module_fragment_matches_the_spec():
    documented = _documented(ModuleDocFragment.DOCUMENTATION)
    assert set(documented) == set(CLIENT_ARGUMENT_SPEC)
    for name, option in CLIENT_ARGUMENT_SPEC.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("choices") == option.get("choices"), name


def test_plugins_fragment_has_the_same_options():
    documented = _documented(ModuleDocFragment.PLUGINS)
    assert set(documented) == set(CLIENT_ARGUMENT_SPEC)
    for name, option in CLIENT_ARGUMENT_SPEC.items():
        assert documented[name].get("default") == option.get("default"), name
