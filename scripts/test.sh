#!/usr/bin/env bash
# Fresh machine to test results: installs missing packages, builds and runs
# the whole test suite in release mode (numeric tests need it). Extra
# arguments go to `swift test`, e.g. --filter VipsTests. Ends with one
# summary line "N passed, N failed" over XCTest and Swift Testing, and exits
# non-zero when the build or any test fails. Without arguments it then builds
# and checks the demo's lean binary (no PostgreSQL trait), see the end.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
source scripts/swift-path.sh

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

set +e
swift test -c release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# XCTest: the last "Executed N tests" line is the grand total; failed cases are listed one per line.
xctest_total=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -1 | awk '{print $2}')
xctest_failed=$(grep -cE "^Test Case '.*' failed" "$log" || true)
# Swift Testing: "Test run with N tests ..." and one "✘ Test NAME failed after ..." line per failed test.
swift_testing_total=$(grep -oE "Test run with [0-9]+ tests?" "$log" | tail -1 | awk '{print $4}')
swift_testing_failed=$(grep -E "^✘ Test .* failed after" "$log" | grep -vc "Test run with" || true)

total=$(( ${xctest_total:-0} + ${swift_testing_total:-0} ))
failed=$(( xctest_failed + swift_testing_failed ))
echo "$(( total - failed )) passed, $failed failed"

if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then exit 1; fi

# The whole suite (no arguments, as in CI) also builds the demo's lean binary, without the
# PostgreSQL trait, in its own folder (so that the suite's build in .build stays as it is), and
# checks that it refuses a PostgreSQL journal with the way out. A debug build: what it checks is
# which code the trait leaves out, not speed, and it takes 63 s on 2 cores against 138 s in
# release (the suite's release build has compiled all of it but the few lines the trait switches).
if [ "$#" -eq 0 ]; then
    swift build -c debug --product singan --disable-default-traits --scratch-path .build-lean
    set +e
    message=$(.build-lean/debug/singan status --root "$PWD/.build-lean" --journal postgres://u@127.0.0.1/db 2>&1)
    lean_status=$?
    set -e
    if [ "$lean_status" -ne 1 ] || ! grep -q "built without PostgreSQL" <<<"$message"; then
        echo "the lean build (--disable-default-traits) did not refuse a PostgreSQL journal: exit $lean_status, $message" >&2
        exit 1
    fi
    echo "lean build (no PostgreSQL): refuses --journal postgres:// as it should"
fi
