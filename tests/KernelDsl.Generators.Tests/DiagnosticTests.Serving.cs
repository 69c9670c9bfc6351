using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>The serving diagnostics (KDSL0038–KDSL0041, issue 11), each at its exact span.</summary>
public sealed partial class DiagnosticTests
{
    private const string ServingUsing = "using System;\nusing KernelDsl;\n";

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    [InlineData(-1)]
    public void KDSL0038_max_queries_outside_1_to_16_is_reported_at_the_argument(int value)
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[PagedKv([|MaxQueriesPerSequence = " + value + "|])]\npublic static partial class S;", "KDSL0038").Single();
        diagnostic.GetMessage().ShouldContain("1 to 16");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    [InlineData(-16)]
    public void KDSL0039_page_size_outside_1_to_256_is_reported_at_the_argument(int value)
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[PagedKv([|PageSize = " + value + "|])]\npublic static partial class S;", "KDSL0039").Single();
        diagnostic.GetMessage().ShouldContain("1 to 256");
    }

    [Fact]
    public void KDSL0039_is_not_reported_for_page_sizes_1_and_256_or_a_runtime_page_size()
    {
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[PagedKv(PageSize = 1, MaxQueriesPerSequence = 16)]\npublic static partial class S;");
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[PagedKv(PageSize = 256, MaxQueriesPerSequence = 1)]\npublic static partial class S;");
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[PagedKv]\n[Varlen]\npublic static partial class S;");
    }

    [Theory]
    [InlineData("MaskKind.Causal")]
    [InlineData("MaskKind.SlidingWindow, Left = 128")]
    public void KDSL0040_top_left_alignment_with_paged_kv_is_reported_at_the_alignment(string mask)
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(" + mask + ", [|Alignment = MaskAlignment.TopLeft|])]\n[PagedKv]\npublic static partial class S;", "KDSL0040").Single();
        diagnostic.GetMessage().ShouldContain("BottomRight");
    }

    [Fact]
    public void KDSL0040_is_not_reported_for_varlen_prefill_with_top_left_alignment() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]\n[Varlen]\npublic static partial class S;");

    [Theory]
    [InlineData("PagedKv", "Skv")]
    [InlineData("Varlen", "Sq")]
    public void KDSL0041_buffer_sized_by_a_sequence_length_in_a_serving_spec_is_reported_at_the_modifier(string attribute, string dim)
    {
        var diagnostic = DiagnosticAssert.Expect(
            ServingUsing + "[Attention(HeadDim = 64)]\n[" + attribute + "]\npublic static partial class S\n{\n    [MaskMod] static bool [|Keep|](int q, int kv, [Captured(\"" + dim + "\")] ReadOnlySpan<int> documents) => documents[kv] == 0;\n}\n",
            "KDSL0041").Single();
        diagnostic.GetMessage().ShouldContain("'documents'");
        diagnostic.GetMessage().ShouldContain("'" + dim + "'");
    }

    [Fact]
    public void KDSL0041_is_not_reported_for_buffers_sized_by_batch_heads_and_literals() =>
        DiagnosticAssert.Expect(
            ServingUsing + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]\n[PagedKv(MaxQueriesPerSequence = 16)]\npublic static partial class S\n{\n"
            + "    [MaskMod] static bool Tree(int b, int q, int kv, [Captured(\"B\")] ReadOnlySpan<int> prefix, [Captured(\"B\", \"16\", \"16\")] ReadOnlySpan<int> ancestors)\n"
            + "        => kv < prefix[b] || ancestors[(b * 16 + q) * 16 + kv - prefix[b]] != 0;\n}\n");

    /// <summary>
    /// A [Varlen] spec whose head dims the GPU kernels cannot take gets KDSL0019 at the head dim, the CPU ForwardVarlen, and no
    /// device ForwardVarlen (so a device call does not compile, instead of failing at run time); with head dims the GPU takes, it
    /// gets both.
    /// </summary>
    [Theory]
    [InlineData(40, false)]
    [InlineData(64, true)]
    public void A_varlen_spec_gets_the_device_ForwardVarlen_only_with_a_gpu_kernel(int headDim, bool device)
    {
        string spec = "[Attention(HeadDim = " + headDim + ")]\n[Precision(DType.BF16)]\n[Varlen]\npublic static partial class S;";
        if (!device)
        {
            DiagnosticAssert.Expect(Using + spec.Replace("HeadDim = " + headDim, "[|HeadDim = " + headDim + "|]"), "KDSL0019");
        }

        var serving = GeneratorHarness.Run(Using + spec).Results.Single().GeneratedSources.Single(f => f.HintName.EndsWith(".Serving.g.cs", System.StringComparison.Ordinal)).SourceText.ToString();
        serving.ShouldContain("global::KernelDsl.VarlenBatch batch, int headsQ, int headsKv)");
        serving.Contains("global::KernelDsl.DeviceVarlenBatch batch", System.StringComparison.Ordinal).ShouldBe(device);
    }

    [Fact]
    public void KDSL0010_varlen_takes_no_arguments()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Varlen([|PageSize = 16|])]\npublic static partial class S;", "KDSL0010").Single();
        diagnostic.GetMessage().ShouldContain("[Varlen] takes no named arguments");
    }
}
