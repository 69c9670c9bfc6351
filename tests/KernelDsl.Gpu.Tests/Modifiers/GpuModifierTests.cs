using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// The modifier library (GpuModifierSpecs) on the GPU through the generated device Forward, against the float64
/// reference evaluating the same modifiers: fresh random inputs (seed printed), NaN-poisoned outputs, GQA/MQA,
/// Sq ≠ Skv, odd sizes, several tiles each way, and rows a mask modifier leaves with no key (zeros, LSE −∞).
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuModifierTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, GpuCase> Cases = GpuModifierSpecs.All.ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    /// <summary>(label, batch, Sq, Skv, Hq, Hkv, input magnitude).</summary>
    private static readonly (string Label, int Batch, int SeqQ, int SeqKv, int HeadsQ, int HeadsKv, float Magnitude)[] Shapes =
    [
        ("GQA", 2, 70, 91, 4, 2, 1f),
        ("MHA multi-tile", 1, 300, 517, 2, 2, 1f),
        ("MQA large magnitude", 1, 150, 150, 4, 1, 4f),
    ];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesFloat64ReferenceWithTheSameModifiers(string name)
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var spec = Cases[name];
        int seed = Random.Shared.Next();
        output.WriteLine($"{name} on {Cuda.Cuda.GetDevice()}: seed {seed}");
        foreach (var (label, batch, seqQ, seqKv, headsQ, headsKv, magnitude) in Shapes)
        {
            var shape = new AttentionShape(batch, seqQ, seqKv, headsQ, headsKv, spec.HeadDim, spec.HeadDim);
            var result = spec.Run(shape, seed, magnitude);
            output.WriteLine($"  {label,-20} {shape}: relative error {result.OutputError:E2}, LSE max error {result.LseError:E2}" +
                             (result.EmptyRows > 0 ? $", {result.EmptyRows} rows with no key" : string.Empty));

            double.IsNaN(result.OutputError).ShouldBeFalse($"{label}: NaN in the output (seed {seed})");
            result.OutputError.ShouldBeLessThan(GpuTolerances.Output(spec.InputIsBf16), $"{label} (seed {seed})");
            // ALiBi scores reach slope·|q − kv| ≈ 150 and softcap bends them by tanh.approx: the LSE of such rows
            // carries absolute errors like large-magnitude inputs do, so it gets their bound.
            result.LseError.ShouldBeLessThan(GpuTolerances.Lse(Math.Max(magnitude, spec.ScoreMod is null ? 1f : 8f)), $"{label} LSE (seed {seed})");
            result.EmptyRowsExact.ShouldBeTrue($"{label}: rows with no kept key must be exactly 0 with LSE −∞ (seed {seed})");
        }
    }

    [Fact]
    public void RowsFullyMaskedByTheModifierAreExercised()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");

        // q % 4 == 1 keeps nothing: 70 rows → 18 such rows per (batch, head).
        var result = Cases["GpuEmptyRowsSoftcapBf16D64"].Run(new AttentionShape(2, 70, 91, 4, 2, 64, 64), Random.Shared.Next(), 1f);
        result.EmptyRows.ShouldBe(2 * 4 * 18);
        result.EmptyRowsExact.ShouldBeTrue();
    }
}
