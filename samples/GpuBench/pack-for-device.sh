#!/usr/bin/env bash
# Builds what run-on-device.sh needs into .device-carry/ (git-ignored): the .NET runtime of this machine and
# framework-dependent linux-x64 publishes of the GPU test projects, the compiler tests (for the ptxas gate with the
# device's CUDA) and the samples (about 35 MB compressed).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf /tmp/kdsl-pub && mkdir -p .device-carry
for project in tests/KernelDsl.Cuda.Tests tests/KernelDsl.Gpu.Tests tests/KernelDsl.Compiler.Tests samples/GpuBench samples/FlexBench samples/Quickstart samples/SpecLibrary samples/Interop; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained false -o "/tmp/kdsl-pub/$(basename "$project")"
done
# Test-platform extras that the tests do not load (coverage, other OSes).
for dir in /tmp/kdsl-pub/KernelDsl.*.Tests; do
  rm -rf "$dir"/{CodeCoverage,InstrumentationEngine,x86,x64,arm64,alpine,macos,ubuntu}
done
# Files that several apps carry identically (KernelDsl.dll; ScottPlot's native SkiaSharp/HarfBuzz libraries, 11 MB, in
# GpuBench and FlexBench) are stored once: hard links, which tar keeps (the two benchmarks: 10.6 MB -> 5.7 MB compressed).
for file in /tmp/kdsl-pub/*/*; do
  [ -f "$file" ] || continue
  same_name=(/tmp/kdsl-pub/*/"$(basename "$file")"); first=${same_name[0]}
  if [ "$first" != "$file" ] && cmp -s "$first" "$file"; then ln -f "$first" "$file"; fi
done
tar cJf .device-carry/apps.tar.xz -C /tmp/kdsl-pub .
root=$(dirname "$(readlink -f "$(command -v dotnet)")")
[ -f .device-carry/dotnet.tar.xz ] || tar cJf .device-carry/dotnet.tar.xz -C "$root" dotnet host shared/Microsoft.NETCore.App
ls -la .device-carry
