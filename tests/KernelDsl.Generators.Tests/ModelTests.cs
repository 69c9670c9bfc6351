using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

// Inside the namespace, so they win over the runtime's KernelDsl.MaskKind (an enclosing namespace's type).
using MaskAlignment = KernelDsl.Compiler.Model.MaskAlignment;
using MaskKind = KernelDsl.Compiler.Model.MaskKind;
using TensorLayout = KernelDsl.Compiler.Model.TensorLayout;

/// <summary>
/// The models that cross the incremental pipeline: plain data (no Roslyn symbols, syntax or compilations),
/// structurally equal for equal sources, and faithful to what was written versus left out.
/// </summary>
public sealed class ModelTests
{
    private const string Using = "using KernelDsl;\n";

    /// <summary>Roslyn types a model may hold: plain value types with no reference to a tree or compilation.</summary>
    private static readonly HashSet<Type> AllowedRoslynTypes = new() { typeof(TextSpan), typeof(LinePositionSpan), typeof(LinePosition) };

    [Theory]
    [MemberData(nameof(SnapshotTests.Specs), MemberType = typeof(SnapshotTests))]
    public void Every_tracked_step_output_is_free_of_roslyn_objects(string spec) =>
        WalkAllOutputs(GeneratorHarness.Run(SnapshotTests.Source(spec)));

    [Fact]
    public void Outputs_with_diagnostics_are_free_of_roslyn_objects_too() =>
        WalkAllOutputs(GeneratorHarness.Run(Using + "[Attention(HeadDim = 12, Scale = \"x\")]\n[Mask(MaskKind.Causal)][Mask(MaskKind.None)]\npublic class S;"));

    [Fact]
    public void The_walk_finds_a_symbol_when_there_is_one()
    {
        // Control for the walk itself: a tuple holding a syntax node is rejected.
        var tree = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("class C {}");
        Should.Throw<ShouldAssertException>(() => Walk((1, new object[] { tree.GetRoot() }), "control", new HashSet<object>(ReferenceEqualityComparer.Instance)));
    }

    [Theory]
    [MemberData(nameof(SnapshotTests.Specs), MemberType = typeof(SnapshotTests))]
    public void Equal_sources_give_equal_models_with_equal_hash_codes(string spec)
    {
        var first = GeneratorHarness.Model(SnapshotTests.Source(spec));
        var second = GeneratorHarness.Model(SnapshotTests.Source(spec));
        ReferenceEquals(first, second).ShouldBeFalse();
        second.ShouldBe(first);
        second.GetHashCode().ShouldBe(first.GetHashCode());
    }

    [Fact]
    public void Different_specs_give_different_models() =>
        GeneratorHarness.Model(SpecSources.PlainBf16).ShouldNotBe(GeneratorHarness.Model(SpecSources.PlainBf16.Replace("BF16", "FP16")));

    [Fact]
    public void Left_out_arguments_take_their_defaults()
    {
        var spec = GeneratorHarness.Model(Using + "[Attention(HeadDim = 64)]\npublic static partial class S;").Spec!;
        spec.HeadDim.ShouldBe(64);
        spec.ValueHeadDim.ShouldBe(64);
        spec.Scale.ShouldBeNull();
        spec.InputType.ShouldBe(ElementType.FP32);
        spec.Layout.ShouldBe(TensorLayout.BSHD);
        spec.Mask.ShouldBe(MaskSpec.None);
        spec.Tiling.ShouldBe(TilingSpec.Auto);
        spec.Epilogue.ShouldBe(EpilogueSpec.Default);
        spec.Target.ShouldBe(new TargetType(null, EquatableArray<ContainingType>.Empty, "S", "class", true));
    }

    [Fact]
    public void Written_arguments_are_kept_even_when_they_equal_a_default()
    {
        var spec = GeneratorHarness.Model(
            Using + "[Attention(HeadDim = 64, ValueHeadDim = 32, Scale = 0.25)]\n[Precision(DType.BF16)]\n[Layout(TensorLayout.BHSD)]\n"
                  + "[Mask(MaskKind.SlidingWindow, Left = 0, Right = 0, Alignment = MaskAlignment.TopLeft)]\n[Tiling(BlockQ = 32, BlockKV = 128)]\n"
                  + "[Fusion(OutputType = DType.FP32, WriteLse = true)]\npublic static partial class S;").Spec!;
        spec.ValueHeadDim.ShouldBe(32);
        spec.Scale.ShouldBe(0.25);
        spec.InputType.ShouldBe(ElementType.BF16);
        spec.Layout.ShouldBe(TensorLayout.BHSD);
        spec.Mask.ShouldBe(new MaskSpec(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 0, 0));
        spec.Tiling.ShouldBe(new TilingSpec(32, 128));
        spec.Epilogue.ShouldBe(new EpilogueSpec(ElementType.FP32, true));
    }

    [Fact]
    public void Mask_bounds_left_out_are_null_and_alignment_unspecified()
    {
        var spec = GeneratorHarness.Model(Using + "[Attention(HeadDim = 64)]\n[Mask(MaskKind.SlidingWindow)]\npublic static partial class S;").Spec!;
        spec.Mask.ShouldBe(new MaskSpec(MaskKind.SlidingWindow, MaskAlignment.Unspecified, null, null));
    }

    [Fact]
    public void Constructor_arguments_by_name_and_constant_expressions_are_read()
    {
        var spec = GeneratorHarness.Model(
            Using + "static class K { public const int D = 96; }\n[Attention(HeadDim = K.D, Scale = 1.0 / 8)]\n[Precision(input: DType.FP16)]\n[Mask(kind: MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]\npublic static partial class S;").Spec!;
        spec.HeadDim.ShouldBe(96);
        spec.Scale.ShouldBe(0.125);
        spec.InputType.ShouldBe(ElementType.FP16);
        spec.Mask.Kind.ShouldBe(MaskKind.Causal);
    }

    [Fact]
    public void Fully_qualified_and_aliased_attribute_names_are_read()
    {
        var qualified = GeneratorHarness.Model("[KernelDsl.AttentionAttribute(HeadDim = 64)]\n[global::KernelDsl.Precision(global::KernelDsl.DType.BF16)]\npublic static partial class S;").Spec!;
        qualified.InputType.ShouldBe(ElementType.BF16);
        var aliased = GeneratorHarness.Model("using A = KernelDsl.AttentionAttribute;\n[A(HeadDim = 64)]\npublic static partial class S;").Spec!;
        aliased.HeadDim.ShouldBe(64);
    }

    [Fact]
    public void The_location_map_points_each_spec_path_at_its_syntax()
    {
        const string source = Using + "[Attention(HeadDim = 64, Scale = 0.5)]\n[Mask(MaskKind.SlidingWindow, Left = 8, Alignment = MaskAlignment.TopLeft)]\npublic static partial class S;";
        var locations = GeneratorHarness.Model(source).Locations;
        string Text(string path) => locations.Find(path) is { } location ? source.Substring(location.Span.Start, location.Span.Length) : "<none>";

        Text(SpecPaths.HeadDim).ShouldBe("HeadDim = 64");
        Text(SpecPaths.Scale).ShouldBe("Scale = 0.5");
        Text(SpecPaths.MaskKind).ShouldBe("MaskKind.SlidingWindow");
        Text(SpecPaths.MaskLeft).ShouldBe("Left = 8");
        Text(SpecPaths.MaskAlignment).ShouldBe("Alignment = MaskAlignment.TopLeft");
        Text(SpecPaths.MaskRight).ShouldBe("Mask(MaskKind.SlidingWindow, Left = 8, Alignment = MaskAlignment.TopLeft)", "not written: falls back to its attribute");
        Text(SpecPaths.ValueHeadDim).ShouldBe("Attention(HeadDim = 64, Scale = 0.5)");
        Text(SpecPaths.BlockQ).ShouldBe("S", "no [Tiling]: falls back to the class name");
        locations.Find(SpecPaths.HeadDim)!.FilePath.ShouldBe(GeneratorHarness.FileName(0));
        locations.Find(SpecPaths.HeadDim)!.LineSpan.Start.Line.ShouldBe(1);
    }

    [Fact]
    public void Every_spec_path_resolves_to_a_location()
    {
        var locations = GeneratorHarness.Model(Using + "[Attention(HeadDim = 64)]\npublic static partial class S;").Locations;
        var paths = typeof(SpecPaths).GetFields(BindingFlags.Public | BindingFlags.Static).Where(field => field.IsLiteral).Select(field => (string)field.GetValue(null)!);
        foreach (var path in paths)
        {
            locations.Find(path).ShouldNotBeNull(path);
        }
    }

    private static void WalkAllOutputs(GeneratorDriverRunResult result)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var step in result.Results.Single().TrackedSteps)
        {
            // The FAWMN internals are Roslyn's own steps; the generator's named steps are what it caches.
            if (!step.Key.StartsWith("KernelDsl.", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var output in step.Value.SelectMany(run => run.Outputs))
            {
                Walk(output.Value, step.Key, seen);
            }
        }
    }

    private static void Walk(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || value is decimal)
        {
            return;
        }

        var type = value.GetType();
        bool roslyn = type.Assembly.GetName().Name!.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal);
        (roslyn && !AllowedRoslynTypes.Contains(type)).ShouldBeFalse($"{path} holds a {type.FullName}");
        (value is ISymbol or Compilation or SyntaxNode or SyntaxTree or SemanticModel or Location).ShouldBeFalse($"{path} holds a {type.FullName}");
        if (!type.IsValueType && !seen.Add(value))
        {
            return;
        }

        if (value is IEnumerable items)
        {
            int index = 0;
            foreach (var item in items)
            {
                Walk(item, $"{path}[{index++}]", seen);
            }
        }

        for (var current = type; current is not null && current != typeof(object); current = current.BaseType)
        {
            foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Walk(field.GetValue(value), $"{path}.{field.Name}", seen);
            }
        }
    }
}
