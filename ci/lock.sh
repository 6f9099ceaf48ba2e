#!/usr/bin/env bash
# Refresh requirements/deploy.txt, the hash-locked production set (README: "Production install"):
# setup.cfg's install_requires and the build requirements, newest releases that satisfy them, every
# file's sha256.  Run from anywhere:  bash ci/lock.sh   (then review and commit the diff)
set -euo pipefail
cd "$(dirname "$0")/.."
UV="$(bash ci/uv.sh)"
"$UV" pip compile setup.cfg requirements/build.in \
    --generate-hashes --universal --python-version 3.11 \
    --custom-compile-command "bash ci/lock.sh" \
    --output-file requirements/deploy.txt --quiet
echo "requirements/deploy.txt: $(grep -c '^[a-z0-9]' requirements/deploy.txt) packages locked"
