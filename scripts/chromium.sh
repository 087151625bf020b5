#!/usr/bin/env bash
# Installs Debian's chromium when it is missing (as root, where apt-get exists): the docs' screenshot and the
# campaign report's DOM test open pages in headless Chromium. Waits up to 5 minutes for another apt or dpkg (unattended
# upgrades, a neighbour's install) holding the lock. Writes its log to .build/apt.log.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null 2>&1 && exit 0
mkdir -p .build
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's chromium for the tests that open pages in it"
    export DEBIAN_FRONTEND=noninteractive
    apt_wait=(-o DPkg::Lock::Timeout=300)
    (apt-get "${apt_wait[@]}" update -qq &&
        apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends chromium) >.build/apt.log 2>&1 ||
        echo "apt could not install chromium (see .build/apt.log): the tests that need it will be skipped"
else
    echo "chromium is not installed and apt-get cannot run here: the tests that need it will be skipped"
fi
