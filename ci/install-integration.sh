#!/usr/bin/env bash
# Install the real LiteLLM proxy and the real Open WebUI into two separate
# virtualenvs for rinsync's integration tests (tests/integration/).
#
#   ${RINSYNC_IT_DIR:-.venv-it}/litellm   litellm[proxy]==$LITELLM_VERSION
#   ${RINSYNC_IT_DIR:-.venv-it}/webui     torch==$TORCH_VERSION (local CPU wheel),
#                                         then open-webui==$OPENWEBUI_VERSION
#
# Separate venvs: the two pin conflicting versions of shared dependencies
# (fastapi, pydantic, openai, ...), and neither must leak into rinsync's env.
#
# Idempotent: a venv whose binary already runs with the pinned version is
# skipped.  Prints the wall time of each install.
#
# Env knobs:
#   RINSYNC_IT_DIR      where the venvs go (default: .venv-it, relative to the cwd)
#   RINSYNC_IT_PYTHON   interpreter to create the venvs with (default: python3.11,
#                       else python3).  Open WebUI needs Python 3.11 or 3.12.
#   RINSYNC_IT_ONLY     "litellm" or "webui" to install just one of them.
set -euo pipefail

# 1.106.2 is the newest litellm whose metadata does not require
# certifi>=2026.10.19, a certifi release the reachable index does not have
# (1.106.3+, 1.108.x and 1.109.x all fail to resolve here).
LITELLM_VERSION="${LITELLM_VERSION:-1.106.2}"
OPENWEBUI_VERSION="${OPENWEBUI_VERSION:-0.12.4}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

IT_DIR="${RINSYNC_IT_DIR:-.venv-it}"
ONLY="${RINSYNC_IT_ONLY:-}"

if [[ -n "${RINSYNC_IT_PYTHON:-}" ]]; then
    PY="$RINSYNC_IT_PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
    PY=python3.11
else
    PY=python3
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
# keep `litellm --help` (the smoke check) from fetching the remote cost map
export LITELLM_LOCAL_MODEL_COST_MAP=True

mkdir -p "$IT_DIR"
IT_DIR="$(cd "$IT_DIR" && pwd)"

# pip prints one "Location 'file:///opt/...' is ignored" warning per package
# for this machine's extra-index settings; drop that noise, keep the rest.
pip_q() {
    local py="$1"; shift
    "$py" -m pip install --quiet "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

log() { printf '[install-integration] %s\n' "$*"; }

fmt_secs() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }

make_venv() {
    local dir="$1"
    if [[ ! -x "$dir/bin/python" ]]; then
        "$PY" -m venv "$dir"
    fi
    pip_q "$dir/bin/python" --upgrade pip
}

# Installed version of a distribution in a venv, or empty.
installed_version() {
    local dir="$1" dist="$2"
    [[ -x "$dir/bin/python" ]] || return 0
    "$dir/bin/python" - "$dist" <<'PY' 2>/dev/null || true
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass
PY
}

install_litellm() {
    local dir="$IT_DIR/litellm"
    if [[ -x "$dir/bin/litellm" ]] \
        && [[ "$(installed_version "$dir" litellm)" == "$LITELLM_VERSION" ]] \
        && "$dir/bin/litellm" --help >/dev/null 2>&1; then
        log "litellm $LITELLM_VERSION already installed in $dir: skipping"
        return 0
    fi
    log "installing litellm[proxy]==$LITELLM_VERSION into $dir"
    local t0=$SECONDS
    make_venv "$dir"
    pip_q "$dir/bin/python" "litellm[proxy]==$LITELLM_VERSION"
    "$dir/bin/litellm" --help >/dev/null
    log "litellm install took $(fmt_secs $(( SECONDS - t0 )))"
}

install_webui() {
    local dir="$IT_DIR/webui"
    if [[ -x "$dir/bin/open-webui" ]] \
        && [[ "$(installed_version "$dir" open-webui)" == "$OPENWEBUI_VERSION" ]] \
        && "$dir/bin/open-webui" --help >/dev/null 2>&1; then
        log "open-webui $OPENWEBUI_VERSION already installed in $dir: skipping"
        return 0
    fi
    log "installing torch==$TORCH_VERSION + open-webui==$OPENWEBUI_VERSION into $dir"
    local t0=$SECONDS
    make_venv "$dir"
    # torch FIRST, pinned to the locally available CPU wheel: otherwise
    # open-webui's dependencies pull the newest torch with GBs of CUDA wheels.
    pip_q "$dir/bin/python" "torch==$TORCH_VERSION"
    log "torch install took $(fmt_secs $(( SECONDS - t0 )))"
    local t1=$SECONDS
    pip_q "$dir/bin/python" "open-webui==$OPENWEBUI_VERSION" "torch==$TORCH_VERSION"
    "$dir/bin/open-webui" --help >/dev/null
    log "open-webui install took $(fmt_secs $(( SECONDS - t1 ))) (venv total $(fmt_secs $(( SECONDS - t0 ))))"
}

T0=$SECONDS
case "$ONLY" in
    "") install_litellm; install_webui ;;
    litellm) install_litellm ;;
    webui) install_webui ;;
    *) echo "RINSYNC_IT_ONLY must be litellm or webui, not '$ONLY'" >&2; exit 2 ;;
esac
log "done in $(fmt_secs $(( SECONDS - T0 ))); venvs under $IT_DIR"
log "  RINSYNC_LITELLM_BIN=$IT_DIR/litellm/bin/litellm"
log "  RINSYNC_OPENWEBUI_BIN=$IT_DIR/webui/bin/open-webui"
