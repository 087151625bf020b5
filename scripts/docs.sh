#!/usr/bin/env bash
# The docs site, built as users will read it: antsibull-docs lints the collection's docs (plugins, extra docs,
# links), antsibull-changelog lints the changelog, Sphinx builds the collection docsite with warnings as errors,
# and a test opens one rendered page in headless Chromium and screenshots it. Output: .build/docs/
# Chromium comes from Debian's chromium package, installed here when missing (waiting up to 5 minutes for another
# apt or dpkg to finish) and apt can reach its mirror; without it the screenshot test is skipped with the reason,
# the rest still runs. Nothing is written outside the checkout and the temp dir: antsibull's log goes to
# .build/docs-antsibull.log (its default is ~/antsibull.log), Chromium's profile and caches to .build/docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
bash scripts/bootstrap.sh >/dev/null
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$root/.build/collections"
collection="$root/.build/collections/ansible_collections/ec2meta/imds"
out="$root/.build/docs"
# antsibull-docs runs ansible-doc: ansible's home and temp dirs in the checkout, as in scripts/test.sh.
export ANSIBLE_HOME="$root/.build/ansible-home"
export ANSIBLE_LOCAL_TEMP="$ANSIBLE_HOME/tmp" ANSIBLE_REMOTE_TMP="$ANSIBLE_HOME/remote-tmp"
export ANSIBLE_ASYNC_DIR="$ANSIBLE_HOME/async"

# antsibull-docs logs to ~/antsibull.log unless a config file says otherwise (its logging_cfg); every call gets this
# one first. Outside $out, which the Sphinx build below empties.
antsibull_cfg="$root/.build/docs-antsibull.cfg"
cat > "$antsibull_cfg" <<CFG
logging_cfg = {
    version = 1.0
    outputs = {
        logfile = {
            output = twiggy.outputs.FileOutput
            args = [
                $root/.build/docs-antsibull.log
            ]
        }
        stderr = {
            output = twiggy.outputs.StreamOutput
            format = twiggy.formats.shell_format
        }
    }
    emitters = {
        all = {
            level = INFO
            output_name = logfile
            filters = []
        }
        problems = {
            level = WARNING
            output_name = stderr
            filters = []
        }
    }
}
CFG

echo "==> antsibull-changelog lint"
antsibull-changelog lint

echo "==> antsibull-docs lint-collection-docs --plugin-docs"
(cd "$collection" && antsibull-docs --config-file "$antsibull_cfg" lint-collection-docs --plugin-docs .)

echo "==> Sphinx build of the collection docsite (warnings are errors)"
rm -rf "$out"
mkdir -m 700 -p "$out/rst" # antsibull-docs wants directories only its owner can write
antsibull-docs --config-file "$antsibull_cfg" sphinx-init --use-current --fail-on-error --dest-dir "$out" \
    --project ec2meta.imds \
    --copyright "ec2meta.imds contributors" \
    --title ec2meta.imds ec2meta.imds >/dev/null
cat tests/docs/sphinx_offline_conf.py >> "$out/conf.py"
antsibull-docs --config-file "$antsibull_cfg" --config-file "$out/antsibull-docs.cfg" \
    collection --cleanup everything --fail-on-error --use-current \
    --dest-dir "$out/rst" ec2meta.imds
sphinx-build -q -W --keep-going -b html -c "$out" "$out/rst" "$out/build/html"
echo "built $out/build/html/index.html"

bash scripts/chromium.sh

echo "==> a rendered page, opened in headless Chromium"
EC2META_DOCS_DIR="$out" python -m pytest -q -p no:cacheprovider tests/docs
