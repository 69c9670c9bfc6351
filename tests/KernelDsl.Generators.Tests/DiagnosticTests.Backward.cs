using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>The training diagnostics (KDSL0033–KDSL0037, issue 10), each at its exact span.</summary>
public sealed partial class DiagnosticTests
{
    private const string BackwardSpec = "using System;\nusing KernelDsl;\n[Attention(HeadDim = 64)]\n[Backward]\npublic static partial class S\n{\n";

    private static string BackwardScore(string body, string parameters = "float score, int b, int h, int q, int kv") =>
        BackwardSpec + "    [ScoreMod] static float M(" + parameters + ")\n    " + body + "\n}\n";

    [Fact]
    public void KDSL0033_backward_with_write_lse_false_is_reported_at_the_argument()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Fusion([|WriteLse = false|])]\n[Backward]\npublic static partial class S;", "KDSL0033").Single();
        diagnostic.GetMessage().ShouldContain("WriteLse = false");
    }

    [Fact]
    public void KDSL0033_is_not_reported_when_write_lse_is_left_out_or_true()
    {
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Fusion(OutputType = DType.FP32)]\n[Backward]\npublic static partial class S;");
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Fusion(WriteLse = true)]\n[Backward(Deterministic = true)]\npublic static partial class S;");
    }

    [Fact]
    public void KDSL0034_learnable_int_buffer_is_reported_at_learnable()
    {
        var diagnostic = DiagnosticAssert.Expect(
            BackwardScore("=> score + table[kv];", "float score, int kv, [Captured(\"Skv\", [|Learnable = true|])] ReadOnlySpan<int> table"), "KDSL0034").Single();
        diagnostic.GetMessage().ShouldContain("'table'");
    }

    [Fact]
    public void KDSL0035_learnable_buffer_without_backward_is_reported_at_learnable()
    {
        var diagnostic = DiagnosticAssert.Expect(
            Score("=> score - slopes[h];", "float score, int h, [Captured(\"Hq\", [|Learnable = true|])] ReadOnlySpan<float> slopes"), "KDSL0035").Single();
        diagnostic.GetMessage().ShouldContain("add [Backward]");
    }

    [Fact]
    public void KDSL0036_learnable_buffer_in_a_mask_modifier_is_reported_at_learnable()
    {
        var diagnostic = DiagnosticAssert.Expect(
            BackwardSpec + "    [MaskMod] static bool K(int q, int kv, [Captured(\"Skv\", [|Learnable = true|])] ReadOnlySpan<float> gate) => gate[kv] > 0f;\n}\n",
            "KDSL0036").Single();
        diagnostic.GetMessage().ShouldContain("mask modifier 'K'");
    }

    [Theory]
    [InlineData("=> score + [|MathF.Floor(score)|];", "rounds (Floor)")]
    [InlineData("=> score * [|MathF.Ceiling(score / 2f)|];", "rounds (Ceiling)")]
    [InlineData("=> [|(float)(int)score|];", "converts a value that depends on the score to int")]
    [InlineData("{ int bucket = (int)(score * 4f); return score + [|(float)bucket|]; }", "converts a value that depends on the score to int")]
    [InlineData("=> [|3f % score|];", "float remainder whose divisor")]
    public void KDSL0037_piecewise_constant_use_of_the_score_is_reported_at_its_syntax(string body, string reason)
    {
        var diagnostic = DiagnosticAssert.Expect(BackwardScore(body), "KDSL0037").Single();
        diagnostic.GetMessage().ShouldContain(reason);
    }

    [Fact]
    public void KDSL0037_buffer_read_at_a_score_dependent_index_is_reported_at_the_read() =>
        DiagnosticAssert.Expect(
            BackwardScore("=> score + [|bias[(int)(score * 2f)]|];", "float score, [Captured(\"8\")] ReadOnlySpan<float> bias"), "KDSL0037");

    [Fact]
    public void KDSL0037_is_not_reported_without_backward_or_for_differentiable_kinks()
    {
        DiagnosticAssert.Expect(Score("=> MathF.Floor(score);"));
        DiagnosticAssert.Expect(BackwardScore("=> MathF.Floor(score) > 1f ? MathF.Abs(score) : MathF.Max(score, MathF.Min(score, 0f)) + MathF.Floor((float)q);"));
    }

    [Fact]
    public void KDSL0028_buffer_named_like_a_learnable_buffers_gradient_is_reported_at_its_name()
    {
        var diagnostic = DiagnosticAssert.Expect(
            BackwardScore("=> score - slopes[h] * slopesGradient[h];", "float score, int h, [Captured(\"Hq\", Learnable = true)] ReadOnlySpan<float> slopes, [Captured(\"Hq\")] ReadOnlySpan<float> [|slopesGradient|]"),
            "KDSL0028").Single();
        diagnostic.GetMessage().ShouldContain("gradient of the learnable buffer 'slopes'");
    }
}
