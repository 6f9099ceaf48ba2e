#!/usr/bin/env bash
# Install the real LiteLLM proxy (two releases) and the real Open WebUI into
# separate virtualenvs for rinsync's integration tests (tests/integration/).
#
#   ${RINSYNC_IT_DIR:-.venv-it}/litellm-<version>  litellm[proxy]==<version>, one venv per
#                                                  version in $LITELLM_VERSIONS
#   ${RINSYNC_IT_DIR:-.venv-it}/webui              torch==$TORCH_VERSION (local CPU wheel),
#                                                  then open-webui==$OPENWEBUI_VERSION
#
# The LiteLLM versions default to rinsync.litellm.proxyversion.TESTED_VERSIONS
# (the oldest supported and the newest that installs): the range `rinsync verify`
# warns outside of is the range CI installs.  1.108.8 and later pin
# litellm-enterprise / litellm-proxy-extras builds the index lacks; there is no 1.107.x.
#
# Separate venvs: the two pin conflicting versions of shared dependencies
# (fastapi, pydantic, openai, ...), and neither must leak into rinsync's env.
#
# Idempotent: a venv whose binary already runs with the pinned version is
# skipped.  Prints the wall time of each install.
#
#   bash ci/install-integration.sh --print-versions   # the LiteLLM versions, one a line; installs nothing
#
# Env knobs:
#   RINSYNC_IT_DIR      where the venvs go (default: .venv-it, relative to the cwd)
#   RINSYNC_IT_PYTHON   interpreter to create the venvs with (default: python3.11,
#                       else python3).  Open WebUI needs Python 3.11 or 3.12.
#   RINSYNC_IT_ONLY     "litellm" or "webui" to install just one of them.
#   LITELLM_VERSIONS    space-separated LiteLLM versions (default: TESTED_VERSIONS)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
tested_versions() {
    # the tuple literal in proxyversion.py, read without importing rinsync (its venv may not exist yet)
    sed -n 's/^TESTED_VERSIONS[^=]*= *(\(.*\)).*/\1/p' "$HERE/../rinsync/litellm/proxyversion.py" \
        | tr -d '" ' | tr ',' ' '
}
LITELLM_VERSIONS="${LITELLM_VERSIONS:-$(tested_versions)}"
if [[ -z "${LITELLM_VERSIONS// /}" ]]; then
    echo "install-integration: no LiteLLM versions (TESTED_VERSIONS not found in proxyversion.py)" >&2
    exit 2
fi
if [[ "${1:-}" == "--print-versions" ]]; then
    printf '%s\n' $LITELLM_VERSIONS
    exit 0
fi
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
    local version="$1"
    local dir="$IT_DIR/litellm-$version"
    if [[ -x "$dir/bin/litellm" ]] \
        && [[ "$(installed_version "$dir" litellm)" == "$version" ]] \
        && "$dir/bin/litellm" --help >/dev/null 2>&1; then
        log "litellm $version already installed in $dir: skipping"
        return 0
    fi
    log "installing litellm[proxy]==$version into $dir"
    local t0=$SECONDS
    make_venv "$dir"
    pip_q "$dir/bin/python" "litellm[proxy]==$version"
    "$dir/bin/litellm" --help >/dev/null
    log "litellm $version install took $(fmt_secs $(( SECONDS - t0 )))"
}

install_all_litellm() {
    local v
    for v in $LITELLM_VERSIONS; do install_litellm "$v"; done
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
    "") install_all_litellm; install_webui ;;
    litellm) install_all_litellm ;;
    webui) install_webui ;;
    *) echo "RINSYNC_IT_ONLY must be litellm or webui, not '$ONLY'" >&2; exit 2 ;;
esac
log "done in $(fmt_secs $(( SECONDS - T0 ))); venvs under $IT_DIR"
for v in $LITELLM_VERSIONS; do
    log "  RINSYNC_LITELLM_BIN=$IT_DIR/litellm-$v/bin/litellm"
done
log "  RINSYNC_OPENWEBUI_BIN=$IT_DIR/webui/bin/open-webui"
