using System;
using System.IO;
using System.Linq;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// C# names may be any Unicode letter; the driver's PTX JIT takes ASCII only (the emitter once threw on
/// <c>namespace Modèles</c>). Every non-ASCII unit in the PTX is escaped as <c>$uXXXX</c>, names and comments alike.
/// </summary>
public sealed class NonAsciiNameTests
{
    private static readonly CapturedBuffer Pénalité = new("pénalité", ExprType.Float, new[] { "Hq" }.ToEquatableArray());

    /// <summary><c>namespace Modèles; class Größe { [ScoreMod] Bïas(score, h, [Captured("Hq")] pénalité) { var écart = pénalité[h]; return score - écart; } [MaskMod] Gardé(q, kv) => q >= kv; }</c></summary>
    private static AttentionSpec Spec(ElementType dtype) =>
        Specs.Make(64, null, dtype, MaskSpec.None, lse: true) with
        {
            Target = new TargetType("Modèles", EquatableArray<ContainingType>.Empty, "Größe", "class", true),
            ScoreModifier = Modifiers.ScoreMod("Bïas",
                Modifiers.Bin(BinaryOperator.Subtract, Modifiers.Score, new LocalExpr("écart", ExprType.Float)),
                new LocalBinding("écart", new BufferReadExpr(Pénalité.Name, Modifiers.H, ExprType.Float))) with { Buffers = new[] { Pénalité }.ToEquatableArray() },
            MaskModifier = Modifiers.MaskMod("Gardé", Modifiers.Bin(BinaryOperator.GreaterOrEqual, Modifiers.Q, Modifiers.Kv)),
        };

    [Theory]
    [InlineData(ElementType.FP16)]
    [InlineData(ElementType.BF16)]
    public void Every_kernel_of_a_non_ascii_spec_is_ascii_with_escaped_names(ElementType dtype)
    {
        var plan = Planner.Plan(Spec(dtype)).Plan!;
        foreach (string ptx in new[] { PtxEmitter.PtxFor(plan)!, (plan.GpuKernel(GpuFamily.Sm90a) is { } sm90a ? PtxEmitter.PtxFor(plan, sm90a) : null), BlockMaskPtx.PtxFor(plan)! }.Where(text => text is not null).Select(text => text!))
        {
            ptx.ShouldAllBe(c => c < 128);
            ptx.ShouldContain("Mod$u00e8les.Gr$u00f6$u00dfe");
        }

        PtxEmitter.PtxFor(plan)!.ShouldContain("B$u00efas"); // the score modifier's name, in a stage comment
    }

    [Fact]
    public void Escaping_leaves_ascii_text_as_it_is_and_escapes_each_utf16_unit() =>
        (PtxAscii.Escape("add.f32 %r1, %r2;") + "|" + PtxAscii.Escape("é😀")).ShouldBe("add.f32 %r1, %r2;|$u00e9$ud83d$ude00");

    [Fact]
    public void A_non_ascii_spec_assembles_with_ptxas()
    {
        if (PtxTools.Ptxas is null)
        {
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("KDSL_REQUIRE_PTXAS"));
            Assert.Skip(PtxTools.MissingReason);
        }

        string dir = Path.Combine(Path.GetTempPath(), "kdsl-nonascii-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            var plan = Planner.Plan(Spec(ElementType.BF16)).Plan!;
            foreach (var (name, ptx) in new[] { ("forward", PtxEmitter.PtxFor(plan)!), ("blockmask", BlockMaskPtx.PtxFor(plan)!) })
            {
                string path = Path.Combine(dir, name + ".ptx");
                File.WriteAllText(path, ptx);
                var (code, output) = PtxTools.Run(PtxTools.Ptxas, $"-arch=sm_80 \"{path}\" -o \"{Path.Combine(dir, name + ".cubin")}\"");
                code.ShouldBe(0, output);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
