# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Every IMDS path the collection asks for by name, written once. Private to the collection: not a public API.

Paths are relative to ``/latest/`` (the form the client, ``read_paths`` and the walk take), except the token
path, which the token PUT sends as it is.
"""

from __future__ import annotations

TOKEN_PATH = "/latest/api/token"  # noqa: S105 - a path, not a secret
IDENTITY_DOCUMENT = "dynamic/instance-identity/document"
USER_DATA_PATH = "user-data"
INSTANCE_ID_PATH = "meta-data/instance-id"
REGION_PATH = "meta-data/placement/region"
TAGS_PATH = "meta-data/tags/instance"
INFO_PATH = "meta-data/iam/info"
# The listing of the instance role; the role's credential document is this plus the role name.
ROLES_PATH = "meta-data/iam/security-credentials/"
# What EC2 announces to the instance (events.py watches these; 404 on the first three means "nothing announced").
SPOT_ACTION_PATH = "meta-data/spot/instance-action"
REBALANCE_PATH = "meta-data/events/recommendations/rebalance"
LIFECYCLE_STATE_PATH = "meta-data/autoscaling/target-lifecycle-state"
MAINTENANCE_SCHEDULED_PATH = "meta-data/events/maintenance/scheduled"
MAINTENANCE_HISTORY_PATH = "meta-data/events/maintenance/history"
