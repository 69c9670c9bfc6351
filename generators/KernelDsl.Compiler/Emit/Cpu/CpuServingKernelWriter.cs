using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// Writes <c>__CpuServingKernel</c>: the forward's tile algorithm (Qᵀ in scratch, K/V streamed block by block, scores by
/// TileGemm, online softmax, P·V, one store) over the serving calls' work items — (sequence, KV head, block of packed query
/// rows). The rows of one KV head's query group are packed group-major (row r: head kvHead·group + r / q, query r % q), so
/// the heads of a group share every K/V tile. K/V tiles are loaded run by run through an <c>IKvRows</c> source (a page per
/// run for a paged cache), so one kernel serves varlen prefill and paged decode. Each sequence has its own mask band.
/// </summary>
internal sealed class CpuServingKernelWriter
{
    private const string Rt = "global::KernelDsl.";
    private const string Cpu = "global::KernelDsl.Cpu.";
    private const string Constraints = "where TOps : struct, " + Cpu + "ISimdOps<TV> where TV : struct where TKv : struct, " + Cpu + "IKvRows<";

    private readonly CodeWriter _w;
    private readonly KernelPlan _plan;
    private readonly CpuScratchLayout _scratch;
    private readonly string _in;
    private readonly string _out;
    private readonly bool _masked;
    private readonly Model.Expressions.ModifierSpec? _scoreModifier;
    private readonly Model.Expressions.ModifierSpec? _maskModifier;
    private char _step;

    public CpuServingKernelWriter(CodeWriter writer, KernelPlan plan)
    {
        _w = writer;
        _plan = plan;
        // K and V always go through scratch (even fp32): a tile may span pages, so its rows have no single stride.
        _scratch = CpuScratchLayout.For(plan.Spec.HeadDim, plan.Spec.ValueHeadDim, fp32Inputs: false, plan.Cpu.BlockQ, plan.Cpu.BlockKV);
        _in = TypeNames.Element(plan.Spec.InputType);
        _out = TypeNames.Element(plan.OutputType);
        var mask = plan.Spec.Mask;
        _masked = mask.IsMasked && (mask.BandLeft >= 0 || mask.BandRight >= 0);
        _scoreModifier = plan.Spec.ScoreModifier;
        _maskModifier = plan.Spec.MaskModifier;
    }

    /// <summary>The fp32 scratch one worker uses, in bytes.</summary>
    public int ScratchBytes => _scratch.TotalFloats * sizeof(float);

    private string Where => Constraints + _in + ">";

    private string Problem => Cpu + "ServingProblem<" + _in + ", " + _out + ", TKv>";

    private bool HasBuffers => _plan.Spec.CapturedBuffers.Count > 0;

    private string CapturedParameter => HasBuffers ? ", Captured captured" : string.Empty;

    private string CapturedArgument => HasBuffers ? ", captured" : string.Empty;

    public void Write()
    {
        Constants();
        _w.Line();
        Dispatch();
        _w.Line();
        Schedule();
        _w.Line();
        RowBlock();

        // The modifiers and the captured-buffer struct, written by the forward kernel's writer into this class too.
        var forward = new CpuKernelWriter(_w, _plan);
        forward.Modifiers();
        forward.CapturedStruct();
    }

    private void Constants()
    {
        var spec = _plan.Spec;
        var s = _scratch;
        _w.Line("private const int HeadDim = " + spec.HeadDim + ";");
        _w.Line("private const int ValueHeadDim = " + spec.ValueHeadDim + ";");
        _w.Line("private const int ValueHeadDimPadded = " + s.ValueHeadDimPadded + ";");
        _w.Line("/// <summary>Packed query rows (query heads of one KV group × queries of one sequence) per work item.</summary>");
        _w.Line("private const int BlockQ = " + _plan.Cpu.BlockQ + ";");
        _w.Line("private const int BlockKV = " + _plan.Cpu.BlockKV + ";");
        if (_scoreModifier is null)
        {
            _w.Line("/// <summary>scale · log2(e): Q is pre-multiplied by it, so scores are in base 2 for the exp2 softmax.</summary>");
            _w.Line("private const float QueryScale = " + TypeNames.FloatLiteral(spec.EffectiveScale * Model.Constants.Log2E) + ";");
        }
        else
        {
            _w.Line("/// <summary>The softmax scale alone: " + _scoreModifier.MethodName + " reads the natural score; its result is taken to base 2 (× Log2E).</summary>");
            _w.Line("private const float QueryScale = " + TypeNames.FloatLiteral(spec.EffectiveScale) + ";");
            _w.Line("private const float Log2E = " + TypeNames.FloatLiteral(Model.Constants.Log2E) + ";");
        }

        if (_masked)
        {
            _w.Line();
            _w.Line("// The mask band, per sequence: its diagonal for query i is i + Offset, Offset = " + (spec.Mask.Alignment == MaskAlignment.BottomRight ? "L − q (bottom-right)" : "0 (top-left)") + ".");
            CpuTileStages.MaskConstants(_w, spec.Mask);
        }

        _w.Line();
        CpuTileStages.ScratchConstants(_w, s, "widened, loaded run by run through the row source");
    }

    private void Dispatch() =>
        CpuTileStages.WidthDispatch(_w, "Runs the serving kernel with the widest SIMD vectors the machine executes natively.",
            "public static void Run<TKv>(in " + Problem + " problem" + CapturedParameter + ") where TKv : struct, " + Cpu + "IKvRows<" + _in + ">", ", TKv", "problem" + CapturedArgument);

    private void Schedule()
    {
        _w.Line("/// <summary>One work item per (sequence, KV head, block of packed query rows), spread over all cores.</summary>");
        using (_w.Block("private static void Schedule<TOps, TV, TKv>(" + Problem + " problem" + CapturedParameter + ") " + Where))
        {
            _w.Line("// The item offsets are this thread's pooled buffer (no allocation per call); the workers read it only until Run returns.");
            _w.Line("int[] items = " + Cpu + "ServingWork.ItemOffsets(problem.QueryOffsets, problem.Sequences, problem.GroupSize, problem.HeadsKv, BlockQ);");
            _w.Line("var work = new RowBlocks<TOps, TV, TKv>(problem, items" + CapturedArgument + ");");
            _w.Line(Cpu + "CpuWorkers.Run(items[problem.Sequences], ScratchFloats, in work);");
        }

        _w.Line();
        using (_w.Block("private readonly struct RowBlocks<TOps, TV, TKv>(" + Problem + " problem, int[] items" + CapturedParameter + ") : " + Cpu + "CpuWorkers.IWork " + Where))
        {
            _w.Line("public void Execute(int item, float* scratch) => RowBlock<TOps, TV, TKv>(problem, items, item" + CapturedArgument + ", scratch);");
        }
    }

    private void RowBlock()
    {
        _w.Line("/// <summary>One block of packed query rows of one (sequence, KV head): Qᵀ in, O (and LSE) out, the sequence's K/V streamed once.</summary>");
        using (_w.Block("private static void RowBlock<TOps, TV, TKv>(in " + Problem + " problem, int[] items, int item" + CapturedParameter + ", float* scratch) " + Where))
        {
            WorkItem();
            _w.Line();
            LoadQuery();
            _w.Line();
            KeyValueLoop();
            _w.Line();
            if (_plan.Spec.PagedKv?.EvictionScores == true)
            {
                KeyMassSweep();
                _w.Line();
            }

            Epilogue();
        }
    }

    private void WorkItem()
    {
        _w.Line("// The work item: sequence s (queries [queryStart, queryStart + queries), keys [0, length)), KV head kvHead,");
        _w.Line("// packed rows [rowStart, rowStart + rowCount); row r is query head kvHead·group + r / queries, query r % queries.");
        _w.Line("int s = " + Cpu + "ServingWork.SequenceOf(items, problem.Sequences, item);");
        _w.Line("int queryStart = problem.QueryOffsets[s];");
        _w.Line("int queries = problem.QueryOffsets[s + 1] - queryStart;");
        _w.Line("int group = problem.GroupSize;");
        _w.Line("int rowBlocks = ((queries * group) + BlockQ - 1) / BlockQ;");
        _w.Line("int local = item - items[s];");
        _w.Line("int kvHead = local / rowBlocks;");
        _w.Line("int rowStart = local % rowBlocks * BlockQ;");
        _w.Line("int rowCount = global::System.Math.Min(BlockQ, (queries * group) - rowStart);");
        _w.Line("int length = problem.Kv.Length(s);");
        _w.Line("int queryVectors = (rowCount + TOps.Lanes - 1) / TOps.Lanes;");
        _w.Line("int valueVectors = (ValueHeadDim + TOps.Lanes - 1) / TOps.Lanes;");
        _w.Line("float* qT = scratch + QueryTransposedAt, sT = scratch + ScoresAt, o = scratch + OutputAt;");
        _w.Line("float* m = scratch + RowMaxAt, l = scratch + RowSumAt, alpha = scratch + RescaleAt;");
        _w.Line("// The query indices the rows hold: one run of one head, or (across heads) all of them.");
        _w.Line("bool oneHead = rowStart / queries == (rowStart + rowCount - 1) / queries;");
        _w.Line("int firstQuery = oneHead ? rowStart % queries : 0;");
        _w.Line("int endQuery = oneHead ? ((rowStart + rowCount - 1) % queries) + 1 : queries;");
    }

    private void LoadQuery()
    {
        _w.Line("// 1. Qᵀ, one run of consecutive queries of one head at a time (rows Hq·HeadDim apart in the packed Q), pre-scaled;");
        _w.Line("//    the padding columns up to whole vectors are zero. Then m = −∞, l = 0, O = 0.");
        using (_w.Block("for (int r = rowStart; r < rowStart + rowCount;)"))
        {
            _w.Line("int head = (kvHead * group) + (r / queries), i = r % queries;");
            _w.Line("int run = global::System.Math.Min(queries - i, rowStart + rowCount - r);");
            _w.Line(Cpu + "TileLoad.TransposeScaled<TOps, TV, " + _in + ">(problem.Q + (((((long)queryStart + i) * problem.HeadsQ) + head) * HeadDim), (nint)problem.HeadsQ * HeadDim, run, HeadDim,");
            _w.Line("    qT + (r - rowStart), BlockQ, run, QueryScale, scratch + RowBufferAt);");
            _w.Line("r += run;");
        }

        _w.Line(Cpu + "TileLoad.TransposeScaled<TOps, TV, " + _in + ">(problem.Q, 0, 0, HeadDim, qT + rowCount, BlockQ, (queryVectors * TOps.Lanes) - rowCount, QueryScale, scratch + RowBufferAt);");
        CpuTileStages.ResetAccumulators(_w);
    }

    private void KeyValueLoop()
    {
        string loop = BlockLoop();
        using (_w.Block(loop))
        {
            _w.Line("int kvCount = global::System.Math.Min(BlockKV, length - kStart);");
            _w.Line();
            _w.Line("// 2a. K [kvCount][HeadDim] and V [kvCount][ValueHeadDimPadded], run by run (a page per run in a paged cache), widened to fp32.");
            _w.Line("float* keys = scratch + KeysAt, values = scratch + ValuesAt;");
            _w.Line(Cpu + "KvTileLoad.Keys<TOps, TV, " + _in + ", TKv>(problem.Kv, s, kvHead, kStart, kvCount, HeadDim, keys, HeadDim, HeadDim);");
            _w.Line(Cpu + "KvTileLoad.Values<TOps, TV, " + _in + ", TKv>(problem.Kv, s, kvHead, kStart, kvCount, ValueHeadDim, values, ValueHeadDimPadded, ValueHeadDimPadded);");
            _w.Line();
            CpuTileStages.ScoreTile(_w, ref _step, "Sᵀ = K·Qᵀ for every packed row: each K row is read once for the whole query group.", "HeadDim",
                _scoreModifier is not null || _maskModifier is not null ? ElementModifiers : null, _masked ? ElementMask : null, _masked || _maskModifier is not null, "ValueHeadDimPadded", "rowCount");
        }
    }

    /// <summary>
    /// Eviction scores ([PagedKv(EvictionScores = true)]): with every row's m and l final, a second sweep over the same K
    /// blocks (K only) recomputes the masked, modified scores and adds exp2(S − m)/l over the block's rows to each key's mass.
    /// The host checked that the whole group is this one work item, so each score has one writer, summed in a fixed order.
    /// </summary>
    private void KeyMassSweep()
    {
        _w.Line("// 2'. Eviction scores: the attention mass of each key, Σ over this item's rows of exp2(S − m)/l, now that m and l are final.");
        _w.Line("//     One more pass over the same K blocks (no V): scores recomputed exactly as above (mask and modifiers included), so the");
        _w.Line("//     masses of a row sum to 1. Keys outside the band keep the 0 the entry point wrote. One writer per (sequence, KV head, key).");
        using (_w.Block("if (problem.KeyMass != null)"))
        {
            _w.Line("long keyStart = " + Cpu + "ServingKeyMass.KeyStart<" + _in + ", TKv>(problem.Kv, s);");
            var saved = _step;
            using (_w.Block(BlockLoop(declare: false)))
            {
                _w.Line("int kvCount = global::System.Math.Min(BlockKV, length - kStart);");
                _w.Line("float* keys = scratch + KeysAt;");
                _w.Line(Cpu + "KvTileLoad.Keys<TOps, TV, " + _in + ", TKv>(problem.Kv, s, kvHead, kStart, kvCount, HeadDim, keys, HeadDim, HeadDim);");
                _w.Line(Cpu + "TileGemm.Scores<TOps, TV>(keys, HeadDim, kvCount, qT, BlockQ, HeadDim, queryVectors, sT, BlockQ);");
                _step = 'c';
                if (_scoreModifier is not null || _maskModifier is not null)
                {
                    ElementModifiers();
                }

                if (_masked)
                {
                    ElementMask();
                }

                _w.Line(Cpu + "ServingKeyMass.Add(sT, BlockQ, kvCount, rowCount, m, l, problem.KeyMass + ((keyStart + kStart) * problem.HeadsKv) + kvHead, problem.HeadsKv);");
            }

            _step = saved;
        }
    }

    /// <summary>The loop over the K/V blocks a work item visits (the band's blocks when masked), declaring the band first.</summary>
    private string BlockLoop(bool declare = true)
    {
        string loop;
        if (_masked)
        {
            if (declare)
            {
                _w.Line("// 2. Stream the KV blocks this sequence's band can keep for these queries (through the row source: no gathered copy).");
                _w.Line("var band = " + Rt + "MaskBand.For(MaskKind, Alignment, BandLeft, BandRight, queries, length);");
                _w.Line("var (keyFirst, keyEnd) = band.KeyRange(firstQuery, endQuery, length);");
                _w.Line("int firstBlockStart = keyFirst < keyEnd ? keyFirst / BlockKV * BlockKV : keyEnd;");
            }

            loop = "for (int kStart = firstBlockStart; kStart < keyEnd; kStart += BlockKV)";
        }
        else
        {
            if (declare)
            {
                _w.Line("// 2. Stream every KV block of the sequence (no mask), through the row source: no gathered copy.");
            }

            loop = "for (int kStart = 0; kStart < length; kStart += BlockKV)";
        }

        return loop;
    }

    /// <summary>The band's element mask on tiles that straddle its edge, one run of consecutive queries (one head) at a time.</summary>
    private void ElementMask()
    {
        var mask = _plan.Spec.Mask;
        string first = CpuTileStages.KeepFirst(mask, string.Empty);
        string end = CpuTileStages.KeepEnd(mask, string.Empty);
        _w.Line("// 2" + _step++ + ". Band mask where the tile straddles its edge: key j keeps queries [" + (mask.BandRight >= 0 ? "j − Offset − BandRight" : "−∞") + ", " + (mask.BandLeft >= 0 ? "j − Offset + BandLeft" : "∞") + "],");
        _w.Line("//     a contiguous run within each head's run of columns; the rest of the row becomes −∞.");
        using (_w.Block("if (!band.KeepsWholeTile(firstQuery, endQuery, kStart, kStart + kvCount))"))
        {
            using (_w.Block("for (int j = 0; j < kvCount; j++)"))
            {
                var bounds = new System.Collections.Generic.List<string>();
                if (mask.BandRight >= 0)
                {
                    bounds.Add("keepFirst = " + first);
                }

                if (mask.BandLeft >= 0)
                {
                    bounds.Add("keepEnd = " + end);
                }

                _w.Line("int " + string.Join(", ", bounds) + ";");
                using (_w.Block("for (int r = rowStart; r < rowStart + rowCount;)"))
                {
                    _w.Line("int i = r % queries, run = global::System.Math.Min(queries - i, rowStart + rowCount - r);");
                    _w.Line(Cpu + "TileMask.KeepColumns(sT + (j * BlockQ) + (r - rowStart), " + (mask.BandRight >= 0 ? "keepFirst - i" : "int.MinValue") + ", " + (mask.BandLeft >= 0 ? "keepEnd - i" : "int.MaxValue") + ", run);");
                    _w.Line("r += run;");
                }
            }
        }
    }

    /// <summary>The modifiers per element (scalar), with b = the sequence, h and q of the packed row, kv the key in the sequence.</summary>
    private void ElementModifiers()
    {
        var score = _scoreModifier;
        var mask = _maskModifier;
        string scoreCall = score is null ? string.Empty : "ScoreModifier(row[c], s, head, i, key" + BufferArguments(score) + ") * Log2E";
        _w.Line("// 2" + _step++ + ". Modifiers on each (packed row, key): b = sequence s, h = the row's query head, q = its query index in the sequence, kv = key."
                + (mask is null ? string.Empty : " A tile the mask modifier drops whole is skipped."));
        if (mask is not null)
        {
            _w.Line("bool keptAny = false;");
        }

        CpuTileStages.ModifierLoop(_w, "c", "rowCount", "int head = (kvHead * group) + ((rowStart + c) / queries), i = (rowStart + c) % queries;",
            mask is null ? null : "MaskModifier(s, head, i, key" + BufferArguments(mask) + ")", score is null ? null : scoreCall);

        if (mask is not null)
        {
            using (_w.Block("if (!keptAny)"))
            {
                _w.Line("continue;");
            }
        }
    }

    private static string BufferArguments(Model.Expressions.ModifierSpec modifier) => CpuTileStages.BufferArguments(modifier);

    private void Epilogue()
    {
        bool lse = _plan.Spec.Epilogue.WriteLse;
        _w.Line("// 3. O /= l, narrowed to " + _plan.OutputType + ", to row (token, head) of the packed output" + (lse ? "; LSE [token, head] = (m + log2 l)·ln 2" : string.Empty)
                + ". Rows that kept no key (l = 0, e.g. a sequence of length 0) get O = 0" + (lse ? " and LSE = −∞." : "."));
        using (_w.Block("for (int c = 0; c < rowCount; c++)"))
        {
            _w.Line("int head = (kvHead * group) + ((rowStart + c) / queries);");
            _w.Line("long at = ((long)queryStart + ((rowStart + c) % queries)) * problem.HeadsQ + head;");
            _w.Line(Cpu + "TileStore.NormalizeAndWrite<TOps, TV, " + _out + ">(o + (c * ValueHeadDimPadded), l[c], problem.Output + (at * ValueHeadDim), ValueHeadDim);");
            if (lse)
            {
                _w.Line("problem.Lse[at] = " + Cpu + "TileStore.LogSumExp(m[c], l[c]);");
            }
        }
    }
}
