#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer where DATABASE_URL and REDIS_URL say (defaults:
# 127.0.0.1:5432 and 127.0.0.1:6379): install them from the distribution's packages when
# missing, start them when stopped, create the role and database the app needs. Quiet and
# idempotent when all is well; otherwise one line on stderr says what to do. The logic is in
# ensure_services.py (standard library only, so it runs before the virtualenv exists).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-$(command -v python3 || true)}"
if [ -z "$python" ]; then
  echo "ERROR: python3 is missing: install it (apt-get install python3 python3-venv), then make again." >&2
  exit 1
fi
exec "$python" "$here/ensure_services.py"
