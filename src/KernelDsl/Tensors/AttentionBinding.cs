using System;

namespace KernelDsl;

/// <summary>
/// Checks the tensors of a Forward call against the spec and each other, and turns them into the kernel's
/// views. Every failure is an <see cref="ArgumentException"/> that names the argument and says what shape
/// was expected, so a user never reaches a kernel with inconsistent inputs.
/// </summary>
public static unsafe class AttentionBinding
{
    /// <summary>
    /// Infers the call's <see cref="AttentionShape"/> from q and k and checks v, output and lse against it:
    /// ranks, head dims, batch and sequence agreement, GQA head counts, unit stride in the last dimension,
    /// non-negative strides, an output that does not overlap itself, and no overlap between any output and
    /// any input.
    /// </summary>
    public static AttentionShape Bind(
        TensorLayout layout,
        int headDim,
        int valueHeadDim,
        TensorArgument q,
        TensorArgument k,
        TensorArgument v,
        TensorArgument output,
        TensorArgument lse)
    {
        CheckRankAndStrides(q, 4);
        CheckRankAndStrides(k, 4);
        CheckRankAndStrides(v, 4);
        CheckRankAndStrides(output, 4);

        var (batch, seqQ, headsQ, dimQ) = Dims(q, layout);
        var (batchK, seqKv, headsKv, dimK) = Dims(k, layout);
        string names = layout == TensorLayout.BSHD ? "[batch, seq, heads, dim]" : "[batch, heads, seq, dim]";

        if (dimQ != headDim)
        {
            Fail(q, $"its last dimension must be the spec's HeadDim = {headDim}; expected {names} = {Expected(layout, batch, seqQ, headsQ, headDim)}");
        }

        if (batchK != batch)
        {
            Fail(k, $"its batch ({batchK}) must equal q's ({batch})");
        }

        if (dimK != headDim)
        {
            Fail(k, $"its last dimension must be the spec's HeadDim = {headDim}; expected {Expected(layout, batch, seqKv, headsKv, headDim)}");
        }

        if (headsQ <= 0)
        {
            Fail(q, $"its head count must be positive, but it has shape {q.ShapeText}");
        }

        if (!(headsKv > 0 && headsQ % headsKv == 0))
        {
            Fail(k, $"q has {headsQ} heads, which must be a multiple of k's {headsKv} heads (grouped-query attention)");
        }

        var shape = new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, headDim, valueHeadDim);
        shape.Validate();

        RequireShape(v, layout, batch, seqKv, headsKv, valueHeadDim, "the spec's ValueHeadDim");
        RequireShape(output, layout, batch, seqQ, headsQ, valueHeadDim, "the spec's ValueHeadDim");
        CheckNotSelfOverlapping(output);

        if (lse.IsPresent)
        {
            CheckRankAndStrides(lse, 3);
            if (!(lse.Lengths[0] == batch && lse.Lengths[1] == headsQ && lse.Lengths[2] == seqQ))
            {
                Fail(lse, $"it must have shape [batch, query heads, query seq] = [{batch}, {headsQ}, {seqQ}], but has {lse.ShapeText}");
            }

            if (!IsEmpty(lse) && !IsContiguous(lse))
            {
                Fail(lse, "it must be contiguous (strides [Hq·Sq, Sq, 1])");
            }

            CheckDisjoint(lse, output);
            CheckDisjoint(lse, q);
            CheckDisjoint(lse, k);
            CheckDisjoint(lse, v);
        }

        CheckDisjoint(output, q);
        CheckDisjoint(output, k);
        CheckDisjoint(output, v);
        return shape;
    }

    /// <summary>The kernel's view of a checked 4-D tensor: (batch, seq, head) strides by layout.</summary>
    public static StridedTensor<T> View<T>(T* data, ReadOnlySpan<nint> strides, TensorLayout layout)
        where T : unmanaged =>
        layout == TensorLayout.BSHD
            ? new StridedTensor<T>(data, strides[0], strides[1], strides[2])
            : new StridedTensor<T>(data, strides[0], strides[2], strides[1]);

    /// <summary>
    /// Lengths of a contiguous tensor of the given sizes in a layout, written to <paramref name="destination"/> (4
    /// elements, e.g. <c>stackalloc nint[4]</c>: the span overloads use this one, which allocates nothing) and returned.
    /// </summary>
    public static Span<nint> ContiguousLengths(TensorLayout layout, int batch, int seq, int heads, int dim, Span<nint> destination)
    {
        destination[0] = batch;
        destination[1] = layout == TensorLayout.BSHD ? seq : heads;
        destination[2] = layout == TensorLayout.BSHD ? heads : seq;
        destination[3] = dim;
        return destination.Slice(0, 4);
    }

    /// <summary>Lengths of a contiguous tensor of the given sizes in a layout (for the span overloads).</summary>
    public static nint[] ContiguousLengths(TensorLayout layout, int batch, int seq, int heads, int dim) =>
        layout == TensorLayout.BSHD ? new nint[] { batch, seq, heads, dim } : new nint[] { batch, heads, seq, dim };

    /// <summary>Checks a flat span's length against the shape before it is viewed as a contiguous tensor.</summary>
    public static void RequireSpanLength(int actual, TensorLayout layout, int batch, int seq, int heads, int dim, string name)
    {
        long expected = (long)batch * seq * heads * dim;
        if (actual != expected)
        {
            throw new ArgumentException(
                $"'{name}' has {actual} elements, but a contiguous {layout} tensor of shape {Expected(layout, batch, seq, heads, dim)} needs {expected}.", name);
        }
    }

    private static (int Batch, int Seq, int Heads, int Dim) Dims(TensorArgument t, TensorLayout layout) =>
        layout == TensorLayout.BSHD
            ? ((int)t.Lengths[0], (int)t.Lengths[1], (int)t.Lengths[2], (int)t.Lengths[3])
            : ((int)t.Lengths[0], (int)t.Lengths[2], (int)t.Lengths[1], (int)t.Lengths[3]);

    private static string Expected(TensorLayout layout, int batch, int seq, int heads, int dim) =>
        "[" + string.Join(", ", ContiguousLengths(layout, batch, seq, heads, dim)) + "]";

    internal static void RequireShape(TensorArgument t, TensorLayout layout, int batch, int seq, int heads, int dim, string dimName)
    {
        var (b, s, h, d) = Dims(t, layout);
        if (!(b == batch && s == seq && h == heads && d == dim))
        {
            Fail(t, $"expected shape {Expected(layout, batch, seq, heads, dim)} ({layout}, last dimension = {dimName}), but it has {t.ShapeText}");
        }
    }

    internal static void CheckRankAndStrides(TensorArgument t, int rank)
    {
        if (t.Lengths.Length != rank)
        {
            Fail(t, $"it must have rank {rank}, but has rank {t.Lengths.Length} with shape {t.ShapeText}");
        }

        for (int i = 0; i < rank; i++)
        {
            if (t.Lengths[i] < 0)
            {
                Fail(t, $"dimension {i} has a negative length ({t.ShapeText})");
            }

            if (t.Lengths[i] > int.MaxValue)
            {
                Fail(t, $"dimension {i} is longer than int.MaxValue");
            }
        }

        // An empty tensor (a zero length: an empty batch or sequence) addresses nothing, so its strides do not matter.
        if (IsEmpty(t))
        {
            return;
        }

        for (int i = 0; i < rank; i++)
        {
            if (t.Strides[i] < 0)
            {
                Fail(t, $"negative strides are not supported (stride {t.Strides[i]} in dimension {i})");
            }
        }

        if (!(t.Strides[rank - 1] == 1 || t.Lengths[rank - 1] == 1))
        {
            Fail(t, $"its last dimension must be contiguous (stride 1), but its stride is {t.Strides[rank - 1]}");
        }
    }

    /// <summary>True when a dimension has length 0: the tensor holds no element.</summary>
    internal static bool IsEmpty(TensorArgument t)
    {
        foreach (nint length in t.Lengths)
        {
            if (length == 0)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsContiguous(TensorArgument t)
    {
        nint expected = 1;
        for (int i = t.Lengths.Length - 1; i >= 0; i--)
        {
            if (t.Lengths[i] != 1 && t.Strides[i] != expected)
            {
                return false;
            }

            expected *= t.Lengths[i];
        }

        return true;
    }

    /// <summary>Every element of an output must have its own address, or parallel writes race.</summary>
    internal static void CheckNotSelfOverlapping(TensorArgument t)
    {
        // Sort dimensions by stride (insertion sort on the stack: ranks are 3 or 4, and the call must not allocate);
        // each stride must reach past everything the smaller-stride dims span.
        if (IsEmpty(t))
        {
            return;
        }

        int rank = t.Lengths.Length;
        Span<int> order = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            int dim = i;
            int j = i;
            while (j > 0 && t.Strides[order[j - 1]] > t.Strides[dim])
            {
                order[j] = order[j - 1];
                j--;
            }

            order[j] = dim;
        }

        nint span = 1;
        foreach (int dim in order)
        {
            if (t.Lengths[dim] == 1)
            {
                continue;
            }

            if (t.Strides[dim] < span)
            {
                Fail(t, $"its elements overlap (stride {t.Strides[dim]} in dimension {dim} is smaller than the {span} elements the inner dimensions span); outputs must not alias themselves");
            }

            span = t.Strides[dim] * t.Lengths[dim];
        }
    }

    internal static void CheckDisjoint(TensorArgument written, TensorArgument other)
    {
        // Element-exact (TensorOverlap states the rule): an output in the gaps of a strided input is fine.
        if (other.IsPresent && TensorOverlap.Overlaps(written, other))
        {
            Fail(written, $"it overlaps '{other.Name}' in memory; outputs must not alias inputs or each other");
        }
    }

    /// <summary>Throws the binding's ArgumentException; callers test first, so a message is only built on failure (no allocation per call).</summary>
    [global::System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(TensorArgument t, string problem) =>
        throw new ArgumentException($"Tensor '{t.Name}' is invalid: {problem}.", t.Name);
}
