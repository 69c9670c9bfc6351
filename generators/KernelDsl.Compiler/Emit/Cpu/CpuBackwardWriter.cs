using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// Writes <c>__CpuBackwardKernel</c> (issue 10): FlashAttention-2's backward on the CPU, in three passes that read as
/// DESIGN.md's equations —
/// 0. preprocess: Δ_i = Σ dO_i·O_i and the base-2 LSE per query row;
/// 1. one work item per (batch, K/V head, K/V block): P recomputed from Q, K and the LSE, dV += Pᵀ·dO,
///    dS = P ∘ (dO·Vᵀ − Δ) (· ∂ScoreMod/∂s), dK += dSᵀ·Q, over every query head of the group and every query block
///    the forward paired with this K/V block — so dK and dV are summed over the group in scratch and written once;
/// 2. one work item per (batch, query head, query block): the same P and dS, dQ += dS·K over the forward's K/V
///    blocks, and the learnable buffers' gradients.
/// Every output element is written by exactly one work item and every sum runs in a fixed order (learnable buffer
/// gradients go to a fixed number of per-group partials reduced in group order), so the results are bit-identical
/// from run to run and on any number of cores: deterministic by construction. The price is recomputing S and dP in
/// pass 2 (7 tile products instead of FlashAttention-2's 5, with no atomics).
/// The tiles are the forward's (<see cref="CpuKernelPlan"/>), so a BlockMask built for the CPU forward fits.
/// </summary>
internal sealed class CpuBackwardWriter
{
    private const string Rt = "global::KernelDsl.";
    private const string Cpu = "global::KernelDsl.Cpu.";
    private const string Constraints = "where TOps : struct, " + Cpu + "ISimdOps<TV> where TV : struct";

    /// <summary>Work groups of the dQ pass when learnable buffers are reduced (fixed: the reduction order never depends on the machine).</summary>
    public const int GradientGroups = 64;

    private readonly CodeWriter _w;
    private readonly KernelPlan _plan;
    private readonly string _in;
    private readonly string _out;
    private readonly bool _masked;
    private readonly ModifierSpec? _score;
    private readonly ModifierSpec? _mask;

    public CpuBackwardWriter(CodeWriter writer, KernelPlan plan)
    {
        _w = writer;
        _plan = plan;
        _in = TypeNames.Element(plan.Spec.InputType);
        _out = TypeNames.Element(plan.OutputType);
        var mask = plan.Spec.Mask;
        _masked = mask.IsMasked && (mask.BandLeft >= 0 || mask.BandRight >= 0);
        _score = plan.Spec.ScoreModifier;
        _mask = plan.Spec.MaskModifier;
        Scratch = BackwardScratch.For(plan.Spec.HeadDim, plan.Spec.ValueHeadDim, plan.Cpu.BlockQ, plan.Cpu.BlockKV, _score is not null);
    }

    public BackwardScratch Scratch { get; }

    private string Problem => Rt + "BackwardProblem<" + _in + ", " + _out + ">";

    private IReadOnlyList<CapturedBuffer> Buffers => _plan.Spec.CapturedBuffers;

    /// <summary>The learnable buffers, each once, in the spec's buffer order.</summary>
    public IReadOnlyList<CapturedBuffer> Learnable => Buffers.Where(b => b.Learnable).ToList();

    private bool TakesBlockMask => _mask is not null;

    private string BandParameter => _masked ? ", " + Rt + "MaskBand band" : string.Empty;

    private string BandArgument => _masked ? ", band" : string.Empty;

    private string CapturedParameter => Buffers.Count == 0 ? string.Empty : ", __CpuKernel.Captured captured";

    private string CapturedArgument => Buffers.Count == 0 ? string.Empty : ", captured";

    private string StatesParameter => TakesBlockMask ? ", " + Rt + "BlockMask? blockMask, byte[]? states" : string.Empty;

    private string StatesArgument => TakesBlockMask ? ", blockMask, states" : string.Empty;

    private string PartialsParameter => Learnable.Count == 0 ? string.Empty : ", Partials partials";

    private static string BufferArguments(ModifierSpec modifier) => CpuTileStages.BufferArguments(modifier);

    public void Constants()
    {
        var spec = _plan.Spec;
        var s = Scratch;
        _w.Line("private const int HeadDim = " + spec.HeadDim + ";");
        _w.Line("private const int ValueHeadDim = " + spec.ValueHeadDim + ";");
        _w.Line("/// <summary>K, Q, dK and dQ rows in scratch, padded to whole 512-bit vectors (zeros in the padding).</summary>");
        _w.Line("private const int HeadDimPadded = " + s.HeadDimPadded + ";");
        _w.Line("private const int ValueHeadDimPadded = " + s.ValueHeadDimPadded + ";");
        _w.Line("private const int BlockQ = " + _plan.Cpu.BlockQ + ";");
        _w.Line("private const int BlockKV = " + _plan.Cpu.BlockKV + ";");
        _w.Line("/// <summary>The softmax scale: dQ = scale·dS·K and dK = scale·dSᵀ·Q.</summary>");
        _w.Line("private const float Scale = " + TypeNames.FloatLiteral(spec.EffectiveScale) + ";");
        if (_score is null)
        {
            _w.Line("/// <summary>scale·log2(e): Q is pre-multiplied by it, so scores are in base 2 like the forward's and P = exp2(S − LSE·log2 e).</summary>");
            _w.Line("private const float QueryScale = " + TypeNames.FloatLiteral(spec.EffectiveScale * Model.Constants.Log2E) + ";");
        }
        else
        {
            _w.Line("/// <summary>The scale alone: the score modifier reads the natural score s = scale·(q·k); its result is taken to base 2.</summary>");
            _w.Line("private const float QueryScale = " + TypeNames.FloatLiteral(spec.EffectiveScale) + ";");
            _w.Line("private const float Log2E = " + TypeNames.FloatLiteral(Model.Constants.Log2E) + ";");
        }

        if (_masked)
        {
            CpuTileStages.MaskConstants(_w, spec.Mask);
        }

        if (Learnable.Count > 0)
        {
            _w.Line("/// <summary>Work groups of the dQ pass: each sums its buffer gradients in its own partial; the partials are added in group order.</summary>");
            _w.Line("private const int GradientGroups = " + GradientGroups + ";");
        }

        _w.Line();
        _w.Line("// One worker's fp32 scratch, in floats; each buffer starts on a 64-byte line.");
        foreach (var (name, offset, comment) in s.Buffers)
        {
            _w.Line("private const int " + name + "At = " + offset + ";  // " + comment);
        }

        _w.Line(Invariant($"private const int ScratchFloats = {s.TotalFloats};  // {s.TotalFloats * 4 / 1024.0:F1} KiB"));
    }

    public void Dispatch()
    {
        string parameters = "in " + Problem + " problem" + CapturedParameter + (Learnable.Count == 0 ? string.Empty : ", Gradients gradients") + (TakesBlockMask ? ", " + Rt + "BlockMask? blockMask" : string.Empty);
        string arguments = "problem" + CapturedArgument + (Learnable.Count == 0 ? string.Empty : ", gradients") + (TakesBlockMask ? ", blockMask" : string.Empty);
        CpuTileStages.WidthDispatch(_w, "Runs the backward with the widest SIMD vectors the machine executes natively.", "public static void Run(" + parameters + ")", string.Empty, arguments);
    }

    public void Schedule()
    {
        string parameters = Problem + " problem" + CapturedParameter + (Learnable.Count == 0 ? string.Empty : ", Gradients gradients") + (TakesBlockMask ? ", " + Rt + "BlockMask? blockMask" : string.Empty);
        _w.Line("/// <summary>The three passes, each spread over all cores.</summary>");
        using (_w.Block("private static void Schedule<TOps, TV>(" + parameters + ") " + Constraints))
        {
            _w.Line("var shape = problem.Shape;");
            _w.Line("int queryBlocks = (shape.SeqQ + BlockQ - 1) / BlockQ;");
            _w.Line("int kvBlocks = (shape.SeqKv + BlockKV - 1) / BlockKV;");
            if (_masked)
            {
                _w.Line("var band = " + Rt + "MaskBand.For(MaskKind, Alignment, BandLeft, BandRight, shape.SeqQ, shape.SeqKv);");
            }

            if (TakesBlockMask)
            {
                _w.Line("// The block mask by (query-block row, KV block), so pass 1 finds the query blocks that visit its KV block.");
                _w.Line("byte[]? states = blockMask is null ? null : " + Cpu + "BackwardBlocks.States(blockMask);");
            }

            _w.Line("long rows = (long)shape.Batch * shape.HeadsQ * shape.SeqQ;");
            _w.Line("float[] deltaArray = new float[rows], lse2Array = new float[rows];");
            using (_w.Block("fixed (float* deltaData = deltaArray, lse2Data = lse2Array)"))
            {
                _w.Line("float* delta = deltaData, lse2 = lse2Data;");
                _w.Line("// 0. Preprocess, per (batch, query head): Δ = rowsum(dO ∘ O) and LSE·log2 e (+∞ for rows that kept no key).");
                _w.Line(Cpu + "CpuWorkers.Run(shape.Batch * shape.HeadsQ, ScratchFloats, (item, scratch) => Preprocess<TOps, TV>(problem, item, delta, lse2, scratch));");
                _w.Line("// 1. dK and dV, per (batch, K/V head, K/V block).");
                _w.Line(Cpu + "CpuWorkers.Run(shape.Batch * shape.HeadsKv * kvBlocks, ScratchFloats,");
                _w.Line("    (item, scratch) => KeyValueBlock<TOps, TV>(problem" + BandArgument + CapturedArgument + StatesArgument + ", queryBlocks, kvBlocks, item, delta, lse2, scratch));");
                if (Learnable.Count == 0)
                {
                    _w.Line("// 2. dQ, per (batch, query head, query block).");
                    _w.Line(Cpu + "CpuWorkers.Run(shape.Batch * shape.HeadsQ * queryBlocks, ScratchFloats,");
                    _w.Line("    (item, scratch) => QueryBlock<TOps, TV>(problem" + BandArgument + CapturedArgument + StatesArgument + ", queryBlocks, item, delta, lse2, scratch));");
                }
                else
                {
                    LearnableQueryPass();
                }
            }
        }
    }

    private void LearnableQueryPass()
    {
        _w.Line("// 2. dQ, per (batch, query head, query block), and the learnable buffers' gradients: work item n belongs to group");
        _w.Line("//    n % groups, whose items run in order on one worker and add into the group's float64 partial; the partials");
        _w.Line("//    are then summed in group order. Neither depends on the core count or on scheduling: bit-identical results.");
        _w.Line("int items = shape.Batch * shape.HeadsQ * queryBlocks;");
        _w.Line("int groups = global::System.Math.Min(items, GradientGroups);");
        foreach (var buffer in Learnable)
        {
            _w.Line("double[] " + buffer.Name + "Partials = new double[(long)groups * gradients." + buffer.Name + "Length];");
        }

        string fixedList = string.Join(", ", Learnable.Select(b => b.Name + "PartialsData = " + b.Name + "Partials"));
        using (_w.Block("fixed (double* " + fixedList + ")"))
        {
            _w.Line("double* " + string.Join(", ", Learnable.Select(b => b.Name + "PartialsBase = " + b.Name + "PartialsData")) + ";");
            _w.Line(Cpu + "CpuWorkers.Run(groups, ScratchFloats, (group, scratch) =>");
            _w.Line("{");
            _w.Line("    var partials = new Partials(" + string.Join(", ", Learnable.Select(b => b.Name + "PartialsBase + ((long)group * gradients." + b.Name + "Length)")) + ");");
            _w.Line("    for (int item = group; item < items; item += groups)");
            _w.Line("    {");
            _w.Line("        QueryBlock<TOps, TV>(problem" + BandArgument + CapturedArgument + StatesArgument + ", partials, queryBlocks, item, delta, lse2, scratch);");
            _w.Line("    }");
            _w.Line("});");
            foreach (var buffer in Learnable)
            {
                using (_w.Block("for (int e = 0; e < gradients." + buffer.Name + "Length; e++)"))
                {
                    _w.Line("double sum = 0;");
                    using (_w.Block("for (int g = 0; g < groups; g++)"))
                    {
                        _w.Line("sum += " + buffer.Name + "Partials[((long)g * gradients." + buffer.Name + "Length) + e];");
                    }

                    _w.Line("gradients." + buffer.Name + "[e] = (float)sum;");
                }
            }
        }
    }

    public void Preprocess()
    {
        _w.Line("/// <summary>Pass 0 for one (batch, query head): Δ and the base-2 LSE of each query row.</summary>");
        using (_w.Block("private static void Preprocess<TOps, TV>(in " + Problem + " problem, int item, float* delta, float* lse2, float* scratch) " + Constraints))
        {
            _w.Line("var shape = problem.Shape;");
            _w.Line("int h = item % shape.HeadsQ, b = item / shape.HeadsQ;");
            _w.Line("long first = (long)item * shape.SeqQ;");
            using (_w.Block("for (int i = 0; i < shape.SeqQ; i++)"))
            {
                _w.Line(Cpu + "BackwardTile.RowStatistics<TOps, TV, " + _out + ">(problem.Forward.Output.Row(b, i, h), problem.DOutput.Row(b, i, h), ValueHeadDim,");
                _w.Line("    problem.Forward.Lse[first + i], scratch + RowBufferAt, out delta[first + i], out lse2[first + i]);");
            }
        }
    }

    public void KeyValueBlock()
    {
        _w.Line("/// <summary>Pass 1 for one (batch, K/V head, K/V block): dK and dV over every query head of the group and every query block the forward paired with it.</summary>");
        using (_w.Block("private static void KeyValueBlock<TOps, TV>(in " + Problem + " problem" + BandParameter + CapturedParameter + StatesParameter + ", int queryBlocks, int kvBlocks, int item, float* delta, float* lse2, float* scratch) " + Constraints))
        {
            _w.Line("var shape = problem.Shape;");
            _w.Line("int kvBlock = item % kvBlocks, kvHead = item / kvBlocks % shape.HeadsKv, b = item / kvBlocks / shape.HeadsKv;");
            _w.Line("int kStart = kvBlock * BlockKV, kvCount = global::System.Math.Min(BlockKV, shape.SeqKv - kStart);");
            _w.Line("int headVectors = (HeadDim + TOps.Lanes - 1) / TOps.Lanes, valueVectors = (ValueHeadDim + TOps.Lanes - 1) / TOps.Lanes;");
            Pointers();
            _w.Line("float* q = scratch + QueryAt, dO = scratch + DOutputAt, dK = scratch + KeyGradientAt, dV = scratch + ValueGradientAt;");
            _w.Line();
            _w.Line("// 1a. K and V of this block, widened; dK = dV = 0.");
            LoadKeysAndValues();
            _w.Line("new global::System.Span<float>(dK, BlockKV * HeadDimPadded).Clear();");
            _w.Line("new global::System.Span<float>(dV, BlockKV * ValueHeadDimPadded).Clear();");
            using (_w.Block("for (int g = 0; g < shape.GroupSize; g++)"))
            {
                _w.Line("int h = (kvHead * shape.GroupSize) + g;");
                using (_w.Block("for (int queryBlock = 0; queryBlock < queryBlocks; queryBlock++)"))
                {
                    _w.Line("int qStart = queryBlock * BlockQ, qCount = global::System.Math.Min(BlockQ, shape.SeqQ - qStart);");
                    Visits();
                    _w.Line("int queryVectors = (qCount + TOps.Lanes - 1) / TOps.Lanes;");
                    _w.Line();
                    _w.Line("// 1b. Q and dO of this query block: row-major (for dK, dV) and transposed (for S, dP); Δ and LSE of its rows.");
                    _w.Line(Cpu + "TileLoad.Widen<TOps, TV, " + _in + ">(problem.Forward.Q.Row(b, qStart, h), (nint)problem.Forward.Q.SeqStride, qCount, HeadDim, q, HeadDimPadded, HeadDimPadded);");
                    _w.Line(Cpu + "TileLoad.Widen<TOps, TV, " + _out + ">(problem.DOutput.Row(b, qStart, h), (nint)problem.DOutput.SeqStride, qCount, ValueHeadDim, dO, ValueHeadDimPadded, ValueHeadDimPadded);");
                    LoadQueryBlock();
                    _w.Line();
                    _w.Line("// 1c. P and dS of the tile (shared with pass 2).");
                    using (_w.Block("if (!Tile<TOps, TV>(problem" + BandArgument + CapturedArgument + (Learnable.Count == 0 ? string.Empty : ", default") + ", b, h, qStart, qCount, kStart, kvCount, partialBlock, queryVectors, scratch))"))
                    {
                        _w.Line("continue;");
                    }

                    _w.Line();
                    _w.Line("// 1d. dV += Pᵀ·dO and dK += dSᵀ·Q (the scale is applied once, at the store).");
                    _w.Line(Cpu + "BackwardGemm.Accumulate<TOps, TV>(sT, BlockQ, 1, kvCount, qCount, dO, ValueHeadDimPadded, valueVectors, dV, ValueHeadDimPadded);");
                    _w.Line(Cpu + "BackwardGemm.Accumulate<TOps, TV>(dsT, BlockQ, 1, kvCount, qCount, q, HeadDimPadded, headVectors, dK, HeadDimPadded);");
                }
            }

            _w.Line();
            _w.Line("// 1e. dK = scale·(Σ dSᵀ·Q) and dV, narrowed to " + _plan.Spec.InputType + "; every row of the block is written (zeros where no query looked).");
            using (_w.Block("for (int j = 0; j < kvCount; j++)"))
            {
                _w.Line(Cpu + "BackwardTile.ScaleAndWrite<TOps, TV, " + _in + ">(dK + (j * HeadDimPadded), Scale, problem.DK.Row(b, kStart + j, kvHead), HeadDim);");
                _w.Line(Cpu + "BackwardTile.ScaleAndWrite<TOps, TV, " + _in + ">(dV + (j * ValueHeadDimPadded), 1f, problem.DV.Row(b, kStart + j, kvHead), ValueHeadDim);");
            }
        }
    }

    /// <summary>Pass 1: skip query blocks the forward did not pair with this K/V block; set partialBlock as the forward did.</summary>
    private void Visits()
    {
        _w.Line("// Visit exactly the forward's tiles: the band's K/V blocks for this query block" + (TakesBlockMask ? ", or the block mask's (full ones without element masks)." : "."));
        _w.Line("bool partialBlock = true;");
        if (TakesBlockMask)
        {
            using (_w.Block("if (states is not null)"))
            {
                _w.Line("int row = ((((blockMask!.Batches == 1 ? 0 : b) * blockMask.Heads) + (blockMask.Heads == 1 ? 0 : h)) * blockMask.QueryBlocks) + queryBlock;");
                _w.Line("byte state = states[((long)row * kvBlocks) + kvBlock];");
                using (_w.Block("if (state == " + Cpu + "BackwardBlocks.Skipped)"))
                {
                    _w.Line("continue;");
                }

                _w.Line("partialBlock = state == " + Cpu + "BackwardBlocks.Partial;");
            }

            if (_masked)
            {
                using (_w.Block("else"))
                {
                    BandVisit();
                }
            }
        }
        else if (_masked)
        {
            BandVisit();
        }
    }

    private void BandVisit()
    {
        _w.Line("var (keyFirst, keyEnd) = band.KeyRange(qStart, qStart + qCount, shape.SeqKv);");
        using (_w.Block("if (keyFirst >= keyEnd || kStart < keyFirst / BlockKV * BlockKV || kStart >= keyEnd)"))
        {
            _w.Line("continue;");
        }
    }

    public void QueryBlock()
    {
        _w.Line("/// <summary>Pass 2 for one (batch, query head, query block): dQ over the forward's K/V blocks" + (Learnable.Count > 0 ? ", and the buffer gradients into this item's group partials" : string.Empty) + ".</summary>");
        using (_w.Block("private static void QueryBlock<TOps, TV>(in " + Problem + " problem" + BandParameter + CapturedParameter + StatesParameter + PartialsParameter + ", int queryBlocks, int item, float* delta, float* lse2, float* scratch) " + Constraints))
        {
            _w.Line("var shape = problem.Shape;");
            _w.Line("int queryBlock = queryBlocks - 1 - (item % queryBlocks);");
            _w.Line("int h = item / queryBlocks % shape.HeadsQ, b = item / queryBlocks / shape.HeadsQ, kvHead = h / shape.GroupSize;");
            _w.Line("int qStart = queryBlock * BlockQ, qCount = global::System.Math.Min(BlockQ, shape.SeqQ - qStart);");
            _w.Line("int queryVectors = (qCount + TOps.Lanes - 1) / TOps.Lanes, headVectors = (HeadDim + TOps.Lanes - 1) / TOps.Lanes;");
            Pointers();
            _w.Line("float* dQ = scratch + QueryGradientAt;");
            _w.Line();
            _w.Line("// 2a. Qᵀ, dOᵀ, Δ and LSE of this query block; dQ = 0.");
            LoadQueryBlock();
            _w.Line("new global::System.Span<float>(dQ, BlockQ * HeadDimPadded).Clear();");
            _w.Line();
            ForwardLoop(() =>
            {
                _w.Line("int kvCount = global::System.Math.Min(BlockKV, shape.SeqKv - kStart);");
                _w.Line("// 2b. K and V of this block, P and dS of the tile" + (Learnable.Count > 0 ? " (and the buffer gradients)" : string.Empty) + ", then dQ += dS·K.");
                LoadKeysAndValues();
                using (_w.Block("if (!Tile<TOps, TV>(problem" + BandArgument + CapturedArgument + (Learnable.Count == 0 ? string.Empty : ", partials") + ", b, h, qStart, qCount, kStart, kvCount, partialBlock, queryVectors, scratch))"))
                {
                    _w.Line("continue;");
                }

                _w.Line(Cpu + "BackwardGemm.Accumulate<TOps, TV>(dsT, 1, BlockQ, qCount, kvCount, keys, HeadDimPadded, headVectors, dQ, HeadDimPadded);");
            });
            _w.Line();
            _w.Line("// 2c. dQ = scale·(Σ dS·K), narrowed to " + _plan.Spec.InputType + ".");
            using (_w.Block("for (int i = 0; i < qCount; i++)"))
            {
                _w.Line(Cpu + "BackwardTile.ScaleAndWrite<TOps, TV, " + _in + ">(dQ + (i * HeadDimPadded), Scale, problem.DQ.Row(b, qStart + i, h), HeadDim);");
            }
        }
    }

    /// <summary>The forward's K/V loop for one query block (band range, or the block mask's list), with <paramref name="body"/> inside.</summary>
    private void ForwardLoop(System.Action body)
    {
        string first = _masked ? "firstBlockStart" : "0";
        string end = _masked ? "keyEnd" : "shape.SeqKv";
        if (_masked)
        {
            _w.Line("var (keyFirst, keyEnd) = band.KeyRange(qStart, qStart + qCount, shape.SeqKv);");
            _w.Line("int firstBlockStart = keyFirst < keyEnd ? keyFirst / BlockKV * BlockKV : keyEnd;");
        }

        if (TakesBlockMask)
        {
            _w.Line("// The forward's K/V blocks: the block mask's row (partial ones, then full ones), or the band's blocks, all partial.");
            _w.Line("int blockRow = 0, blockCount, partialBlocks;");
            using (_w.Block("if (blockMask is null)"))
            {
                _w.Line("blockCount = (" + end + " - " + first + " + BlockKV - 1) / BlockKV;");
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

            using (_w.Block("for (int position = 0; position < blockCount; position++)"))
            {
                _w.Line("int kStart = blockMask is null ? " + first + " + (position * BlockKV) : blockMask.Indices.Span[blockRow + position] * BlockKV;");
                _w.Line("bool partialBlock = position < partialBlocks;");
                body();
            }
        }
        else
        {
            using (_w.Block("for (int kStart = " + first + "; kStart < " + end + "; kStart += BlockKV)"))
            {
                _w.Line("const bool partialBlock = true;");
                body();
            }
        }
    }

    private void Pointers()
    {
        _w.Line("float* keys = scratch + KeysAt, values = scratch + ValuesAt, qT = scratch + QueryTransposedAt, dOT = scratch + DOutputTransposedAt;");
        _w.Line("float* sT = scratch + ScoresAt, dsT = scratch + ScoreGradientsAt;");
    }

    private void LoadKeysAndValues()
    {
        _w.Line(Cpu + "TileLoad.Widen<TOps, TV, " + _in + ">(problem.Forward.K.Row(b, kStart, kvHead), (nint)problem.Forward.K.SeqStride, kvCount, HeadDim, keys, HeadDimPadded, HeadDimPadded);");
        _w.Line(Cpu + "TileLoad.Widen<TOps, TV, " + _in + ">(problem.Forward.V.Row(b, kStart, kvHead), (nint)problem.Forward.V.SeqStride, kvCount, ValueHeadDim, values, ValueHeadDimPadded, ValueHeadDimPadded);");
    }

    private void LoadQueryBlock()
    {
        _w.Line(Cpu + "TileLoad.TransposeScaled<TOps, TV, " + _in + ">(problem.Forward.Q.Row(b, qStart, h), (nint)problem.Forward.Q.SeqStride, qCount, HeadDim,");
        _w.Line("    qT, BlockQ, queryVectors * TOps.Lanes, QueryScale, scratch + RowBufferAt);");
        _w.Line(Cpu + "TileLoad.TransposeScaled<TOps, TV, " + _out + ">(problem.DOutput.Row(b, qStart, h), (nint)problem.DOutput.SeqStride, qCount, ValueHeadDim,");
        _w.Line("    dOT, BlockQ, queryVectors * TOps.Lanes, 1f, scratch + RowBufferAt);");
        _w.Line("long rowsAt = ((((long)b * shape.HeadsQ) + h) * shape.SeqQ) + qStart;");
        _w.Line(Cpu + "BackwardTile.LoadRows(delta + rowsAt, lse2 + rowsAt, qCount, queryVectors * TOps.Lanes, scratch + DeltaAt, scratch + Lse2At);");
    }

    public void Tile()
    {
        string partials = Learnable.Count == 0 ? string.Empty : ", Partials partials";
        _w.Line("/// <summary>");
        _w.Line("/// One tile of both passes, from K, V, Qᵀ, dOᵀ, Δ and LSE in scratch: Sᵀ = K·Qᵀ, " + (_score is null ? string.Empty : "the score modifier, ") + "the masks, Pᵀ = exp2(Sᵀ − LSE·log2 e),");
        _w.Line("/// dPᵀ = V·dOᵀ and dSᵀ = Pᵀ ∘ (dPᵀ − Δ)" + (_score is null ? string.Empty : " · ∂" + _score.MethodName + "/∂s") + ". Returns false when the mask modifier kept nothing in the tile.");
        _w.Line("/// </summary>");
        using (_w.Block("private static bool Tile<TOps, TV>(in " + Problem + " problem" + BandParameter + CapturedParameter + partials + ", int b, int h, int qStart, int qCount, int kStart, int kvCount, bool partialBlock, int queryVectors, float* scratch) " + Constraints))
        {
            _w.Line("float* keys = scratch + KeysAt, values = scratch + ValuesAt, qT = scratch + QueryTransposedAt, dOT = scratch + DOutputTransposedAt;");
            _w.Line("float* sT = scratch + ScoresAt, dsT = scratch + ScoreGradientsAt" + (_score is null ? string.Empty : ", raw = scratch + RawScoresAt") + ";");
            _w.Line(Cpu + "TileGemm.Scores<TOps, TV>(keys, HeadDimPadded, kvCount, qT, BlockQ, HeadDim, queryVectors, sT, BlockQ);");
            if (_score is not null || _mask is not null)
            {
                Modifiers();
            }

            if (_masked)
            {
                BandMask();
            }

            _w.Line(Cpu + "BackwardTile.Probabilities<TOps, TV>(sT, BlockQ, kvCount, queryVectors, scratch + Lse2At);");
            _w.Line(Cpu + "TileGemm.Scores<TOps, TV>(values, ValueHeadDimPadded, kvCount, dOT, BlockQ, ValueHeadDim, queryVectors, dsT, BlockQ);");
            _w.Line(Cpu + "BackwardTile.ScoreGradient<TOps, TV>(sT, dsT, BlockQ, kvCount, queryVectors, scratch + DeltaAt);");
            if (_score is not null)
            {
                ModifierBackward();
            }

            _w.Line("return true;");
        }
    }

    private void Modifiers()
    {
        var score = _score;
        var mask = _mask;
        string scoreCall = score is null ? string.Empty : "ScoreModifier(row[i], b, h, qStart + i, key" + BufferArguments(score) + ") * Log2E";
        _w.Line("// Modifiers, as in the forward: " + (score is null ? string.Empty : "S = " + score.MethodName + "(s)·log2 e (the natural score s kept for its derivative)") + (score is not null && mask is not null ? "; " : string.Empty)
                + (mask is null ? string.Empty : "pairs " + mask.MethodName + " drops get −∞ (partial blocks only)") + ".");
        if (mask is not null)
        {
            _w.Line("bool keptAny = !partialBlock;");
        }

        using (_w.Block("for (int j = 0; j < kvCount; j++)"))
        {
            _w.Line("float* row = sT + (j * BlockQ);");
            if (score is not null)
            {
                _w.Line("float* rawRow = raw + (j * BlockQ);");
            }

            _w.Line("int key = kStart + j;");
            using (_w.Block("for (int i = 0; i < qCount; i++)"))
            {
                if (mask is not null)
                {
                    _w.Line("bool keep = !partialBlock || __CpuKernel.MaskModifier(b, h, qStart + i, key" + BufferArguments(mask) + ");");
                    _w.Line("keptAny |= keep;");
                }

                if (score is not null)
                {
                    _w.Line("rawRow[i] = row[i];");
                    _w.Line(mask is null ? "row[i] = " + scoreCall + ";" : "row[i] = keep ? " + scoreCall + " : float.NegativeInfinity;");
                }
                else
                {
                    using (_w.Block("if (!keep)"))
                    {
                        _w.Line("row[i] = float.NegativeInfinity;");
                    }
                }
            }
        }

        if (mask is not null)
        {
            using (_w.Block("if (!keptAny)"))
            {
                _w.Line("return false;");
            }
        }
    }

    private void BandMask()
    {
        _w.Line("// The band's element mask, on tiles that straddle its edge (as in the forward).");
        CpuTileStages.BandMaskOnConsecutiveQueries(_w, _plan.Spec.Mask, TakesBlockMask);
    }

    private void ModifierBackward()
    {
        var score = _score!;
        bool learnable = Learnable.Count > 0;
        _w.Line("// dS through the score modifier: dS·∂" + score.MethodName + "/∂s at the natural score (pairs with dS = 0, masked ones included, are skipped)" + (learnable ? "; in pass 2 also the learnable buffers' gradients." : "."));
        using (_w.Block("for (int j = 0; j < kvCount; j++)"))
        {
            _w.Line("float* dsRow = dsT + (j * BlockQ), rawRow = raw + (j * BlockQ);");
            _w.Line("int key = kStart + j;");
            using (_w.Block("for (int i = 0; i < qCount; i++)"))
            {
                using (_w.Block("if (dsRow[i] != 0f)"))
                {
                    string args = "rawRow[i], b, h, qStart + i, key" + BufferArguments(score) + ", dsRow[i]";
                    if (learnable)
                    {
                        string gradients = string.Concat(score.Buffers.Where(b => b.Learnable).Select(b => ", partials." + ModifierBackwardWriter.GradientName(b)));
                        _w.Line("dsRow[i] = partials.IsPresent ? ScoreModifierBackward(" + args + gradients + ") : ScoreModifierGradient(" + args + ");");
                    }
                    else
                    {
                        _w.Line("dsRow[i] = ScoreModifierGradient(" + args + ");");
                    }
                }
            }
        }
    }

    /// <summary>The score modifier (as the forward compiles it) and its backward, from the IR.</summary>
    public void ModifierMethods()
    {
        if (_score is null)
        {
            return;
        }

        var writer = ExprCSharpWriter.Kernel;
        _w.Line();
        _w.Line("/// <summary>The [ScoreMod] method " + _score.MethodName + ", compiled from its body (as in the forward kernel).</summary>");
        _w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
        using (_w.Block("private static float ScoreModifier(" + writer.Parameters(_score) + ")"))
        {
            writer.Body(_w, _score.Body);
        }

        _w.Line();
        _w.Line("/// <summary>gradient · ∂" + _score.MethodName + "/∂score, differentiated symbolically from its body.</summary>");
        ModifierBackwardWriter.Method(_w, _score, writer, "private static float ScoreModifierGradient", reference: false, buffers: false);
        if (Learnable.Count > 0)
        {
            _w.Line();
            _w.Line("/// <summary>As ScoreModifierGradient, and adds gradient · ∂" + _score.MethodName + "/∂buffer[i] into the learnable buffers' partials.</summary>");
            ModifierBackwardWriter.Method(_w, _score, writer, "private static float ScoreModifierBackward", reference: false);
        }
    }

    /// <summary>The learnable buffers' outputs (pinned by Backward) and one group's float64 partials.</summary>
    public void GradientStructs()
    {
        if (Learnable.Count == 0)
        {
            return;
        }

        _w.Line();
        _w.Line("/// <summary>The learnable buffers' gradient outputs of this call, pinned by Backward, with their lengths.</summary>");
        using (_w.Block("internal readonly struct Gradients"))
        {
            foreach (var buffer in Learnable)
            {
                _w.Line("public readonly float* " + buffer.Name + ";");
                _w.Line("public readonly int " + buffer.Name + "Length;");
            }

            _w.Line();
            using (_w.Block("public Gradients(" + string.Join(", ", Learnable.Select(b => "float* " + b.Name + ", int " + b.Name + "Length")) + ")"))
            {
                foreach (var buffer in Learnable)
                {
                    _w.Line("this." + buffer.Name + " = " + buffer.Name + ";");
                    _w.Line("this." + buffer.Name + "Length = " + buffer.Name + "Length;");
                }
            }
        }

        _w.Line();
        _w.Line("/// <summary>One work group's float64 partial gradients (default in pass 1, which adds none).</summary>");
        using (_w.Block("private readonly struct Partials"))
        {
            foreach (var buffer in Learnable)
            {
                _w.Line("public readonly double* " + ModifierBackwardWriter.GradientName(buffer) + ";");
            }

            _w.Line();
            using (_w.Block("public Partials(" + string.Join(", ", Learnable.Select(b => "double* " + ModifierBackwardWriter.GradientName(b))) + ")"))
            {
                foreach (var buffer in Learnable)
                {
                    _w.Line("this." + ModifierBackwardWriter.GradientName(buffer) + " = " + ModifierBackwardWriter.GradientName(buffer) + ";");
                }
            }

            _w.Line();
            _w.Line("public bool IsPresent => " + ModifierBackwardWriter.GradientName(Learnable[0]) + " != null;");
        }
    }

    private static string Invariant(System.FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The backward's fp32 scratch per worker: every buffer of both passes, each on a 64-byte line.</summary>
internal sealed class BackwardScratch
{
    private BackwardScratch(int headDimPadded, int valueHeadDimPadded, List<(string, int, string)> buffers, int total)
    {
        HeadDimPadded = headDimPadded;
        ValueHeadDimPadded = valueHeadDimPadded;
        Buffers = buffers;
        TotalFloats = total;
    }

    public int HeadDimPadded { get; }

    public int ValueHeadDimPadded { get; }

    public IReadOnlyList<(string Name, int Offset, string Comment)> Buffers { get; }

    public int TotalFloats { get; }

    public static BackwardScratch For(int headDim, int valueHeadDim, int blockQ, int blockKV, bool rawScores)
    {
        int Pad(int n) => (n + 15) / 16 * 16;
        int d = Pad(headDim), dv = Pad(valueHeadDim);
        var buffers = new List<(string, int, string)>();
        int at = 0;
        void Add(string name, int floats, string comment)
        {
            buffers.Add((name, at, comment));
            at += Pad(floats);
        }

        Add("Keys", blockKV * d, "K [BlockKV][HeadDimPadded], widened");
        Add("Values", blockKV * dv, "V [BlockKV][ValueHeadDimPadded], widened");
        Add("Query", blockQ * d, "Q [BlockQ][HeadDimPadded] (pass 1)");
        Add("QueryTransposed", headDim * blockQ, "Qᵀ [HeadDim][BlockQ], pre-scaled");
        Add("DOutput", blockQ * dv, "dO [BlockQ][ValueHeadDimPadded] (pass 1)");
        Add("DOutputTransposed", valueHeadDim * blockQ, "dOᵀ [ValueHeadDim][BlockQ]");
        Add("Scores", blockKV * blockQ, "Sᵀ then Pᵀ [BlockKV][BlockQ]");
        Add("ScoreGradients", blockKV * blockQ, "dPᵀ then dSᵀ [BlockKV][BlockQ]");
        if (rawScores)
        {
            Add("RawScores", blockKV * blockQ, "natural scores s before the score modifier [BlockKV][BlockQ]");
        }

        Add("KeyGradient", blockKV * d, "dK accumulator [BlockKV][HeadDimPadded] (pass 1)");
        Add("ValueGradient", blockKV * dv, "dV accumulator [BlockKV][ValueHeadDimPadded] (pass 1)");
        Add("QueryGradient", blockQ * d, "dQ accumulator [BlockQ][HeadDimPadded] (pass 2)");
        Add("Delta", blockQ, "Δ of the query block's rows");
        Add("Lse2", blockQ, "LSE·log2 e of the query block's rows");
        Add("RowBuffer", 2 * System.Math.Max(d, dv), "one or two widened rows");
        return new BackwardScratch(d, dv, buffers, at);
    }
}
