#!/usr/bin/env bash
# `make scale`: the scaled topology on one machine. Two web workers (uvicorn,
# EXCHANGE_ENGINE=off) behind Pushpin on 127.0.0.1:$PORT, the engine once
# (manage.py runengine), both bots, events through Redis and Pushpin, the
# ledger on PostgreSQL. Configured by environment only; each variable below
# has a default for this machine. One Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT="${PORT:-8000}"
export WEB1_PORT="${WEB1_PORT:-$((PORT + 1))}"
export WEB2_PORT="${WEB2_PORT:-$((PORT + 2))}"
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/exchange}"
# Pub/Sub ignores Redis's database numbers: give each exchange its own Redis.
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
# Pushpin's control port and the key it signs proxied requests with (a fresh
# one per run unless given); deploy/pushpin.py reads both from here.
export GRIP_URL="${GRIP_URL:-http://127.0.0.1:5561/?iss=pushpin&key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
# honcho gives each process its own PORT, so the Procfile uses this name.
export PUSHPIN_PORT="$PORT"
export SCALE_RUN_DIR="${SCALE_RUN_DIR:-$PWD/deploy/run}"
export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
export EXCHANGE_URL="${EXCHANGE_URL:-http://127.0.0.1:$PORT}"

if ! command -v pushpin >/dev/null; then
    echo "pushpin is not installed: apt-get install -y pushpin" >&2
    exit 1
fi
.venv/bin/python deploy/prepare.py
.venv/bin/python manage.py migrate --no-input
echo "The exchange: http://127.0.0.1:$PORT (Pushpin -> web workers on $WEB1_PORT and $WEB2_PORT)"
exec .venv/bin/honcho start --no-colour -d . -f deploy/Procfile
