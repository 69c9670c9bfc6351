using System.CommandLine;

namespace KernelDsl.Samples;

/// <summary>
/// The GPU benchmarks' command line, kept as run-on-device.sh and run-before-after.sh call it:
/// <c>Bench [output.json] [--quick] [--small] [--backward]</c>, now with <c>--help</c> and errors for unknown flags.
/// </summary>
internal sealed record BenchArguments(string? OutputPath, bool Quick, bool Small, bool Backward = false)
{
    /// <summary>The parsed arguments, or null with the exit code to return (after --help, or an error already printed).</summary>
    public static BenchArguments? Parse(string[] args, string description, string quickHelp, string? smallHelp, out int exitCode, string? backwardHelp = null)
    {
        var output = new Argument<string?>("output")
        {
            Description = "JSON results file (default: a name in the current folder). samples/PlotResults draws it.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var quick = new Option<bool>("--quick") { Description = quickHelp };
        var small = new Option<bool>("--small") { Description = smallHelp ?? string.Empty };
        var backward = new Option<bool>("--backward") { Description = backwardHelp ?? string.Empty };
        var root = new RootCommand(description) { output, quick };
        if (smallHelp is not null)
        {
            root.Options.Add(small);
        }

        if (backwardHelp is not null)
        {
            root.Options.Add(backward);
        }

        BenchArguments? parsed = null;
        root.SetAction(result => parsed = new BenchArguments(
            result.GetValue(output), result.GetValue(quick), smallHelp is not null && result.GetValue(small), backwardHelp is not null && result.GetValue(backward)));
        exitCode = root.Parse(args).Invoke();
        return parsed;
    }
}
