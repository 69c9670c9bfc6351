using System;

namespace KernelDsl;

/// <summary>
/// Which (query block, KV block) tile pairs a kernel visits, for one call shape and one kernel's tile sizes, computed
/// from the spec's band and mask modifier (the generated <c>CreateBlockMask</c>). A pair is EMPTY when it keeps no
/// (q, kv) pair (skipped), FULL when it keeps every pair and lies wholly inside the keys (no element mask), PARTIAL
/// otherwise (element mask). Layout, shared with the GPU kernel:
/// <list type="bullet">
/// <item><see cref="Counts"/>: int32 [Batches, Heads, QueryBlocks, 2] = (partial, full) per query block;</item>
/// <item><see cref="Indices"/>: int32 [Batches, Heads, QueryBlocks, KvBlocks]: the partial KV-block indices ascending, then
/// the full ones ascending, −1 after them.</item>
/// </list>
/// Batches is 1 when the mask modifier does not read b (the mask is shared by every batch), else B; Heads likewise
/// (<see cref="PerBatch"/>, <see cref="PerHead"/> say which). Build it once per shape and buffer contents and reuse it
/// across calls: it is the caller's cache. It is immutable: the constructor copies the arrays it is given, and
/// <see cref="Counts"/> and <see cref="Indices"/> are read-only views, so a mask checked once stays valid.
/// </summary>
public sealed class BlockMask
{
    private readonly int[] _counts;
    private readonly int[] _indices;

    /// <summary>
    /// A mask from arrays in the layout above (copied; validated). <paramref name="perBatch"/> / <paramref name="perHead"/>:
    /// whether the mask depends on the batch index / the head, so that it fits only calls with exactly
    /// <paramref name="batches"/> batches / <paramref name="heads"/> query heads; by default, when there is more than one.
    /// </summary>
    public BlockMask(int seqQ, int seqKv, int blockQ, int blockKV, int batches, int heads, int[] counts, int[] indices, bool? perBatch = null, bool? perHead = null)
        : this(seqQ, seqKv, blockQ, blockKV, batches, heads,
            (counts ?? throw new ArgumentNullException(nameof(counts))).AsSpan().ToArray(),
            (indices ?? throw new ArgumentNullException(nameof(indices))).AsSpan().ToArray(),
            perBatch ?? batches > 1, perHead ?? heads > 1)
    {
    }

    private BlockMask(int seqQ, int seqKv, int blockQ, int blockKV, int batches, int heads, int[] counts, int[] indices, bool perBatch, bool perHead)
    {
        if (seqQ <= 0 || seqKv <= 0 || blockQ <= 0 || blockKV <= 0 || batches <= 0 || heads <= 0)
        {
            throw new ArgumentException(
                $"Block mask dimensions must be positive (Sq {seqQ}, Skv {seqKv}, tiles {blockQ}x{blockKV}, {batches} batch(es), {heads} head(s)).",
                FirstNonPositive(seqQ, seqKv, blockQ, blockKV, batches, heads));
        }

        if ((!perBatch && batches != 1) || (!perHead && heads != 1))
        {
            throw new ArgumentException(
                $"A block mask shared by every batch (head) has one batch (head) of rows, not {batches} x {heads}.", !perBatch && batches != 1 ? nameof(perBatch) : nameof(perHead));
        }

        SeqQ = seqQ;
        SeqKv = seqKv;
        BlockQ = blockQ;
        BlockKV = blockKV;
        Batches = batches;
        Heads = heads;
        PerBatch = perBatch;
        PerHead = perHead;
        QueryBlocks = (int)(((long)seqQ + blockQ - 1) / blockQ);
        KvBlocks = (int)(((long)seqKv + blockKV - 1) / blockKV);
        long rows = (long)batches * heads * QueryBlocks;
        if (rows > int.MaxValue || counts.LongLength != rows * 2 || indices.LongLength != rows * KvBlocks)
        {
            throw new ArgumentException(
                $"Block mask arrays do not match [{batches}, {heads}, {QueryBlocks}] query-block rows of {KvBlocks} KV blocks: counts {counts.Length}, indices {indices.Length}.",
                counts.LongLength != rows * 2 ? nameof(counts) : nameof(indices));
        }

        for (long row = 0; row < rows; row++)
        {
            int partial = counts[2 * row], full = counts[(2 * row) + 1];
            if (partial < 0 || full < 0 || (long)partial + full > KvBlocks)
            {
                throw new ArgumentException($"Block mask row {row} lists {partial} partial and {full} full blocks out of {KvBlocks}.", nameof(counts));
            }

            for (int j = 0; j < partial + full; j++)
            {
                int block = indices[(row * KvBlocks) + j];
                if (block < 0 || block >= KvBlocks)
                {
                    throw new ArgumentException($"Block mask row {row} lists KV block {block}, outside [0, {KvBlocks}).", nameof(indices));
                }
            }
        }

        _counts = counts;
        _indices = indices;
    }

    /// <summary>A mask that takes ownership of the arrays (the builder's, which nobody else holds): no copy.</summary>
    internal static BlockMask Owning(int seqQ, int seqKv, int blockQ, int blockKV, int batches, int heads, int[] counts, int[] indices, bool perBatch, bool perHead) =>
        new(seqQ, seqKv, blockQ, blockKV, batches, heads, counts, indices, perBatch, perHead);

    /// <summary>
    /// When true, every CPU Forward given a block mask rebuilds it from the call's shape and captured buffers and throws if
    /// it differs (a mask built for other buffer contents, another spec, or altered): for tests and debugging. The cost is
    /// one CreateBlockMask per call (Sq·Skv mask evaluations per distinct batch/head; README "Block masks" gives numbers).
    /// Off by default; on when the environment variable KDSL_VALIDATE_BLOCK_MASKS is 1 at start-up.
    /// </summary>
    public static bool ValidateOnUse { get; set; } = Environment.GetEnvironmentVariable("KDSL_VALIDATE_BLOCK_MASKS") == "1";

    public int SeqQ { get; }

    public int SeqKv { get; }

    public int BlockQ { get; }

    public int BlockKV { get; }

    /// <summary>1 when the mask does not depend on the batch index, else the batch size it was built for.</summary>
    public int Batches { get; }

    /// <summary>1 when the mask does not depend on the head, else the number of query heads it was built for.</summary>
    public int Heads { get; }

    /// <summary>True when the mask depends on the batch index: it fits only calls with exactly <see cref="Batches"/> batches (one included).</summary>
    public bool PerBatch { get; }

    /// <summary>True when the mask depends on the head: it fits only calls with exactly <see cref="Heads"/> query heads (one included).</summary>
    public bool PerHead { get; }

    public int QueryBlocks { get; }

    public int KvBlocks { get; }

    /// <summary>(partial, full) per query-block row, see the class remarks. Read-only.</summary>
    public ReadOnlyMemory<int> Counts => _counts;

    /// <summary>Listed KV blocks per query-block row, see the class remarks. Read-only.</summary>
    public ReadOnlyMemory<int> Indices => _indices;

    /// <summary>Block pairs the kernels visit with an element mask, over all rows of the mask.</summary>
    public long PartialBlocks => Sum(0);

    /// <summary>Block pairs visited without an element mask.</summary>
    public long FullBlocks => Sum(1);

    /// <summary>All block pairs of the mask's rows (visited or not).</summary>
    public long TotalBlocks => (long)Batches * Heads * QueryBlocks * KvBlocks;

    /// <summary>Visited pairs / all pairs: the fraction of the dense tile work the kernel does.</summary>
    public double Density => TotalBlocks == 0 ? 0 : (double)(PartialBlocks + FullBlocks) / TotalBlocks;

    /// <summary>The name of the first non-positive dimension (the constructors' and <c>Compact</c>'s parameter names).</summary>
    internal static string FirstNonPositive(int seqQ, int seqKv, int blockQ, int blockKV, int batches, int heads) =>
        seqQ <= 0 ? nameof(seqQ) : seqKv <= 0 ? nameof(seqKv) : blockQ <= 0 ? nameof(blockQ) : blockKV <= 0 ? nameof(blockKV) : batches <= 0 ? nameof(batches) : nameof(heads);

    /// <summary>
    /// Throws an ArgumentException (naming <paramref name="parameterName"/>) when this mask was built for another
    /// shape or another kernel's tiles than the call's: sequence lengths, tiles, and, for a mask that depends on them,
    /// the batch and head counts (one batch included: a per-batch mask built for B = 1 does not fit B = 2).
    /// </summary>

    public void RequireMatches(AttentionShape shape, int blockQ, int blockKV, string parameterName)
    {
        if (shape.SeqQ != SeqQ || shape.SeqKv != SeqKv)
        {
            Fail($"it was built for Sq = {SeqQ}, Skv = {SeqKv}, the call has Sq = {shape.SeqQ}, Skv = {shape.SeqKv}", parameterName);
        }

        if (blockQ != BlockQ || blockKV != BlockKV)
        {
            Fail($"it was built for {BlockQ}x{BlockKV} tiles, this kernel uses {blockQ}x{blockKV} (build it with this kernel's CreateBlockMask)", parameterName);
        }

        if (PerBatch ? Batches != shape.Batch : Batches != 1)
        {
            Fail($"its mask reads the batch index and it was built for {Batches} batch(es), the call has {shape.Batch}", parameterName);
        }

        if (PerHead ? Heads != shape.HeadsQ : Heads != 1)
        {
            Fail($"its mask reads the head and it was built for {Heads} query head(s), the call has {shape.HeadsQ}", parameterName);
        }
    }

    /// <summary>
    /// Throws an ArgumentException (naming <paramref name="parameterName"/>) unless <paramref name="rebuilt"/> (the mask the
    /// call's shape and buffers give now) lists exactly the same blocks: the check of <see cref="ValidateOnUse"/>.
    /// </summary>
    public void RequireSameAs(BlockMask rebuilt, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(rebuilt);
        if (rebuilt.Batches != Batches || rebuilt.Heads != Heads || rebuilt.QueryBlocks != QueryBlocks || rebuilt.KvBlocks != KvBlocks)
        {
            Fail($"rebuilt for this call it has [{rebuilt.Batches}, {rebuilt.Heads}, {rebuilt.QueryBlocks}] rows of {rebuilt.KvBlocks} blocks, the given one [{Batches}, {Heads}, {QueryBlocks}] of {KvBlocks}", parameterName);
        }

        for (int row = 0; row < _counts.Length / 2; row++)
        {
            int listed = _counts[2 * row] + _counts[(2 * row) + 1];
            if (_counts[2 * row] != rebuilt._counts[2 * row] || _counts[(2 * row) + 1] != rebuilt._counts[(2 * row) + 1]
                || !_indices.AsSpan(row * KvBlocks, listed).SequenceEqual(rebuilt._indices.AsSpan(row * KvBlocks, listed)))
            {
                int queryBlock = row % QueryBlocks, head = row / QueryBlocks % Heads, batch = row / QueryBlocks / Heads;
                Fail($"rebuilt from this call's shape and buffers, query block {queryBlock} (batch row {batch}, head row {head}) lists other KV blocks "
                     + $"({rebuilt._counts[2 * row]} partial, {rebuilt._counts[(2 * row) + 1]} full instead of {_counts[2 * row]}, {_counts[(2 * row) + 1]}): "
                     + "it was built for other buffer contents or another spec", parameterName);
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string problem, string parameterName) =>
        throw new ArgumentException($"The block mask does not fit this call: {problem}.", parameterName);

    /// <summary>Copies the mask to the GPU for the device <c>Forward</c> (dispose the result with the tensors).</summary>
    public DeviceBlockMask ToDevice(Cuda.CudaContext? context = null) => new(this, context);

    private long Sum(int which)
    {
        long total = 0;
        for (int i = which; i < _counts.Length; i += 2)
        {
            total += _counts[i];
        }

        return total;
    }
}

/// <summary>A <see cref="BlockMask"/> in device memory, in the layout the GPU kernel reads.</summary>
public sealed class DeviceBlockMask : IDisposable
{
    internal DeviceBlockMask(BlockMask mask, Cuda.CudaContext? context)
    {
        Mask = mask;
        Counts = DeviceBuffer<int>.From(mask.Counts.Span, context);
        Indices = DeviceBuffer<int>.From(mask.Indices.Span, context);
    }

    /// <summary>The host mask it was copied from (shape, tiles and statistics).</summary>
    public BlockMask Mask { get; }

    public DeviceBuffer<int> Counts { get; }

    public DeviceBuffer<int> Indices { get; }

    private DeviceBuffer<sbyte>? _classes;

    /// <summary>
    /// The mask as one class per cell for the GPU backward, built and uploaded on first use (same context as
    /// <see cref="Counts"/>): int8 [Batches, Heads, QueryBlocks, KvBlocks], 0 empty, 1 partial, 2 full. The backward's
    /// K/V-block-parallel kernel looks a cell up by its column, which the forward's row lists cannot give.
    /// </summary>
    internal DeviceBuffer<sbyte> Classes
    {
        get
        {
            if (_classes is null)
            {
                var classes = new sbyte[(long)Mask.Batches * Mask.Heads * Mask.QueryBlocks * Mask.KvBlocks];
                var counts = Mask.Counts.Span;
                var indices = Mask.Indices.Span;
                for (int row = 0; row < counts.Length / 2; row++)
                {
                    int partial = counts[2 * row], full = counts[(2 * row) + 1];
                    for (int j = 0; j < partial + full; j++)
                    {
                        classes[((long)row * Mask.KvBlocks) + indices[(row * Mask.KvBlocks) + j]] = (sbyte)(j < partial ? 1 : 2);
                    }
                }

                _classes = DeviceBuffer<sbyte>.From(classes, Counts.Context);
            }

            return _classes;
        }
    }

    public void Dispose()
    {
        Counts.Dispose();
        Indices.Dispose();
        _classes?.Dispose();
    }
}
