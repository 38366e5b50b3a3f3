#!/usr/bin/env bash
# Trains one model and scores it as BENCHMARKS.md reports quality: 50 samples from scale 0,
# the patch SWD ratio on the first 20 and the diversity on all 50 (tools/patch_quality.py,
# numpy and scikit-image). Prints one JSON line: image, train seconds, swd ratio, diversity,
# and the report's per-scale noise amplitudes and floors.
#
#   scripts/quality.sh IMAGE OUTDIR [singan train options...]
#   e.g. scripts/quality.sh examples/balloons.png /tmp/q-balloons --preset paper --max-size 128 --iters 1000 --seed 7
#
# SINGAN (default .build/release/singan) picks the binary; PATCH_QUALITY the scoring script
# (default tools/patch_quality.py).
set -euo pipefail
image="$1"; out="$2"; shift 2
singan="${SINGAN:-$(dirname "$0")/../.build/release/singan}"
quality="${PATCH_QUALITY:-$(dirname "$0")/../tools/patch_quality.py}"
mkdir -p "$out/samples"
start=$(date +%s.%N)
"$singan" train "$image" -o "$out/model.singan" --report "$out/report.json" --log-interval 60 "$@" > "$out/train.log" 2>&1
end=$(date +%s.%N)
"$singan" sample "$out/model.singan" -o "$out/samples" -n 50 --seed 1 > /dev/null
samples=("$out"/samples/sample_*.png)
swd=$(python3 "$quality" swd "$image" "${samples[@]:0:20}")
div=$(python3 "$quality" div "$image" "${samples[@]}")
python3 - "$image" "$start" "$end" "$swd" "$div" "$out/report.json" <<'PY'
import json, sys
image, start, end, swd, div, report = sys.argv[1:]
r = json.load(open(report))
print(json.dumps({
    "image": image.split("/")[-1], "train_seconds": round(float(end) - float(start), 1),
    "swd_ratio": json.loads(swd)["ratio"], "diversity": json.loads(div)["diversity"],
    "sigma": [round(s["noiseAmplitude"], 5) for s in r["scales"]],
    "floor": [round(s.get("noiseFloor", float("nan")), 5) for s in r["scales"]],
}))
PY
