#!/usr/bin/env bash
# What `npm run test:game` needs to show a window without a GPU: Xvfb and Mesa's software
# Vulkan driver (lavapipe) with the Vulkan loader. Installs the Debian packages when missing
# (as root, which CI is); says exactly what to install otherwise.
set -euo pipefail
need=()
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
[[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json || -n "$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json 2>/dev/null)" ]] || need+=(mesa-vulkan-drivers)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || need+=(libvulkan1)
if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "test:game needs: apt-get install ${need[*]} (run as root)" >&2
  exit 1
fi
echo "installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
