#!/usr/bin/env bash
# The browser tests drive a real Chromium. Use one that is installed (Debian's chromium,
# or Google Chrome on GitHub's runners); otherwise install Debian's package.
set -euo pipefail
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" --version >/dev/null 2>&1; then
    exit 0
  fi
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "No Chromium found. Install Debian's 'chromium' package (or Google Chrome) and re-run." >&2
  exit 1
fi
echo "Installing Debian's chromium for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
