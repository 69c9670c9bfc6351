using System;

namespace KernelDsl;

/// <summary>
/// A variable-length batch without padding (FlashAttention's varlen convention): Q is packed as [totalQ, Hq, D] and K/V
/// as [totalKv, Hkv, D]; sequence s owns query rows [QueryOffsets[s], QueryOffsets[s + 1]) and key rows
/// [KeyOffsets[s], KeyOffsets[s + 1]). Each sequence is attended to on its own with its own causal alignment (bottom-right:
/// query i of a sequence with q queries and L keys has its diagonal at key L − q + i), exactly as a dense call with
/// B = 1, Sq = q, Skv = L, whose modifiers see b = s. A sequence with no keys gives O = 0 and LSE = −∞.
/// Immutable: the constructor copies and validates the offsets.
/// </summary>
public sealed class VarlenBatch
{
    private readonly int[] _queryOffsets;
    private readonly int[] _keyOffsets;

    /// <param name="queryOffsets"><c>cu_seqlens_q</c>: B + 1 entries from 0, non-decreasing.</param>
    /// <param name="keyOffsets"><c>cu_seqlens_k</c>: B + 1 entries from 0, non-decreasing.</param>
    public VarlenBatch(ReadOnlySpan<int> queryOffsets, ReadOnlySpan<int> keyOffsets)
    {
        if (queryOffsets.Length < 1)
        {
            throw new ArgumentException("'queryOffsets' needs at least one entry (0, for an empty batch).", nameof(queryOffsets));
        }

        int sequences = queryOffsets.Length - 1;
        SequenceOffsets.Validate(queryOffsets, sequences, nameof(queryOffsets));
        SequenceOffsets.Validate(keyOffsets, sequences, nameof(keyOffsets));
        _queryOffsets = queryOffsets.ToArray();
        _keyOffsets = keyOffsets.ToArray();
        MaxQueryLength = SequenceOffsets.MaxLength(queryOffsets);
        MaxKeyLength = SequenceOffsets.MaxLength(keyOffsets);
    }

    /// <summary>B, the number of sequences.</summary>
    public int Sequences => _queryOffsets.Length - 1;

    /// <summary><c>cu_seqlens_q</c> (read-only view).</summary>
    public ReadOnlyMemory<int> QueryOffsets => _queryOffsets;

    /// <summary><c>cu_seqlens_k</c> (read-only view).</summary>
    public ReadOnlyMemory<int> KeyOffsets => _keyOffsets;

    /// <summary>Query rows of all sequences (the packed Q's first dimension).</summary>
    public int TotalQueries => _queryOffsets[^1];

    /// <summary>Key rows of all sequences (the packed K's and V's first dimension).</summary>
    public int TotalKeys => _keyOffsets[^1];

    /// <summary>The longest query run (FlashAttention's <c>max_seqlen_q</c>).</summary>
    public int MaxQueryLength { get; }

    /// <summary>The longest key run (FlashAttention's <c>max_seqlen_k</c>).</summary>
    public int MaxKeyLength { get; }

    /// <summary>Queries of sequence <paramref name="sequence"/>.</summary>
    public int QueryLength(int sequence) => _queryOffsets[sequence + 1] - _queryOffsets[sequence];

    /// <summary>Keys of sequence <paramref name="sequence"/>.</summary>
    public int KeyLength(int sequence) => _keyOffsets[sequence + 1] - _keyOffsets[sequence];

    /// <summary>The offsets on the device (for the GPU kernels).</summary>
    public DeviceVarlenBatch ToDevice(Cuda.CudaContext? context = null) => new(this, context);
}
