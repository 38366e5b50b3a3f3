#!/usr/bin/env bash
# Installs the Debian packages singan-swift builds against, and only those
# that are missing, so running it again changes nothing. Swift itself is
# expected on the machine (see scripts/swift-path.sh).
set -euo pipefail

packages=(libvips-dev libopenblas-dev libinotifytools0-dev)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "install-deps: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update
    $sudo apt-get install -y "${missing[@]}"
fi
