# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.

from __future__ import annotations


class ModuleDocFragment:
    # How the plugins that return what IMDS serves (metadata_facts, metadata and its lookup twin) mask credentials:
    # one rule (module_utils/_secret_fields.py), described once.
    DOCUMENTATION = r"""
options: {}
notes:
  - "Credentials served anywhere else (a damaged or lying IMDS can put a credential document in
    C(meta-data/iam/info), a tag or any path) are masked as each answer arrives: the value of every JSON key
    named like a secret (C(AccessKeyId), C(SecretAccessKey), C(Token), C(SessionToken), names containing
    C(secret), C(password) or C(privatekey), and the like) at any depth, also in JSON written inside a JSON
    string (up to 4 levels; deeper, that string is masked whole), the C(value) of a name/value pair whose C(name)
    or C(Key) is named so, the rest of the line after such a name and C(=) or C(:) in text (INI, shell, YAML),
    AWS access key IDs and session tokens in any text, and the same values wherever else they appear. A leaf
    whose path names a secret (a tag C(SecretAccessKey), C(custom/db_password)) is masked whole, and a path part
    shaped like an access key ID (a tag key C(ASIA...)) is masked where it becomes a key. An answer that looks
    like JSON but is not valid and names a secret is replaced whole by C(********)."
  - "User-data is the user's own script and is returned as it is, with one exception: secret values found in
    the other answers (a credential document in C(meta-data/iam/info)) are masked in it too. Binary user-data,
    returned as base64, is not searched."
"""
