using System;

namespace KernelDsl;

/// <summary>
/// The sizes of one attention call. Hq must be a multiple of Hkv (grouped-query attention: query head h
/// reads key/value head h / (Hq / Hkv); Hkv = 1 is multi-query attention).
/// </summary>
public readonly record struct AttentionShape(int Batch, int SeqQ, int SeqKv, int HeadsQ, int HeadsKv, int HeadDim, int ValueHeadDim)
{
    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => HeadsQ / HeadsKv;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending size when the shape is unusable.</summary>
    public void Validate()
    {
        Require(Batch > 0, "batch", Batch);
        Require(SeqQ > 0, "query sequence length", SeqQ);
        Require(SeqKv > 0, "key/value sequence length", SeqKv);
        Require(HeadsQ > 0, "query head count", HeadsQ);
        Require(HeadsKv > 0, "key/value head count", HeadsKv);
        if (HeadsQ % HeadsKv != 0)
        {
            throw new ArgumentException(
                $"The query head count ({HeadsQ}) must be a multiple of the key/value head count ({HeadsKv}) for grouped-query attention.", "shape");
        }
    }

    private static void Require(bool ok, string what, int value)
    {
        if (!ok)
        {
            // Named "shape": the parameter of every Forward overload that takes one (and what the tensor overloads infer).
            throw new ArgumentException($"The {what} must be positive, but is {value}.", "shape");
        }
    }

    public override string ToString() =>
        $"B={Batch} Sq={SeqQ} Skv={SeqKv} Hq={HeadsQ} Hkv={HeadsKv} D={HeadDim}" + (ValueHeadDim != HeadDim ? $" Dv={ValueHeadDim}" : string.Empty);
}
