#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser build); the
# emoji font makes the slot symbols render in screenshots as they do for players.
set -euo pipefail
if [ -x /usr/bin/chromium ] && dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; then exit 0; fi
echo "Installing Debian's chromium (and an emoji font) for the browser tests..."
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version
