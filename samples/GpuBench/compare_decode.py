"""Table of GpuBench --decode against torch_decode.py (same shapes, same device call): time per step, achieved K/V bandwidth
and its share of two roofs measured in the same run — the copy bandwidth (read + write of a device-to-device copy,
the issue's yardstick) and the read-only roof (a kernel that only reads, over 4 GiB; decode reads and barely writes, so
this is the roof it can actually approach) — the time of that read-only kernel over exactly the shape's K/V bytes, PyTorch SDPA flash and cuDNN times on the contiguous (padded) cache, and the
ratio best PyTorch time / ours (> 1: ours faster). Then the bars of issue 11: ≥ 70% of copy bandwidth where the cache
holds ≥ 256k tokens, ≥ 1.0x the best PyTorch path everywhere. Usage: compare_decode.py kerneldsl-decode.json torch-decode.json"""
import json
import sys


def main():
    ours = json.load(open(sys.argv[1]))
    torch_side = json.load(open(sys.argv[2]))
    copy = torch_side["copy_gbps"]
    print(f"# Paged decode, bf16 D=128, one token per sequence: {ours['device']} ({ours['date']}), torch {torch_side['torch']}")
    read = torch_side.get("read_gbps")
    print(f"copy bandwidth (read + write) {copy:.0f} GB/s" + (f"; read-only roof {read:.0f} GB/s ({torch_side['read_how']}, 4 GiB read once)" if read else "; no read-only roof in this run"))
    print("% copy = K/V bytes / time ÷ copy bandwidth; % read = the same ÷ the read-only roof; read-only us = the read-only kernel over this shape's K/V bytes\n"
          "(launched from Python, so below ~20 us it is a launch floor, not a bandwidth).\n")
    print("| Hq/Hkv | B | L | page | splits | ours us | GB/s | % copy | % read | read-only us | flash us | cuDNN us | best torch / ours |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    big, big_read, ratios = [], [], []
    for a, t in zip(ours["results"], torch_side["results"]):
        assert (a["batch"], a["heads_q"], a["length"], a["page_size"]) == (t["batch"], t["heads_q"], t["length"], t["page_size"]), "shape lists differ"
        us = a["ms"] * 1000
        share = 100 * a["gbps"] / copy
        times = [x for x in (t["flash_ms"], t["cudnn_ms"]) if x is not None]
        best = min(times) if times else None
        ratio = best / a["ms"] if best else None
        fmt = lambda ms: f"{ms * 1000:.1f}" if ms is not None else "n/a"
        read_share = f"{100 * a['gbps'] / read:.0f}%" if read else "n/a"
        read_us = fmt(t.get("read_only_ms"))
        length = f"{a['length']} ragged" if a["ragged"] else str(a["length"])
        print(f"| {a['heads_q']}/{a['heads_kv']} | {a['batch']} | {length} | {a['page_size']} | {a['splits']} | {us:.1f} | {a['gbps']:.0f} | {share:.0f}% | {read_share} | {read_us} | "
              f"{fmt(t['flash_ms'])} | {fmt(t['cudnn_ms'])} | {ratio:.2f}x |" if ratio else
              f"| {a['heads_q']}/{a['heads_kv']} | {a['batch']} | {length} | {a['page_size']} | {a['splits']} | {us:.1f} | {a['gbps']:.0f} | {share:.0f}% | {read_share} | {read_us} | n/a | n/a | n/a |")
        if a["tokens"] >= 256 * 1024:
            big.append(share)
            if read:
                big_read.append(100 * a["gbps"] / read)
        if ratio:
            ratios.append(ratio)
    print()
    if big:
        print(f"caches of >= 256k tokens: {min(big):.0f}%-{max(big):.0f}% of copy bandwidth over {len(big)} shapes (bar 70%, goal 85%)"
              + (f"; {min(big_read):.0f}%-{max(big_read):.0f}% of the read-only roof" if big_read else ""))
    if ratios:
        print(f"best PyTorch / ours: min {min(ratios):.2f}x, max {max(ratios):.2f}x over {len(ratios)} shapes (bar 1.0x, goal 1.3x)")


if __name__ == "__main__":
    main()
