#!/usr/bin/env bash
# compute-sanitizer (memcheck, racecheck, synccheck) over the GPU tests: KernelDsl.Gpu.Tests on both kernel families
# (the device's default, sm_90a on Hopper, and KDSL_GPU_FAMILY=sm80), the backward and decode kernels, the block-mask
# builder, and KernelDsl.Cuda.Tests. The whole GPU suite takes about two minutes per family without a sanitizer and
# several times that under one, so each tool runs a subset chosen to reach every kernel kind and path (listed below);
# each run is time-boxed, and no run starts past the overall budget, so the call stays under ~9 minutes of device time.
# Writes few files: $OUT/sanitizer-summary.txt (one line per run: errors or hazards, tests passed, time; then the totals
# per tool) and $OUT/sanitizer-logs.tar.xz (every run's full log).
# Usage on the device: bash samples/GpuBench/sanitize-on-device.sh [budget seconds, default 500]
#   (run-on-device.sh --sanitize calls it after unpacking the carry; alone, it unpacks the carry itself)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LOGS=$(mktemp -d /tmp/kdsl-sanitizer.XXXXXX)
CARRY=.device-carry
mkdir -p /tmp/kdsl/dotnet /tmp/kdsl/apps
[ -x /tmp/kdsl/dotnet/dotnet ] || tar xJf $CARRY/dotnet.tar.xz -C /tmp/kdsl/dotnet || exit 1
[ -d /tmp/kdsl/apps/KernelDsl.Gpu.Tests ] || tar xJf $CARRY/apps.tar.xz -C /tmp/kdsl/apps || exit 1
export DOTNET_ROOT=/tmp/kdsl/dotnet
GPU=/tmp/kdsl/apps/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests
CUDA=/tmp/kdsl/apps/KernelDsl.Cuda.Tests/KernelDsl.Cuda.Tests
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
BUDGET=${1:-500}
START=$(date +%s)
SUMMARY="$OUT/sanitizer-summary.txt"

# The subsets (xunit v3 -method filters with class wildcards; one filter type per run, as types AND together).
T=KernelDsl.Gpu.Tests
# Forward kernels: captured buffers (in range, and indices outside them: the clamp), block masks (full/partial/skipped
# tiles) built on the host and on the device, empty dims (driver fills), non-finite inputs, masked NaN values.
FORWARD=(-method "$T.GpuCapturedIndexTests.*" -method "$T.GpuCapturedBufferTests.*" -method "$T.GpuBlockMaskTests.*"
         -method "$T.GpuEmptyDimsTests.*" -method "$T.GpuNonFiniteTests.*" -method "$T.GpuMaskedValueNaNTests.*")
# Backward (preprocess, dK/dV, dQ: ten calls of a GQA causal D = 128 shape) and decode (splits 1 and 8 with the merge,
# draft trees reading captured buffers, empty batches); these kernels exist in the sm_80 family only.
BACKWARD_DECODE=(-method "$T.Backward.GpuBackwardTests.Ten_runs_give_identical_bits" -method "$T.GpuEmptyBackwardAndDecodeTests.*"
                 -method "$T.Serving.GpuDecodeTests.Sequences_without_keys_give_zeros_and_minus_infinity"
                 -method "$T.Serving.GpuDecodeTests.Random_draft_trees_match_the_reference")
# The block-mask builder on both tile shapes, reading b and h and captured buffers.
BUILDER=(-method "$T.GpuBlockMaskBuilderTests.*")
# racecheck and synccheck are 10-100x slower than a plain run: the smallest tests that still launch each kernel kind.
SMALL_FORWARD=(-method "$T.GpuCapturedBufferTests.*" -method "$T.GpuCapturedIndexTests.*")
SMALL_BACKWARD_DECODE=(-method "$T.Backward.GpuBackwardTests.Ten_runs_give_identical_bits"
                       -method "$T.Serving.GpuDecodeTests.Sequences_without_keys_give_zeros_and_minus_infinity")

# Runs a command in its own process group, killed (the sanitizer and the test process under it) after $1 seconds.
boxed() {
  local seconds=$1; shift
  setsid "$@" &
  local pid=$!
  ( sleep "$seconds"; kill -TERM -- "-$pid" 2>/dev/null; sleep 5; kill -KILL -- "-$pid" 2>/dev/null ) &
  local timer=$!
  wait "$pid"; local rc=$?
  kill "$timer" 2>/dev/null; wait "$timer" 2>/dev/null
  return $rc
}

declare -A ERRORS=() RUNS=() CUT=()
# run NAME TOOL FAMILY BOX TEST-BINARY FILTERS...: one sanitized test run, its line in the summary.
run() {
  local name=$1 tool=$2 family=$3 box=$4 binary=$5; shift 5
  local log="$LOGS/$name.log" left=$((BUDGET - ($(date +%s) - START)))
  if (( left < 20 )); then
    echo "$name ($tool, family ${family:-default}): not run, the ${BUDGET}s budget is spent" | tee -a "$SUMMARY"
    CUT[$tool]=$(( ${CUT[$tool]:-0} + 1 ))
    return
  fi
  (( box > left )) && box=$left
  local began; began=$(date +%s)
  boxed "$box" env KDSL_GPU_FAMILY="$family" "$SAN" --tool "$tool" --print-limit 50 "$binary" -noLogo -noColor -maxThreads 1 "$@" > "$log" 2>&1
  local rc=$? took=$(( $(date +%s) - began ))
  # memcheck/synccheck: "ERROR SUMMARY: N errors"; racecheck: "RACECHECK SUMMARY: N hazards displayed (E errors, W warnings)".
  local line count
  line=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -n 1)
  if [ -n "$line" ]; then
    count=$(sed -E 's/.*\(([0-9]+) errors.*/\1/; s/.*ERROR SUMMARY: ([0-9]+) error.*/\1/' <<< "$line")
  else
    # Cut by the box: no summary; count the reports made before the cut.
    count=$(grep -cE '^========= (Invalid|Race|Barrier|Error|ERROR|Program hit|Uninitialized|Potential|Malloc|Leaked|Cuda API)' "$log")
    line="cut at ${box}s, $count reports before the cut"
    CUT[$tool]=$(( ${CUT[$tool]:-0} + 1 ))
  fi
  [[ $count =~ ^[0-9]+$ ]] || count=0
  ERRORS[$tool]=$(( ${ERRORS[$tool]:-0} + count ))
  RUNS[$tool]=$(( ${RUNS[$tool]:-0} + 1 ))
  local tests; tests=$(grep -E "Total:" "$log" | tail -n 1 | sed -E 's/^ *//; s/ +/ /g')
  echo "$name ($tool, family ${family:-default}): ${line#========= } | ${tests:-tests did not finish} | ${took}s | rc $rc" | tee -a "$SUMMARY"
}

{
  echo "compute-sanitizer: $($SAN --version | tail -n 1)"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  echo "budget ${BUDGET}s, started $(date -u +%H:%M:%S) UTC"
} | tee "$SUMMARY"
#   name                        tool       family box  binary  filters
run memcheck-forward-default    memcheck   ""     100  "$GPU"  "${FORWARD[@]}"
run memcheck-forward-sm80       memcheck   sm80    70  "$GPU"  "${FORWARD[@]}"
run memcheck-backward-decode    memcheck   ""      70  "$GPU"  "${BACKWARD_DECODE[@]}"
run memcheck-builder            memcheck   ""      40  "$GPU"  "${BUILDER[@]}"
run memcheck-cuda-tests         memcheck   ""      40  "$CUDA"  -parallel none
run memcheck-cuda-tests-sm80    memcheck   sm80    30  "$CUDA"  -parallel none
run racecheck-forward-default   racecheck  ""      40  "$GPU"  "${SMALL_FORWARD[@]}"
run racecheck-forward-sm80      racecheck  sm80    35  "$GPU"  "${SMALL_FORWARD[@]}"
run racecheck-backward-decode   racecheck  ""      40  "$GPU"  "${SMALL_BACKWARD_DECODE[@]}"
run synccheck-forward-default   synccheck  ""      25  "$GPU"  "${SMALL_FORWARD[@]}"
run synccheck-forward-sm80      synccheck  sm80    25  "$GPU"  "${SMALL_FORWARD[@]}"
run synccheck-backward-decode   synccheck  ""      30  "$GPU"  "${SMALL_BACKWARD_DECODE[@]}"
run synccheck-builder           synccheck  ""      25  "$GPU"  "${BUILDER[@]}"
{
  echo "== totals ($(( $(date +%s) - START ))s)"
  for tool in memcheck racecheck synccheck; do
    echo "$tool: ${ERRORS[$tool]:-0} errors over ${RUNS[$tool]:-0} runs (${CUT[$tool]:-0} cut or not run)"
  done
} | tee -a "$SUMMARY"
tar cJf "$OUT/sanitizer-logs.tar.xz" -C "$LOGS" . && rm -rf "$LOGS"
