#!/usr/bin/env python3
"""What the calling thread of a multi-threaded `singan` run did alone.

Reads a `perf record -g` file and counts the main thread's samples that lie outside every parallel
op (no `SpinningWorkers` frame on the stack): the time the engine's workers wait for the next op.
Prints the total, then those samples grouped by the innermost engine (or SinGAN) function and by
the leaf symbol.

    perf record -F 4000 -g -o run.data -- singan bench --height 53 --width 71 --nfc 32 --threads 2
    scripts/serial-samples.py run.data [TOP]
"""
import collections
import subprocess
import sys


def samples(path):
    """(thread id, [frame symbols, innermost first]) per sample."""
    text = subprocess.run(["perf", "script", "-i", path, "-F", "tid,ip,sym"],
                          capture_output=True, text=True, check=True).stdout
    tid, stack = None, []
    for line in text.split("\n"):
        if not line.strip():
            continue
        if not line.startswith("\t"):  # a sample's header: its thread id (padded with spaces)
            if tid is not None:
                yield tid, stack
            tid, stack = int(line.split()[0]), []
        else:
            parts = line.strip().split(None, 1)
            stack.append(parts[1] if len(parts) > 1 else parts[0])
    if tid is not None:
        yield tid, stack


def main():
    path, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25
    all_samples = list(samples(path))
    per_thread = collections.Counter(tid for tid, _ in all_samples)
    main_thread = min(per_thread)  # the process's first thread has the lowest id
    by_function, by_leaf, alone = collections.Counter(), collections.Counter(), 0
    for tid, stack in all_samples:
        if tid != main_thread or any("SpinningWorkers" in frame for frame in stack):
            continue
        alone += 1
        by_leaf[stack[0][:100] if stack else "?"] += 1
        engine = [frame for frame in stack if "$s6Engine" in frame or "$s6SinGAN" in frame]
        by_function[engine[0][:100] if engine else "?"] += 1
    print(f"samples per thread: {dict(per_thread)}; main thread alone: {alone}")
    for title, counter in [("innermost engine function", by_function), ("leaf", by_leaf)]:
        print(f"-- by {title}")
        for name, count in counter.most_common(top):
            print(f"{count:7d} {name}")


if __name__ == "__main__":
    main()
