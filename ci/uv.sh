#!/usr/bin/env bash
# Print the path of a pinned uv, installing it from PyPI into ${RINSYNC_UV_VENV:-.venv-uv} when missing.
# uv resolves the lowest declared dependencies (.ci/run) and writes the deploy lock (ci/lock.sh).
set -euo pipefail
UV_VERSION="${UV_VERSION:-0.13.9}"
VENV="${RINSYNC_UV_VENV:-.venv-uv}"
if [[ ! -x "$VENV/bin/uv" ]] || [[ "$("$VENV/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]]; then
    python3 -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2
fi
echo "$(cd "$VENV" && pwd)/bin/uv"
