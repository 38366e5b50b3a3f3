#!/usr/bin/env bash
# Fresh machine to demo: installs missing packages, builds in release mode,
# then runs singan on the bundled example images.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
source scripts/swift-path.sh

swift build -c release --product singan
singan=".build/release/singan"

"$singan" --version
for image in examples/*.png; do
    echo "$image: $("$singan" info "$image")"
done
