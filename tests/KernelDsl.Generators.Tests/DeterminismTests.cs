using System.Linq;
using KernelDsl.Generators.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>Generated code is byte-identical across runs (fresh driver and compilation each time).</summary>
public sealed class DeterminismTests
{
    [Theory]
    [MemberData(nameof(SnapshotTests.Specs), MemberType = typeof(SnapshotTests))]
    public void Two_runs_give_byte_identical_files(string spec)
    {
        var first = Files(SnapshotTests.Source(spec));
        var second = Files(SnapshotTests.Source(spec));
        second.Select(file => file.Name).ShouldBe(first.Select(file => file.Name));
        for (int i = 0; i < first.Length; i++)
        {
            second[i].Bytes.ShouldBe(first[i].Bytes, first[i].Name);
        }
    }

    [Fact]
    public void Several_specs_in_one_compilation_give_the_same_files_as_each_alone()
    {
        // Order of files and content must not depend on what else is in the compilation.
        var together = Files(SpecSources.PlainBf16, SpecSources.CausalFp16BottomRight);
        var alone = Files(SpecSources.PlainBf16).Concat(Files(SpecSources.CausalFp16BottomRight)).ToArray();
        together.Select(file => file.Name).OrderBy(name => name).ShouldBe(alone.Select(file => file.Name).OrderBy(name => name));
        foreach (var file in together)
        {
            file.Bytes.ShouldBe(alone.Single(other => other.Name == file.Name).Bytes, file.Name);
        }
    }

    [Fact]
    public void Generated_text_uses_only_newline_line_endings()
    {
        foreach (var file in Files(SpecSources.SlidingWindowBhsdFp32Lse))
        {
            System.Text.Encoding.UTF8.GetString(file.Bytes).ShouldNotContain("\r", customMessage: file.Name);
        }
    }

    private static (string Name, byte[] Bytes)[] Files(params string[] sources) =>
        GeneratorHarness.Run(sources).Results.Single().GeneratedSources
            .Select(file => (file.HintName, System.Text.Encoding.UTF8.GetBytes(file.SourceText.ToString())))
            .ToArray();
}
