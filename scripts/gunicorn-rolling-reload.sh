#!/bin/sh
# A reload command for LiteLLM in gunicorn mode that never leaves the port without a ready worker:
# start WORKERS new workers (SIGTTIN; each reads the config as it starts) while the old ones keep
# serving, wait OVERLAP seconds for them to start, then retire as many of the oldest (SIGTTOU; they
# finish their requests). See docs/apply.md.
#
#   scripts/gunicorn-rolling-reload.sh SIGNAL_CMD [WORKERS [OVERLAP]]
#
#   SIGNAL_CMD  how to send a signal to gunicorn's master (the litellm process); %s is the signal name:
#               'kill -s %s $(cat /run/litellm.pid)'   or   'docker compose kill -s %s litellm'
#   WORKERS     the proxy's --num_workers (default 1)
#   OVERLAP     seconds for the new workers to start before the old ones stop (default 15). Too short
#               costs a stall (requests wait for the new workers), never a failure.
#
# rinsync compile --reload-cmd "scripts/gunicorn-rolling-reload.sh 'kill -s %s \$(cat litellm.pid)' 2 20" ...
# Give --reload-timeout room for 2 x WORKERS + OVERLAP seconds plus the confirmation.
set -eu

signal_cmd="${1:?usage: gunicorn-rolling-reload.sh SIGNAL_CMD [WORKERS [OVERLAP]]}"
workers="${2:-1}"
overlap="${3:-15}"

send() {
    # shellcheck disable=SC2059  # SIGNAL_CMD is the format on purpose
    sh -c "$(printf "$signal_cmd" "$1")"
    sleep 1  # one signal at a time: a second one sent before gunicorn handles the first would merge into it
}

i=0
while [ "$i" -lt "$workers" ]; do send TTIN; i=$((i + 1)); done
sleep "$overlap"
i=0
while [ "$i" -lt "$workers" ]; do send TTOU; i=$((i + 1)); done
