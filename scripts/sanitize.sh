#!/usr/bin/env bash
# Builds the package with ThreadSanitizer, then with AddressSanitizer (release, each in its own
# build folder under .build/), and runs the daemon, plugin and CLI tests under each. The tests
# start the sanitized `singan` too; every report, in-process or from a child, goes to a file
# under .build/sanitize-reports/ (log_path), so none hides in a daemon log. Prints one line per
# sanitizer (exit status, reports, seconds) and exits non-zero when a build or test fails or
# any report was written. Extra arguments go to `swift test`, e.g. --filter HostileInputTests.
# Leak checking is off: the Swift runtime's process-lifetime allocations would all be reported.
# SANITIZERS="thread" (or "address") runs one of them only; each takes tens of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
source scripts/swift-path.sh

if [ "$#" -eq 0 ]; then set -- --filter 'DaemonTests|PluginsTests|SinganCLITests'; fi
reports="$PWD/.build/sanitize-reports"
status=0
for sanitizer in ${SANITIZERS:-thread address}; do
    rm -rf "$reports/$sanitizer"
    mkdir -p "$reports/$sanitizer"
    started=$(date +%s)
    set +e
    TSAN_OPTIONS="log_path=$reports/$sanitizer/report halt_on_error=0" \
    ASAN_OPTIONS="log_path=$reports/$sanitizer/report detect_leaks=0" \
        swift test -c release --sanitize="$sanitizer" --scratch-path ".build/sanitize-$sanitizer" "$@" \
        > "$reports/$sanitizer.log" 2>&1
    result=$?
    set -e
    found=$(find "$reports/$sanitizer" -type f | wc -l)
    summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$reports/$sanitizer.log" | tail -1 | sed 's/^[[:space:]]*//' || true)
    echo "sanitize $sanitizer: exit $result, $found report file(s), $(( $(date +%s) - started )) s; ${summary:-no test summary}"
    if [ "$found" -gt 0 ]; then
        echo "  reports: $reports/$sanitizer/"
        grep -h -m1 -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer" "$reports/$sanitizer"/* | sort | uniq -c | head -20 || true
    fi
    if [ "$result" -ne 0 ]; then tail -30 "$reports/$sanitizer.log"; fi
    if [ "$result" -ne 0 ] || [ "$found" -gt 0 ]; then status=1; fi
done
exit "$status"
