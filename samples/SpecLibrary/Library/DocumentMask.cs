using System;
using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// Document masking over packed sequences: several documents are concatenated into one sequence of length S, and
/// each token attends only to earlier tokens of its own document. <c>documents[i]</c> is token i's document id (a
/// captured buffer, see <see cref="DocumentIds"/>). With a block mask from <c>CreateBlockMask</c>, the kernels skip
/// every block pair between different documents, so the cost follows Σ len² instead of S².
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Fusion(WriteLse = true)]
public static partial class DocumentMaskAttention
{
    [MaskMod]
    private static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan<int> documents) => documents[q] == documents[kv];

    /// <summary>Token → document id for documents of the given lengths, packed back to back.</summary>
    public static int[] DocumentIds(ReadOnlySpan<int> lengths)
    {
        int total = 0;
        foreach (int length in lengths)
        {
            total += length;
        }

        var ids = new int[total];
        int at = 0;
        for (int document = 0; document < lengths.Length; document++)
        {
            ids.AsSpan(at, lengths[document]).Fill(document);
            at += lengths[document];
        }

        return ids;
    }
}
