using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;

namespace Serving;

internal sealed record ServingOptions(
    int Sequences, int Total, int Steps, int PageSize, int MaxPrompt, int SharedPrefix, int MaxGenerate, int HeadsQ, int HeadsKv, PagedKvLayout Layout, int Seed);

/// <summary>The step loop: admit sequences (prompt K/V into pages), then decode one token per sequence per step.</summary>
internal static class ServingLoop
{
    private const int HeadDim = 64;

    public static int Run(ServingOptions o)
    {
        if (o.Sequences < 1 || o.Total < o.Sequences || o.Steps < 1 || o.PageSize is < 1 or > 256 || o.MaxPrompt < 8 || o.SharedPrefix < 0
            || o.MaxGenerate < 4 || o.HeadsKv < 1 || o.HeadsQ % o.HeadsKv != 0)
        {
            Console.Error.WriteLine("Invalid options: need sequences ≥ 1, total ≥ sequences, steps ≥ 1, page size 1-256, max-prompt ≥ 8, max-generate ≥ 4, heads-q a multiple of heads-kv.");
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
        Console.WriteLine($"Toy decoder: Hq={o.HeadsQ} Hkv={o.HeadsKv} D={HeadDim} bf16, width {model.Width}; {backend.Name}; seed {o.Seed}.");
        Console.WriteLine($"KV cache: {geometry} = {poolBytes / (1 << 20)} MiB; shared system prompt {prefixPages * o.PageSize} tokens in {prefixPages} pages; "
                          + $"{o.Sequences} sequences at once, {o.Total} in all, prompts {o.MaxPrompt / 8}-{o.MaxPrompt} tokens, {o.MaxGenerate / 4}-{o.MaxGenerate} generated each.");

        // The shared prefix: its K/V written once into its own pages, retained by every sequence.
        var kvRow = new BFloat16[o.HeadsKv * HeadDim];
        var vRow = new BFloat16[o.HeadsKv * HeadDim];
        var qRow = new BFloat16[o.HeadsQ * HeadDim];
        var prefix = new List<int>();
        for (int t = 0; t < prefixPages * o.PageSize; t++)
        {
            if (t % o.PageSize == 0)
            {
                prefix.Add(allocator.Allocate());
            }

            model.Project(model.Embed(random), qRow, kvRow, vRow);
            backend.Append(prefix.ToArray(), t, kvRow, vRow);
        }

        double copyBandwidth = CopyBandwidth.Measure();
        Console.WriteLine($"Copy bandwidth of this machine (one thread, 256 MiB, bytes read): {copyBandwidth / 1e9:F1} GB/s");
        Console.WriteLine();
        Console.WriteLine(" step  seqs  KV tokens  pages used   step ms  attention µs   KV GB/s  (of copy)");

        var active = new List<Sequence>();
        int admitted = 0, finished = 0;
        var attentionTimes = new List<double>();
        var bandwidths = new List<double>();
        for (int step = 1; step <= o.Steps && (active.Count > 0 || admitted < o.Total); step++)
        {
            var stepClock = Stopwatch.StartNew();
            while (active.Count < o.Sequences && admitted < o.Total)
            {
                active.Add(Admit(admitted++, o, random, model, backend, allocator, prefix));
            }

            // One token per sequence: project it, append its K/V (a new page when needed), then attend over the cache.
            int batchSize = active.Count;
            var q = new BFloat16[batchSize * o.HeadsQ * HeadDim];
            for (int s = 0; s < batchSize; s++)
            {
                var sequence = active[s];
                sequence.Reserve(allocator, o.PageSize);
                model.Project(sequence.Hidden, q.AsSpan(s * o.HeadsQ * HeadDim, o.HeadsQ * HeadDim), kvRow, vRow);
                backend.Append(sequence.Pages.ToArray(), sequence.Length, kvRow, vRow);
                sequence.Length++;
            }

            var batch = Batch(active, o.PageSize);
            var output = new BFloat16[q.Length];
            var attentionClock = Stopwatch.StartNew();
            backend.Decode(q, batch, output);
            double attentionSeconds = attentionClock.Elapsed.TotalSeconds;

            if (step == 1)
            {
                // Once: the kernel against the float64 reference on this step's cache (gathered through the same page tables).
                var reference = ServingReference.Decode<BFloat16>(q, attention.Cache, batch, o.HeadsQ, 1 / Math.Sqrt(HeadDim), ServingAttention.Serving.BandFor);
                Console.WriteLine($"   (step 1 against the float64 reference: relative error {ErrorMetrics.RelativeError<BFloat16>(output, reference.Output):E2})");
            }

            for (int s = 0; s < batchSize; s++)
            {
                var sequence = active[s];
                sequence.Hidden = model.Residual(sequence.Hidden, output.AsSpan(s * o.HeadsQ * HeadDim, o.HeadsQ * HeadDim));
                sequence.Remaining--;
            }

            double stepMs = stepClock.Elapsed.TotalMilliseconds;
            long kvBytes = batch.TotalKvTokens * o.HeadsKv * 2L * HeadDim * 2;
            double bandwidth = kvBytes / attentionSeconds;
            attentionTimes.Add(attentionSeconds);
            bandwidths.Add(bandwidth);
            Console.WriteLine($"{step,5} {batchSize,5} {batch.TotalKvTokens,10} {geometry.Pages - allocator.FreePages,6}/{geometry.Pages,-5} {stepMs,8:F2} {attentionSeconds * 1e6,13:F0} {bandwidth / 1e9,9:F2}  {bandwidth / copyBandwidth,8:P0}");

            foreach (var done in active.Where(sequence => sequence.Remaining == 0).ToList())
            {
                done.Release(allocator);
                active.Remove(done);
                finished++;
            }
        }

        var sorted = bandwidths.Order().ToArray();
        Console.WriteLine();
        Console.WriteLine($"{finished} sequences finished, {active.Count} still active. Attention: median {Median(attentionTimes) * 1e6:F0} µs per step; "
                          + $"KV bandwidth median {sorted[sorted.Length / 2] / 1e9:F2} GB/s = {sorted[sorted.Length / 2] / copyBandwidth:P0} of the copy bandwidth (best {sorted[^1] / 1e9:F2} GB/s).");
        return 0;
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
        var q = new BFloat16[o.HeadsQ * HeadDim];
        var k = new BFloat16[o.HeadsKv * HeadDim];
        var v = new BFloat16[o.HeadsKv * HeadDim];
        for (int t = 0; t < prompt - 1; t++)
        {
            sequence.Reserve(allocator, o.PageSize);
            model.Project(model.Embed(random), q, k, v);
            backend.Append(sequence.Pages.ToArray(), sequence.Length++, k, v);
        }

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
