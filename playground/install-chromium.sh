#!/usr/bin/env bash
# Installs Debian's Chromium, which the playground's browser test drives.
# Run as root; the test runs it itself when Chromium is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
