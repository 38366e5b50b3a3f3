#!/usr/bin/env bash
# Installs the Debian packages singan-swift builds against, and only those
# that are missing, so running it again changes nothing. Swift itself is
# expected on the machine (see scripts/swift-path.sh). PostgreSQL's server is
# for the tests that need one, which start a throw-away cluster of their own
# (scripts/postgres.sh); nothing here starts or configures a server.
set -euo pipefail

packages=(libvips-dev libopenblas-dev libinotifytools0-dev postgresql)

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
