#!/usr/bin/env bash
# Installs the Debian-packaged Rust crates that bevy-plugin/core needs offline.
# Idempotent: does nothing when every package is present; runs `apt-get update` only when
# something is missing. Needs root (or sudo) on Debian bookworm.
set -euo pipefail

PACKAGES=(
  librust-serde-dev
  librust-serde-derive-dev
  librust-serde-json-dev
  librust-thiserror-dev
  librust-crossbeam-channel-dev
  librust-log-dev
  librust-notify-dev
  librust-libc-dev
  librust-tempfile-dev
  librust-png-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-debian-crates: all ${#PACKAGES[@]} crate packages present" >&2
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-debian-crates: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
