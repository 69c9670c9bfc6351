#!/usr/bin/env bash
# Fetches ptxas and cuobjdump from Debian's non-free nvidia-cuda-toolkit package and unpacks them (gitignored).
# No GPU and no driver are needed: the PTX tests only assemble and disassemble. Idempotent: does nothing when the
# tools are there. Two toolkits, both kept, because each proves something the other cannot:
#   .ci/get-ptxas.sh            bookworm's CUDA 11.8 into .tools/cuda   — the sm_80 family's PTX ISA 7.8 promise
#   .ci/get-ptxas.sh trixie     trixie's CUDA 12.4 into .tools/cuda12   — the only one that knows sm_90a (wgmma)
# Needs root (or an apt that may write its lists) and a Debian/Ubuntu apt; otherwise it says so and exits 0,
# and the PTX tests skip with that reason (CI sets KDSL_REQUIRE_PTXAS=1, which turns those skips into failures).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-bookworm}
case "$suite" in
    bookworm) dest=.tools/cuda ;;
    trixie) dest=.tools/cuda12 ;;
    *) echo "get-ptxas: unknown suite '$suite' (bookworm or trixie)" >&2; exit 2 ;;
esac
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
# Only the contrib/non-free components of the suite are added, so nothing else the machine installs changes source.
src=/etc/apt/sources.list.d/kerneldsl-$suite-nonfree.sources
if [ ! -f "$src" ]; then
    cat >"$src" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
work=$(mktemp -d)
chmod 755 "$work" && chown _apt "$work" 2>/dev/null || true  # lets apt download without the unsandboxed warning
trap 'rm -rf "$work"' EXIT
# Both suites may be in the lists now: name the one wanted.
(cd "$work" && apt-get download -qq "nvidia-cuda-toolkit/$suite")
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
