#!/usr/bin/env bash
# What users install, tested as they get it: builds the Galaxy artifact, checks its file list, installs it with
# ansible-galaxy into an empty collections path, runs the smoke playbook against that copy, and writes an
# execution environment build context (ansible-builder create) that includes the artifact.
# Leaves .build/artifact/: the tarball, files.txt, collections/ (the installed copy) and ee-context/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
out=".build/artifact"
rm -rf "$out"
mkdir -p "$out"

echo "==> ansible-galaxy collection build"
.venv/bin/ansible-galaxy collection build --force --output-path "$out" >/dev/null
tarball="$(ls "$out"/ec2meta-imds-*.tar.gz)"
tar -tzf "$tarball" | sort > "$out/files.txt"
echo "$(basename "$tarball"): $(wc -l < "$out/files.txt") entries, $(du -k "$tarball" | cut -f1) KiB"

echo "==> ansible-galaxy collection install into an empty collections path"
ANSIBLE_COLLECTIONS_PATH="$out/collections" .venv/bin/ansible-galaxy collection install --offline -p "$out/collections" "$tarball" >/dev/null

echo "==> ansible-builder create (an EE with the artifact; nothing is built)"
cp tests/artifact/execution-environment.yml "$out/execution-environment.yml"
cp "$tarball" "$out/ec2meta-imds.tar.gz"
.venv/bin/ansible-builder create --file "$out/execution-environment.yml" --context "$out/ee-context" \
    --output-filename Containerfile >/dev/null

echo "==> the artifact and the EE context"
EC2META_ARTIFACT_DIR="$out" .venv/bin/python -m pytest -q -p no:cacheprovider tests/artifact

echo "==> smoke playbook against the installed copy"
bash scripts/smoke.sh "$out/collections" .venv "$PWD/.venv/bin/python"
