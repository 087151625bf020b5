# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ec2meta.imds: not public API, may change in any release. Do not use it from other collections.
"""Every cap on what IMDS and the AWS APIs may send, in one place. Private to the collection: not a public API.

Each cap is chosen from what real IMDS serves, with a wide margin, so that a genuine answer never reaches one and
a hostile or broken endpoint cannot make a module hold more than a few megabytes or run past its deadline.
Going over a cap is a ``bad_response`` naming the path and the cap.
"""

from __future__ import annotations

# A value, listing or document. The largest real ones (an identity document with its PKCS#7 signatures, a
# listing of 50 tags, an SSH public key) are a few KiB.
MAX_BODY_BYTES = 64 * 1024
# The status line and headers of one answer, informational (1xx) answers before it included: IMDS sends about 300
# bytes. http.client alone would take 100 lines of 64 KiB, and the copies of them add up to tens of MB per answer.
MAX_HEADER_BYTES = 64 * 1024
# user-data: IMDS refuses more than 16 KiB, so twice that is margin enough.
MAX_USER_DATA_BYTES = 32 * 1024
# gzip user-data is unpacked for facts and the metadata module: cloud-init configs that needed compressing to fit
# 16 KiB unpack to a few hundred KiB at most; a bomb stops here, before it becomes megabytes of base64 output.
MAX_USER_DATA_UNPACKED_BYTES = 1024 * 1024
# An IMDSv2 token is about 56 base64 characters.
MAX_TOKEN_BYTES = 1024
# Entries in one listing: 50 tags, up to 50 network interfaces, up to 50 addresses or prefixes per interface.
MAX_LISTING_ENTRIES = 1000
# Requests in one crawl: a full gather is about 90; an instance with many interfaces and addresses a few hundred.
MAX_CRAWL_PATHS = 2000
# Bytes in one crawl, all answers together: a full gather is some 30 KiB, user-data included. Without it the caps
# above multiply (2000 answers of 64 KiB: 128 MB of facts).
MAX_CRAWL_BYTES = 1024 * 1024
# Segments in one crawled path: the deepest real path (meta-data/network/interfaces/macs/<mac>/ipv6-prefix/...)
# has seven.
MAX_CRAWL_DEPTH = 16
# A path given by a user: tag keys are at most 128 characters, the longest real paths under 200.
MAX_PATH_LENGTH = 1024
# Nesting of a JSON document: real IMDS documents are two levels deep. A result nested much deeper makes ansible's
# result encoder recurse past Python's limit after the module has finished, a traceback instead of a result.
MAX_JSON_DEPTH = 32

# One AWS API answer (a DescribeInstances or GetMetricData page). The largest real ones are a few MiB: 1000
# instances, or 100,800 datapoints. Parsing multiplies the size about tenfold, so a larger body is refused before
# botocore parses it.
MAX_AWS_ANSWER_BYTES = 16 * 1024 * 1024
# Pages of one paginated AWS read: 200 DescribeInstances pages are 200,000 instances; a GetMetricData batch needs
# at most 55 pages (500 queries of 455 days of hourly datapoints, 100,800 datapoints a page).
MAX_AWS_PAGES = 200
