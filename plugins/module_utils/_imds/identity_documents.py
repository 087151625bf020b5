# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""The host side of ec2meta.imds.instance_identity: read the identity document and one signature, as text.

Private to ec2meta.imds: not a public API, it may change in any release.

Nothing here verifies anything. The host is the party being checked, so verification happens on the controller
(plugins/plugin_utils/_identity_verification.py, called by the action plugin); this file only fetches what it needs.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsNotFound
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import IDENTITY_DOCUMENT

IDENTITY_DIR = "dynamic/instance-identity"
# signature_type -> what it is, for docs and messages. The first is the default.
SIGNATURE_TYPES = {
    "rsa2048": "PKCS#7 SignedData, SHA-256 with RSA-2048",
    "pkcs7": "PKCS#7 SignedData, SHA-1 with DSA",
    "signature": "a bare base64 RSA signature over the SHA-256 hash of the document",
}
DEFAULT_SIGNATURE_TYPE = "rsa2048"

# The module's own options (beyond the shared client options). Only signature_type matters on the host; the
# others are read by the action plugin on the controller and are declared here so both sides accept the same task.
IDENTITY_OPTIONS: dict = {
    "signature_type": {"type": "str", "default": DEFAULT_SIGNATURE_TYPE, "choices": list(SIGNATURE_TYPES)},
    "certificate": {"type": "str", "required": True},
    "expected_account_id": {"type": "str", "no_log": False},
    "expected_instance_id": {"type": "str", "no_log": False},
    "expected_region": {"type": "str"},
    "expected_image_id": {"type": "str", "no_log": False},
    "max_age": {"type": "int"},
}


def read_identity(client: Any, signature_type: str) -> dict:
    """The raw document and signature text as IMDS served them; a missing one raises :class:`ImdsNotFound`."""
    deadline = client.new_deadline()
    document = client.get_text(IDENTITY_DOCUMENT, deadline)
    path = f"{IDENTITY_DIR}/{signature_type}"
    try:
        signature = client.get_text(path, deadline)
    except ImdsNotFound as error:
        others = ", ".join(name for name in SIGNATURE_TYPES if name != signature_type)
        raise ImdsNotFound(
            f"IMDS has no {signature_type} signature on this instance ({path} answered 404), so the identity "
            f"document cannot be verified with signature_type={signature_type}. Choose another signature_type "
            f"({others}) with the certificate that matches it.",
            url=error.url,
            status=404,
        ) from None
    return {"document_text": document, "signature_text": signature}
