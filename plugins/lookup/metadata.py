# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: metadata
short_description: Read EC2 Instance Metadata Service paths on the controller
version_added: 1.0.0
description:
  - Reads paths of the EC2 Instance Metadata Service (IMDS) from the Ansible controller, for example a Jenkins
    or AWX server that runs on EC2. Returns one value per term, in order.
  - The same client as the modules (IMDSv2 first, IMDSv1 only where allowed) and the same messages.
  - Credential documents (C(meta-data/iam/security-credentials/<role>)) are refused with a message pointing to
    M(ec2meta.imds.role_credentials_info).
options:
  _terms:
    description: Paths relative to C(/latest/), for example C(meta-data/instance-id) or C(user-data).
    type: list
    elements: str
    required: true
  recursive:
    description:
      - Read each path as a directory and return the whole subtree as a dict.
      - Set it as a keyword of the lookup call only.
    type: bool
    default: false
  parse_json:
    description:
      - Return values that are JSON objects or arrays as data instead of text.
      - Set it as a keyword of the lookup call only.
    type: bool
    default: false
  default:
    description:
      - Returned for a path that does not exist (404) instead of failing.
      - Set it as a keyword of the lookup call only.
    type: raw
extends_documentation_fragment:
  - ec2meta.imds.secret_masking
  - ec2meta.imds.client.plugins
notes:
  - user-data is returned as text, unpacked first when gzip-compressed; binary user-data is returned as base64.
  - >-
    Each client option can be set three ways, the first found wins: as a keyword of the lookup call, after the
    paths (C(timeout=2)); as the variable listed with the option (for example C(ec2meta_imds_timeout) in
    group_vars); or as the environment variable or C(ansible.cfg) entry listed with it (for example
    E(EC2META_IMDS_TIMEOUT), or C(timeout) in section C([ec2meta_imds])).
seealso:
  - module: ec2meta.imds.metadata
  - module: ec2meta.imds.metadata_facts
author:
  - ec2meta.imds maintainers (@ec2meta)
"""

EXAMPLES = r"""
---
- name: Where does the controller run?
  ansible.builtin.debug:
    msg: "{{ lookup('ec2meta.imds.metadata', 'meta-data/instance-id', 'meta-data/placement/region') }}"

- name: The region as a variable
  ansible.builtin.set_fact:
    controller_region: "{{ lookup('ec2meta.imds.metadata', 'meta-data/placement/region') }}"

- name: The identity document as data, with a short timeout and IMDSv2 only
  ansible.builtin.set_fact:
    controller_identity: >-
      {{ lookup('ec2meta.imds.metadata', 'dynamic/instance-identity/document', parse_json=true,
                timeout=0.5, allow_imdsv1=false) }}

- name: A tag, or a default when tags are not exposed
  ansible.builtin.debug:
    msg: "{{ lookup('ec2meta.imds.metadata', 'meta-data/tags/instance/Name', default='unnamed') }}"
"""

RETURN = r"""
_raw:
  description: One value per term, in order; dicts with O(recursive=true) or O(parse_json=true).
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsError, internal_error  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client import (  # noqa: E402
    HAS_REQUESTS,
    ImdsClient,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.client_options import (  # noqa: E402
    CLIENT_ARGUMENT_SPEC,
    client_config_from_params,
)
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.read_paths import (  # noqa: E402
    MISSING,
    normalize_path,
    read_paths,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if not HAS_REQUESTS:
            raise AnsibleLookupError(
                "The ec2meta.imds.metadata lookup needs the Python library requests on the controller: "
                "install it in the Python that runs ansible (pip install requests)."
            )
        self.set_options(var_options=variables, direct=kwargs)
        self._check_keywords(kwargs)
        if not terms:
            raise AnsibleLookupError(
                "The ec2meta.imds.metadata lookup needs at least one path, e.g. "
                "lookup('ec2meta.imds.metadata', 'meta-data/instance-id')."
            )
        default = self.get_option("default")
        try:
            config = client_config_from_params({name: self._client_option(name) for name in CLIENT_ARGUMENT_SPEC})
            with ImdsClient(config) as client:
                values = read_paths(
                    client,
                    terms,
                    recursive=self.get_option("recursive"),
                    parse_json=self.get_option("parse_json"),
                    default=MISSING if default is None else default,
                )
        except ImdsError as error:
            raise AnsibleLookupError(str(error)) from None
        except Exception as error:  # a bug is reported as one, with a request to report it
            raise AnsibleLookupError(str(internal_error(error))) from None
        # read_paths keys values by normalized path: map each term the same way, keeping order and duplicates.
        return [values[normalize_path(term)] for term in terms]

    def _check_keywords(self, keywords):
        """Refuse what set_options lets through: a misspelt keyword (it would fall back to the real IMDS address)
        and a bool that is neither true nor false."""
        unknown = sorted(set(keywords) - set(self._options))
        if unknown:
            raise AnsibleLookupError(
                f"The ec2meta.imds.metadata lookup has no option {', '.join(unknown)}: "
                f"use {', '.join(sorted(self._options))}."
            )
        for name in ("recursive", "parse_json", "allow_imdsv1"):
            if keywords.get(name) is not None:
                try:
                    boolean(keywords[name], strict=True)
                except TypeError:
                    raise AnsibleLookupError(
                        f"The ec2meta.imds.metadata lookup option {name}={keywords[name]!r} is not a boolean: "
                        "use true or false."
                    ) from None

    def _client_option(self, name):
        # Options set from variables (ec2meta_imds_endpoint: "{{ ... }}") reach a lookup untemplated.
        value = self.get_option(name)
        if isinstance(value, str) and self._templar is not None:
            value = self._templar.template(value)
        return value
