# Appended to the conf.py that antsibull-docs sphinx-init writes (scripts/docs.sh).
# CI has no network, so intersphinx cannot fetch the Ansible docs' inventory. References into the Ansible docs and
# other collections link straight to docs.ansible.com instead; references inside ec2meta.imds must still resolve,
# since warnings are errors.
from docutils import nodes as _nodes

intersphinx_mapping = {}
_ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
_ANSIBLE_LABELS = {
    "action_plugins": "plugins/action.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
    "common_return_values": "reference_appendices/common_return_values.html",
}


def _link_outside_the_collection(app, env, node, contnode):
    target = node.get("reftarget", "")
    if node.get("reftype") != "ref":
        return None
    if target in _ANSIBLE_LABELS:
        url = _ANSIBLE_DOCS + _ANSIBLE_LABELS[target]
    elif target.startswith("ansible_collections.") and not target.startswith("ansible_collections.ec2meta.imds."):
        parts = target.split(".")
        if len(parts) != 4:
            return None
        url = f"{_ANSIBLE_DOCS}collections/{parts[1]}/{parts[2]}/{parts[3]}.html"
    else:
        return None
    reference = _nodes.reference("", "", internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect("missing-reference", _link_outside_the_collection)
