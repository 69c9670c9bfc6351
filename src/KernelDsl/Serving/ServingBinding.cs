using System;
using System.Runtime.InteropServices;

namespace KernelDsl;

/// <summary>
/// The argument checks of the generated serving entry points (<c>ForwardVarlen</c>, <c>Decode</c>): head counts, packed
/// tensor lengths, the pool's head dims and aliasing. Each failure is an <see cref="ArgumentException"/> naming the argument.
/// </summary>
public static class ServingBinding
{
    /// <summary>Hq and Hkv positive, Hq a multiple of Hkv.</summary>
    public static void RequireHeads(int headsQ, int headsKv)
    {
        if (headsQ <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(headsQ), headsQ, "The query head count must be positive.");
        }

        if (headsKv <= 0 || headsQ % headsKv != 0)
        {
            throw new ArgumentException($"The query head count ({headsQ}) must be a positive multiple of the key/value head count ({headsKv}).", headsKv <= 0 ? nameof(headsKv) : nameof(headsQ));
        }
    }

    /// <summary>A packed tensor [tokens, heads, dim] must have exactly tokens·heads·dim elements.</summary>
    public static void RequirePacked(int length, int tokens, int heads, int dim, string name)
    {
        long expected = (long)tokens * heads * dim;
        if (length != expected)
        {
            throw new ArgumentException($"'{name}' has {length} elements, but [tokens, heads, dim] = [{tokens}, {heads}, {dim}] needs {expected}.", name);
        }
    }

    /// <summary>The pool's head dims must be the spec's (and, for a spec with a fixed page size, its page size).</summary>
    public static void RequirePool(PagedKvGeometry geometry, int headDim, int valueHeadDim, int pageSize, string name)
    {
        geometry.Validate();
        if (geometry.HeadDim != headDim || geometry.ValueHeadDim != valueHeadDim)
        {
            throw new ArgumentException($"The cache's head dims ({geometry.HeadDim}, {geometry.ValueHeadDim}) must equal the spec's ({headDim}, {valueHeadDim}).", name);
        }

        if (pageSize != 0 && geometry.PageSize != pageSize)
        {
            throw new ArgumentException($"The spec serves pages of {pageSize} tokens ([PagedKv(PageSize = {pageSize})]), but the cache's pages hold {geometry.PageSize}.", name);
        }
    }

    /// <summary>An output must not share memory with an input (the kernels read inputs while writing outputs).</summary>
    public static void RequireDisjoint<TOut, TIn>(ReadOnlySpan<TOut> output, ReadOnlySpan<TIn> input, string outputName, string inputName)
        where TOut : unmanaged
        where TIn : unmanaged
    {
        if (MemoryMarshal.AsBytes(output).Overlaps(MemoryMarshal.AsBytes(input)))
        {
            throw new ArgumentException($"'{outputName}' overlaps '{inputName}': outputs must not share memory with inputs.", outputName);
        }
    }

    /// <summary>The shape captured buffers are sized against in a serving call: B = sequences, Hq, Hkv (no sequence lengths: KDSL0041).</summary>
    public static AttentionShape CapturedShape(int sequences, int headsQ, int headsKv, int headDim, int valueHeadDim) =>
        new(sequences, 0, 0, headsQ, headsKv, headDim, valueHeadDim);
}
