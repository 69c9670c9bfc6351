using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Samples.Library;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// The ready-made specs of samples/SpecLibrary/Library (compiled into this project) on the CPU against the float64
/// reference evaluating the same modifiers: fresh random inputs (seed printed), NaN-poisoned outputs, GQA, odd
/// sizes, Sq ≠ Skv, and a shape long enough for every pattern to leave whole blocks empty.
/// </summary>
public sealed class LibrarySpecTests(ITestOutputHelper output)
{
    private const MaskKind None = MaskKind.None;
    private const MaskKind Causal = MaskKind.Causal;

    private static readonly Dictionary<string, MatrixCase> Cases = new MatrixCase[]
    {
        Spec("SoftcapAttention", Causal, SoftcapAttention.ScoreModifierReference, null, (q, k, v, o, lse, s) => SoftcapAttention.Forward(q, k, v, o, lse, s)),
        Spec("PrefixLmAttention", None, null, PrefixLmAttention.MaskModifierReference, (q, k, v, o, lse, s) => PrefixLmAttention.Forward(q, k, v, o, lse, s)),
        Spec("SlidingWindowGlobalAttention", None, null, SlidingWindowGlobalAttention.MaskModifierReference, (q, k, v, o, lse, s) => SlidingWindowGlobalAttention.Forward(q, k, v, o, lse, s)),
        Spec("StridedSparseAttention", Causal, null, StridedSparseAttention.MaskModifierReference, (q, k, v, o, lse, s) => StridedSparseAttention.Forward(q, k, v, o, lse, s)),
    }.ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    /// <summary>(label, batch, Sq, Skv, Hq, Hkv).</summary>
    private static readonly (string Label, int Batch, int SeqQ, int SeqKv, int HeadsQ, int HeadsKv)[] Shapes =
    [
        ("GQA odd", 2, 70, 91, 4, 2),
        ("Sq > Skv", 1, 333, 200, 2, 1),
        ("long", 1, 700, 700, 2, 2),
    ];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesFloat64Reference(string name)
    {
        var spec = Cases[name];
        int seed = Random.Shared.Next();
        output.WriteLine($"{name}: seed {seed}");
        foreach (var (label, batch, seqQ, seqKv, headsQ, headsKv) in Shapes)
        {
            var shape = new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, 64, 64);
            var result = spec.Run(shape, seed, 1f);
            output.WriteLine($"  {label,-10} {shape}: relative error {result.OutputError:E2}, LSE max error {result.LseError:E2}");
            double.IsNaN(result.OutputError).ShouldBeFalse($"{label}: NaN in the output (seed {seed})");
            result.OutputError.ShouldBeLessThan(Tolerances.Output(DType.BF16, false), $"{label} (seed {seed})");
            result.LseError.ShouldBeLessThan(Tolerances.Lse(false), $"{label} LSE (seed {seed})");
            result.EmptyRowsExact.ShouldBeTrue($"{label}: rows with no kept key must be exactly 0 with LSE −∞ (seed {seed})");
        }
    }

    private static MatrixCase Spec(string name, MaskKind mask, Func<double, int, int, int, int, double>? score, Func<int, int, int, int, bool>? keep, ForwardSpans<BFloat16, BFloat16> forward) =>
        new MatrixCase<BFloat16, BFloat16>(name, DType.BF16, TensorLayout.BSHD, mask, mask == Causal ? MaskAlignment.BottomRight : MaskAlignment.Unspecified, -1, mask == Causal ? 0 : -1, 64, 64, true, forward)
        { ScoreMod = score, MaskMod = keep };
}
