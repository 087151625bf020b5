# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Which instance a task runs on, asked of IMDS (metadata_options without instance_id)."""

from __future__ import annotations

from typing import Any

from ansible_collections.ec2meta.imds.plugins.module_utils._errors import ImdsConfigError, ImdsError
from ansible_collections.ec2meta.imds.plugins.module_utils._imds.paths import IDENTITY_DOCUMENT


def discover_instance(client: Any) -> tuple[str, str]:
    """(instance_id, region) of the instance the task runs on, from its identity document in IMDS."""
    try:
        document = client.get_json(IDENTITY_DOCUMENT)
    except ImdsError as error:
        raise type(error)(
            f"instance_id was not set and IMDS could not tell it (set instance_id and region when the task runs "
            f"on a controller): {error}",
            url=error.url,
            status=error.status,
        ) from None
    instance_id = document.get("instanceId") if isinstance(document, dict) else None
    region = document.get("region") if isinstance(document, dict) else None
    if not instance_id or not region:
        raise ImdsConfigError(
            "The identity document in IMDS has no instanceId or region: set instance_id and region explicitly"
        )
    return instance_id, region
