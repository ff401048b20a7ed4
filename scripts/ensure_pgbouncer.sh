#!/usr/bin/env bash
# PgBouncer from the distribution's package (issue 20), for scripts/pgbouncer.sh and the scale tests.
# Quiet and idempotent when it is installed. The Debian package starts (or would start) a system
# service on port 6432: it is stopped and disabled, so that only our own instances (scripts/pgbouncer.sh,
# each with its own config, port and directory) run. `apt-get update` only when the install fails.
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then exit 0; fi
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
echo "Installing Debian's pgbouncer..."
install() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pgbouncer >/dev/null; }
if ! install; then
  $SUDO apt-get update -qq
  install
fi
# The packaged service (if the machine runs services at all): ours owns the ports we choose.
if [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now pgbouncer >/dev/null 2>&1 || true
else
  $SUDO service pgbouncer stop >/dev/null 2>&1 || true
  $SUDO update-rc.d pgbouncer disable >/dev/null 2>&1 || true
fi
/usr/sbin/pgbouncer --version | head -1
