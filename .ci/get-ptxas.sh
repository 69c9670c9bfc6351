#!/usr/bin/env bash
# Fetches ptxas and cuobjdump (CUDA 11.8, PTX ISA <= 7.8) from Debian bookworm's non-free
# nvidia-cuda-toolkit package and unpacks them under .tools/cuda (gitignored). No GPU and no driver are
# needed: the PTX tests only assemble and disassemble. Idempotent: does nothing when the tools are there.
# Needs root (or an apt that may write its lists) and a Debian/Ubuntu apt; otherwise it says so and exits 0,
# and the PTX tests skip with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.tools/cuda
if [ -x "$dest/usr/bin/ptxas" ] && [ -x "$dest/usr/bin/cuobjdump" ]; then
    echo "get-ptxas: already present in $dest"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "get-ptxas: no apt-get here; PTX assembly tests will skip"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "get-ptxas: not root, cannot add the non-free apt source; PTX assembly tests will skip"
    exit 0
fi
# bookworm's contrib/non-free components carry nvidia-cuda-toolkit (11.8).
src=/etc/apt/sources.list.d/kerneldsl-bookworm-nonfree.sources
if [ ! -f "$src" ]; then
    cat >"$src" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
work=$(mktemp -d)
chmod 755 "$work" && chown _apt "$work" 2>/dev/null || true  # lets apt download without the unsandboxed warning
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq nvidia-cuda-toolkit)
mkdir -p "$dest"
for deb in "$work"/*.deb; do
    dpkg -x "$deb" "$dest"
done
# The package keeps the real binaries under usr/lib/nvidia-cuda-toolkit/bin and links some from usr/bin.
for tool in ptxas cuobjdump; do
    if [ ! -x "$dest/usr/bin/$tool" ]; then
        found=$(find "$dest" -name "$tool" -type f | head -n 1)
        if [ -n "$found" ]; then
            mkdir -p "$dest/usr/bin"
            ln -sf "$(realpath "$found")" "$dest/usr/bin/$tool"
        fi
    fi
done
"$dest/usr/bin/ptxas" --version | tail -n 1
