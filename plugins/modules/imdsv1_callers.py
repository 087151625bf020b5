#!/usr/bin/python
# Copyright: ec2meta.imds contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: imdsv1_callers
short_description: Name the processes that still call IMDSv1, and the AWS SDKs too old for IMDSv2
version_added: 1.0.0
description:
  - CloudWatch counts an instance's IMDSv1 calls (C(MetadataNoToken)) but does not say who makes them. This module
    answers from the host itself, in two parts.
  - The callers, RV(callers), come from the trace log of AWS's IMDS packet analyzer
    (U(https://github.com/aws/aws-imds-packet-analyzer)), an eBPF tracer that writes one line per IMDS request.
    Each caller is one calling program (its IMDS version, name, argv and the names of its parents), with the pid
    and parent chain (up to four levels) of its latest call, the user agents and paths it requested, how many
    calls and when the first and last were seen. IMDSv1 callers come first.
  - Reads every form the analyzer has written, 1.0.0 to 1.5.0 (both time formats, with and without request
    details, the lower-cased lines of 1.4.0 and later, C({MISSING PAYLOAD}) lines and processes that ended
    before their argv could be read), the log and its rotated files (C(.1) to C(.5), C(.gz) too). A line that does
    not parse is counted in RV(log.lines_unparsed) and skipped, never shown.
  - The SDK scan, RV(outdated_sdks), looks for AWS SDKs and tools older than the first versions that support
    IMDSv2, from AWS's page "Use a supported AWS SDK". It knows Python packages (botocore, boto3, awscli), Node.js
    C(node_modules/aws-sdk), Java jars (also inside C(.war), C(.hpi), C(.jpi), C(.ear) and fat jars, and Jenkins
    C(WEB-INF/lib) directories), Go binaries (the module list Go embeds), .NET (NuGet and C(*.deps.json)),
    PowerShell modules, PHP (Composer), Ruby gems and the C++ SDK's headers; also pip C(.egg) directories, Maven
    repository directories and Go's module cache and C(vendor/modules.txt).
  - A version found on the host is a claim, read by a strict grammar - an optional C(v), one to six dot-separated
    integers of at most nine digits, then at most one known suffix - PEP 440 pre-, post- and development releases
    (C(rc1), C(a1), C(b2), C(.post1), C(.dev0)), npm, NuGet and Maven pre-releases with a known label
    (C(-beta.1), C(-preview), C(-SNAPSHOT), C(-M1)) and Go pseudo-versions. A pre-release of the minimum is older
    than the minimum. Any other version (C(2.x), C(1.13.25garbage), C(1.13.25-1), a number in the billions) is
    reported with C(status=unknown), never taken as ready.
  - "IMDSv2 session tokens are taken out of everything returned (argv, paths, user agents, messages), whatever
    their form (C(-H 'X-aws-ec2-metadata-token: ...') in any case and any quoting, as a dict key or value, or a
    token-shaped string anywhere, in the standard or URL-safe base64 alphabet, URL-encoded or JSON-escaped), and
    token split by HTML character references (C(&#43;), C(&plus;)) or written in UTF-16 in a log line too;
    up to 100 of those found are also registered with Ansible's C(no_log) values. The module's own masking is
    what keeps tokens out; C(no_log) is a second net, capped because Ansible's masking at exit costs the number of
    registered forms times the number of returned strings, outside any budget. RV(log.tokens_cap_reached) says when
    more were found."
  - "Every read is bounded per byte, not per line: the byte cap (inflated bytes for a C(.gz) file) and the time
    budget are checked as each piece is read, inside a long line too, and the time to read one line grows in
    proportion to its length. Only regular files are read: a FIFO, a device or a socket in place of the log, its
    rotated files or a scanned file is refused before it is read and reported in its C(error)."
  - The module only reads files on the host; it sends no request to IMDS or AWS.
author:
  - ec2meta.imds maintainers (@ec2meta)
extends_documentation_fragment:
  - ec2meta.imds.read_only
  - ansible.builtin.action_common_attributes
options:
  log_path:
    description:
      - The analyzer's log. Its rotated siblings are read too, newest first - V(<log_path>.1) to V(<log_path>.5),
        then logrotate's dated ones (V(<log_path>-20261201)), each as it is or C(.gz). A rotated file compressed
        otherwise (C(.xz), C(.bz2), C(.zst), C(.lz4)...) is not read; it is listed in RV(log.files) with an C(error)
        starting V(skipped:) and RV(log.complete) is false.
      - A C(.gz) file is read by the collection's own reader, a 64 KiB piece at a time, its compressed bytes
        counted against O(max_log_bytes) and O(time_budget) as well as its inflated ones. A header longer than
        64 KiB makes the file unreadable; more than 10,000 members stop the reading (RV(log.stopped) is
        V(max_gzip_members)); zero padding or other data after the last member is not read and is named in the
        file's C(error).
      - Must not contain a NUL character.
      - The analyzer's release 1.0.0 wrote C(/var/log/imds-trace.log); later releases the default.
    type: path
    default: /var/log/imds/imds-trace.log
  read_log:
    description:
      - Read the analyzer's log. V(false) runs only the SDK scan; RV(callers) is then empty and RV(log) null.
    type: bool
    default: true
  since:
    description:
      - Only count calls from this time on, ISO 8601, for example V(2026-11-20T15:00:00Z). A time without a zone
        is the host's local time, as the analyzer writes its own. A time whose UTC equivalent falls outside the
        years 1 to 9999 is refused (V(invalid_option)).
    type: str
  only_v1:
    description:
      - Leave IMDSv2 callers out of RV(callers). Callers of unknown version (C({MISSING PAYLOAD}) lines) stay,
        since they may be IMDSv1.
    type: bool
    default: false
  scan_paths:
    description:
      - Directories (or single files) to scan for outdated AWS SDKs, for example C(/var/lib/jenkins),
        C(/opt/app) or a virtualenv. Each is walked to a depth of 20 without following symbolic links; archives
        and executables in them are read too. Directories deeper than that are not entered; RV(scan.stopped) is
        then V(max_depth), RV(scan.directories_not_entered) counts them and RV(scan.complete) is false.
      - A path that does not exist or cannot be read is reported in RV(scan.roots), not fatal.
    type: list
    elements: path
    default: []
  scan_system_paths:
    description:
      - Also scan the usual system Python site directories (those of the Python that runs the module,
        C(/usr/lib/python3*/site-packages), C(/usr/local/lib/python3*/dist-packages) and the like, and the AWS
        CLI version 1 bundled installer's in C(/usr/local/aws)), at their top level only.
      - With V(false) and no O(scan_paths), no scan runs and RV(scan) is null.
    type: bool
    default: true
  max_log_bytes:
    description:
      - Stop reading the log and its rotated files after this many bytes, newest first. The analyzer keeps 6 MiB
        by default; the cap matters for a log kept by a custom logging configuration.
      - When the cap stops the reading, RV(log.complete) is false and RV(log.stopped) is V(max_bytes).
      - The compressed bytes of C(.gz) files are counted against the same cap, separately
        (RV(log.compressed_bytes_read)). At most 2^50.
    type: int
    default: 536870912
  time_budget:
    description:
      - Seconds each part (the log, the scan) may take; past it, the part stops and says so in its C(stopped).
      - At most 604800 (a week).
    type: int
    default: 60
  max_scan_entries:
    description:
      - Directory entries the scan may look at before it stops (RV(scan.stopped) is then V(max_entries)).
      - At most 1000000000.
    type: int
    default: 200000
notes:
  - Installing the analyzer (BCC, kernel headers, root) is left to the user; see its README. Its log is readable by
    root only, so run this module with C(become=true) to read it.
  - The analyzer logs IMDSv2 calls only from its release 1.5.0; before, only IMDSv1 and missing-payload lines.
  - Log times are the host's local time; RV(callers[].first_seen) and RV(callers[].last_seen) carry its offset.
  - "A caller is who the analyzer saw: a local process can write anything in its own argv. Treat names as leads."
seealso:
  - module: ec2meta.imds.metadata_options_info
    description: Counts the IMDSv1 calls of a fleet from CloudWatch, the step before this one.
  - module: ec2meta.imds.probe
    description: What IMDS answers from the host, and what a 401 means.
  - name: Use a supported AWS SDK
    description: AWS's minimum SDK versions for IMDSv2, the source of the scan's table.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/use-a-supported-sdk-version-for-imdsv2.html
  - name: IMDS packet analyzer
    description: AWS's eBPF tracer whose log this module reads.
    link: https://github.com/aws/aws-imds-packet-analyzer
"""

EXAMPLES = r"""
---
- name: Name the processes that still call IMDSv1 and the outdated SDKs
  ec2meta.imds.imdsv1_callers:
    only_v1: true
    scan_paths:
      - /var/lib/jenkins
      - /opt/app
  become: true
  register: callers

- name: Show who calls IMDSv1
  ansible.builtin.debug:
    msg: "{{ item.name }} ({{ item.argv }}) called IMDSv1 {{ item.count }} times, last at {{ item.last_seen }}"
  loop: "{{ callers.callers | selectattr('imds_version', 'equalto', 'v1') }}"
  loop_control:
    label: "{{ item.pid }}"

- name: Show what to upgrade
  ansible.builtin.debug:
    msg: "{{ item.what }} {{ item.version }} at {{ item.where }}: {{ item.fix }}"
  loop: "{{ callers.outdated_sdks }}"
  loop_control:
    label: "{{ item.where }}"

- name: Only the calls since tokens were required, from the analyzer 1.0.0 log
  ec2meta.imds.imdsv1_callers:
    log_path: /var/log/imds-trace.log
    since: "2026-11-20T15:00:00Z"
    scan_system_paths: false
  become: true

- name: Only scan for SDKs too old for IMDSv2
  ec2meta.imds.imdsv1_callers:
    read_log: false
    scan_paths: [/srv/venvs, /usr/share/nodejs]
"""

RETURN = r"""
callers:
  description:
    - One entry per calling program, IMDSv1 first (then unknown version, then IMDSv2), most calls first.
    - Empty when the log was not read or holds no call.
  returned: always
  type: list
  elements: dict
  contains:
    imds_version:
      description: V(v1), V(v2), or V(unknown) for a C({MISSING PAYLOAD}) line.
      type: str
      sample: v1
    missing_payload:
      description: Whether the analyzer saw the request without its bytes (so its version is unknown).
      type: bool
      sample: false
    pid:
      description: The pid of the latest call.
      type: int
      sample: 21417
    name:
      description: The process name (the kernel's 15-character C(comm)); null when the process had ended.
      type: str
      sample: java
    argv:
      description: The command line, tokens removed, cut at 4096 characters; null when the process had ended.
      type: str
      sample: java -jar /var/lib/jenkins/workspace/nightly-report/report.jar
    parents:
      description: The parent chain of the latest call, nearest first, up to three (four levels with the caller).
      type: list
      elements: dict
      contains:
        pid:
          description: The parent's pid.
          type: int
        name:
          description: The parent's name; null when it had ended.
          type: str
        argv:
          description: The parent's command line, tokens removed.
          type: str
      sample: [{"pid": 21400, "name": "sh", "argv": "/bin/sh -xe /tmp/jenkins123.sh"}]
    pids:
      description: Distinct pids seen for this caller (at most 10).
      type: list
      elements: int
      sample: [21417]
    user_agents:
      description: Distinct user agents of its requests, when the log has request details (at most 10).
      type: list
      elements: str
      sample: ["aws-sdk-java/1.11.500 Linux/5.10 OpenJDK_64-Bit_Server_VM/11.0.20"]
    paths:
      description: Distinct paths it requested, when the log has request details (at most 10).
      type: list
      elements: str
      sample: [/latest/meta-data/iam/security-credentials/]
    method:
      description: The HTTP method of the latest request, when the log has request details.
      type: str
      sample: GET
    count:
      description: Calls counted.
      type: int
      sample: 5
    first_seen:
      description: Time of the first call, ISO 8601 with the host's offset.
      type: str
      sample: "2026-11-30T02:00:01+00:00"
    last_seen:
      description: Time of the latest call.
      type: str
      sample: "2026-11-30T02:00:03+00:00"
    log_files:
      description: The log files it was found in.
      type: list
      elements: str
      sample: [/var/log/imds/imds-trace.log]
log:
  description: What was read of the analyzer's log; null with O(read_log=false).
  returned: always
  type: dict
  contains:
    path:
      description: O(log_path).
      type: str
      sample: /var/log/imds/imds-trace.log
    found:
      description: Whether any of the log files could be read.
      type: bool
      sample: true
    complete:
      description:
        - Whether every file was read to its end. When false, a missing IMDSv1 caller proves nothing.
      type: bool
      sample: true
    stopped:
      description: The limit that stopped the reading, V(max_bytes), V(max_lines), V(max_seconds),
        V(max_gzip_members) or V(max_callers); null when none did.
      type: str
      sample: null
    files:
      description: >-
        Each file, with C(path), C(bytes_read) and C(error) (null, V(not found), V(permission denied...),
        V(unreadable: not a regular file but a FIFO...)).
      type: list
      elements: dict
      sample: [{"path": "/var/log/imds/imds-trace.log", "bytes_read": 2048, "error": null}]
    bytes_read:
      description: Bytes read, all files together (inflated bytes for C(.gz) files).
      type: int
      sample: 2048
    compressed_bytes_read:
      description: Compressed bytes read from C(.gz) files, counted against O(max_log_bytes) too.
      type: int
      sample: 0
    tokens_cap_reached:
      description:
        - More than 100 distinct tokens were found; those beyond were masked in the result all the same but not
          registered with C(no_log).
      type: bool
      sample: false
    lines_read:
      description: Lines read.
      type: int
      sample: 12
    lines_parsed:
      description: Lines in one of the analyzer's forms.
      type: int
      sample: 11
    lines_unparsed:
      description: Lines that did not parse, skipped.
      type: int
      sample: 1
    lines_cut:
      description: Lines longer than 256 KiB, read up to there.
      type: int
      sample: 0
    lines_before_since:
      description: Lines older than O(since), skipped.
      type: int
      sample: 0
    lines_v2_skipped:
      description: IMDSv2 lines left out by O(only_v1).
      type: int
      sample: 0
    callers_dropped:
      description: Lines of callers beyond the 1000th distinct one, not grouped.
      type: int
      sample: 0
outdated_sdks:
  description:
    - AWS SDKs and tools older than AWS's minimum for IMDSv2 (C(status=outdated)), and those whose version could
      not be read (C(status=unknown)); outdated first.
  returned: always
  type: list
  elements: dict
  contains:
    what:
      description: AWS's name for the SDK or tool.
      type: str
      sample: AWS SDK for Java
    sdk:
      description: A short key for it (V(botocore), V(boto3), V(awscli), V(java), V(java2), V(javascript), V(go),
        V(go-v2), V(dotnet), V(powershell), V(php), V(ruby), V(cpp)).
      type: str
      sample: java
    where:
      description:
        - Where it was found; C(archive!/member) for a jar inside an archive.
        - A shaded copy of the SDK for Java is found by its C(META-INF/maven/.../pom.properties) member, with
          C(status=unknown) (the version inside it is not read).
      type: str
      sample: /var/lib/jenkins/plugins/aws-java-sdk/WEB-INF/lib/aws-java-sdk-core-1.11.500.jar
    version:
      description: Its version; null when it could not be read.
      type: str
      sample: 1.11.500
    minimum:
      description: The first version that supports IMDSv2.
      type: str
      sample: 1.11.678
    status:
      description: V(outdated) or V(unknown).
      type: str
      sample: outdated
    how_found:
      description: What told the version.
      type: str
      sample: jar file name
    fix:
      description: What to upgrade, and how.
      type: str
      sample: update the Jenkins plugin aws-java-sdk (Manage Jenkins > Plugins), which bundles it; or upgrade ...
    source:
      description: Where the minimum comes from.
      type: str
      sample: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/use-a-supported-sdk-version-for-imdsv2.html
scan:
  description: What the SDK scan covered; null when no scan ran.
  returned: always
  type: dict
  contains:
    roots:
      description:
        - Each scanned path with C(path), C(system) and C(status), one of V(scanned), V(not found),
          V(permission denied), V(not a file or directory), or C(not scanned) and the limit that stopped the scan.
      type: list
      elements: dict
      sample: [{"path": "/var/lib/jenkins", "system": false, "status": "scanned"}]
    complete:
      description:
        - Whether every root was scanned to the end with nothing unreadable, no directory left below the depth
          limit and no jar inside an archive left unopened (RV(scan.archives_not_inspected)).
      type: bool
      sample: true
    stopped:
      description: The limit that stopped the scan, V(max_entries), V(max_seconds), V(max_read_bytes),
        V(max_findings), or V(max_depth) when directories below the depth limit were not entered; null when none
        did.
      type: str
      sample: null
    directories_not_entered:
      description: Directories below the depth limit of O(scan_paths) (20), not entered.
      type: int
      sample: 0
    archives_not_inspected:
      description:
        - Up to 20 jars inside archives (C(archive!/member)) whose own insides were not read; a fat or shaded jar
          may bundle an SDK there. When there is any, RV(scan.complete) is false.
      type: list
      elements: str
      sample: ["/opt/app/app.war!/WEB-INF/lib/app-fat.jar"]
    archives_not_inspected_count:
      description: How many jars inside archives were not inspected.
      type: int
      sample: 0
    entries_seen:
      description: Directory entries looked at.
      type: int
      sample: 5120
    bytes_read:
      description: Bytes read from manifests, archives and binaries.
      type: int
      sample: 1048576
    sdks_seen:
      description: SDK installations found, current ones included.
      type: int
      sample: 3
    unreadable:
      description:
        - Up to 20 paths that could not be read, with C(path) and C(error).
        - 'An archive whose central directory claims more than 100,000 entries or 32 MiB is not read; its C(error)
          names the limit, for example V(over max_archive_entries (100000\): its directory claims 4000000).'
        - An archive whose end records point outside the file is unreadable, and the scan goes on.
      type: list
      elements: dict
      sample: []
    unreadable_count:
      description: How many paths could not be read.
      type: int
      sample: 0
    source:
      description: Where the minimum versions come from.
      type: str
      sample: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/use-a-supported-sdk-version-for-imdsv2.html
summary:
  description: One line saying what was found, for a debug task.
  returned: always
  type: str
  sample: "IMDSv1 callers: java (pid 21417, 5 calls). SDKs too old for IMDSv2: AWS SDK for Java 1.11.500 at ..."
"""

from ansible_collections.ec2meta.imds.plugins.module_utils._callers.find import find_imdsv1_callers  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.log import DEFAULT_LOG_PATH, LogLimits  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._callers.sdk_scan import ScanLimits  # noqa: E402
from ansible_collections.ec2meta.imds.plugins.module_utils._module import ImdsModule  # noqa: E402


def main() -> None:
    module = ImdsModule(
        {
            "log_path": {"type": "path", "default": DEFAULT_LOG_PATH},
            "read_log": {"type": "bool", "default": True},
            "since": {"type": "str"},
            "only_v1": {"type": "bool", "default": False},
            "scan_paths": {"type": "list", "elements": "path", "default": []},
            "scan_system_paths": {"type": "bool", "default": True},
            "max_log_bytes": {"type": "int", "default": LogLimits.max_bytes},
            "time_budget": {"type": "int", "default": int(LogLimits.max_seconds)},
            "max_scan_entries": {"type": "int", "default": ScanLimits.max_entries},
        },
    )
    with module.failures_reported():
        result, tokens = find_imdsv1_callers(**module.params)
    module.add_secrets(tokens)
    module.exit(changed=False, **result)


if __name__ == "__main__":
    main()
