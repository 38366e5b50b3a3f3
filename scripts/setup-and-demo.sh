#!/usr/bin/env bash
# Fresh machine to demo: installs missing packages, builds in release mode, then runs the main
# job: a watch-folder daemon on a demo root (demo-root/), with the example pipelines, and one
# bundled image dropped into its `sample` inbox. A `fast` model is trained on the image at full
# size (250 px, minutes on 2 cores; the job's progress is printed every 20 s while it trains) and
# four random full-size samples appear in demo-root/outbox/sample/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
source scripts/swift-path.sh

# Without the PostgreSQL journal (a package trait, on by default): the demo's daemon uses SQLite,
# and postgres-nio with the SwiftNIO and BoringSSL it brings is three quarters of a clean build
# (864 CPU-seconds with it, 228 without).
swift build -c release --product singan --disable-default-traits
singan="$PWD/.build/release/singan"
root="$PWD/demo-root"

"$singan" --version
mkdir -p "$root/pipelines"
cp pipelines/*.yaml "$root/pipelines/"

"$singan" daemon --root "$root" > "$root/daemon.log" 2>&1 &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -d "$root/inbox/sample" ] && break; sleep 0.2; done

# Drop the image the way other programs do: a hidden temporary name, then a rename.
stem="balloons-$(date +%s)"
cp examples/balloons.png "$root/inbox/sample/.$stem.png.part"
mv "$root/inbox/sample/.$stem.png.part" "$root/inbox/sample/$stem.png"
echo "dropped $stem.png into $root/inbox/sample/; daemon log: $root/daemon.log"

deadline=$(( $(date +%s) + 3600 ))
last=0
while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ $(( $(date +%s) - last )) -ge 20 ]; then
        # The running job's line of `singan status`: progress, scale, iteration and ETA.
        "$singan" status --root "$root" --recent 0 | grep "^  running" || true
        last=$(date +%s)
    fi
    if ls "$root/done/sample/" 2>/dev/null | grep -q "^$stem"; then
        echo "done. Results:"
        ls -l "$root/outbox/sample/" | grep "$stem"
        "$singan" status --root "$root"
        exit 0
    fi
    if ls "$root/failed/sample/" 2>/dev/null | grep -q "^$stem"; then
        echo "the job failed:" >&2
        cat "$root/failed/sample/$stem"*.error.txt >&2 || true
        exit 1
    fi
    sleep 5
done
echo "timed out; see $root/daemon.log and: $singan status --root $root" >&2
exit 1
