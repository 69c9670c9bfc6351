#!/usr/bin/env bash
# Issue 9's "no kernel gets slower", in one device call: the standard grid (GpuBench) and the variants (FlexBench)
# of two builds on the same GPU, the before build twice (first and last) so the run-to-run noise is measured beside
# the after/before ratios; with --after-first the order is after, before, after again, so a second device call in
# that order tells a run-order effect (the later run of a pair being faster or slower) from a difference of the
# builds. Expects .device-carry/{dotnet,apps,before-apps}.tar.xz: apps from pack-for-device.sh at
# the commit under test, before-apps from `dotnet publish` of samples/GpuBench and samples/FlexBench at the base
# commit into a folder tarred the same way.
# Usage on the device: bash samples/GpuBench/run-before-after.sh [--quick] [--quick-variants] [--after-first] [--alternate] [--after-first]
# (--quick: a few shapes in both benchmarks; --quick-variants: the full grid, a few variant shapes; --after-first:
# run after, before, after again)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/before-after"
CARRY=.device-carry
mkdir -p /tmp/kdsl/dotnet /tmp/kdsl/apps /tmp/kdsl/before
[ -x /tmp/kdsl/dotnet/dotnet ] || tar xJf $CARRY/dotnet.tar.xz -C /tmp/kdsl/dotnet || exit 1
[ -d /tmp/kdsl/apps/GpuBench ] || tar xJf $CARRY/apps.tar.xz -C /tmp/kdsl/apps || exit 1
[ -d /tmp/kdsl/before/GpuBench ] || tar xJf $CARRY/before-apps.tar.xz -C /tmp/kdsl/before || exit 1
export DOTNET_ROOT=/tmp/kdsl/dotnet
QUICK=""; [[ " $* " == *" --quick "* ]] && QUICK="--quick"
VQUICK=$QUICK; [[ " $* " == *" --quick-variants "* ]] && VQUICK="--quick"
R=$OUT/before-after
AFTER_FIRST=0; [[ " $* " == *" --after-first "* ]] && AFTER_FIRST=1
# --alternate: the standard grid only, run after, before, before, after (ABBA), compared by per-shape means
# (compare_alternating.py): both builds get the same mean position in the call, so a drift over the call cancels.
ALTERNATE=0; [[ " $* " == *" --alternate "* ]] && ALTERNATE=1
# One benchmark run of one build: run BUILD_DIR BENCH NAME ARGS (NAME names the .json and .log under $R).
run() {
  "$1/$2/$2" "$R/$2-$3.json" $4 > "$R/$2-$3.log" 2>&1 || tail -n 5 "$R/$2-$3.log"
}
if [ $ALTERNATE = 1 ]; then
  echo "== GpuBench: after, before, before, after ($(date -u +%H:%M:%S))"
  run /tmp/kdsl/apps GpuBench after-1 "$QUICK"
  run /tmp/kdsl/before GpuBench before-1 "$QUICK"
  run /tmp/kdsl/before GpuBench before-2 "$QUICK"
  run /tmp/kdsl/apps GpuBench after-2 "$QUICK"
  python3 samples/GpuBench/compare_alternating.py --before "$R"/GpuBench-before-{1,2}.json --after "$R"/GpuBench-after-{1,2}.json \
    | tee "$R/GpuBench-alternating.md" | tail -n 3
  exit 0
fi
for bench in GpuBench FlexBench; do
  q=$QUICK; [ $bench = FlexBench ] && q=$VQUICK
  if [ $AFTER_FIRST = 1 ]; then
    echo "== $bench: after, before, after again ($(date -u +%H:%M:%S))"
    run /tmp/kdsl/apps $bench after "$q"
    run /tmp/kdsl/before $bench before "$q"
    run /tmp/kdsl/apps $bench after-again "$q"
    python3 samples/GpuBench/compare_builds.py --after-first "$R/$bench-after.json" "$R/$bench-before.json" "$R/$bench-after-again.json" \
      | tee "$R/$bench-after-vs-before.md" | tail -n 3
  else
    echo "== $bench: before, after, before again ($(date -u +%H:%M:%S))"
    run /tmp/kdsl/before $bench before "$q"
    run /tmp/kdsl/apps $bench after "$q"
    run /tmp/kdsl/before $bench before-again "$q"
    python3 samples/GpuBench/compare_builds.py "$R/$bench-before.json" "$R/$bench-after.json" "$R/$bench-before-again.json" \
      | tee "$R/$bench-after-vs-before.md" | tail -n 3
  fi
done
