#!/usr/bin/env bash
# One device call: GPU driver tests, the GPU numeric matrix, the C# benchmark and the PyTorch anchors, all on the
# same GPU. Expects (built here, carried as .device-carry): dotnet.tar.xz (the .NET runtime: dotnet, host/,
# shared/Microsoft.NETCore.App) and apps.tar.xz (framework-dependent linux-x64 publishes of
# KernelDsl.Cuda.Tests, KernelDsl.Gpu.Tests, GpuBench, FlexBench, Quickstart, SpecLibrary). Build them with samples/GpuBench/pack-for-device.sh.
# Usage on the device: bash samples/GpuBench/run-on-device.sh [--quick] [--quick-grid] [--no-tests] [--no-bench] [--no-variants] [--sm80] [--backward] [--sanitize]
# (--quick: a few shapes everywhere; --quick-grid: a few shapes in the standard grid only, issue 4's variants in full)
# GPU_TESTS_FILTER (env) passes xunit filters to the GPU test run, e.g. "-class KernelDsl.Gpu.Tests.GpuModifierTests".
# On a Hopper GPU the generated Forward launches the sm_90a (wgmma) kernels; --sm80 also runs the GPU tests (filtered by
# GPU_TESTS_SM80_FILTER) and the benchmarks a second time with KDSL_GPU_FAMILY=sm80, i.e. on the sm_80-family kernels.
# The tests step also runs the ptxas gate (KernelDsl.Compiler.Tests' PtxAssemblyTests) with this machine's CUDA ptxas,
# which, unlike CI's CUDA 11.8, assembles the sm_90a kernels.
# (--no-bench skips the standard grid vs SDPA/cuDNN/Flex; --no-variants skips issue 4's variants vs FlexAttention).
# --small also runs the small-call benchmark (GpuBench --small: us per call, host us, bytes per call, graph replay, next to
# an empty kernel) and PyTorch's SDPA on the same shapes (torch_small.py), then compare_small.py's table; --small-only
# runs just that (no tests, grid or variants).
# --backward runs the GPU backward only (issue 10), then exits: its GPU tests in both modes (gradients vs the float64
# reference, the 10-run bit identity of the deterministic mode, the backward ABI tables), the ptxas gate for the backward
# kernels (both modes) with this machine's ptxas, GpuBench --backward on the standard grid (atomic-dQ and deterministic
# mode in the same run) and torch_backward.py (SDPA flash and cuDNN backward) on the same shapes, then
# compare_backward.py's table (backward-table.md). Combine with --quick for two sequence lengths.
# --first-call also runs GpuBench --first-call (issue 13, item 5): each case's first call in fresh processes with the driver's
# compute cache cold (an empty CUDA_CACHE_PATH), warm (the same folder again) and disabled.
# --decode also runs the paged decode (issue 11): its GPU tests (GpuDecodeTests, GeneratedAbiTests), GpuBench --decode (us per
# step and K/V bandwidth over B x cache length x Hq/Hkv x page size), torch_decode.py (copy bandwidth, SDPA flash and cuDNN on a
# contiguous cache of the same tokens), compare_decode.py's table and (without --quick) GpuBench --decode --split-sweep;
# --decode-only runs just that.
# --varlen also runs varlen prefill (issue 11): its GPU tests (GpuVarlenTests, GeneratedAbiTests), the ptxas gate for the varlen
# kernels with this machine's ptxas (VarlenPtxTests) and GpuBench --varlen (TFLOP/s on real pairs against the dense Forward at the
# same total tokens, uniform and ragged lengths); --varlen-only runs just that.
# --decode-append runs the fused decode step (issue 12): its GPU tests (GpuDecodeAppendTests, GeneratedAbiTests), the ptxas gate
# for the decode kernels with this machine's ptxas (DecodePtxTests) and GpuBench --decode-append (fused vs RotateAppend + Decode vs
# Decode alone); --decode-append-only runs just that.
# --sanitize runs only the GPU tests under compute-sanitizer (memcheck, racecheck, synccheck; both kernel families, the
# backward and decode kernels, the block-mask builder, KernelDsl.Cuda.Tests) within a 500 s budget, then exits:
# sanitize-on-device.sh writes $OUT/sanitizer-summary.txt (errors per run and per tool) and $OUT/sanitizer-logs.tar.xz.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
CARRY=.device-carry
mkdir -p /tmp/kdsl/dotnet /tmp/kdsl/apps
tar xJf $CARRY/dotnet.tar.xz -C /tmp/kdsl/dotnet && tar xJf $CARRY/apps.tar.xz -C /tmp/kdsl/apps || exit 1
export DOTNET_ROOT=/tmp/kdsl/dotnet
APPS=/tmp/kdsl/apps
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv | tee "$OUT/device.txt"
QUICK=""; [[ " $* " == *" --quick "* ]] && QUICK="--quick"
GRID_QUICK=$QUICK; [[ " $* " == *" --quick-grid "* ]] && GRID_QUICK="--quick"
SM80=0; [[ " $* " == *" --sm80 "* ]] && SM80=1
CUDA_BIN=$(dirname "$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)")

if [[ " $* " == *" --sanitize "* ]]; then
  bash samples/GpuBench/sanitize-on-device.sh "${SANITIZE_BUDGET:-500}"
  exit 0
fi

if [[ " $* " == *" --backward "* ]]; then
  echo "== GPU backward tests (KernelDsl.Gpu.Tests.Backward, GeneratedAbiTests)"
  # -showLiveOutput: the per-shape errors (dQ, dK, dV) and seeds go to the log even when the tests pass.
  $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -maxThreads 1 -showLiveOutput -namespace KernelDsl.Gpu.Tests.Backward \
    -xml "$OUT/gpu-backward-tests.xml" > "$OUT/gpu-backward-tests.log" 2>&1
  grep -E "\[FAIL\]|dQ |seed" "$OUT/gpu-backward-tests.log" | head -n 60
  tail -n 3 "$OUT/gpu-backward-tests.log"
  $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -class KernelDsl.Gpu.Tests.GeneratedAbiTests > "$OUT/gpu-abi-tests.log" 2>&1
  tail -n 2 "$OUT/gpu-abi-tests.log"
  echo "== ptxas gate for the backward kernels with $CUDA_BIN/ptxas (registers, spills)"
  KDSL_CUDA_BIN=$CUDA_BIN KDSL_REQUIRE_PTXAS=1 $APPS/KernelDsl.Compiler.Tests/KernelDsl.Compiler.Tests -noLogo -noColor \
    -method "KernelDsl.Compiler.Tests.PtxAssemblyTests.Every_backward_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA" \
    -method "KernelDsl.Compiler.Tests.PtxAssemblyTests.Every_atomic_dq_backward_kernel_assembles_for_sm80_and_sm90_without_spills_and_uses_HMMA" \
    -xml "$OUT/ptxas-backward.xml" > "$OUT/ptxas-backward.log" 2>&1
  tail -n 2 "$OUT/ptxas-backward.log"
  echo "== KernelDsl GPU backward benchmark"
  $APPS/GpuBench/GpuBench --backward "$OUT/kerneldsl-bwd.json" $QUICK | tee "$OUT/kerneldsl-bwd.log"
  echo "== PyTorch SDPA backward (flash, cuDNN)"
  python3 samples/GpuBench/torch_backward.py "$OUT/torch-bwd.json" $QUICK > "$OUT/torch-bwd.log" 2>&1; tail -n 3 "$OUT/torch-bwd.log"
  python3 samples/GpuBench/compare_backward.py "$OUT/kerneldsl-bwd.json" "$OUT/torch-bwd.json" | tee "$OUT/backward-table.md"
  exit 0
fi

if [[ " $* " == *" --first-call "* ]]; then
  echo "== First call of a spec in fresh processes: cold JIT cache, warm cache, cache disabled (GpuBench --first-call)"
  $APPS/GpuBench/GpuBench --first-call "$OUT/kerneldsl-first-call.json" | tee "$OUT/kerneldsl-first-call.log"
fi

SMALL=0; [[ " $* " == *" --small "* || " $* " == *" --small-only "* ]] && SMALL=1
if [[ $SMALL == 1 ]]; then
  echo "== Small calls: KernelDsl (GpuBench --small) and PyTorch SDPA (torch_small.py), same device, same call"
  $APPS/GpuBench/GpuBench --small "$OUT/kerneldsl-small.json" | tee "$OUT/kerneldsl-small.log"
  python3 samples/GpuBench/torch_small.py "$OUT/torch-small.json" > "$OUT/torch-small.log" 2>&1; tail -n 3 "$OUT/torch-small.log"
  python3 samples/GpuBench/compare_small.py "$OUT/kerneldsl-small.json" "$OUT/torch-small.json" | tee "$OUT/small-table.md"
  [[ " $* " == *" --small-only "* ]] && exit 0
fi

DECODE=0; [[ " $* " == *" --decode "* || " $* " == *" --decode-only "* ]] && DECODE=1
if [[ $DECODE == 1 ]]; then
  echo "== Paged decode: GPU tests, GpuBench --decode, PyTorch SDPA on the same tokens (torch_decode.py), table"
  $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -maxThreads 1 -class KernelDsl.Gpu.Tests.Serving.GpuDecodeTests -class KernelDsl.Gpu.Tests.GeneratedAbiTests -xml "$OUT/decode-tests.xml" > "$OUT/decode-tests.log" 2>&1
  grep -E "\[FAIL\]" "$OUT/decode-tests.log" | head -n 20
  tail -n 3 "$OUT/decode-tests.log"
  $APPS/GpuBench/GpuBench --decode "$OUT/kerneldsl-decode.json" $QUICK | tee "$OUT/kerneldsl-decode.log"
  python3 samples/GpuBench/torch_decode.py "$OUT/kerneldsl-decode.json" "$OUT/torch-decode.json" > "$OUT/torch-decode.log" 2>&1; tail -n 3 "$OUT/torch-decode.log"
  python3 samples/GpuBench/compare_decode.py "$OUT/kerneldsl-decode.json" "$OUT/torch-decode.json" | tee "$OUT/decode-table.md"
  # After the table, so a timeout here loses only the sweep: four bandwidth-bound shapes with the split count forced 1..64.
  if [[ -z "$QUICK" ]]; then
    $APPS/GpuBench/GpuBench --decode --split-sweep "$OUT/kerneldsl-decode-sweep.json" | tee "$OUT/kerneldsl-decode-sweep.log"
  fi
  [[ " $* " == *" --decode-only "* ]] && exit 0
fi

APPEND=0; [[ " $* " == *" --decode-append "* || " $* " == *" --decode-append-only "* ]] && APPEND=1
if [[ $APPEND == 1 ]]; then
  echo "== Fused decode step: GPU tests, ptxas gate for the decode kernels, GpuBench --decode-append"
  $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -maxThreads 1 -showLiveOutput -class KernelDsl.Gpu.Tests.Serving.GpuDecodeAppendTests -class KernelDsl.Gpu.Tests.GeneratedAbiTests -xml "$OUT/decode-append-tests.xml" > "$OUT/decode-append-tests.log" 2>&1
  grep -E "\[FAIL\]|seed" "$OUT/decode-append-tests.log" | head -n 40
  tail -n 3 "$OUT/decode-append-tests.log"
  KDSL_CUDA_BIN=$CUDA_BIN KDSL_REQUIRE_PTXAS=1 $APPS/KernelDsl.Compiler.Tests/KernelDsl.Compiler.Tests -noLogo -noColor -showLiveOutput -class KernelDsl.Compiler.Tests.DecodePtxTests -xml "$OUT/ptxas-decode.xml" > "$OUT/ptxas-decode.log" 2>&1
  grep -E "\[FAIL\]|append" "$OUT/ptxas-decode.log" | head -n 30; tail -n 2 "$OUT/ptxas-decode.log"
  $APPS/GpuBench/GpuBench --decode-append "$OUT/kerneldsl-decode-append.json" $QUICK | tee "$OUT/kerneldsl-decode-append.log"
  [[ " $* " == *" --decode-append-only "* ]] && exit 0
fi

VARLEN=0; [[ " $* " == *" --varlen "* || " $* " == *" --varlen-only "* ]] && VARLEN=1
if [[ $VARLEN == 1 ]]; then
  echo "== Varlen prefill: GPU tests, ptxas gate for the varlen kernels, GpuBench --varlen (vs the dense Forward at the same tokens)"
  $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -maxThreads 1 -showLiveOutput -class KernelDsl.Gpu.Tests.Serving.GpuVarlenTests -class KernelDsl.Gpu.Tests.GeneratedAbiTests -xml "$OUT/varlen-tests.xml" > "$OUT/varlen-tests.log" 2>&1
  grep -E "\[FAIL\]|seed" "$OUT/varlen-tests.log" | head -n 30
  tail -n 3 "$OUT/varlen-tests.log"
  KDSL_CUDA_BIN=$CUDA_BIN KDSL_REQUIRE_PTXAS=1 $APPS/KernelDsl.Compiler.Tests/KernelDsl.Compiler.Tests -noLogo -noColor -showLiveOutput -class KernelDsl.Compiler.Tests.VarlenPtxTests -method- "*Snapshot*" -xml "$OUT/ptxas-varlen.xml" > "$OUT/ptxas-varlen.log" 2>&1
  grep -E "\[FAIL\]|regs|allowed" "$OUT/ptxas-varlen.log" | head -n 8; tail -n 2 "$OUT/ptxas-varlen.log"
  $APPS/GpuBench/GpuBench --varlen "$OUT/kerneldsl-varlen.json" $QUICK | tee "$OUT/kerneldsl-varlen.log"
  python3 samples/GpuBench/compare_varlen.py "$OUT/kerneldsl-varlen.json" | tee "$OUT/varlen-table.md"
  [[ " $* " == *" --varlen-only "* ]] && exit 0
fi

if [[ " $* " != *" --no-tests "* ]]; then
  echo "== CUDA driver tests"
  $APPS/KernelDsl.Cuda.Tests/KernelDsl.Cuda.Tests -noLogo -noColor -parallel none -xml "$OUT/cuda-tests.xml" > "$OUT/cuda-tests.log" 2>&1
  tail -n 3 "$OUT/cuda-tests.log"
  echo "== ptxas gate with $CUDA_BIN/ptxas (sm_80, sm_90 and the Hopper family's sm_90a)"
  KDSL_CUDA_BIN=$CUDA_BIN KDSL_REQUIRE_PTXAS=1 $APPS/KernelDsl.Compiler.Tests/KernelDsl.Compiler.Tests -noLogo -noColor -class KernelDsl.Compiler.Tests.PtxAssemblyTests -class KernelDsl.Compiler.Tests.DecodePtxTests -class KernelDsl.Compiler.Tests.VarlenPtxTests -method- "*Snapshot*" -xml "$OUT/ptxas-gate.xml" > "$OUT/ptxas-gate.log" 2>&1
  grep -E "\[FAIL\]|\[SKIP\]" "$OUT/ptxas-gate.log" | head -n 20; grep -E "sm_90a" "$OUT/ptxas-gate.log" | head -n 3; tail -n 2 "$OUT/ptxas-gate.log"
  echo "== GPU numeric matrix (the generated Forward picks the device's kernel family)"
  $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -maxThreads 1 ${GPU_TESTS_FILTER:-} -xml "$OUT/gpu-tests.xml" > "$OUT/gpu-tests.log" 2>&1
  grep -E "\[FAIL\]" "$OUT/gpu-tests.log" | head -n 20
  tail -n 3 "$OUT/gpu-tests.log"
  if [[ $SM80 == 1 ]]; then
    echo "== GPU numeric matrix on the sm_80-family kernels (KDSL_GPU_FAMILY=sm80)"
    KDSL_GPU_FAMILY=sm80 $APPS/KernelDsl.Gpu.Tests/KernelDsl.Gpu.Tests -noLogo -noColor -maxThreads 1 ${GPU_TESTS_SM80_FILTER:-} -xml "$OUT/gpu-tests-sm80.xml" > "$OUT/gpu-tests-sm80.log" 2>&1
    grep -E "\[FAIL\]" "$OUT/gpu-tests-sm80.log" | head -n 20
    tail -n 3 "$OUT/gpu-tests-sm80.log"
  fi
fi

if [[ " $* " != *" --no-tests "* ]]; then
  echo "== Quickstart sample (CPU + GPU)"
  $APPS/Quickstart/Quickstart > "$OUT/quickstart.log" 2>&1; grep -E "^GPU|^==|error|first call" "$OUT/quickstart.log"
  echo "== Spec library sample (CPU + GPU)"
  $APPS/SpecLibrary/SpecLibrary > "$OUT/spec-library.log" 2>&1; grep -E "^==|CPU:|GPU:" "$OUT/spec-library.log"
fi

if [[ " $* " != *" --no-bench "* ]]; then
  echo "== KernelDsl GPU benchmark"
  $APPS/GpuBench/GpuBench "$OUT/kerneldsl-gpu.json" $GRID_QUICK | tee "$OUT/kerneldsl-gpu.log"
  echo "== PyTorch anchors"
  python3 samples/GpuBench/torch_anchors.py "$OUT/torch-anchors.json" $GRID_QUICK > "$OUT/torch-anchors.log" 2>&1
  tail -n 2 "$OUT/torch-anchors.log"
  python3 samples/GpuBench/compare.py "$OUT/kerneldsl-gpu.json" "$OUT/torch-anchors.json" | tee "$OUT/table.md"
  if [[ $SM80 == 1 ]]; then
    echo "== KernelDsl GPU benchmark, sm_80-family kernels (KDSL_GPU_FAMILY=sm80)"
    KDSL_GPU_FAMILY=sm80 $APPS/GpuBench/GpuBench "$OUT/kerneldsl-gpu-sm80.json" $GRID_QUICK > "$OUT/kerneldsl-gpu-sm80.log" 2>&1
    python3 samples/GpuBench/compare.py "$OUT/kerneldsl-gpu-sm80.json" "$OUT/torch-anchors.json" > "$OUT/table-sm80.md"; tail -n 4 "$OUT/table-sm80.md"
  fi
fi

if [[ " $* " != *" --no-variants "* ]]; then
  echo "== KernelDsl variants (issue 4)"
  $APPS/FlexBench/FlexBench "$OUT/kerneldsl-variants.json" $QUICK | tee "$OUT/kerneldsl-variants.log"
  echo "== FlexAttention variants"
  python3 samples/FlexBench/flex_variants.py "$OUT/flex-variants.json" $QUICK --documents "$OUT/kerneldsl-variants.json" > "$OUT/flex-variants.log" 2>&1
  tail -n 3 "$OUT/flex-variants.log"
  python3 samples/FlexBench/compare_variants.py "$OUT/kerneldsl-variants.json" "$OUT/flex-variants.json" | tee "$OUT/variants-table.md"
fi
