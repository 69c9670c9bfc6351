using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;

namespace Serving;

internal sealed record ServingOptions(
    int Sequences, int Total, int Steps, int PageSize, int MaxPrompt, int SharedPrefix, int MaxGenerate, int HeadsQ, int HeadsKv, PagedKvLayout Layout, int Seed,
    int Budget = 0, int CompactEvery = 16, int CopyMiB = 256);

/// <summary>
/// The step loop: admit sequences (prompt K/V rotated into pages), then one fused decode step per token (rotate, append,
/// attend), and every <c>CompactEvery</c> steps a compaction that keeps each sequence's best <c>Budget</c> tokens.
/// </summary>
internal static class ServingLoop
{
    private const int HeadDim = 64;

    public static int Run(ServingOptions o, TextWriter console)
    {
        if (o.Sequences < 1 || o.Total < o.Sequences || o.Steps < 1 || o.PageSize is < 1 or > 256 || o.MaxPrompt < 8 || o.SharedPrefix < 0
            || o.MaxGenerate < 4 || o.HeadsKv < 1 || o.HeadsQ % o.HeadsKv != 0 || o.Budget < 0 || o.Budget == 1 || o.CompactEvery < 1 || o.CopyMiB < 1)
        {
            console.WriteLine("Invalid options: need sequences ≥ 1, total ≥ sequences, steps ≥ 1, page size 1-256, max-prompt ≥ 8, max-generate ≥ 4, heads-q a multiple of heads-kv, "
                              + "budget 0 (no compaction) or ≥ 2, compact-every ≥ 1, copy-mib ≥ 1.");
            return 1;
        }

        var random = new Random(o.Seed);
        var model = new ToyDecoder(random, o.HeadsQ, o.HeadsKv, HeadDim);
        int prefixPages = o.SharedPrefix / o.PageSize;
        int pagesPerSequence = PagedKvBatch.PagesNeeded(o.MaxPrompt + o.MaxGenerate + o.PageSize, o.PageSize);
        var geometry = new PagedKvGeometry(prefixPages + (o.Sequences * pagesPerSequence), o.PageSize, o.HeadsKv, HeadDim, HeadDim, o.Layout);
        var attention = new CpuDecodeAttention(geometry, o.HeadsQ);
        IDecodeAttention backend = attention;
        var allocator = new PageAllocator(geometry.Pages);
        long poolBytes = 2 * geometry.PoolElements(HeadDim) * 2;
        double scale = 1 / Math.Sqrt(HeadDim);
        var rotary = ServingAttention.Serving.Rotary!;
        console.WriteLine($"Toy decoder: Hq={o.HeadsQ} Hkv={o.HeadsKv} D={HeadDim} bf16, width {model.Width}; {backend.Name}; seed {o.Seed}.");
        console.WriteLine($"KV cache: {geometry} = {poolBytes / (1 << 20)} MiB; shared system prompt {prefixPages * o.PageSize} tokens in {prefixPages} pages; "
                          + $"{o.Sequences} sequences at once, {o.Total} in all, prompts {o.MaxPrompt / 8}-{o.MaxPrompt} tokens, {o.MaxGenerate / 4}-{o.MaxGenerate} generated each.");
        console.WriteLine($"Each step is one fused DecodeAppend: rotary ({rotary.Convention}, {rotary.RotaryDim} of {HeadDim} features, base {rotary.Base}) on the new q and k, "
                          + "k and v appended to the pages, attention over the cache.");
        if (o.Budget > 0)
        {
            console.WriteLine($"Compaction every {o.CompactEvery} steps: each sequence keeps its shared prefix, its newest token and its highest-scoring tokens up to {o.Budget} "
                              + "of its own; scores = the attention mass each cached key received from the step's queries (summed over the group's query heads and the KV heads), "
                              + "written by the decode kernel itself ([PagedKv(EvictionScores = true)]) and checked against the float64 ServingReference.AttentionMass. After a compaction, new tokens are rotated at "
                              + "the compacted length (DecodeAppend takes positions from the cache length), so positions shift down by the tokens dropped.");
        }

        // The shared prefix: its K/V written once into its own pages, retained by every sequence.
        var prefix = new List<int>();
        for (int p = 0; p < prefixPages; p++)
        {
            prefix.Add(allocator.Allocate());
        }

        Prefill(backend, prefix, 0, prefixPages * o.PageSize, model, random, o);

        double copyBandwidth = CopyBandwidth.Measure(o.CopyMiB << 20);
        console.WriteLine($"Copy bandwidth of this machine (one thread, {o.CopyMiB} MiB, bytes read): {copyBandwidth / 1e9:F1} GB/s");
        console.WriteLine();
        console.WriteLine(" step  seqs  KV tokens  pages used   step ms  attention µs   KV GB/s  (of copy)");

        var active = new List<Sequence>();
        int admitted = 0, finished = 0, pagesFreed = 0;
        long tokensDropped = 0;
        var attentionTimes = new List<double>();
        var bandwidths = new List<double>();
        var compactionErrors = new List<double>();
        var kvRow = new BFloat16[o.HeadsKv * HeadDim];
        var vRow = new BFloat16[o.HeadsKv * HeadDim];
        for (int step = 1; step <= o.Steps && (active.Count > 0 || admitted < o.Total); step++)
        {
            var stepClock = Stopwatch.StartNew();
            while (active.Count < o.Sequences && admitted < o.Total)
            {
                active.Add(Admit(admitted++, o, random, model, backend, allocator, prefix));
            }

            // One token per sequence: project it (a new page when its last one is full), then one fused call rotates q and k,
            // appends k and v and attends over the cache.
            int batchSize = active.Count;
            var q = new BFloat16[batchSize * o.HeadsQ * HeadDim];
            var k = new BFloat16[batchSize * o.HeadsKv * HeadDim];
            var v = new BFloat16[batchSize * o.HeadsKv * HeadDim];
            for (int s = 0; s < batchSize; s++)
            {
                active[s].Reserve(allocator, o.PageSize);
                model.Project(active[s].Hidden, q.AsSpan(s * o.HeadsQ * HeadDim, o.HeadsQ * HeadDim), k.AsSpan(s * o.HeadsKv * HeadDim, o.HeadsKv * HeadDim), v.AsSpan(s * o.HeadsKv * HeadDim, o.HeadsKv * HeadDim));
            }

            var before = Batch(active, o.PageSize);
            var output = new BFloat16[q.Length];
            var keyMass = new float[(before.TotalKvTokens + batchSize) * o.HeadsKv];
            var attentionClock = Stopwatch.StartNew();
            var after = backend.Step(q, k, v, before, output, keyMass);
            double attentionSeconds = attentionClock.Elapsed.TotalSeconds;
            foreach (var sequence in active)
            {
                sequence.Length++;
            }

            bool compactNow = o.Budget > 0 && step % o.CompactEvery == 0;
            var rotatedQ = step == 1 || compactNow ? Rotated(rotary, q, before, o.HeadsQ) : null;
            if (step == 1)
            {
                // Once: the fused step against the float64 reference on this step's cache (q rotated by the reference's rotary).
                var reference = ServingReference.Decode<BFloat16>(rotatedQ!, attention.Cache, after, o.HeadsQ, scale, ServingAttention.Serving.BandFor);
                console.WriteLine($"   (step 1 against the float64 reference: relative error {ErrorMetrics.RelativeError<BFloat16>(output, reference.Output):E2})");
            }

            for (int s = 0; s < batchSize; s++)
            {
                var sequence = active[s];
                sequence.Hidden = model.Residual(sequence.Hidden, output.AsSpan(s * o.HeadsQ * HeadDim, o.HeadsQ * HeadDim));
                sequence.Remaining--;
            }

            double stepMs = stepClock.Elapsed.TotalMilliseconds;
            long kvBytes = after.TotalKvTokens * o.HeadsKv * 2L * HeadDim * 2;
            double bandwidth = kvBytes / attentionSeconds;
            attentionTimes.Add(attentionSeconds);
            bandwidths.Add(bandwidth);
            console.WriteLine($"{step,5} {batchSize,5} {after.TotalKvTokens,10} {geometry.Pages - allocator.FreePages,6}/{geometry.Pages,-5} {stepMs,8:F2} {attentionSeconds * 1e6,13:F0} {bandwidth / 1e9,9:F2}  {bandwidth / copyBandwidth,8:P0}");

            if (compactNow)
            {
                // The kernel's scores against the float64 reference's attention mass, then the policy on the kernel's.
                double[] reference = ServingReference.AttentionMass<BFloat16>(rotatedQ!, attention.Cache, after, o.HeadsQ, scale, ServingAttention.Serving.BandFor);
                double deviation = keyMass.Select((mass, i) => Math.Abs(mass - reference[i])).DefaultIfEmpty(0).Max();
                var (freed, dropped, error) = Compact(backend, active, after, keyMass, rotatedQ!, output, allocator, prefix.Count * o.PageSize, o);
                pagesFreed += freed;
                tokensDropped += dropped;
                compactionErrors.Add(error);
                console.WriteLine($"   compaction: {dropped} of {after.TotalKvTokens} tokens dropped, {freed} pages freed ({allocator.FreePages} free); "
                                  + $"attention error of step {step} on the compacted cache vs the uncompacted one: {error:E2}; "
                                  + $"kernel scores vs the float64 reference: max deviation {deviation:E2}");
            }

            foreach (var done in active.Where(sequence => sequence.Remaining == 0).ToList())
            {
                done.Release(allocator);
                active.Remove(done);
                finished++;
            }
        }

        var sorted = bandwidths.Order().ToArray();
        console.WriteLine();
        console.WriteLine($"{finished} sequences finished, {active.Count} still active. Attention: median {Median(attentionTimes) * 1e6:F0} µs per step; "
                          + $"KV bandwidth median {sorted[sorted.Length / 2] / 1e9:F2} GB/s = {sorted[sorted.Length / 2] / copyBandwidth:P0} of the copy bandwidth (best {sorted[^1] / 1e9:F2} GB/s).");
        if (o.Budget > 0)
        {
            console.WriteLine(compactionErrors.Count == 0
                ? "No compaction ran (fewer steps than --compact-every)."
                : $"Compactions: {compactionErrors.Count}, {tokensDropped} tokens dropped, {pagesFreed} pages freed in all; attention error after compaction: median {Median(compactionErrors):E2}, worst {compactionErrors.Max():E2}.");
        }

        return 0;
    }

    /// <summary>
    /// Takes the step's scores (the attention mass each cached key received, from the decode kernel), keeps the best within the budget, compacts, gives the freed pages
    /// back, and re-runs the step's attention on the compacted cache to measure what the eviction changed.
    /// </summary>
    private static (int Freed, long Dropped, double Error) Compact(
        IDecodeAttention backend, List<Sequence> active, PagedKvBatch after, float[] keyMass, BFloat16[] rotatedQ, BFloat16[] output,
        PageAllocator allocator, int prefixTokens, ServingOptions o)
    {
        var mass = keyMass.Select(x => (double)x).ToArray();
        var keep = EvictionPolicy.Keep(after, mass, o.HeadsKv, Enumerable.Repeat(prefixTokens, active.Count).ToArray(), o.Budget);
        var result = backend.Compact(after, keep);
        var compacted = new PagedKvBatch(after.QueryOffsets.Span, result.KvLengths, after.PageTable.Span, after.MaxPagesPerSequence);
        var again = new BFloat16[output.Length];
        backend.Attend(rotatedQ, compacted, again);
        double error = ErrorMetrics.RelativeError<BFloat16>(again, output.Select(x => (double)x).ToArray());

        long dropped = after.TotalKvTokens - compacted.TotalKvTokens;
        for (int s = 0; s < active.Count; s++)
        {
            var sequence = active[s];
            sequence.Length = result.KvLengths[s];
            int pages = PagedKvBatch.PagesNeeded(sequence.Length, o.PageSize);
            foreach (int page in sequence.Pages.Skip(pages))
            {
                allocator.Release(page);
            }

            sequence.Pages.RemoveRange(pages, sequence.Pages.Count - pages);
        }

        return (result.FreedPages.Length, dropped, error);
    }

    /// <summary>The step's q rotated as DecodeAppend rotates it (token s at its sequence's length before the step), for the float64 checks.</summary>
    private static BFloat16[] Rotated(RotaryEmbedding rotary, BFloat16[] q, PagedKvBatch before, int headsQ)
    {
        var widened = q.Select(x => (float)x).ToArray();
        rotary.Apply(widened, before.KvLengths.Span, widened);
        return widened.Select(x => (BFloat16)x).ToArray();
    }

    /// <summary>Tokens [start, start + count) of a sequence: projected from random embeddings, K rotated into its pages.</summary>
    private static void Prefill(IDecodeAttention backend, List<int> pages, int start, int count, ToyDecoder model, Random random, ServingOptions o)
    {
        if (count == 0)
        {
            return;
        }

        var q = new BFloat16[o.HeadsQ * HeadDim];
        var k = new BFloat16[count * o.HeadsKv * HeadDim];
        var v = new BFloat16[count * o.HeadsKv * HeadDim];
        int row = o.HeadsKv * HeadDim;
        for (int t = 0; t < count; t++)
        {
            model.Project(model.Embed(random), q, k.AsSpan(t * row, row), v.AsSpan(t * row, row));
        }

        backend.Prefill(pages.ToArray(), start, k, v);
    }

    /// <summary>A new sequence: the shared prefix's pages retained, its own prompt's K/V written (all but the last token, which the first step feeds).</summary>
    private static Sequence Admit(int id, ServingOptions o, Random random, ToyDecoder model, IDecodeAttention backend, PageAllocator allocator, List<int> prefix)
    {
        var sequence = new Sequence(id, random.Next(o.MaxGenerate / 4, o.MaxGenerate + 1));
        foreach (int page in prefix)
        {
            allocator.Retain(page);
            sequence.Pages.Add(page);
        }

        sequence.Length = prefix.Count * o.PageSize;
        int prompt = random.Next(o.MaxPrompt / 8, o.MaxPrompt + 1);
        int start = sequence.Length;
        for (int t = 0; t < prompt - 1; t++)
        {
            sequence.Reserve(allocator, o.PageSize);
            sequence.Length++;
        }

        Prefill(backend, sequence.Pages, start, prompt - 1, model, random, o);
        sequence.Hidden = model.Embed(random);
        return sequence;
    }

    /// <summary>This step's batch: one query per sequence, its length, its page-table row (padded with −1).</summary>
    private static PagedKvBatch Batch(List<Sequence> active, int pageSize)
    {
        int maxPages = active.Max(sequence => sequence.Pages.Count);
        var table = new int[active.Count * maxPages];
        Array.Fill(table, -1);
        for (int s = 0; s < active.Count; s++)
        {
            active[s].Pages.CopyTo(table, s * maxPages);
        }

        return new PagedKvBatch(Enumerable.Range(0, active.Count + 1).ToArray(), active.Select(sequence => sequence.Length).ToArray(), table, maxPages);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
