#!/usr/bin/env bash
# Sync OpenRouter's models into the LiteLLM config and apply them to the running proxy: rinsync runs the
# reload command only when the files LiteLLM reads changed, waits until the proxy serves them, and puts the
# previous config back (and reloads again) when it does not. See docs/apply.md.
#
#   scripts/sync-and-reload.sh [rinsync sync options...]
#
# With a site file (./rinsync.yaml, or RINSYNC_SITE=FILE) it runs `rinsync sync`: the file declares the config,
# the reload command, the proxy that confirms it and Open WebUI (README "Site file"); only the keys come from
# the environment (LITELLM_MASTER_KEY, OPENWEBUI_API_KEY, or the names the file gives). Flags and the RINSYNC_*
# variables below still override the file. Without a site file it runs `rinsync compile` as before, with the
# defaults below.
#
# Environment:
#   RINSYNC_BIN             how to run rinsync (default: rinsync; e.g. "python3 -m rinsync")
#   RINSYNC_SITE            the site file (default: rinsync.yaml in the current directory, when it exists)
# Without a site file:
#   RINSYNC_CONFIG          the LiteLLM config (default: config/litellm/config.yaml, relative to the current directory)
#   RINSYNC_RELOAD_CMD      how LiteLLM re-reads its config (default: docker compose restart litellm).
#                           Zero downtime (LiteLLM in gunicorn mode, docs/apply.md):
#                             scripts/gunicorn-rolling-reload.sh 'docker compose kill -s %s litellm' 2 15
#                           or, with a stall of one worker start-up: docker compose kill -s HUP litellm
#                           Empty: never reload (a start script that starts LiteLLM next).
#   RINSYNC_PROXY_URL       the proxy that must confirm the new config (default: http://localhost:4000)
#   LITELLM_MASTER_KEY      the proxy's key (read by rinsync, never printed)
#   RINSYNC_RELOAD_TIMEOUT  seconds for the reload and the confirmation (default: 60)
#   RINSYNC_RELOAD_ALWAYS=1 reload (and confirm) even when the config did not change (with a site file: needs
#                           RINSYNC_RELOAD_CMD and RINSYNC_PROXY_URL in the environment too)
#
# Exit status: rinsync's (README "Exit codes"): 0 synced (and, if it changed, served by the proxy), 75 the
# catalog could not be fetched and the config was kept byte for byte (start scripts carry on, cron alerts),
# 5 the proxy did not serve the new config and the previous one was restored, 3 shrink guard, 4 --validate-cmd
# rejected the new config, 1/2/74 errors, 6 the Open WebUI step failed (the config was written and, if it
# changed, already reloaded and confirmed by rinsync).
set -u

read -r -a rinsync <<<"${RINSYNC_BIN:-rinsync}"
site="${RINSYNC_SITE:-rinsync.yaml}"

if [ -f "$site" ]; then
    config="the LiteLLM config of $site"
    "${rinsync[@]}" sync --site "$site" "$@"
    status=$?
else
    config="${RINSYNC_CONFIG:-config/litellm/config.yaml}"
    export RINSYNC_RELOAD_CMD="${RINSYNC_RELOAD_CMD-docker compose restart litellm}"
    export RINSYNC_PROXY_URL="${RINSYNC_PROXY_URL:-http://localhost:4000}"
    "${rinsync[@]}" compile --config "$config" "$@"
    status=$?
fi

openwebui_status=0
case "$status" in
    0) ;;
    6)  # the config was written; only the Open WebUI step (--openwebui / RINSYNC_OPENWEBUI_URL) failed
        echo "sync-and-reload: the Open WebUI sync failed or was partly applied (LiteLLM's config is applied)" >&2
        openwebui_status=6 ;;
    75)
        echo "sync-and-reload: catalog unavailable; kept $config, LiteLLM not reloaded" >&2
        exit 75 ;;
    5)
        echo "sync-and-reload: the proxy did not take the new config; see the lines above" >&2
        exit 5 ;;
    *)
        echo "sync-and-reload: rinsync exited $status; LiteLLM not reloaded" >&2
        exit "$status" ;;
esac

if [ "${RINSYNC_RELOAD_ALWAYS:-0}" = "1" ] && [ -n "${RINSYNC_RELOAD_CMD:-}" ] && [ -n "${RINSYNC_PROXY_URL:-}" ]; then
    echo "sync-and-reload: reloading (RINSYNC_RELOAD_ALWAYS=1): $RINSYNC_RELOAD_CMD" >&2
    sh -c "$RINSYNC_RELOAD_CMD" || exit $?
    verify_config="${RINSYNC_CONFIG:-config/litellm/config.yaml}"
    "${rinsync[@]}" verify --config "$verify_config" --proxy "$RINSYNC_PROXY_URL" \
        --wait "${RINSYNC_RELOAD_TIMEOUT:-60}" >&2 || exit $?
fi
exit "$openwebui_status"
