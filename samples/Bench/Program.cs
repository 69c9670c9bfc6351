using System;
using System.CommandLine;
using System.IO;
using Bench;

// The CPU benchmark of NOTES.md as a command-line tool: `dotnet run --project samples/Bench -c Release -- --help`.
var quick = new Option<bool>("--quick") { Description = "Sequence lengths 512 and 1024 only (about a minute on 2 cores)." };
var dtype = new Option<string>("--dtype")
{
    Description = "Input types to run: fp32, bf16 or all.",
    DefaultValueFactory = _ => "all",
};
dtype.AcceptOnlyFromAmong("fp32", "bf16", "all");
var output = new Option<FileInfo>("--out")
{
    Description = "JSON results file; the plot (GFLOP/s against sequence length per kernel) is written next to it.",
    DefaultValueFactory = _ => new FileInfo(Path.Combine("bench-results", $"cpu-{DateTime.UtcNow:yyyyMMdd-HHmm}.json")),
};
var plotFormat = new Option<string>("--plot-format")
{
    Description = "Plot file type: svg or png.",
    DefaultValueFactory = _ => "svg",
};
plotFormat.AcceptOnlyFromAmong("svg", "png");
var markdown = new Option<bool>("--markdown") { Description = "Also print the rows as a Markdown table (NOTES.md's format)." };
var backward = new Option<bool>("--backward") { Description = "Instead: the CPU backward against the CPU forward of the same [Backward] spec (BackwardBench.cs)." };
var small = new Option<bool>("--small") { Description = "Instead: µs and allocated bytes per call for tiny shapes (host overhead), and one medium shape." };

var root = new RootCommand(
    "CPU benchmark: the generated fused attention kernel against an unfused TensorPrimitives baseline, in one process on "
    + "the same inputs (no mask, 16 heads, D = 64 and 128). GFLOP/s = 4·B·H·Sq·Skv·D / median time. Also measures the "
    + "single-thread FMA peak and the extra memory of each call.")
{
    quick, dtype, output, plotFormat, markdown, backward, small,
};
root.SetAction(parsed => parsed.GetValue(backward) ? BackwardBench.Run() : parsed.GetValue(small) ? SmallCalls.Run() : CpuBenchmark.Run(new BenchOptions(
    parsed.GetValue(quick),
    parsed.GetValue(dtype)!,
    parsed.GetValue(output)!.FullName,
    parsed.GetValue(plotFormat)!,
    parsed.GetValue(markdown))));
return root.Parse(args).Invoke();
