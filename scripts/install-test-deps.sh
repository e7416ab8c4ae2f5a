#!/usr/bin/env bash
# Installs what the test suites need: the real SIP peers and tools used by
# test/support/ (Kamailio with TLS + WebSocket modules, baresip, linphonec, SIPp, tshark,
# sox, openssl, dnsmasq) and Chromium for browser tests. `npm test` runs it first.
# Idempotent: apt is skipped when every package is already installed.
set -euo pipefail

cd "$(dirname "$0")/.."

PACKAGES=(
  kamailio
  kamailio-websocket-modules
  kamailio-tls-modules
  baresip-core
  # linphonec 5.1: the second real phone of test/integration/linphone.test.ts
  linphone-cli
  sip-tester
  tshark
  sox
  openssl
  chromium
  # dnsmasq-base (not dnsmasq: that one starts a system DNS service on port 53): the RFC 3263
  # tests start their own dnsmasq on a free loopback port (test/support/dnsmasq.ts).
  dnsmasq-base
  # offline speech-to-text for the voicemail test (test/integration/voicemail.test.ts)
  pocketsphinx
  pocketsphinx-en-us
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "install-test-deps: installing ${missing[*]}"
  SUDO=()
  if [[ "$(id -u)" != "0" ]]; then
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "install-test-deps: all system packages present"
fi

# The Debian kamailio package enables a systemd service; the tests run their
# own instances and never need it, but make sure a service started by the
# package install does not hold port 5060 or the default ctl socket.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet kamailio 2>/dev/null; then
  systemctl stop kamailio || true
fi
