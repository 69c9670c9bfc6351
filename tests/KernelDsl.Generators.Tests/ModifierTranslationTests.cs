using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// Each supported modifier construct, through the whole generator: no diagnostics, the output compiles without
/// warnings, and the C# written from the IR — the kernel's float method and the float64 reference — matches its
/// approved snapshot (Snapshots/Modifier.{name}.approved.txt; re-approval as in <see cref="Snapshot"/>).
/// </summary>
public sealed class ModifierTranslationTests
{
    private const string Header = "using System;\nusing KernelDsl;\n[Attention(HeadDim = 64)]\npublic static partial class S\n{\n";

    public static TheoryData<string, string> Constructs { get; } = new()
    {
        { "Arithmetic", "[ScoreMod] static float M(float score, int q, int kv) => score * 2f - score / 3f + (q - kv) % 5 * 0.5f;" },
        { "ParametersAnyOrderAndSubset", "[ScoreMod] static float M(int kv, float score, int b, int h, int q) => score + b + h + q + kv;" },
        { "Comparisons", "[MaskMod] static bool K(int q, int kv) => q < kv == q <= kv != q > kv && q >= kv;" },
        { "Logic", "[MaskMod] static bool K(int b, int h, int q, int kv) => !(q < 3) || (kv > 2 && h != b);" },
        { "Conditional", "[ScoreMod] static float M(float score, int q, int kv) => q >= kv ? score : float.NegativeInfinity;" },
        { "CastsAndPromotions", "[ScoreMod] static float M(float score, int q, int kv) => (float)((double)score * 0.5 + (int)(score * 3f) + q / 2 + 1.5 * kv);" },
        { "ConstFieldsAndLocalsFold", "const float Cap = 30f;\n    const int Shift = 2 * 3;\n    [ScoreMod] static float M(float score, int q) { const float Half = Cap / 2; return score * Half + (q + Shift) + MathF.PI; }" },
        { "MathFunctionsFloat", "[ScoreMod] static float M(float score) => MathF.Abs(score) + MathF.Min(score, 1f) + MathF.Max(score, -1f) + MathF.Exp(score) + MathF.Log(2f + score * score) + MathF.Tanh(score) + MathF.Sqrt(1f + score * score) + MathF.Floor(score) + MathF.Ceiling(score) + MathF.Pow(score, 2f);" },
        { "MathFunctionsDoubleAndInt", "[ScoreMod] static float M(float score, int q, int kv) => (float)(Math.Tanh(score) + Math.Pow(2.0, -q)) + Math.Abs(q - kv) + Math.Min(q, kv) + Math.Max(q, 3);" },
        { "Locals", "[ScoreMod] static float M(float score, int h, int q, int kv) { var distance = q - kv; float slope = MathF.Pow(2f, -8f * (h + 1) / 8); float unused = score; return score - slope * distance; }" },
        { "NegativeAndSpecialConstants", "[ScoreMod] static float M(float score) => -score + -1f + (-2) + float.MaxValue * 0f + (score > 1e30f ? float.PositiveInfinity : 0f);" },
    };

    [Theory]
    [MemberData(nameof(Constructs))]
    public void Supported_construct_compiles_to_the_approved_csharp(string name, string member)
    {
        var (result, output) = GeneratorHarness.RunWithOutput(Header + "    " + member + "\n}\n");
        result.Diagnostics.ShouldBeEmpty();
        output.GetDiagnostics()
            .Where(diagnostic => diagnostic.Severity >= DiagnosticSeverity.Warning)
            .Select(diagnostic => diagnostic.ToString())
            .ShouldBeEmpty();

        var files = result.Results.Single().GeneratedSources;
        string kernel = files.Single(file => file.HintName == "S.Cpu.g.cs").SourceText.ToString();
        string reference = files.Single(file => file.HintName == "S.Modifiers.g.cs").SourceText.ToString();
        int methods = kernel.IndexOf("    /// <summary>The [", System.StringComparison.Ordinal);
        methods.ShouldBePositive();
        Snapshot.Match("// kernel (float)\n" + kernel.Substring(methods) + "\n// reference (double)\n" + reference, "Modifier." + name);
    }

    [Fact]
    public void A_spec_without_modifiers_gets_no_modifier_file_and_no_modifier_code()
    {
        var files = GeneratorHarness.Run(Header + "}\n").Results.Single().GeneratedSources;
        files.ShouldNotContain(file => file.HintName.Contains("Modifiers"));
        files.Single(file => file.HintName == "S.Cpu.g.cs").SourceText.ToString().ShouldNotContain("Modifier");
    }

    [Fact]
    public void Modifiers_are_part_of_the_spec_model()
    {
        var model = GeneratorHarness.Model(Header + "    [ScoreMod] static float M(float score) => score * 2f;\n    [MaskMod] static bool K(int q, int kv) => q >= kv;\n}\n");
        model.Spec!.ScoreModifier!.MethodName.ShouldBe("M");
        model.Spec.MaskModifier!.MethodName.ShouldBe("K");
        GeneratorHarness.Model(Header + "    [ScoreMod] static float M(float score) => score * 2f;\n    [MaskMod] static bool K(int q, int kv) => q >= kv;\n}\n")
            .Spec.ShouldBe(model.Spec);
    }
}
