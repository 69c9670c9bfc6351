"""Table of GpuBench --varlen (issue 11, varlen prefill): TFLOP/s of the varlen call on the batch's real (unpadded) query-key
pairs; of the same spec's dense Forward at the same total tokens (the uniform batch of the mean length) on its own pairs, each
with the device's default kernel family and with the sm_80 family forced; of the dense call padded to the batch's longest
sequence, on the real pairs; then varlen ÷ dense TFLOP/s within each family, and issue 11's bar: within 10 % of the dense
forward (ratio ≥ 0.90). varlen/padded is a time ratio (> 1: varlen faster). Usage: compare_varlen.py kerneldsl-varlen.json"""
import json
import sys


def tflops(row, key):
    """The dense columns on the dense call's own pairs; varlen and padded on the batch's real pairs."""
    flops = row["dense_flops"] if key.startswith("dense") else row["flops"]
    return flops / (row[key] * 1e-3) / 1e12


def main():
    data = json.load(open(sys.argv[1]))
    print(f"# Varlen prefill vs dense Forward, {data['dtype']}, {data['total_tokens']} tokens, H*D = 2048: {data['device']} ({data['date']})")
    print("TFLOP/s = 4*D*H*(kept pairs) / time: the dense columns on the dense call's own [16384/S, S] pairs; varlen and padded on the\n"
          "batch's real pairs (the padded call gets no credit for padding). varlen/dense = ratio of TFLOP/s in the same family.\n")
    print("| D | causal | S | batch | varlen | dense | varlen sm_80 | dense sm_80 | padded | varlen/dense | varlen/dense sm_80 | varlen/padded |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    worst = {}
    for r in data["results"]:
        ratio = tflops(r, "varlen_ms") / tflops(r, "dense_ms")
        ratio80 = tflops(r, "varlen_sm80_ms") / tflops(r, "dense_sm80_ms")
        padded = r["padded_ms"] / r["varlen_ms"]
        kind = "ragged" if r["ragged"] else "uniform"
        print(f"| {r['head_dim']} | {'yes' if r['causal'] else 'no'} | {r['nominal_length']} | {kind} | {tflops(r, 'varlen_ms'):.0f} | {tflops(r, 'dense_ms'):.0f} | "
              f"{tflops(r, 'varlen_sm80_ms'):.0f} | {tflops(r, 'dense_sm80_ms'):.0f} | {tflops(r, 'padded_ms'):.0f} | {ratio:.2f} | {ratio80:.2f} | {padded:.2f} |")
        for key, value in ((kind, ratio), (kind + " sm_80", ratio80)):
            worst[key] = min(worst.get(key, 9.9), value)
    print()
    for key in sorted(worst):
        verdict = "meets" if worst[key] >= 0.90 else "misses"
        print(f"- {key}: lowest varlen/dense {worst[key]:.2f} ({verdict} the 0.90 bar)")


if __name__ == "__main__":
    main()
