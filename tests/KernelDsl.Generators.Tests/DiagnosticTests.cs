using System.Linq;
using System.Reflection;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Planning;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// One test (at least) per KDSL ID the generator or the compiler core can report, each checking the ID and the
/// exact span: the [| |] markers enclose the text the diagnostic must point at. Test names start with the ID; the
/// last test checks that every catalog entry has one.
/// </summary>
public sealed partial class DiagnosticTests
{
    private const string Using = "using KernelDsl;\n";

    [Fact]
    public void KDSL0001_class_not_partial_is_reported_at_its_identifier()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\npublic static class [|NotPartial|] { }", "KDSL0001").Single();
        diagnostic.GetMessage().ShouldContain("'NotPartial' must be declared 'partial'");
        diagnostic.Severity.ShouldBe(DiagnosticSeverity.Error);
    }

    [Fact]
    public void KDSL0001_class_not_partial_generates_no_source()
    {
        var result = GeneratorHarness.Run(Using + "[Attention(HeadDim = 64)]\npublic static class NotPartial { }");
        result.GeneratedTrees.ShouldBeEmpty();
    }

    [Fact]
    public void KDSL0002_head_dim_unsupported_is_reported_at_the_argument()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention([|HeadDim = 12|], ValueHeadDim = 64)]\npublic static partial class S;", "KDSL0002").Single();
        diagnostic.GetMessage().ShouldStartWith("HeadDim = 12 is not supported");
    }

    [Fact]
    public void KDSL0002_head_dim_zero_written_is_not_head_dim_missing() =>
        DiagnosticAssert.Expect(Using + "[Attention([|HeadDim = 0|], ValueHeadDim = 64)]\npublic static partial class S;", "KDSL0002");

    [Fact]
    public void KDSL0003_value_head_dim_unsupported_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64, [|ValueHeadDim = 300|])]\npublic static partial class S;", "KDSL0003");

    [Fact]
    public void KDSL0004_block_size_not_a_power_of_two_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Tiling([|BlockQ = 48|], BlockKV = 64)]\npublic static partial class S;", "KDSL0004");

    [Fact]
    public void KDSL0004_block_size_too_large_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Tiling(BlockQ = 64, [|BlockKV = 512|])]\npublic static partial class S;", "KDSL0004");

    [Fact]
    public void KDSL0004_block_size_zero_written_is_reported_by_the_parser()
    {
        // 0 means "planner chooses" in the model, so only the parser can tell a written 0 from a left-out one.
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Tiling(BlockQ = 64, [|BlockKV = 0|])]\npublic static partial class S;", "KDSL0004").Single();
        diagnostic.GetMessage().ShouldStartWith("BlockKV = 0 is not a valid tile size");
    }

    [Fact]
    public void KDSL0005_second_mask_is_reported_at_the_second_attribute()
    {
        var diagnostic = DiagnosticAssert.Expect(
            Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]\n"
                  + "[[|Mask(MaskKind.SlidingWindow, Left = 4, Alignment = MaskAlignment.TopLeft)|]]\npublic static partial class S;",
            "KDSL0005").Single();
        diagnostic.GetMessage().ShouldContain("also has a Causal mask");
    }

    [Fact]
    public void KDSL0006_left_on_a_causal_mask_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft, [|Left = 16|])]\npublic static partial class S;", "KDSL0006");

    [Fact]
    public void KDSL0006_right_without_a_mask_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.None, [|Right = 0|])]\npublic static partial class S;", "KDSL0006");

    [Fact]
    public void KDSL0007_window_without_left_is_reported_at_the_mask() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[[|Mask(MaskKind.SlidingWindow, Alignment = MaskAlignment.TopLeft)|]]\npublic static partial class S;", "KDSL0007");

    [Fact]
    public void KDSL0007_negative_left_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.SlidingWindow, [|Left = -2|], Alignment = MaskAlignment.TopLeft)]\npublic static partial class S;", "KDSL0007");

    [Fact]
    public void KDSL0007_negative_right_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.SlidingWindow, Left = 8, [|Right = -5|], Alignment = MaskAlignment.TopLeft)]\npublic static partial class S;", "KDSL0007");

    [Fact]
    public void KDSL0007_window_unbounded_on_both_sides_is_reported_at_the_mask() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[[|Mask(MaskKind.SlidingWindow, Left = -1, Right = -1, Alignment = MaskAlignment.TopLeft)|]]\npublic static partial class S;", "KDSL0007");

    [Fact]
    public void KDSL0008_causal_without_alignment_is_reported_at_the_mask() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[[|Mask(MaskKind.Causal)|]]\npublic static partial class S;", "KDSL0008");

    [Fact]
    public void KDSL0008_mask_in_another_part_is_reported_in_that_file()
    {
        var result = GeneratorHarness.Run(
            Using + "[Attention(HeadDim = 64)]\npublic static partial class S;",
            Using + "[Mask(MaskKind.Causal)]\npublic static partial class S;");
        var diagnostic = result.Diagnostics.ShouldHaveSingleItem();
        diagnostic.Id.ShouldBe("KDSL0008");
        diagnostic.Location.GetLineSpan().Path.ShouldBe(GeneratorHarness.FileName(1));
        string second = Using + "[Mask(MaskKind.Causal)]\npublic static partial class S;";
        second.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length).ShouldBe("Mask(MaskKind.Causal)");
    }

    [Fact]
    public void KDSL0009_fp16_output_from_bf16_input_is_reported_at_the_output_type() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Precision(DType.BF16)]\n[Fusion([|OutputType = DType.FP16|])]\npublic static partial class S;", "KDSL0009");

    [Fact]
    public void KDSL0010_wrong_argument_type_is_reported_at_the_argument()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention([|HeadDim = \"64\"|])]\npublic static partial class S;", "KDSL0010").Single();
        diagnostic.GetMessage().ShouldBe("HeadDim = \"64\" is not an int: write e.g. HeadDim = 128");
    }

    [Fact]
    public void KDSL0010_enum_value_out_of_range_is_reported_at_the_argument()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Precision([|(DType)7|])]\npublic static partial class S;", "KDSL0010").Single();
        diagnostic.GetMessage().ShouldBe("(DType)7 is not a defined DType value: use DType.FP32, DType.FP16 or DType.BF16");
    }

    [Fact]
    public void KDSL0011_head_dim_missing_is_reported_at_the_attribute() =>
        DiagnosticAssert.Expect(Using + "[[|Attention|]]\npublic static partial class S;", "KDSL0011");

    [Fact]
    public void KDSL0011_head_dim_missing_with_other_arguments_is_reported_at_the_attribute() =>
        DiagnosticAssert.Expect(Using + "[[|Attention(Scale = 0.5)|]]\npublic static partial class S;", "KDSL0011");

    [Fact]
    public void KDSL0012_negative_scale_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64, [|Scale = -1.0|])]\npublic static partial class S;", "KDSL0012");

    [Fact]
    public void KDSL0012_zero_scale_written_is_not_the_default() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64, [|Scale = 0|])]\npublic static partial class S;", "KDSL0012");

    [Fact]
    public void KDSL0012_infinite_and_nan_scales_are_reported() =>
        DiagnosticAssert.Expect(
            Using + "[Attention(HeadDim = 64, [|Scale = 1.0 / 0|])]\npublic static partial class S;\n[Attention(HeadDim = 64, [|Scale = double.NaN|])]\npublic static partial class T;",
            "KDSL0012", "KDSL0012");

    [Fact]
    public void KDSL0013_generic_spec_is_reported_at_the_type_parameters() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\npublic static partial class Generic[|<T>|] { }", "KDSL0013");

    [Fact]
    public void KDSL0014_containing_type_not_partial_is_reported_at_its_identifier()
    {
        var diagnostic = DiagnosticAssert.Expect(
            Using + "public class [|Outer|]\n{\n    [Attention(HeadDim = 64)]\n    public static partial class Inner;\n}",
            "KDSL0014").Single();
        diagnostic.GetMessage().ShouldBe("'Outer' contains the attention spec 'Inner' and must be declared 'partial' as well");
    }

    [Fact]
    public void KDSL0014_every_containing_type_that_is_not_partial_is_reported() =>
        DiagnosticAssert.Expect(
            Using + "public class [|A|] { public partial class B { public struct [|C|] { [Attention(HeadDim = 64)] public partial class Spec; } } }",
            "KDSL0014", "KDSL0014");

    [Fact]
    public void KDSL0015_alignment_without_mask_is_reported_at_the_argument() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.None, [|Alignment = MaskAlignment.TopLeft|])]\npublic static partial class S;", "KDSL0015");

    [Fact]
    public void KDSL0016_cpu_tiles_over_budget_are_reported_at_the_tiling()
    {
        // 16-bit inputs make the CPU kernel keep widened K and V tiles too: the largest tiles at the largest
        // head dim. The precondition says so if the planner's budget moves.
        const string markup = Using + "[Attention(HeadDim = 256)]\n[Precision(DType.BF16)]\n[[|Tiling(BlockQ = 256, BlockKV = 256)|]]\npublic static partial class S;";
        var spec = GeneratorHarness.Model(Markup.Parse(markup).Source).Spec!;
        CpuPlanner.WorkingSetBytes(spec, 256, 256).ShouldBeGreaterThan(CpuPlanner.AssumedL2Bytes, "the test spec no longer exceeds the CPU budget");
        DiagnosticAssert.Expect(markup, "KDSL0016");
    }

    [Fact]
    public void KDSL0017_spec_attribute_without_attention_is_a_warning_at_each_attribute()
    {
        var diagnostics = DiagnosticAssert.Expect(
            Using + "[[|Precision(DType.BF16)|]]\n[[|Mask(MaskKind.Causal)|]]\npublic static partial class Forgotten;",
            "KDSL0017", "KDSL0017");
        diagnostics.ShouldAllBe(diagnostic => diagnostic.Severity == DiagnosticSeverity.Warning);
        diagnostics.Select(diagnostic => diagnostic.GetMessage()).ShouldContain("[Precision] on 'Forgotten' has no effect without [Attention(HeadDim = ...)] on the same class");
    }

    [Fact]
    public void KDSL0017_is_not_reported_when_another_part_has_attention()
    {
        var result = GeneratorHarness.Run(
            Using + "[Precision(DType.BF16)]\npublic static partial class S;",
            Using + "[Attention(HeadDim = 64)]\npublic static partial class S;");
        result.Diagnostics.ShouldBeEmpty();
        result.GeneratedTrees.ShouldNotBeEmpty();
    }

    [Fact]
    public void KDSL0018_file_local_spec_is_reported_at_the_file_modifier() =>
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 64)]\n[|file|] static partial class S;", "KDSL0018");

    [Fact]
    public void KDSL0018_spec_in_a_file_local_type_is_reported_at_its_file_modifier()
    {
        var diagnostic = DiagnosticAssert.Expect(Using + "[|file|] partial class Outer { [Attention(HeadDim = 64)] static partial class S; }", "KDSL0018").Single();
        diagnostic.GetMessage().ShouldBe("'Outer' is declared 'file', so the generated code (in another file) cannot extend the attention spec 'S': remove 'file'");
    }

    [Fact]
    public void Several_problems_are_all_reported_each_at_its_own_argument() =>
        DiagnosticAssert.Expect(
            Using + "[Attention([|HeadDim = 12|], ValueHeadDim = 64, [|Scale = -2|])]\n[Tiling([|BlockQ = 3|])]\npublic static partial class S;",
            "KDSL0002", "KDSL0012", "KDSL0004");

    [Fact]
    public void A_valid_spec_reports_nothing_and_generates_source()
    {
        var result = GeneratorHarness.Run(Using + "[Attention(HeadDim = 64)]\npublic static partial class S;");
        result.Diagnostics.ShouldBeEmpty();
        result.GeneratedTrees.ShouldNotBeEmpty();
    }

    [Fact]
    public void KDSL0019_head_dim_without_a_gpu_kernel_is_a_warning_at_the_head_dim()
    {
        // 24 is a legal CPU head dim (multiple of 8) but not a tensor-core k16 multiple: CPU kernel only.
        var diagnostics = DiagnosticAssert.Expect(Using + "[Attention([|HeadDim = 24|])]\n[Precision(DType.FP16)]\npublic static partial class S;", "KDSL0019");
        diagnostics.ShouldAllBe(diagnostic => diagnostic.Severity == DiagnosticSeverity.Warning);
    }

    [Fact]
    public void KDSL0020_shared_memory_limit_is_not_reached_by_the_largest_legal_head_dims()
    {
        // The GPU planner's shared-memory check (exercised directly in KernelDsl.Compiler.Tests.GpuPlannerTests)
        // must leave every legal spec with a GPU kernel: the largest head dims compile without KDSL0020.
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 256, ValueHeadDim = 256)]\n[Precision(DType.BF16)]\n[Fusion(WriteLse = true, OutputType = DType.FP32)]\npublic static partial class S;");
    }

    [Fact]
    public void KDSL0021_register_limit_is_not_reached_by_the_largest_legal_head_dims()
    {
        // Same boundary for the register estimate (unit-tested in KernelDsl.Compiler.Tests.GpuPlannerTests).
        DiagnosticAssert.Expect(Using + "[Attention(HeadDim = 256)]\n[Precision(DType.FP16)]\n[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]\npublic static partial class S;");
    }

    [Fact]
    public void Every_catalog_id_has_a_test_here()
    {
        var tested = typeof(DiagnosticTests).GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(method => method.GetCustomAttributes<FactAttribute>().Any())
            .Select(method => method.Name.Split('_')[0])
            .ToHashSet();
        DiagnosticCatalog.All.Select(descriptor => descriptor.Id).Where(id => !tested.Contains(id)).ShouldBeEmpty();
    }

    [Fact]
    public void Catalog_ids_are_sequential_and_unique()
    {
        var ids = DiagnosticCatalog.All.Select(descriptor => descriptor.Id).ToArray();
        ids.ShouldBe(Enumerable.Range(1, ids.Length).Select(i => $"KDSL{i:D4}").ToArray());
    }
}
