using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// The host-side split-KV rule of the device Decode (DecodeSplits): the split count with the fewest waves of the longest CTA
/// (exact for equal lengths), from the total keys for ragged batches, at least 256 keys per split, at most 64; and the CTAs
/// per SM it multiplies the SM count by.
/// </summary>
public sealed class DecodeSplitsTests(ITestOutputHelper output)
{
    /// <summary>An H200: 132 SMs, two D = 128 decode CTAs each (108,800 bytes of shared memory of 228 KiB).</summary>
    private const int H200Slots = 264;

    /// <summary>The benchmark grid's equal-length shapes (GpuBench --decode, Hkv 8 or 16, one row block): C = B·Hkv.</summary>
    [Theory]
    [InlineData(8, 1, 16384, 32)]      // 32 splits x 8 tiles: 256 CTAs, one wave (33, the old floor(264/8), left one split empty)
    [InlineData(8, 1, 65536, 32)]      // 256 CTAs of 32 tiles; 64 splits would be 512 CTAs = two waves of 16 (+ the fixed costs)
    [InlineData(8, 4, 4096, 8)]        // C 32: 256 CTAs, one wave; 9 splits would be 288 CTAs = two waves (measured: 57-62 %)
    [InlineData(8, 4, 65536, 8)]
    [InlineData(8, 16, 16384, 2)]      // C 128: 256 CTAs; 3 splits = 384 CTAs, two waves of 86 tiles > one of 128
    [InlineData(8, 64, 16384, 1)]      // C 512 >= 264: no split, no merge
    [InlineData(16, 1, 65536, 16)]     // C 16: 256 CTAs
    [InlineData(16, 4, 16384, 4)]
    [InlineData(16, 16, 4096, 1)]      // C 256: one wave already
    [InlineData(8, 1, 1024, 4)]        // capped by length: ceil(1024 / 256) = 4
    [InlineData(8, 16, 1024, 2)]
    [InlineData(8, 1, 256, 1)]         // one split's worth of keys
    [InlineData(8, 1, 0, 1)]
    public void Equal_lengths_get_whole_waves(int headsKv, int batch, int length, int expected)
    {
        long ctas = (long)batch * headsKv;
        int splits = DecodeSplits.Choose(ctas, batch, length, (long)batch * length, H200Slots);
        splits.ShouldBe(expected);
        if (splits > 1)
        {
            (ctas * splits).ShouldBeLessThanOrEqualTo(H200Slots, "a split launch of equal CTAs on the grid fills at most one wave");
        }
    }

    /// <summary>
    /// Against a list-scheduling simulation of the launch (CTAs in grid order, each to the first free slot, each costing its
    /// tiles plus the fixed cost): on equal lengths the rule's count is the simulated best (within 2 %, the last split of a
    /// sequence being shorter), and on the benchmark's ragged batches within 30 % of it — where the old rule (floor(2·SMs / C),
    /// from the longest sequence alone) was 2.4x off at B 16.
    /// </summary>
    [Fact]
    public void The_rule_tracks_a_simulated_launch()
    {
        foreach (int headsKv in new[] { 1, 2, 8, 16 })
        {
            foreach (int batch in new[] { 1, 2, 3, 4, 16, 33, 64 })
            {
                foreach (int length in new[] { 300, 1024, 4096, 5000, 16384, 65536 })
                {
                    var lengths = Enumerable.Repeat(length, batch).ToArray();
                    var (chosen, best) = Simulate(lengths, headsKv);
                    chosen.ShouldBeLessThanOrEqualTo(best * 1.02, $"Hkv {headsKv} B {batch} L {length}");
                }
            }
        }

        // GpuBench --decode's ragged batches (Random(20261203), lengths 1..32767, Hkv 8), B = 4, 16, 64.
        var random = new Random(20261203);
        foreach (int batch in new[] { 4, 16, 64 })
        {
            var lengths = Enumerable.Range(0, batch).Select(_ => 1 + random.Next(32767)).ToArray();
            var (chosen, best) = Simulate(lengths, 8);
            output.WriteLine($"ragged B {batch}: max {lengths.Max()}, total {lengths.Sum()}: splits {Choose(lengths, 8)}, simulated {chosen} tiles, best {best}");
            chosen.ShouldBeLessThanOrEqualTo(best * 1.3, $"ragged B {batch}");
        }
    }

    [Fact]
    public void Ragged_batches_split_by_their_total_keys()
    {
        // B 16 x Hkv 8 = 128 CTAs with the longest sequence at 31,770 keys: with every sequence that long, two splits fill
        // one wave; with 159,745 keys in all (the benchmark's ragged batch) the longest sequence's CTAs are cut further,
        // until they are no longer than the waves the batch's keys need.
        int equal = DecodeSplits.Choose(128, 16, 31770, 16L * 31770, H200Slots);
        int ragged = DecodeSplits.Choose(128, 16, 31770, 159745, H200Slots);
        equal.ShouldBe(2);
        ragged.ShouldBeGreaterThan(equal);
        long tilesMax = (31770 + 63) / 64;
        long tilesTotal = (159745 + 63) / 64 + 16;
        DecodeSplits.Cost(ragged, 128, 8, tilesMax, tilesTotal, H200Slots).ShouldBeLessThan(DecodeSplits.Cost(2, 128, 8, tilesMax, tilesTotal, H200Slots) / 2);
    }

    [Fact]
    public void The_cost_counts_waves_of_the_longest_cta_and_the_merge()
    {
        // 32 CTAs x 8 splits of 32 tiles (+1) on 264 slots: one wave, 33 tiles, + 2 for the merge.
        DecodeSplits.Cost(8, 32, 8, 256, 4 * 256, H200Slots).ShouldBe(33 + 2);
        // 9 splits: 288 CTAs of 29 (+1) tiles: two waves.
        DecodeSplits.Cost(9, 32, 8, 256, 4 * 256, H200Slots).ShouldBe((2 * 30) + 2);
        // No split: no merge.
        DecodeSplits.Cost(1, 512, 8, 256, 64 * 256, H200Slots).ShouldBe(2 * 257);
    }

    [Theory]
    [InlineData(108800, 128, 168, 233472, 65536, 2)]   // D 128 on sm_90 (H100/H200: 228 KiB per SM)
    [InlineData(108800, 128, 166, 167936, 65536, 1)]   // D 128 on sm_80 (A100: 164 KiB per SM)
    [InlineData(57600, 128, 116, 233472, 65536, 3)]    // D 64 on sm_90: 3 x 58,624 bytes fit, 4 do not
    [InlineData(143616, 128, 254, 233472, 65536, 1)]   // D 256
    [InlineData(16384, 128, 255, 233472, 65536, 2)]    // registers bind: 255 -> 8,192 per warp, 32,768 per CTA
    [InlineData(0, 32, 32, 233472, 65536, 16)]         // capped at 16
    public void Ctas_per_sm_come_from_shared_memory_and_registers(int shared, int threads, int registers, int sharedPerSm, int registersPerSm, int expected) =>
        DecodeSplits.CtasPerMultiprocessor(shared, threads, registers, sharedPerSm, registersPerSm).ShouldBe(expected);

    [Fact]
    public void A_forced_count_wins_on_its_thread_and_is_checked()
    {
        DecodeSplits.Forced = 5;
        try
        {
            DecodeSplits.Choose(1000, 10, 10, 100, H200Slots).ShouldBe(5);
            int elsewhere = 0;
            var thread = new System.Threading.Thread(() => elsewhere = DecodeSplits.Choose(1000, 10, 10, 100, H200Slots));
            thread.Start();
            thread.Join();
            elsewhere.ShouldBe(1);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        DecodeSplits.Choose(1000, 10, 10, 100, H200Slots).ShouldBe(1);
        Should.Throw<ArgumentOutOfRangeException>(() => DecodeSplits.Forced = 0);
        Should.Throw<ArgumentOutOfRangeException>(() => DecodeSplits.Forced = 65);
    }

    private static int Choose(int[] lengths, int headsKv) =>
        DecodeSplits.Choose((long)lengths.Length * headsKv, lengths.Length, lengths.Max(), lengths.Sum(x => (long)x), H200Slots);

    /// <summary>The simulated time (tiles) of the rule's split count and of the best count in 1..min(64, ceil(longest/256)).</summary>
    private static (double Chosen, double Best) Simulate(int[] lengths, int headsKv)
    {
        int most = Math.Max(1, Math.Min(DecodeSplits.Max, (lengths.Max() + 255) / 256));
        double best = double.MaxValue;
        for (int n = 1; n <= most; n++)
        {
            best = Math.Min(best, Makespan(lengths, headsKv, n));
        }

        return (Makespan(lengths, headsKv, Choose(lengths, headsKv)), best);
    }

    /// <summary>
    /// CTAs dispatched in grid order (split fastest, then KV head, then sequence) each to the slot that frees first; split c of
    /// a sequence of t tiles streams tiles [c·per, min((c+1)·per, t)), per = ceil(t / n), as the kernel does; plus the merge.
    /// </summary>
    private static double Makespan(int[] lengths, int headsKv, int splits)
    {
        var slots = new PriorityQueue<long, long>();
        for (int i = 0; i < H200Slots; i++)
        {
            slots.Enqueue(0, 0);
        }

        foreach (int length in lengths)
        {
            long tiles = (length + 63) / 64;
            long per = (tiles + splits - 1) / splits;
            for (int h = 0; h < headsKv; h++)
            {
                for (int c = 0; c < splits; c++)
                {
                    long work = Math.Max(0, Math.Min((c + 1) * per, tiles) - (c * per)) + DecodeSplits.CtaCostTiles;
                    long free = slots.Dequeue();
                    slots.Enqueue(free + work, free + work);
                }
            }
        }

        long end = 0;
        while (slots.Count > 0)
        {
            end = Math.Max(end, slots.Dequeue());
        }

        return end + (splits > 1 ? DecodeSplits.MergeCostTiles : 0);
    }
}
