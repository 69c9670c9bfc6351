using System;
using System.Threading.Tasks;
using KernelDsl.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Shouldly;
using Xunit;

namespace KernelDsl.Generators.Tests;

/// <summary>The markup check itself fails when the generator's diagnostics differ from the markup in any way.</summary>
public sealed class MarkupHarnessTests
{
    private const string Spec = "using KernelDsl;\n[Attention({0}, ValueHeadDim = 64)]\npublic static partial class S;";

    [Fact]
    public async Task A_diagnostic_at_its_span_passes() =>
        await GeneratorDiagnosticTest.Run(string.Format(Spec, "{|KDSL0002:HeadDim = 12|}"));

    [Fact]
    public async Task A_span_that_starts_elsewhere_fails() =>
        (await Should.ThrowAsync<Exception>(() => GeneratorDiagnosticTest.Run(string.Format(Spec, "HeadDim = {|KDSL0002:12|}"))))
            .Message.ShouldContain("Expected diagnostic to start at column");

    [Fact]
    public async Task A_missing_or_unexpected_diagnostic_fails()
    {
        await Should.ThrowAsync<Exception>(() => GeneratorDiagnosticTest.Run(string.Format(Spec, "HeadDim = 12")));
        await Should.ThrowAsync<Exception>(() => GeneratorDiagnosticTest.Run(string.Format(Spec, "{|KDSL0002:HeadDim = 64|}")));
        await Should.ThrowAsync<Exception>(() => GeneratorDiagnosticTest.Run(string.Format(Spec, "{|KDSL0003:HeadDim = 12|}")));
    }

    [Fact]
    public async Task An_explicit_severity_is_compared()
    {
        const string forgotten = "using KernelDsl;\n[{|#0:Precision(DType.BF16)|}]\npublic static partial class Forgotten;";
        var matched = await GeneratorDiagnosticTest.Run(forgotten, new DiagnosticResult("KDSL0017", DiagnosticSeverity.Warning).WithLocation(0));
        matched.ShouldHaveSingleItem().GetMessage().ShouldBe("[Precision] on 'Forgotten' has no effect without [Attention(HeadDim = ...)] on the same class");
        (await Should.ThrowAsync<Exception>(() => GeneratorDiagnosticTest.Run(forgotten, DiagnosticResult.CompilerError("KDSL0017").WithLocation(0))))
            .Message.ShouldContain("Expected diagnostic severity to be \"Error\" was \"Warning\"");
    }
}
