#!/usr/bin/env bash
# ansible-test runs this: the tasks of this target against a fresh IMDS emulator and moto (see setup_services).
set -euo pipefail
exec "$(dirname "$0")/../setup_services/run_target.sh" imdsv1_callers "$@"
