using System;
using System.CommandLine;
using System.IO;
using Quickstart;

// The quickstart as a command-line tool: `dotnet run --project samples/Quickstart -c Release -- --help`.
var seed = new Option<int?>("--seed") { Description = "Random seed for the inputs (default: a fresh one, printed)." };
var json = new Option<FileInfo?>("--json") { Description = "Also write the results (errors, tolerances, verdicts, times) to this JSON file." };
var noPlans = new Option<bool>("--no-plans") { Description = "Do not print the plans, only the results table." };
var cpuOnly = new Option<bool>("--cpu-only") { Description = "Do not use a GPU even when one is present." };

var root = new RootCommand(
    "Compiles four attention specs at build time (plain bf16, causal fp16 with LSE, sliding-window GQA, soft-capping + "
    + "prefix-LM modifiers), runs them on the CPU (and the 16-bit ones on the GPU when there is one), checks each "
    + "output against the float64 reference with a stated tolerance per precision (PASS/FAIL; exit code 1 on any "
    + "FAIL) and prints the plans.")
{
    seed, json, noPlans, cpuOnly,
};
root.SetAction(parsed => Runner.Run(new RunOptions(
    parsed.GetValue(seed) ?? Environment.TickCount,
    parsed.GetValue(json)?.FullName,
    !parsed.GetValue(noPlans),
    !parsed.GetValue(cpuOnly))));
return root.Parse(args).Invoke();
