#!/usr/bin/env bash
# Proves a refactor of the PTX emitter left every kernel equivalent: dumps every kernel of the compiler tests'
# matrices (samples/PtxDump --all) at a base commit and at the working tree, and compares them ignoring comments,
# whitespace and register names (normalize_ptx.py). The base is built in a temporary copy (git archive) with this
# working tree's samples/PtxDump copied in (it uses only the emitter's public entry points).
# Usage: bash samples/PtxDump/compare-ptx.sh [BASE_COMMIT (default 4bdf380)] [WORK_DIR (default /tmp/kdsl-ptx-compare)]
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-4bdf380}
work=${2:-/tmp/kdsl-ptx-compare}
mkdir -p "$work"
if [ ! -d "$work/before-$base" ]; then
    rm -rf "$work/base-tree" && mkdir -p "$work/base-tree"
    git archive "$base" | tar -x -C "$work/base-tree"
    rm -rf "$work/base-tree/samples/PtxDump"
    cp -r samples/PtxDump "$work/base-tree/samples/PtxDump"
    rm -rf "$work/base-tree/samples/PtxDump/bin" "$work/base-tree/samples/PtxDump/obj"
    dotnet run -c Release --project "$work/base-tree/samples/PtxDump" -- "$work/before-$base.tmp" --all
    mv "$work/before-$base.tmp" "$work/before-$base"
    rm -rf "$work/base-tree"
fi
rm -rf "$work/after"
dotnet run -c Release --project samples/PtxDump -- "$work/after" --all
python3 samples/PtxDump/normalize_ptx.py "$work/before-$base" "$work/after"
