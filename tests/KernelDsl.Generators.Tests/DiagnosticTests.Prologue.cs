using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>The fused decode prologue's diagnostics (KDSL0042–KDSL0046, issue 12: rotary and KV append in [Fusion]), each at its exact span.</summary>
public sealed partial class DiagnosticTests
{
    private const string Paged = "[Attention(HeadDim = 64)]\n[PagedKv]\n";

    [Theory]
    [InlineData(31, "pairs")]
    [InlineData(0, "positive")]
    [InlineData(-2, "positive")]
    [InlineData(66, "larger than HeadDim = 64")]
    public void KDSL0042_bad_rotary_dim_is_reported_at_the_argument(int value, string why)
    {
        var diagnostic = DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, Rotary = RotaryConvention.HalfSplit, [|RotaryDim = " + value + "|])]\npublic static partial class S;", "KDSL0042").Single();
        diagnostic.GetMessage().ShouldContain(why);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-10000")]
    [InlineData("double.PositiveInfinity")]
    [InlineData("double.NaN")]
    public void KDSL0043_bad_rotary_base_is_reported_at_the_argument(string value) =>
        DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, Rotary = RotaryConvention.Interleaved, [|RotaryBase = " + value + "|])]\npublic static partial class S;", "KDSL0043");

    [Theory]
    [InlineData("RotaryDim = 32")]
    [InlineData("RotaryBase = 500000")]
    public void KDSL0044_rotary_option_without_a_convention_is_reported_at_the_option(string option)
    {
        var diagnostic = DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, [|" + option + "|])]\npublic static partial class S;", "KDSL0044").Single();
        diagnostic.GetMessage().ShouldContain("RotaryConvention.HalfSplit");
    }

    [Theory]
    [InlineData("AppendKv = true")]
    [InlineData("Rotary = RotaryConvention.HalfSplit")]
    public void KDSL0045_prologue_option_without_paged_kv_is_reported_at_the_option(string option)
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Varlen]\n[Fusion([|" + option + "|])]\npublic static partial class S;", "KDSL0045").Single();
        diagnostic.GetMessage().ShouldContain("[PagedKv]");
    }

    [Fact]
    public void KDSL0045_on_a_dense_spec_names_both_options_at_their_own_spans() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Fusion([|AppendKv = true|], [|Rotary = RotaryConvention.Interleaved|])]\npublic static partial class S;", "KDSL0045", "KDSL0045");

    [Theory]
    [InlineData("")]
    [InlineData(", AppendKv = false")]
    public void KDSL0046_rotary_without_append_is_reported_at_rotary(string append) =>
        DiagnosticAssert.Expect(Using + Paged + "[Fusion([|Rotary = RotaryConvention.HalfSplit|]" + append + ")]\npublic static partial class S;", "KDSL0046");

    [Fact]
    public void KDSL0010_rotary_convention_out_of_range_is_an_invalid_argument() =>
        DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, [|Rotary = (RotaryConvention)7|])]\npublic static partial class S;", "KDSL0010");

    [Fact]
    public void Valid_prologues_report_nothing()
    {
        DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true)]\npublic static partial class S;");
        DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, Rotary = RotaryConvention.Interleaved)]\npublic static partial class S;");
        DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, Rotary = RotaryConvention.HalfSplit, RotaryDim = 64, RotaryBase = 500000)]\npublic static partial class S;");
        DiagnosticAssert.Expect(Using + Paged + "[Fusion(AppendKv = true, Rotary = RotaryConvention.HalfSplit, RotaryDim = 2, RotaryBase = 0.5)]\npublic static partial class S;");
    }
}
