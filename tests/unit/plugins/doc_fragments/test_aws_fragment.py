# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS options exist twice, as a spec and as documentation; they must agree."""

from __future__ import annotations

import yaml

from ansible_collections.ec2meta.imds.plugins.doc_fragments.aws import ModuleDocFragment
from ansible_collections.ec2meta.imds.plugins.module_utils._aws.session import AWS_ARGUMENT_SPEC


def test_fragment_matches_the_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(AWS_ARGUMENT_SPEC)
    for name, option in AWS_ARGUMENT_SPEC.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("aliases", []) == option.get("aliases", []), name


def test_only_the_credentials_are_secret():
    secret = {name for name, option in AWS_ARGUMENT_SPEC.items() if option.get("no_log")}
    assert secret == {"access_key", "secret_key", "session_token"}
