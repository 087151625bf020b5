#!/usr/bin/env bash
# scripts/release.sh VERSION: makes the release commit's changes (commit them yourself, alone: "Release VERSION").
# Sets the version in galaxy.yml, the User-Agent and the README's tarball name, then antsibull-changelog turns the
# fragments in changelogs/fragments/ into the VERSION section of changelogs/changelog.yaml and CHANGELOG.md (and
# removes them). Run it after merging every branch whose fragments belong in the release.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/release.sh VERSION (e.g. 1.0.0)}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "not a version: $version" >&2; exit 2; }
bash scripts/bootstrap.sh >/dev/null
previous="$(.venv/bin/python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')"

sed -i "s/^version: .*/version: $version/" galaxy.yml
sed -i "s|^USER_AGENT = \"ec2meta.imds/.*\"|USER_AGENT = \"ec2meta.imds/$version\"|" plugins/module_utils/_imds/transport.py
sed -i -E "s#(ec2meta-imds-)[0-9]+\.[0-9]+\.[0-9]+(\.tar\.gz)#\1$version\2#" README.md
# antsibull-changelog asks ansible-doc (from PATH) which plugins are new in this version.
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
antsibull-changelog release --version "$version"
antsibull-changelog lint
# The release removed the fragments; the folder stays for the next change's fragment.
mkdir -p changelogs/fragments && touch changelogs/fragments/.keep
echo "galaxy.yml $previous -> $version; review: git diff --stat; then commit alone: Release $version"
