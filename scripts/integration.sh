#!/usr/bin/env bash
# ansible-test integration on a clean copy of the collection, in its own virtual environment (--venv, Python 3.11):
# every target in tests/integration/targets/, each against its own IMDS emulator and moto on 127.0.0.1 (runme.sh,
# setup_services). Extra arguments go to ansible-test, e.g. scripts/integration.sh probe
# Nothing is written outside the checkout (.build/ansible-test-home: pip's cache, the pip stand-in) and the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
bash scripts/bootstrap.sh >/dev/null
source scripts/ansible-test-home.sh "$root/.venv"

# A clean copy outside this work tree, as for sanity (scripts/sanity.sh says why), with amazon.aws beside it:
# ansible-test looks for collections only in the copy's ansible_collections/, and the metadata_options target
# reads instances with amazon.aws.ec2_instance_info (the copy scripts/bootstrap.sh puts in .build/collections).
copy_root="$(mktemp -d "${TMPDIR:-/tmp}/ec2meta-imds-integration.XXXXXX")"
trap 'rm -rf "$copy_root"' EXIT
copy="$copy_root/ansible_collections/ec2meta/imds"
mkdir -p "$copy" "$copy_root/ansible_collections/amazon"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [ -e "$file" ] && printf '%s\0' "$file"
done | tar --null -T - -cf - | tar -xf - -C "$copy"
ln -s "$root/.build/collections/ansible_collections/amazon/aws" "$copy_root/ansible_collections/amazon/aws"
cd "$copy"
"$root/.venv/bin/ansible-test" integration --venv --python 3.11 --requirements --color no "$@"
