#!/usr/bin/env bash
# The test suite runs a real redis-server, a real Chromium, a real nginx and a real Varnish with the xkey
# module of varnish-modules (in front of the app). On
# Debian or Ubuntu, missing ones are installed from the distribution's packages; elsewhere this stops at
# once and names what to install.
set -euo pipefail

have_chromium() {
  [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] ||
    node -e 'process.exit(require("fs").existsSync(require("playwright-core").chromium.executablePath()) ? 0 : 1)' 2>/dev/null
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_chromium || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v varnishd >/dev/null 2>&1 || [ -x /usr/sbin/varnishd ] || missing+=(varnish)
compgen -G "/usr/lib/*/varnish/vmods/libvmod_xkey.so" >/dev/null || compgen -G "/usr/lib/varnish/vmods/libvmod_xkey.so" >/dev/null ||
  missing+=(varnish-modules)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "Tests need: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "Installing ${missing[*]} from the distribution's packages..."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  exit 0
fi

echo "Tests need: ${missing[*]}." >&2
for tool in "${missing[@]}"; do
  case "$tool" in
    redis-server) echo "  redis-server: install Redis 6 or newer (e.g. 'brew install redis'), so redis-server is on PATH." >&2 ;;
    chromium) echo "  chromium: run 'npx playwright install chromium'." >&2 ;;
    nginx) echo "  nginx: install nginx (e.g. 'brew install nginx'), so nginx is on PATH." >&2 ;;
    varnish) echo "  varnish: install Varnish 7 (e.g. 'brew install varnish'), so varnishd is on PATH." >&2 ;;
    varnish-modules) echo "  varnish-modules: build https://github.com/varnish/varnish-modules for your Varnish (its xkey module)." >&2 ;;
  esac
done
exit 1
