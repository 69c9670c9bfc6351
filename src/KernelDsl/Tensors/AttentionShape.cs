using System;

namespace KernelDsl;

/// <summary>
/// The sizes of one attention call. Hq must be a multiple of Hkv (grouped-query attention: query head h
/// reads key/value head h / (Hq / Hkv); Hkv = 1 is multi-query attention). Batch, SeqQ and SeqKv may be 0 (an empty
/// batch, no queries, an empty cache): such a call is complete without a kernel (<see cref="EmptyAttention"/>).
/// </summary>
public readonly record struct AttentionShape(int Batch, int SeqQ, int SeqKv, int HeadsQ, int HeadsKv, int HeadDim, int ValueHeadDim)
{
    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => HeadsQ / HeadsKv;

    /// <summary>True when a kernel has nothing to compute: no batch, no query row or no key (B, Sq or Skv = 0).</summary>
    public bool IsEmpty => Batch == 0 || SeqQ == 0 || SeqKv == 0;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the offending size when the shape is unusable: a negative batch or
    /// sequence length, a head count below 1, or Hq not a multiple of Hkv. Empty batches and sequences are valid.
    /// </summary>
    public void Validate()
    {
        Require(Batch >= 0, "batch", "non-negative", Batch);
        Require(SeqQ >= 0, "query sequence length", "non-negative", SeqQ);
        Require(SeqKv >= 0, "key/value sequence length", "non-negative", SeqKv);
        Require(HeadsQ > 0, "query head count", "positive", HeadsQ);
        Require(HeadsKv > 0, "key/value head count", "positive", HeadsKv);
        if (HeadsQ % HeadsKv != 0)
        {
            throw new ArgumentException(
                $"The query head count ({HeadsQ}) must be a multiple of the key/value head count ({HeadsKv}) for grouped-query attention.", "shape");
        }
    }

    /// <summary>
    /// <see cref="Validate"/>, and also rejects empty shapes: for what exists only per block of a non-empty call (block
    /// masks, workload estimates), where an empty call has no blocks to describe.
    /// </summary>
    public void ValidateNonEmpty()
    {
        Validate();
        Require(Batch > 0, "batch", "positive here (a block mask or estimate describes the blocks of a non-empty call)", Batch);
        Require(SeqQ > 0, "query sequence length", "positive here (a block mask or estimate describes the blocks of a non-empty call)", SeqQ);
        Require(SeqKv > 0, "key/value sequence length", "positive here (a block mask or estimate describes the blocks of a non-empty call)", SeqKv);
    }

    private static void Require(bool ok, string what, string must, int value)
    {
        if (!ok)
        {
            // Named "shape": the parameter of every Forward overload that takes one (the tensor overloads check their
            // tensors' lengths first and name the tensor).
            throw new ArgumentException($"The {what} must be {must}, but is {value}.", "shape");
        }
    }

    public override string ToString() =>
        $"B={Batch} Sq={SeqQ} Skv={SeqKv} Hq={HeadsQ} Hkv={HeadsKv} D={HeadDim}" + (ValueHeadDim != HeadDim ? $" Dv={ValueHeadDim}" : string.Empty);
}
