# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every YAML example of the README and the guides runs as written, against the IMDS emulator and moto.

The examples are written for EC2: a host whose IMDS is at the link-local address, the controller's AWS
credentials, an ``amazon.aws.aws_ec2`` inventory. Here the environment stands in for EC2 the way the AWS SDKs
read it (``AWS_EC2_METADATA_SERVICE_ENDPOINT`` for the emulator, ``AWS_ENDPOINT_URL`` and moto's dummy keys for
the APIs), and the inventory is one host with the variables ``aws_ec2`` sets (``instance_id``,
``placement.region``), in every group the examples name. Nothing of an example is changed: a task list becomes
the tasks of one play, a play stays as it is, and all of them run in one ansible-playbook run in document order.
The one addition is patient IMDS timeouts (PATIENT) for a loaded machine, where an example sets none itself.

An example that cannot run as written here is in NOT_RUN with the reason, and its module calls still go through
the argument specs (tests/unit/plugins/test_examples.py). An example in neither list fails the test, so a new one
is either run or explained.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import requests
import yaml
from imds_emulator import ImdsEmulator
from services import launch_instance

HERE = Path(__file__).resolve().parent
for extra in (HERE, HERE.parent / "unit" / "plugins"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
from playbook_runner import REPO_ROOT, run_playbook  # noqa: E402
from test_examples import MODULES, ansible_doc, argument_spec, tasks_in, usage_problems  # noqa: E402

DOCUMENTS = [
    "README.md",
    "roles/instance_metadata/README.md",
    *sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "docs").rglob("*.rst")),
]
GROUPS = ("ec2_hosts", "ec2_fleet", "new_instances", "web")
# The 2-core CI machine runs other work beside this test: IMDS's 1-second timeouts are for an idle link-local
# service, not for an emulator on a machine at load 10.
IMDS_GROUP = "group/ec2meta.imds.imds"
PATIENT = {"timeout": 10, "total_timeout": 60}

# (document, label) -> why the example does not run here. The label is the example's first name, or its first line.
NOT_RUN = {
    ("README.md", "Which program calls IMDSv1 here, and which AWS SDK is too old for IMDSv2?"): (
        "become: true needs root, and the analyzer's log under /var/log"
    ),
    ("README.md", "Fail the deploy unless the right role is attached and its credentials last 15 more minutes"): (
        "verify_sts: true calls STS with the credentials the emulator invents, which moto does not know"
    ),
    ("README.md", "Verify the AWS-signed identity document on the controller before handing this host secrets"): (
        "certificate names AWS's certificate file for the region; the emulator signs with a key of its own"
    ),
    ("README.md", "The claimed instance must be the one the controller connects to"): (
        "claimed_id is what an earlier task of the user's play read from the host"
    ),
    (
        "README.md",
        "Instances launched from the web template require IMDSv2 ($Default and $Latest keep their AMI and type)",
    ): ("a launch template named web and the AMI ami-0123456789abcdef0 exist only in the reader's account"),
    ("docs/docsite/rst/guide_user.rst", "# inventory/aws_ec2.yml"): "an inventory source, not tasks",
    ("docs/docsite/rst/guide_imds_events.rst", "React to what EC2 announces to this instance"): (
        "a rulebook, run by ansible-rulebook: tests/eda/test_rulebook_e2e.py runs the shipped one"
    ),
    ("docs/docsite/rst/guide_imds_events.rst", "Read what EC2 announces"): (
        "the emulator's instance has a Spot notice, so the guard refuses the deploy, as it should; "
        "tests/unit/plugins/module_utils/test_events.py runs the filter on the facts"
    ),
    ("roles/instance_metadata/README.md", "# inventory/aws_ec2.yml"): "an inventory source, not tasks",
    ("roles/instance_metadata/README.md", "vars:"): (
        "the variables to add to the role call above it; a certificate file of AWS's, as for instance_identity"
    ),
    ("roles/instance_metadata/README.md", "Check every web server before deploying"): (
        "instance_metadata_verify_sts: true calls STS with the credentials the emulator invents, which moto does "
        "not know"
    ),
    ("roles/instance_metadata/README.md", "Who still calls IMDSv1 on the build hosts?"): (
        "reads the analyzer's log as root (instance_metadata_callers_become); tests/integration/"
        "test_imdsv1_callers_story.py runs it with a log of its own"
    ),
    ("docs/docsite/rst/guide_imdsv1_callers.rst", "Name the callers and the outdated SDKs"): (
        "reads the analyzer's log as root (instance_metadata_callers_become); tests/integration/"
        "test_imdsv1_callers_story.py runs it with a log of its own"
    ),
    ("docs/docsite/rst/guide_imdsv2_campaign.rst", "What would the next launches get?"): (
        "changes launch templates and the account defaults of the reader's fleet; tests/integration/test_campaign.py "
        "runs the campaign against a moto fleet"
    ),
    ("docs/docsite/rst/migrate_to_imdsv2.rst", "Audit the wave before switching it"): (
        "runs as written in tests/integration/test_imdsv2_migration.py (over several runs and a shifted CloudWatch "
        "window)"
    ),
}


def yaml_blocks(document: str) -> list:
    """The YAML code blocks of a Markdown or reStructuredText document, as text."""
    text = (REPO_ROOT / document).read_text(encoding="utf-8")
    if document.endswith(".md"):
        return re.findall(r"^```yaml\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    blocks = re.findall(r"^\.\. code-block:: yaml(?:\+jinja)?\n\n((?:    .*\n|\n)+)", text, flags=re.MULTILINE)
    return ["\n".join(line[4:] for line in block.splitlines()) + "\n" for block in blocks]


def label(block: str) -> str:
    names = re.findall(r"^\s*-?\s*name: (.+)$", block, flags=re.MULTILINE)
    first = next(line.strip() for line in block.splitlines() if line.strip() and line.strip() != "---")
    return names[0].strip().strip("\"'") if names and not first.startswith("#") else first


def examples() -> list:
    return [(document, label(block), block) for document in DOCUMENTS for block in yaml_blocks(document)]


def as_plays(document: str, name: str, block: str) -> list:
    """The plays of an example: a play as written, or a task list as the tasks of one play."""
    loaded = yaml.safe_load(block)
    if all(isinstance(item, dict) and "hosts" in item for item in loaded):
        return loaded
    return [{"name": f"{document}: {name}", "hosts": "instance", "gather_facts": False, "tasks": loaded}]


def with_patient_timeouts(play: dict) -> dict:
    """The play with IMDS timeouts a loaded machine meets (a request in 10 s, not 1 s); its own settings win."""
    defaults = dict(play.get("module_defaults") or {})
    defaults[IMDS_GROUP] = {**PATIENT, **(defaults.get(IMDS_GROUP) or {})}
    return {**play, "module_defaults": defaults}


def test_every_example_is_run_or_explained():
    found = {(document, name) for document, name, _block in examples()}
    assert len(found) >= 20, "the README and the guides hold YAML examples"
    assert sorted(set(NOT_RUN) - found) == [], "NOT_RUN names examples that no longer exist"


@pytest.mark.parametrize(
    ("document", "name"), sorted(NOT_RUN), ids=[f"{doc}:{name[:40]}" for doc, name in sorted(NOT_RUN)]
)
def test_an_example_not_run_uses_the_modules_as_documented(document, name):
    block = next(block for doc, found, block in examples() if (doc, found) == (document, name))
    loaded = yaml.safe_load(block)
    calls = [
        (key, task[key] or {})
        for task in tasks_in(loaded if isinstance(loaded, list) else [])
        for key in task
        if key.startswith("ec2meta.imds.") and key.rsplit(".", 1)[1] in MODULES
    ]
    for key, args in calls:
        assert usage_problems(argument_spec(ansible_doc(key.rsplit(".", 1)[1])["doc"]["options"]), args) == []
    role_options = {
        option for entry_point in ROLE_SPECS["argument_specs"].values() for option in entry_point.get("options", {})
    }
    assert sorted(set(role_variables(loaded)) - role_options) == [], "variables the role does not take"


ROLE_SPECS = yaml.safe_load(
    (REPO_ROOT / "roles" / "instance_metadata" / "meta" / "argument_specs.yml").read_text(encoding="utf-8")
)


def role_variables(node) -> list:
    """Every instance_metadata_* key anywhere in an example (the role's variables)."""
    if isinstance(node, dict):
        own = [key for key in node if str(key).startswith("instance_metadata_")]
        return own + [name for value in node.values() for name in role_variables(value)]
    if isinstance(node, list):
        return [name for item in node for name in role_variables(item)]
    return []


def test_every_other_example_runs_as_written(tmp_path, moto_endpoint):
    to_run = [(document, name, block) for document, name, block in examples() if (document, name) not in NOT_RUN]
    plays = [
        with_patient_timeouts(play) for document, name, block in to_run for play in as_plays(document, name, block)
    ]
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    with ImdsEmulator() as emulator:
        instance = launch_instance({"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint}, with_role=True)
        # Real CloudWatch has nothing of the last minutes: the emulator dates the IMDSv1 calls it reports two hours
        # back, so an example's own probe (a call without a token, on purpose) is not a caller that verify counts
        # as refused right after the switch of the next example.
        link = {"endpoint": moto_endpoint, **instance, "metrics_time_offset": -2 * 3600}
        requests.post(f"{emulator.url}/_emulator/link-moto", json=link, timeout=10).raise_for_status()
        services = {"imds_endpoint": emulator.url, "moto_endpoint": moto_endpoint, **instance}
        host = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            # What the amazon.aws.aws_ec2 inventory sets for an instance.
            "instance_id": instance["instance_id"],
            "placement": {"region": instance["region"]},
            # The examples that gather with setup too: in parallel the facts modules run as async jobs, which a
            # loaded 2-core machine pushes past their timeout; one after the other they have none.
            "ansible_facts_parallel": False,
        }
        inventory = {
            "all": {
                "hosts": {"instance": host, "localhost": {**host}},
                "children": {group: {"hosts": {"instance": None}} for group in GROUPS},
            }
        }
        (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
        environment = {
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": emulator.url,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": instance["region"],
            "EC2META_IMDS_TIMEOUT": str(PATIENT["timeout"]),  # the lookup's timeout
            "EC2META_IMDS_TOTAL_TIMEOUT": str(PATIENT["total_timeout"]),
        }
        result = run_playbook(
            playbook, services, verbosity="", env=environment, inventory=str(tmp_path / "inventory.yml")
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-15000:]
    recap = output[output.rindex("PLAY RECAP") :]
    assert "failed=0" in recap, recap
    assert "unreachable=0" in recap, recap
    assert output.count("\nPLAY [") == len(plays), "every play ran"
