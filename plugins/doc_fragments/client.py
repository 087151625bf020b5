# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.

from __future__ import annotations


class ModuleDocFragment:
    # The options of module_utils/_imds/client_options.py CLIENT_ARGUMENT_SPEC; tests/unit checks that both agree.
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - The IMDS endpoint, as C(http://host[:port]) without a path.
      - When not set, E(AWS_EC2_METADATA_SERVICE_ENDPOINT) is used, then O(endpoint_mode).
    type: str
  endpoint_mode:
    description:
      - Which of the two IMDS addresses to use when O(endpoint) is not set.
      - V(IPv4) is C(http://169.254.169.254); V(IPv6) is C(http://[fd00:ec2::254]) and needs
        C(http_protocol_ipv6=enabled) on a Nitro instance.
      - When not set, E(AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE) is used, then V(IPv4).
    type: str
    choices: [IPv4, IPv6]
  token_ttl:
    description:
      - Lifetime in seconds of the IMDSv2 session token the client requests (1 to 21600).
      - One token serves every request of a task; it is renewed before it expires.
    type: int
    default: 21600
  allow_imdsv1:
    description:
      - Whether the client may fall back to IMDSv1 (requests without a token) when the token request is
        answered 403, 404 or 405, or gets no answer in time, as the AWS SDKs do.
      - When not set, IMDSv1 is allowed unless E(AWS_EC2_METADATA_V1_DISABLED=true).
      - Set V(false) on instances that must only use IMDSv2; the failure then explains why no token was had.
    type: bool
  timeout:
    description:
      - Seconds to wait to connect to IMDS and, separately, for each piece of an answer (at most 300). The AWS
        SDKs use 1.
      - Before IMDS has answered once in a task, two timeouts without an answer (about twice this) are taken as
        "nothing is there" and the task fails as unreachable.
    type: float
    default: 1.0
  retries:
    description:
      - How many times a request is retried, with exponential backoff and jitter, after a 429 or 5xx answer, an
        answer cut off midway, and, once IMDS has answered in this task, a timeout or a refused, dropped or
        timed-out connection (IMDS limits connections and packet rates). After such a drop the task sends one
        request at a time. 400, 401, 403 and 404 answers are never retried.
    type: int
    default: 3
  total_timeout:
    description:
      - Upper bound in seconds for one call, retries, backoff and slow answers included (at most 3600). It is
        enforced while reading, so a server that answers a byte at a time is cut off too; a call ends within
        this plus a fraction of a second.
    type: float
    default: 10.0
notes:
  - Requests go straight to the endpoint. Proxy environment variables are ignored and redirects are never
    followed, so the IMDSv2 token is never sent anywhere else.
  - Every answer is capped (module_utils/_limits.py); real IMDS answers stay far below the caps, and an answer
    over one fails with C(reason=bad_response) naming the path and the cap. Values, listings and documents 64 KiB;
    user-data 32 KiB (IMDS allows 16 KiB); the token 1 KiB; an answer's headers 64 KiB; 1000 entries in one
    listing; 2000 paths, 16 levels and 1 MiB in one crawl. Compressed answers are refused, never inflated; JSON
    nested deeper than 32 levels is not taken as JSON; gzip user-data is unpacked up to 1 MiB (past that it is
    returned as base64, as it came).
  - Any failure a module cannot classify is reported with C(reason=internal_error) and a request to report it,
    never as a Python traceback.
  - E(AWS_EC2_METADATA_DISABLED=true) in the environment turns IMDS off; every call then fails with a clear
    message. For a play that runs on hosts with and without IMDS, the facts module reports IMDS as unavailable
    instead of failing (C(on_unavailable=report)).
requirements:
  - requests
"""

    # The lookup takes the same options from its terms' keywords, the environment or ansible.cfg.
    PLUGINS = r"""
options:
  endpoint:
    description:
      - The IMDS endpoint, as C(http://host[:port]) without a path.
      - When not set, E(AWS_EC2_METADATA_SERVICE_ENDPOINT) is used, then O(endpoint_mode).
    type: str
    env:
      - name: EC2META_IMDS_ENDPOINT
    ini:
      - section: ec2meta_imds
        key: endpoint
    vars:
      - name: ec2meta_imds_endpoint
  endpoint_mode:
    description:
      - Which of the two IMDS addresses to use when O(endpoint) is not set.
      - V(IPv4) is C(http://169.254.169.254); V(IPv6) is C(http://[fd00:ec2::254]).
    type: str
    choices: [IPv4, IPv6]
    env:
      - name: EC2META_IMDS_ENDPOINT_MODE
    ini:
      - section: ec2meta_imds
        key: endpoint_mode
    vars:
      - name: ec2meta_imds_endpoint_mode
  token_ttl:
    description:
      - Lifetime in seconds of the IMDSv2 session token (1 to 21600).
    type: int
    default: 21600
    env:
      - name: EC2META_IMDS_TOKEN_TTL
    ini:
      - section: ec2meta_imds
        key: token_ttl
    vars:
      - name: ec2meta_imds_token_ttl
  allow_imdsv1:
    description:
      - Whether the lookup may fall back to IMDSv1 when no token can be had.
      - When not set, IMDSv1 is allowed unless E(AWS_EC2_METADATA_V1_DISABLED=true).
    type: bool
    env:
      - name: EC2META_IMDS_ALLOW_IMDSV1
    ini:
      - section: ec2meta_imds
        key: allow_imdsv1
    vars:
      - name: ec2meta_imds_allow_imdsv1
  timeout:
    description:
      - Seconds to wait to connect to IMDS and, separately, for each piece of an answer (at most 300).
    type: float
    default: 1.0
    env:
      - name: EC2META_IMDS_TIMEOUT
    ini:
      - section: ec2meta_imds
        key: timeout
    vars:
      - name: ec2meta_imds_timeout
  retries:
    description:
      - Retries after a 429 or 5xx answer, a cut-off answer, and (once IMDS has answered) a dropped connection.
    type: int
    default: 3
    env:
      - name: EC2META_IMDS_RETRIES
    ini:
      - section: ec2meta_imds
        key: retries
    vars:
      - name: ec2meta_imds_retries
  total_timeout:
    description:
      - Upper bound in seconds for the whole lookup, retries and slow answers included (at most 3600).
    type: float
    default: 10.0
    env:
      - name: EC2META_IMDS_TOTAL_TIMEOUT
    ini:
      - section: ec2meta_imds
        key: total_timeout
    vars:
      - name: ec2meta_imds_total_timeout
requirements:
  - requests (on the controller)
"""
