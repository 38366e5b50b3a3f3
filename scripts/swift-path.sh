# Sourced by the other scripts: puts the Swift toolchain on PATH when it is
# installed but not there yet (the Swift image keeps it in /opt/swift).
if ! command -v swift >/dev/null 2>&1; then
    for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        if [ -x "$candidate/swift" ]; then
            export PATH="$candidate:$PATH"
            break
        fi
    done
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "error: no Swift toolchain found (need Swift 6 on PATH or in /opt/swift/usr/bin)" >&2
    exit 1
fi
