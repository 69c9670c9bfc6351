#!/usr/bin/env bash
# Issue 9's "no kernel gets slower", in one device call: the standard grid (GpuBench) and the variants (FlexBench)
# of two builds on the same GPU, the before build twice (first and last) so the run-to-run noise is measured beside
# the after/before ratios. Expects .device-carry/{dotnet,apps,before-apps}.tar.xz: apps from pack-for-device.sh at
# the commit under test, before-apps from `dotnet publish` of samples/GpuBench and samples/FlexBench at the base
# commit into a folder tarred the same way.
# Usage on the device: bash samples/GpuBench/run-before-after.sh [--quick] [--quick-variants]
# (--quick: a few shapes in both benchmarks; --quick-variants: the full grid, a few variant shapes)
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
for bench in GpuBench FlexBench; do
  q=$QUICK; [ $bench = FlexBench ] && q=$VQUICK
  echo "== $bench: before, after, before again ($(date -u +%H:%M:%S))"
  /tmp/kdsl/before/$bench/$bench "$R/$bench-before.json" $q > "$R/$bench-before.log" 2>&1 || tail -n 5 "$R/$bench-before.log"
  /tmp/kdsl/apps/$bench/$bench "$R/$bench-after.json" $q > "$R/$bench-after.log" 2>&1 || tail -n 5 "$R/$bench-after.log"
  /tmp/kdsl/before/$bench/$bench "$R/$bench-before-again.json" $q > "$R/$bench-before-again.log" 2>&1 || tail -n 5 "$R/$bench-before-again.log"
  python3 samples/GpuBench/compare_builds.py "$R/$bench-before.json" "$R/$bench-after.json" "$R/$bench-before-again.json" | tee "$R/$bench-after-vs-before.md" | tail -n 3
done
