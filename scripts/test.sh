#!/usr/bin/env bash
# Fresh machine to test results: installs missing packages, builds and runs
# the whole test suite in release mode (numeric tests need it). Extra
# arguments go to `swift test`, e.g. --filter VipsTests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
source scripts/swift-path.sh

swift test -c release "$@"
