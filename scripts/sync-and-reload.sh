#!/usr/bin/env bash
# Sync OpenRouter's models into the LiteLLM config, then reload LiteLLM -- only when the config changed.
#
#   scripts/sync-and-reload.sh [rinsync compile options...]
#
# Environment:
#   RINSYNC_BIN         how to run rinsync (default: rinsync; e.g. "python3 -m rinsync")
#   RINSYNC_CONFIG      the LiteLLM config (default: config/litellm/config.yaml, relative to the current directory)
#   RINSYNC_RELOAD_CMD  run after a sync that changed the config (default: docker compose restart litellm);
#                       set it to an empty string to never reload (e.g. in a start script that starts LiteLLM next)
#   RINSYNC_RELOAD_ALWAYS=1  reload even when the config did not change
#
# Exit status: rinsync's (see docs/sync.md): 0 synced (and reloaded if needed), 75 the catalog could not be
# fetched and the config was kept byte for byte (start scripts carry on, cron alerts), 3 shrink guard,
# 4 --validate-cmd rejected the new config, 1/2/74 errors, 6 the Open WebUI step failed (LiteLLM is still
# reloaded when the config changed). If the reload command fails, its status is returned.
set -u

config="${RINSYNC_CONFIG:-config/litellm/config.yaml}"
reload_cmd="${RINSYNC_RELOAD_CMD-docker compose restart litellm}"
read -r -a rinsync <<<"${RINSYNC_BIN:-rinsync}"

fingerprint() {
    if [ -f "$config" ]; then cksum <"$config"; else echo missing; fi
}

before="$(fingerprint)"
"${rinsync[@]}" compile --config "$config" "$@"
status=$?

openwebui_status=0
case "$status" in
    0) ;;
    6)  # the config was written; only the Open WebUI step (--openwebui / RINSYNC_OPENWEBUI_URL) failed
        echo "sync-and-reload: the Open WebUI sync failed or was partly applied; reloading LiteLLM anyway" >&2
        openwebui_status=6 ;;
    75)
        echo "sync-and-reload: catalog unavailable; kept $config, LiteLLM not reloaded" >&2
        exit 75 ;;
    *)
        echo "sync-and-reload: rinsync exited $status; LiteLLM not reloaded" >&2
        exit "$status" ;;
esac

after="$(fingerprint)"
if [ -z "$reload_cmd" ]; then
    exit "$openwebui_status"
fi
if [ "$before" = "$after" ] && [ "${RINSYNC_RELOAD_ALWAYS:-0}" != "1" ]; then
    echo "sync-and-reload: $config unchanged; no reload needed" >&2
    exit "$openwebui_status"
fi
echo "sync-and-reload: reloading: $reload_cmd" >&2
sh -c "$reload_cmd" || exit $?
exit "$openwebui_status"
