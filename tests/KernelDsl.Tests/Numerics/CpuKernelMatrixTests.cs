using System;
using System.Collections.Generic;
using System.Linq;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Numerics;

/// <summary>
/// Every spec of the matrix (precision × layout × mask × head dim, plus the extra specs), compiled by the
/// generator and run on the CPU against the float64 reference over MHA, GQA and MQA shapes with Sq ≠ Skv,
/// sizes that are not tile multiples, several tiles each way, fully masked rows and large magnitudes.
/// </summary>
public sealed class CpuKernelMatrixTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, MatrixCase> Cases =
        MatrixSpecs.All.Concat(ExtraSpecs.All).ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    /// <summary>(label, batch, Sq, Skv, Hq, Hkv, input magnitude).</summary>
    private static readonly (string Label, int Batch, int SeqQ, int SeqKv, int HeadsQ, int HeadsKv, float Magnitude)[] Shapes =
    [
        ("MHA", 1, 37, 91, 2, 2, 1f),
        ("GQA", 2, 70, 45, 4, 2, 1f),      // Sq > Skv: bottom-right masks leave rows 0..24 with no key
        ("MQA", 1, 37, 91, 3, 1, 1f),
        ("MQA multi-tile", 1, 200, 333, 2, 1, 1f),
        ("GQA large magnitude", 1, 70, 150, 4, 2, 8f),
    ];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesFloat64Reference(string name)
    {
        var spec = Cases[name];
        int seed = Random.Shared.Next();
        output.WriteLine($"{name}: seed {seed}");
        foreach (var (label, batch, seqQ, seqKv, headsQ, headsKv, magnitude) in Shapes)
        {
            var shape = new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, spec.HeadDim, spec.ValueHeadDim);
            bool large = magnitude > 1;
            var result = spec.Run(shape, seed, magnitude);
            output.WriteLine($"  {label,-20} {shape}: relative error {result.OutputError:E2}" +
                             (spec.WritesLse ? $", LSE max error {result.LseError:E2}" : string.Empty) +
                             (result.EmptyRows > 0 ? $", {result.EmptyRows} rows with no key" : string.Empty));

            double.IsNaN(result.OutputError).ShouldBeFalse($"{label}: NaN in the output (seed {seed})");
            result.OutputError.ShouldBeLessThan(Tolerances.Output(spec.OutputType, large), $"{label} (seed {seed})");
            result.LseError.ShouldBeLessThan(Tolerances.Lse(large), $"{label} LSE (seed {seed})");
            result.EmptyRowsExact.ShouldBeTrue($"{label}: rows with no kept key must be exactly 0 with LSE −∞ (seed {seed})");
        }
    }

    [Fact]
    public void MatrixCoversEveryCombination()
    {
        MatrixSpecs.All.Length.ShouldBe(3 * 2 * 4 * 5);
        MatrixSpecs.All.Select(c => (c.Precision, c.Layout, c.Mask, c.Alignment, c.HeadDim)).Distinct().Count().ShouldBe(120);
    }

    [Fact]
    public void FullyMaskedRowsAreExercised()
    {
        // Bottom-right causal with Sq > Skv must leave query rows without keys, or the empty-row checks test nothing.
        var spec = Cases["Fp32BshdCausalBottomRightD64"];
        var result = spec.Run(new AttentionShape(2, 70, 45, 4, 2, 64, 64), Random.Shared.Next(), 1f);
        result.EmptyRows.ShouldBe(2 * 4 * 25);
        result.EmptyRowsExact.ShouldBeTrue();
    }
}
