#!/usr/bin/env bash
# Serves the web app and runs one background worker until Ctrl-C stops both.
set -euo pipefail
PORT="${PORT:-5000}"
.venv/bin/flask --app wsgi worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT INT TERM
echo "Bangkom is at http://127.0.0.1:${PORT}  (Ctrl-C stops the server and the worker)"
.venv/bin/gunicorn --bind "127.0.0.1:${PORT}" --workers 2 --threads 4 --timeout 60 \
  --max-requests 20000 --max-requests-jitter 2000 --preload --access-logfile - wsgi:app
