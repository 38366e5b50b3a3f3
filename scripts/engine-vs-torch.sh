#!/usr/bin/env bash
# Times one SinGAN training iteration at `fast`'s sizes (nfc 32), side by side: each given build of
# `singan`, then PyTorch (the reference of issue 13, item 4), size by size, for ROUNDS rounds.
# Prints one JSON line per run, prefixed with the build's name ("torch" for PyTorch). This host
# is noisy: compare builds by the median over rounds of each round's ratio, as BENCHMARKS.md does.
#
#   scripts/engine-vs-torch.sh ROUNDS SINGAN_BINARY...
#   e.g. scripts/engine-vs-torch.sh 5 /tmp/singan-before .build/release/singan
#
# TORCH_BENCH picks the PyTorch script (default ../shared/tools/torch_reference_bench.py);
# SIZES the sizes (default: the coarsest scale, two middle ones, the 128 px window).
set -euo pipefail
rounds="$1"; shift
torch="${TORCH_BENCH:-$(dirname "$0")/../../shared/tools/torch_reference_bench.py}"
sizes="${SIZES:-25x34 53x71 79x105 128x128}"
args=(--nfc 32 --iters 15 --warmup 3 --threads 2)
for _ in $(seq "$rounds"); do
    for size in $sizes; do
        h="${size%x*}"; w="${size#*x}"
        for binary in "$@"; do
            echo "$(basename "$binary") $("$binary" bench --height "$h" --width "$w" "${args[@]}")"
        done
        echo "torch $(python3 "$torch" --height "$h" --width "$w" "${args[@]}" 2>/dev/null)"
    done
done
