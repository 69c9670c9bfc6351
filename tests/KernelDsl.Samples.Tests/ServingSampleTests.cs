using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl;
using Serving;
using Shouldly;
using Xunit;

namespace KernelDsl.Samples.Tests;

/// <summary>The serving sample end to end on a small pool: fused rotary + append steps, checked once against the float64 reference, and compaction.</summary>
public sealed class ServingSampleTests
{
    private static ServingOptions Small(int budget, int seed) =>
        new(Sequences: 4, Total: 4, Steps: 8, PageSize: 16, MaxPrompt: 160, SharedPrefix: 32, MaxGenerate: 40, HeadsQ: 8, HeadsKv: 2, PagedKvLayout.PageHeadSlot, seed,
            Budget: budget, CompactEvery: 4, CopyMiB: 1);

    private static string Run(ServingOptions options)
    {
        var console = new StringWriter();
        ServingLoop.Run(options, console).ShouldBe(0);
        string text = console.ToString();
        double stepOne = Number(text, @"step 1 against the float64 reference: relative error (\S+)\)").Single();
        stepOne.ShouldBeLessThan(5e-3, text); // bf16 output: ~1.7e-3
        return text;
    }

    private static double[] Number(string text, string pattern) =>
        Regex.Matches(text, pattern).Select(m => double.Parse(m.Groups[1].Value.TrimEnd(';', ','), CultureInfo.InvariantCulture)).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_tight_budget_drops_tokens_frees_pages_and_reports_the_error_it_caused(int seed)
    {
        string text = Run(Small(budget: 24, seed));

        var freed = Number(text, @"tokens dropped, (\d+) pages freed \(");
        freed.Length.ShouldBe(2, text); // steps 4 and 8 (every sequence generates 10-40 tokens: all still active)
        freed[0].ShouldBeGreaterThan(0, text); // prompts of 20-160 own tokens, 24 kept: whole pages go back
        var errors = Number(text, @"compacted cache vs the uncompacted one: (\S+)");
        errors.Length.ShouldBe(2, text);
        errors[0].ShouldBeGreaterThan(0, text); // dropping keys changes what attention computes
        errors.ShouldAllBe(error => double.IsFinite(error), text);
        text.ShouldContain("written by the decode kernel itself");
        var deviations = Number(text, @"kernel scores vs the float64 reference: max deviation (\S+)");
        deviations.Length.ShouldBe(2, text);
        deviations.ShouldAllBe(deviation => deviation < 1e-4, text); // fp32 sums of masses ≤ 4 (group 4, one query)
    }

    [Fact]
    public void A_budget_above_every_sequence_keeps_everything_and_changes_nothing()
    {
        string text = Run(Small(budget: 4096, seed: 3));

        Number(text, @"compaction: (\d+) of").ShouldAllBe(dropped => dropped == 0, text);
        Number(text, @"tokens dropped, (\d+) pages freed \(").ShouldAllBe(freed => freed == 0, text);
        // Nothing moved: the step re-run on the "compacted" cache is the same kernel on the same data, bit for bit.
        Number(text, @"compacted cache vs the uncompacted one: (\S+)").ShouldAllBe(error => error == 0, text);
    }
}
