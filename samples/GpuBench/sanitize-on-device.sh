#!/usr/bin/env bash
# compute-sanitizer (memcheck, racecheck, synccheck) over a subset of the GPU tests, on both kernel families and the
# block-mask builder, each run time-boxed so the whole fits one device call. Prints each tool's ERROR SUMMARY and the
# tests' own summary; full logs under $OUT/sanitizer/. Expects the carry that run-on-device.sh unpacks (it unpacks it
# again when run alone).
# Usage on the device: bash samples/GpuBench/sanitize-on-device.sh [seconds per run, default 45]
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/sanitizer"
CARRY=.device-carry
mkdir -p /tmp/kdsl/dotnet /tmp/kdsl/apps
[ -x /tmp/kdsl/dotnet/dotnet ] || tar xJf $CARRY/dotnet.tar.xz -C /tmp/kdsl/dotnet || exit 1
[ -d /tmp/kdsl/apps/KernelDsl.Gpu.Tests ] || tar xJf $CARRY/apps.tar.xz -C /tmp/kdsl/apps || exit 1
export DOTNET_ROOT=/tmp/kdsl/dotnet
TESTS=/tmp/kdsl/apps/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
LIMIT=${1:-45}
# Small cases that still cover: every mask path and modifiers (GpuModifierTests), captured buffers, block masks
# (GpuBlockMaskTests: full/partial/skipped blocks) and the GPU block-mask builder.
FORWARD="-class KernelDsl.Gpu.Tests.GpuCapturedBufferTests -class KernelDsl.Gpu.Tests.GpuBlockMaskTests"
BUILDER="-method KernelDsl.Gpu.Tests.GpuBlockMaskBuilderTests.MasksReadingBatchOrHeadEqualTheCpuMask"
run() {
  local name=$1 tool=$2 family=$3; shift 3
  local log="$OUT/sanitizer/$name.log"
  KDSL_GPU_FAMILY=$family timeout "$LIMIT" "$SAN" --tool "$tool" --print-limit 20 "$TESTS" -noLogo -noColor -maxThreads 1 "$@" > "$log" 2>&1
  local rc=$?
  local summary; summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -n 1)
  # A run cut by the time box prints no summary: count the reports it made before that.
  [ -n "$summary" ] || summary="cut at ${LIMIT}s, $(grep -cE '^========= (Invalid|Race|Barrier|Error|ERROR|Program hit)' "$log") error reports so far"
  local tests; tests=$(grep -E "Total:" "$log" | tail -n 1 | sed 's/^ *//')
  echo "$name ($tool, family ${family:-auto}): ${summary:-no summary} | ${tests:-tests did not finish} | rc $rc"
}
echo "== compute-sanitizer $($SAN --version | tail -n 1), ${LIMIT}s per run ($(date -u +%H:%M:%S))"
run memcheck-forward-auto memcheck "" $FORWARD
run memcheck-forward-sm80 memcheck sm80 $FORWARD
run memcheck-builder memcheck "" $BUILDER
run racecheck-forward-auto racecheck "" -class KernelDsl.Gpu.Tests.GpuCapturedBufferTests
run racecheck-forward-sm80 racecheck sm80 -class KernelDsl.Gpu.Tests.GpuCapturedBufferTests
run synccheck-forward-auto synccheck "" -class KernelDsl.Gpu.Tests.GpuCapturedBufferTests
run synccheck-builder synccheck "" $BUILDER
