#!/usr/bin/env bash
# samples/Interop on the GPU machine: PyTorch allocates q, k, v and o and exports CUDA IPC handles, the published C#
# app (from samples/GpuBench/pack-for-device.sh, carried as .device-carry) wraps them and runs Forward, PyTorch checks
# o against float64. Usage on the device: bash samples/Interop/run-on-device.sh [--batch B] [--heads H] [--seq S]
# Writes $OUT/interop.log; the exit code is torch_ipc.py's (0 = PASS).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
CARRY=.device-carry
mkdir -p /tmp/kdsl/dotnet /tmp/kdsl/apps
[ -x /tmp/kdsl/dotnet/dotnet ] || tar xJf $CARRY/dotnet.tar.xz -C /tmp/kdsl/dotnet || exit 1
tar xJf $CARRY/apps.tar.xz -C /tmp/kdsl/apps || exit 1
export DOTNET_ROOT=/tmp/kdsl/dotnet
python3 samples/Interop/torch_ipc.py --app /tmp/kdsl/apps/Interop/Interop "$@" 2>&1 | tee "$OUT/interop.log"
exit "${PIPESTATUS[0]}"
