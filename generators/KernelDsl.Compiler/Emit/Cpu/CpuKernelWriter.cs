using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// Writes the members of <c>__CpuKernel</c>, one builder per part, so the generated file reads top to
/// bottom as the algorithm: constants, SIMD width dispatch, the parallel schedule, then one query block —
/// load Qᵀ, stream K/V blocks (scores, mask, online softmax, P·V), normalise and store.
/// </summary>
internal sealed class CpuKernelWriter
{
    private const string Rt = "global::KernelDsl.";
    private const string Cpu = "global::KernelDsl.Cpu.";
    private const string Constraints = "where TOps : struct, " + Cpu + "ISimdOps<TV> where TV : struct";

    private readonly CodeWriter _w;
    private readonly KernelPlan _plan;
    private readonly CpuScratchLayout _scratch;
    private readonly string _in;
    private readonly string _out;
    private readonly bool _masked;
    private readonly Model.Expressions.ModifierSpec? _scoreModifier;
    private readonly Model.Expressions.ModifierSpec? _maskModifier;
    private char _step;

    public CpuKernelWriter(CodeWriter writer, KernelPlan plan)
    {
        _w = writer;
        _plan = plan;
        _scratch = plan.Cpu.Scratch;
        _in = TypeNames.Element(plan.Spec.InputType);
        _out = TypeNames.Element(plan.OutputType);
        var mask = plan.Spec.Mask;
        _masked = mask.IsMasked && (mask.BandLeft >= 0 || mask.BandRight >= 0);
        _scoreModifier = plan.Spec.ScoreModifier;
        _maskModifier = plan.Spec.MaskModifier;
    }

    private string Problem => Rt + "AttentionProblem<" + _in + ", " + _out + ">";

    private System.Collections.Generic.IReadOnlyList<Model.Expressions.CapturedBuffer> Buffers => _plan.Spec.CapturedBuffers;

    /// <summary>", Captured captured" in the kernel's signatures when the modifiers capture buffers; empty otherwise.</summary>
    private string CapturedParameter => Buffers.Count == 0 ? string.Empty : ", Captured captured";

    private string CapturedArgument => Buffers.Count == 0 ? string.Empty : ", captured";

    /// <summary>Specs with a mask modifier take an optional runtime block mask (KernelDsl.BlockMask, built for the CPU tiles).</summary>
    private bool TakesBlockMask => _maskModifier is not null;

    private string BlockMaskParameter => TakesBlockMask ? ", " + Rt + "BlockMask? blockMask" : string.Empty;

    private string BlockMaskArgument => TakesBlockMask ? ", blockMask" : string.Empty;

    /// <summary>The pointers a modifier call passes: its own buffers, in its parameter order.</summary>
    private static string BufferArguments(Model.Expressions.ModifierSpec modifier) => CpuTileStages.BufferArguments(modifier);

    /// <summary>The captured buffers' pointers (pinned by the caller for the whole call), as one value passed down to the work items.</summary>
    public void CapturedStruct()
    {
        if (Buffers.Count == 0)
        {
            return;
        }

        _w.Line();
        _w.Line("/// <summary>The captured buffers of this call, pinned by Forward for its duration.</summary>");
        using (_w.Block("internal readonly struct Captured"))
        {
            var parameters = new System.Collections.Generic.List<string>();
            foreach (var buffer in Buffers)
            {
                string type = ExprCSharpWriter.Kernel.BufferType(buffer);
                _w.Line("public readonly " + type + " " + buffer.Name + ";");
                parameters.Add(type + " " + buffer.Name);
            }

            _w.Line();
            using (_w.Block("public Captured(" + string.Join(", ", parameters) + ")"))
            {
                foreach (var buffer in Buffers)
                {
                    _w.Line("this." + buffer.Name + " = " + buffer.Name + ";");
                }
            }
        }
    }

    public void Constants()
    {
        var spec = _plan.Spec;
        var s = _scratch;
        _w.Line("private const int HeadDim = " + spec.HeadDim + ";");
        _w.Line("private const int ValueHeadDim = " + spec.ValueHeadDim + ";");
        _w.Line("/// <summary>V and O rows in scratch, padded to whole 512-bit vectors (zeros in the padding).</summary>");
        _w.Line("private const int ValueHeadDimPadded = " + s.ValueHeadDimPadded + ";");
        _w.Line("private const int BlockQ = " + _plan.Cpu.BlockQ + ";");
        _w.Line("private const int BlockKV = " + _plan.Cpu.BlockKV + ";");
        if (_scoreModifier is null)
        {
            _w.Line("/// <summary>");
            _w.Line("/// scale · log2(e), with scale = " + TypeNames.DoubleLiteral(spec.EffectiveScale).TrimEnd('d') + (spec.Scale is null ? " (1/sqrt(HeadDim))" : string.Empty) + ": Q is");
            _w.Line("/// pre-multiplied by it, so every score is in base 2 and the softmax runs on exp2.");
            _w.Line("/// </summary>");
            _w.Line("private const float ScaleLog2E = " + TypeNames.FloatLiteral(spec.EffectiveScale * Model.Constants.Log2E) + ";");
        }
        else
        {
            _w.Line("/// <summary>");
            _w.Line("/// The softmax scale" + (spec.Scale is null ? " (1/sqrt(HeadDim))" : string.Empty) + ". Q is pre-multiplied by it alone: the score modifier " + _scoreModifier.MethodName + " reads the");
            _w.Line("/// natural scaled score s = scale·(q·k), and its result is taken to base 2 (× Log2E) for the exp2 softmax.");
            _w.Line("/// </summary>");
            _w.Line("private const float QueryScale = " + TypeNames.FloatLiteral(spec.EffectiveScale) + ";");
            _w.Line("private const float Log2E = " + TypeNames.FloatLiteral(Model.Constants.Log2E) + ";");
        }
        if (_masked)
        {
            _w.Line();
            _w.Line("// The mask, as a band around the aligned diagonal d = i + Offset (Offset = " + (spec.Mask.Alignment == MaskAlignment.BottomRight ? "Skv − Sq, bottom-right" : "0, top-left") + "):");
            _w.Line("// query i keeps key j when d − BandLeft ≤ j ≤ d + BandRight; −1 means unbounded on that side.");
            CpuTileStages.MaskConstants(_w, spec.Mask);
        }

        _w.Line();
        CpuTileStages.ScratchConstants(_w, s, "widened");
    }

    public void Dispatch() =>
        CpuTileStages.WidthDispatch(_w, "Runs the kernel with the widest SIMD vectors the machine executes natively.", "public static void Run(in " + Problem + " problem" + CapturedParameter + BlockMaskParameter + ")",
            string.Empty, "problem" + CapturedArgument + BlockMaskArgument);

    public void Schedule()
    {
        string bandParameter = _masked ? ", " + Rt + "MaskBand band" : string.Empty;
        string bandArgument = _masked ? ", band" : string.Empty;
        _w.Line("/// <summary>One work item per (batch, query head, query block), spread over all cores (a struct: no closure per call).</summary>");
        using (_w.Block("private static void Schedule<TOps, TV>(" + Problem + " problem" + CapturedParameter + BlockMaskParameter + ") " + Constraints))
        {
            _w.Line("var shape = problem.Shape;");
            _w.Line("int queryBlocks = (int)(((long)shape.SeqQ + BlockQ - 1) / BlockQ);");
            if (_masked)
            {
                _w.Line("var band = " + Rt + "MaskBand.For(MaskKind, Alignment, BandLeft, BandRight, shape.SeqQ, shape.SeqKv);");
            }

            _w.Line("var work = new QueryBlocks<TOps, TV>(problem" + bandArgument + CapturedArgument + BlockMaskArgument + ", queryBlocks);");
            _w.Line(Cpu + "CpuWorkers.Run(" + Cpu + "CpuWorkers.Items(shape.Batch, shape.HeadsQ, queryBlocks), ScratchFloats, in work);");
        }

        _w.Line();
        _w.Line("/// <summary>The work items of one call: QueryBlock for each item, with the call's arguments.</summary>");
        using (_w.Block("private readonly struct QueryBlocks<TOps, TV>(" + Problem + " problem" + bandParameter + CapturedParameter + BlockMaskParameter + ", int queryBlocks) : " + Cpu + "CpuWorkers.IWork " + Constraints))
        {
            _w.Line("public void Execute(int item, float* scratch) => QueryBlock<TOps, TV>(problem" + bandArgument + CapturedArgument + BlockMaskArgument + ", queryBlocks, item, scratch);");
        }
    }

    public void QueryBlock()
    {
        string bandParam = (_masked ? Rt + "MaskBand band, " : string.Empty) + (Buffers.Count == 0 ? string.Empty : "Captured captured, ")
                           + (TakesBlockMask ? Rt + "BlockMask? blockMask, " : string.Empty);
        _w.Line("/// <summary>One query block of one head: Qᵀ in, O (and LSE) out, K/V streamed block by block.</summary>");
        using (_w.Block("private static void QueryBlock<TOps, TV>(in " + Problem + " problem, " + bandParam + "int queryBlocks, int item, float* scratch) " + Constraints))
        {
            WorkItem();
            _w.Line();
            LoadQuery();
            _w.Line();
            KeyValueLoop();
            _w.Line();
            Epilogue();
        }
    }

    private void WorkItem()
    {
        _w.Line("// The work item: batch b, query head h (reading K/V head h / group), query rows [qStart, qStart + qCount).");
        _w.Line("// Later query blocks are taken first: under a causal mask they are the longest, and the queue balances the rest.");
        _w.Line("var shape = problem.Shape;");
        _w.Line("int queryBlock = queryBlocks - 1 - (item % queryBlocks);");
        _w.Line("int h = item / queryBlocks % shape.HeadsQ;");
        _w.Line("int b = item / queryBlocks / shape.HeadsQ;");
        _w.Line("int kvHead = h / shape.GroupSize;");
        _w.Line("int qStart = queryBlock * BlockQ;");
        _w.Line("int qCount = global::System.Math.Min(BlockQ, shape.SeqQ - qStart);");
        _w.Line("int queryVectors = (qCount + TOps.Lanes - 1) / TOps.Lanes;   // Sᵀ columns in use, whole vectors");
        _w.Line("int valueVectors = (ValueHeadDim + TOps.Lanes - 1) / TOps.Lanes;");
        _w.Line("float* qT = scratch + QueryTransposedAt, sT = scratch + ScoresAt, o = scratch + OutputAt;");
        _w.Line("float* m = scratch + RowMaxAt, l = scratch + RowSumAt, alpha = scratch + RescaleAt;");
    }

    private void LoadQuery()
    {
        _w.Line("// 1. Qᵀ: the query block widened to fp32, pre-multiplied by " + (_scoreModifier is null ? "scale·log2(e)" : "scale") + " and transposed to [HeadDim][BlockQ]");
        _w.Line("//    (once per work item; padding columns are zero). Then m = −∞, l = 0, O = 0.");
        _w.Line(Cpu + "TileLoad.TransposeScaled<TOps, TV, " + _in + ">(problem.Q.Row(b, qStart, h), (nint)problem.Q.SeqStride, qCount, HeadDim,");
        _w.Line("    qT, BlockQ, queryVectors * TOps.Lanes, " + (_scoreModifier is null ? "ScaleLog2E" : "QueryScale") + ", scratch + RowBufferAt);");
        CpuTileStages.ResetAccumulators(_w);
    }

    /// <summary>
    /// With a block mask: this query block's row of it (positions [0, partial) partial, then full ones); without one,
    /// the band's blocks [first, end), every one partial (the mask modifier runs on each).
    /// </summary>
    private void BlockMaskLoopHeader(string first, string end)
    {
        _w.Line("// The runtime block mask (if given) lists the KV blocks to visit: partial ones (element masks), then full ones.");
        _w.Line("global::System.ReadOnlySpan<int> blockList = blockMask is null ? default : blockMask.Indices.Span;");
        _w.Line("int firstListedStart = " + first + ";");
        _w.Line("int blockRow = 0, blockCount, partialBlocks;");
        using (_w.Block("if (blockMask is null)"))
        {
            _w.Line("blockCount = (" + end + " - firstListedStart + BlockKV - 1) / BlockKV;");
            _w.Line("partialBlocks = int.MaxValue;");
        }

        using (_w.Block("else"))
        {
            _w.Line("int row = ((((blockMask.Batches == 1 ? 0 : b) * blockMask.Heads) + (blockMask.Heads == 1 ? 0 : h)) * blockMask.QueryBlocks) + queryBlock;");
            _w.Line("var counts = blockMask.Counts.Span;");
            _w.Line("partialBlocks = counts[2 * row];");
            _w.Line("blockCount = partialBlocks + counts[(2 * row) + 1];");
            _w.Line("blockRow = row * blockMask.KvBlocks;");
        }
    }

    private void KeyValueLoop()
    {
        string loop;
        if (_masked)
        {
            _w.Line("// 2. Stream the KV blocks the mask can keep for these queries; blocks outside the band are never touched.");
            _w.Line("var (keyFirst, keyEnd) = band.KeyRange(qStart, qStart + qCount, shape.SeqKv);");
            _w.Line("int firstBlockStart = keyFirst < keyEnd ? keyFirst / BlockKV * BlockKV : keyEnd;");
            loop = "for (int kStart = firstBlockStart; kStart < keyEnd; kStart += BlockKV)";
        }
        else
        {
            _w.Line("// 2. Stream every KV block (no mask).");
            loop = "for (int kStart = 0; kStart < shape.SeqKv; kStart += BlockKV)";
        }

        if (TakesBlockMask)
        {
            BlockMaskLoopHeader(_masked ? "firstBlockStart" : "0", _masked ? "keyEnd" : "shape.SeqKv");
            loop = "for (int position = 0; position < blockCount; position++)";
        }

        using (_w.Block(loop))
        {
            if (TakesBlockMask)
            {
                _w.Line("int kStart = blockMask is null ? firstListedStart + (position * BlockKV) : blockList[blockRow + position] * BlockKV;");
                _w.Line("bool partialBlock = position < partialBlocks;");
            }

            _w.Line("int kvCount = global::System.Math.Min(BlockKV, shape.SeqKv - kStart);");
            LoadKeysAndValues();
            _w.Line();
            CpuTileStages.ScoreTile(_w, ref _step, "Sᵀ = K·Qᵀ: scores of this block, keys as rows, queries as columns (register-blocked broadcast-FMA).", "ldk",
                _scoreModifier is not null || _maskModifier is not null ? ElementModifiers : null, _masked ? ElementMask : null, _masked || _maskModifier is not null, "ldv", "qCount");
        }
    }

    private void LoadKeysAndValues()
    {
        var s = _scratch;
        _w.Line();
        if (s.KeysInPlace && s.ValuesInPlace)
        {
            _w.Line("// 2a. K and V rows of this block, read in place: fp32 inputs need no widening.");
        }
        else if (s.KeysInPlace)
        {
            _w.Line("// 2a. K rows read in place (fp32); V widened into scratch with its rows padded to whole vectors.");
        }
        else
        {
            _w.Line("// 2a. K [kvCount][HeadDim] and V [kvCount][ValueHeadDimPadded] of this block, widened to fp32.");
        }

        if (s.KeysInPlace)
        {
            _w.Line("float* keys = problem.K.Row(b, kStart, kvHead);");
            _w.Line("nint ldk = (nint)problem.K.SeqStride;");
        }
        else
        {
            _w.Line("float* keys = scratch + KeysAt;");
            _w.Line("nint ldk = HeadDim;");
            _w.Line(Cpu + "TileLoad.Widen<TOps, TV, " + _in + ">(problem.K.Row(b, kStart, kvHead), (nint)problem.K.SeqStride, kvCount, HeadDim, keys, HeadDim, HeadDim);");
        }

        if (s.ValuesInPlace)
        {
            _w.Line("float* values = problem.V.Row(b, kStart, kvHead);");
            _w.Line("nint ldv = (nint)problem.V.SeqStride;");
        }
        else
        {
            _w.Line("float* values = scratch + ValuesAt;");
            _w.Line("nint ldv = ValueHeadDimPadded;");
            _w.Line(Cpu + "TileLoad.Widen<TOps, TV, " + _in + ">(problem.V.Row(b, kStart, kvHead), (nint)problem.V.SeqStride, kvCount, ValueHeadDim, values, ValueHeadDimPadded, ValueHeadDimPadded);");
        }
    }

    private void ElementMask()
    {
        var mask = _plan.Spec.Mask;
        _w.Line("// 2" + _step++ + ". Element mask, only on tiles that straddle the band's edge. Key j keeps the queries i with");
        string rule = (mask.BandRight >= 0 ? "i ≥ j − Offset − BandRight" : string.Empty)
                      + (mask.BandRight >= 0 && mask.BandLeft >= 0 ? " and " : string.Empty)
                      + (mask.BandLeft >= 0 ? "i ≤ j − Offset + BandLeft" : string.Empty);
        _w.Line("//     " + rule + ": one contiguous run of Sᵀ's row j; the rest becomes −∞.");
        CpuTileStages.BandMaskOnConsecutiveQueries(_w, mask, TakesBlockMask);
    }

    /// <summary>
    /// The modifiers, element by element over the query rows in use (scalar: they are arbitrary expressions).
    /// Runs before the band mask, which overwrites what it drops with −∞ anyway.
    /// </summary>
    private void ElementModifiers()
    {
        var score = _scoreModifier;
        var mask = _maskModifier;
        string scoreCall = score is null ? string.Empty : "ScoreModifier(row[i], b, h, qStart + i, key" + BufferArguments(score) + ") * Log2E";
        if (score is not null)
        {
            _w.Line("// 2" + _step++ + ". Modifiers: S = " + score.MethodName + "(s, b, h, q, kv)·log2(e), s = scale·(q·k) the natural score" + (mask is null ? "." : ";"));
        }
        else
        {
            _w.Line("// 2" + _step++ + ". Mask modifier:");
        }

        if (mask is not null)
        {
            _w.Line("//     keys that " + mask.MethodName + "(b, h, q, kv) drops get −∞. A tile it drops whole skips the softmax and P·V.");
            _w.Line("//     Full blocks of a block mask keep every pair: only the score modifier runs there.");
            _w.Line("bool keptAny = !partialBlock;");
            using (_w.Block("if (partialBlock)"))
            {
                ModifierLoop(mask, score, scoreCall);
            }

            if (score is not null)
            {
                using (_w.Block("else"))
                {
                    ModifierLoop(null, score, scoreCall);
                }
            }

            using (_w.Block("if (!keptAny)"))
            {
                _w.Line("continue;");
            }
        }
        else
        {
            ModifierLoop(null, score, scoreCall);
        }
    }

    /// <summary>Per element of the tile: the mask modifier (and-ed into −∞) and/or the score modifier.</summary>
    private void ModifierLoop(Model.Expressions.ModifierSpec? mask, Model.Expressions.ModifierSpec? score, string scoreCall) =>
        CpuTileStages.ModifierLoop(_w, "i", "qCount", null, mask is null ? null : "MaskModifier(b, h, qStart + i, key" + BufferArguments(mask) + ")", score is null ? null : scoreCall);

    /// <summary>The modifier methods, compiled from the IR with C# float semantics and inlined into the tile loop.</summary>
    public void Modifiers()
    {
        Modifier(_scoreModifier, "float ScoreModifier");
        Modifier(_maskModifier, "bool MaskModifier");
    }

    private void Modifier(Model.Expressions.ModifierSpec? modifier, string signature)
    {
        if (modifier is null)
        {
            return;
        }

        var writer = ExprCSharpWriter.Kernel;
        _w.Line();
        _w.Line("/// <summary>The [" + (modifier.Kind == Model.Expressions.ModifierKind.Score ? "ScoreMod" : "MaskMod") + "] method " + modifier.MethodName + ", compiled from its body.</summary>");
        _w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
        // The mask modifier is internal: the spec's CreateBlockMask classifies blocks with this same float method.
        string access = modifier.Kind == Model.Expressions.ModifierKind.Mask ? "internal static " : "private static ";
        using (_w.Block(access + signature + "(" + writer.Parameters(modifier) + ")"))
        {
            writer.Body(_w, modifier.Body);
        }
    }

    private void Epilogue()
    {
        _w.Line("// 3. O /= l, narrowed to " + _plan.OutputType + (_plan.Spec.Epilogue.WriteLse ? "; LSE = (m + log2 l)·ln 2" : string.Empty) + ". Rows that kept no key (l = 0) get O = 0" + (_plan.Spec.Epilogue.WriteLse ? " and LSE = −∞." : "."));
        if (_plan.Spec.Epilogue.WriteLse)
        {
            _w.Line("float* lse = problem.Lse + ((((long)b * shape.HeadsQ) + h) * shape.SeqQ) + qStart;");
        }

        using (_w.Block("for (int i = 0; i < qCount; i++)"))
        {
            _w.Line(Cpu + "TileStore.NormalizeAndWrite<TOps, TV, " + _out + ">(o + (i * ValueHeadDimPadded), l[i], problem.Output.Row(b, qStart + i, h), ValueHeadDim);");
            if (_plan.Spec.Epilogue.WriteLse)
            {
                _w.Line("lse[i] = " + Cpu + "TileStore.LogSumExp(m[i], l[i]);");
            }
        }
    }
}
