using System.Linq;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// The stages the CPU kernel writers share (forward, serving, backward): each writes one piece of generated C# the same
/// way for every kernel, parameterized by what differs between them (the V tile's leading dimension, the count of rows in
/// use, the scheduler's type arguments). A fix to a stage reaches every kernel that runs it.
/// </summary>
internal static class CpuTileStages
{
    private const string Rt = "global::KernelDsl.";
    private const string Cpu = "global::KernelDsl.Cpu.";

    /// <summary>", captured.X" for each buffer a modifier reads, in its parameter order.</summary>
    public static string BufferArguments(ModifierSpec modifier) => string.Concat(modifier.Buffers.Select(b => ", captured." + b.Name));

    /// <summary>
    /// <c>Run</c>: calls <c>Schedule&lt;TOps, TV…&gt;</c> with the widest SIMD vectors the machine executes natively (each width
    /// is a separate JIT-specialised copy of the same generic code). <paramref name="moreTypeArguments"/> follows TV (", TKv").
    /// </summary>
    public static void WidthDispatch(CodeWriter w, string summary, string signature, string moreTypeArguments, string arguments)
    {
        w.Line("/// <summary>" + summary + "</summary>");
        using (w.Block(signature))
        {
            foreach (var (condition, width) in new[] { ("if (global::System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)", "512"), ("else if (global::System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)", "256"), ("else", "128") })
            {
                using (w.Block(condition))
                {
                    w.Line("Schedule<" + Cpu + "Simd" + width + ", global::System.Runtime.Intrinsics.Vector" + width + "<float>" + moreTypeArguments + ">(" + arguments + ");");
                }
            }
        }
    }

    /// <summary>The built-in mask's band as constants, for <c>MaskBand.For</c>.</summary>
    public static void MaskConstants(CodeWriter w, MaskSpec mask)
    {
        w.Line("private const " + Rt + "MaskKind MaskKind = " + TypeNames.Mask(mask.Kind) + ";");
        w.Line("private const " + Rt + "MaskAlignment Alignment = " + TypeNames.Alignment(mask.Alignment) + ";");
        w.Line("private const int BandLeft = " + mask.BandLeft + ";");
        w.Line("private const int BandRight = " + mask.BandRight + ";");
    }

    /// <summary>
    /// The offsets of one worker's fp32 scratch buffers (<paramref name="scratch"/>), in floats; K and V get one only when
    /// they are not read in place, and <paramref name="kvLoad"/> says how they get there ("widened", …).
    /// </summary>
    public static void ScratchConstants(CodeWriter w, CpuScratchLayout scratch, string kvLoad)
    {
        w.Line("// One worker's fp32 scratch, in floats; each buffer starts on a 64-byte line. Sizes depend on the tiles only.");
        w.Line("private const int QueryTransposedAt = " + scratch.QueryTransposed + ";  // Qᵀ [HeadDim][BlockQ], pre-scaled");
        if (!scratch.KeysInPlace)
        {
            w.Line("private const int KeysAt = " + scratch.Keys + ";  // K [BlockKV][HeadDim], " + kvLoad);
        }

        if (!scratch.ValuesInPlace)
        {
            w.Line("private const int ValuesAt = " + scratch.Values + ";  // V [BlockKV][ValueHeadDimPadded], " + kvLoad);
        }

        w.Line("private const int ScoresAt = " + scratch.Scores + ";  // Sᵀ then Pᵀ [BlockKV][BlockQ]: keys as rows, queries as columns");
        w.Line("private const int OutputAt = " + scratch.Output + ";  // O accumulator [BlockQ][ValueHeadDimPadded]");
        w.Line("private const int RowMaxAt = " + scratch.RowMax + ";  // m [BlockQ], running max (base 2)");
        w.Line("private const int RowSumAt = " + scratch.RowSum + ";  // l [BlockQ], running sum of exp2");
        w.Line("private const int RescaleAt = " + scratch.Rescale + ";  // alpha [BlockQ] = exp2(m_old − m_new)");
        w.Line("private const int RowBufferAt = " + scratch.RowBuffer + ";  // one widened row");
        w.Line(string.Format(System.Globalization.CultureInfo.InvariantCulture, "private const int ScratchFloats = {0};  // {1:F1} KiB", scratch.TotalFloats, scratch.TotalFloats * 4 / 1024.0));
    }

    /// <summary>The online softmax's running state before the first K/V tile: m = −∞, l = 0, O = 0.</summary>
    public static void ResetAccumulators(CodeWriter w)
    {
        w.Line(Cpu + "OnlineSoftmax.Reset(m, l, BlockQ);");
        w.Line("new global::System.Span<float>(o, BlockQ * ValueHeadDimPadded).Clear();");
    }

    /// <summary>The first query key j (tile column j, at kStart + j) keeps, less <paramref name="queryOrigin"/>: ≥ j − Offset − BandRight.</summary>
    public static string KeepFirst(MaskSpec mask, string queryOrigin) =>
        mask.BandRight >= 0 ? "kStart + j - band.Offset - BandRight" + queryOrigin : "int.MinValue";

    /// <summary>One past the last query key j keeps, less <paramref name="queryOrigin"/>: ≤ j − Offset + BandLeft.</summary>
    public static string KeepEnd(MaskSpec mask, string queryOrigin) =>
        mask.BandLeft >= 0 ? "kStart + j - band.Offset + BandLeft + 1" + queryOrigin : "int.MaxValue";

    /// <summary>
    /// The band's element mask over a tile whose query columns are the consecutive queries [qStart, qStart + qCount):
    /// only where the tile straddles the band's edge (and, with a block mask, only in its partial blocks).
    /// </summary>
    public static void BandMaskOnConsecutiveQueries(CodeWriter w, MaskSpec mask, bool partialBlocksOnly)
    {
        using (w.Block(partialBlocksOnly
                   ? "if (partialBlock && !band.KeepsWholeTile(qStart, qStart + qCount, kStart, kStart + kvCount))"
                   : "if (!band.KeepsWholeTile(qStart, qStart + qCount, kStart, kStart + kvCount))"))
        {
            using (w.Block("for (int j = 0; j < kvCount; j++)"))
            {
                w.Line(Cpu + "TileMask.KeepColumns(sT + (j * BlockQ), " + KeepFirst(mask, " - qStart") + ", " + KeepEnd(mask, " - qStart") + ", queryVectors * TOps.Lanes);");
            }
        }
    }

    /// <summary>
    /// Per element of the scores tile (scalar: modifiers are arbitrary expressions): the mask modifier's call (its drops
    /// become −∞, and <c>keptAny</c> records whether any pair survived) and/or the score modifier's call, in base 2.
    /// <paramref name="column"/> runs over [0, <paramref name="columns"/>); <paramref name="columnSetup"/>, when given,
    /// declares what the calls read of that column.
    /// </summary>
    public static void ModifierLoop(CodeWriter w, string column, string columns, string? columnSetup, string? maskCall, string? scoreCall)
    {
        using (w.Block("for (int j = 0; j < kvCount; j++)"))
        {
            w.Line("float* row = sT + (j * BlockQ);");
            w.Line("int key = kStart + j;");
            using (w.Block("for (int " + column + " = 0; " + column + " < " + columns + "; " + column + "++)"))
            {
                if (columnSetup is not null)
                {
                    w.Line(columnSetup);
                }

                string element = "row[" + column + "]";
                if (maskCall is null)
                {
                    w.Line(element + " = " + scoreCall + ";");
                }
                else
                {
                    w.Line("bool keep = " + maskCall + ";");
                    w.Line("keptAny |= keep;");
                    w.Line(element + " = keep ? " + (scoreCall ?? element) + " : float.NegativeInfinity;");
                }
            }
        }
    }

    /// <summary>
    /// One K/V tile after its load: Sᵀ = K·Qᵀ (K's rows <paramref name="keyStride"/> apart), the modifiers and the band's
    /// element mask where the kernel has them (written by the kernel: its query columns are its own), then the online
    /// softmax and P·V (<see cref="SoftmaxAndAccumulate"/>). Steps are numbered 2b, 2c, … after the load (2a).
    /// </summary>
    public static void ScoreTile(CodeWriter w, ref char step, string scoresComment, string keyStride, System.Action? modifiers, System.Action? bandMask,
        bool keysMayBeMasked, string valueStride, string rows)
    {
        step = 'b';
        w.Line("// 2" + step++ + ". " + scoresComment);
        w.Line(Cpu + "TileGemm.Scores<TOps, TV>(keys, " + keyStride + ", kvCount, qT, BlockQ, HeadDim, queryVectors, sT, BlockQ);");
        foreach (var stage in new[] { modifiers, bandMask })
        {
            if (stage is not null)
            {
                w.Line();
                stage();
            }
        }

        w.Line();
        SoftmaxAndAccumulate(w, ref step, keysMayBeMasked, valueStride, rows);
    }

    /// <summary>
    /// The online-softmax step on the scores tile, then O = diag(alpha)·O + P·V over <paramref name="rows"/> rows of O, V's
    /// rows <paramref name="valueStride"/> apart. With <paramref name="keysMayBeMasked"/>, a V tile holding NaN or ±∞ takes
    /// the path that skips P = 0 terms (a masked key's 0·NaN would otherwise poison the row).
    /// </summary>
    public static void SoftmaxAndAccumulate(CodeWriter w, ref char step, bool keysMayBeMasked, string valueStride, string rows)
    {
        w.Line("// 2" + step++ + ". Online softmax: m' = max(m, rowmax S), alpha = exp2(m − m'), P = exp2(S − m'), l = alpha·l + rowsum P.");
        w.Line(Cpu + "OnlineSoftmax.Step<TOps, TV>(sT, BlockQ, kvCount, queryVectors, m, l, alpha);");
        w.Line();
        w.Line("// 2" + step++ + ". O = diag(alpha)·O + P·V (the rescale is folded into the accumulator load).");
        string accumulate = "<TOps, TV>(sT, BlockQ, kvCount, values, " + valueStride + ", valueVectors, o, ValueHeadDimPadded, alpha, " + rows + ");";
        if (keysMayBeMasked)
        {
            w.Line("//     A V block holding NaN or ±∞ skips the masked keys' P = 0 terms instead (0·NaN is NaN; the reference sums kept keys only).");
            using (w.Block("if (" + Cpu + "TileLoad.AnyNonFinite<TOps, TV>(values, " + valueStride + ", kvCount, valueVectors))"))
            {
                w.Line(Cpu + "TileGemm.AccumulateNonZero" + accumulate);
            }

            using (w.Block("else"))
            {
                w.Line(Cpu + "TileGemm.Accumulate" + accumulate);
            }
        }
        else
        {
            w.Line(Cpu + "TileGemm.Accumulate" + accumulate);
        }
    }
}
