using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using KernelDsl.Samples;
using Spectre.Console;

namespace Quickstart;

internal sealed record RunOptions(int Seed, string? JsonPath, bool PrintPlans, bool UseGpu);

/// <summary>One spec on one target, measured against the float64 reference.</summary>
internal sealed record RunResult(
    string Spec, string Target, string Shape, DType Input, DType Output, double Milliseconds, double Throughput, string ThroughputUnit,
    double RelativeError, double Tolerance, double? LseMaxError, bool Pass, double? FirstCallMilliseconds = null);

/// <summary>Runs each compiled spec on the CPU (and the 16-bit ones on the GPU), checks it, prints a table and the plans.</summary>
internal static class Runner
{
    public static int Run(RunOptions options)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 200; // a log file, not an 80-column terminal: keep table rows and plan lines whole
        }

        var random = new Random(options.Seed);
        bool gpu = options.UseGpu && KernelDsl.Cuda.Cuda.IsAvailable;
        AnsiConsole.MarkupLine($"[bold]KernelDsl quickstart[/] — CPU, {Environment.ProcessorCount} cores, random seed {options.Seed}");
        AnsiConsole.MarkupLine(Markup.Escape(gpu
            ? $"GPU: {KernelDsl.Cuda.Cuda.GetDevice()} — the 16-bit specs also run there"
            : KernelDsl.Cuda.Cuda.IsAvailable ? "GPU: present but not used (--cpu-only)" : $"GPU: none ({KernelDsl.Cuda.Cuda.UnavailableReason}) — CPU only"));

        var specs = QuickstartRuns.All(gpu);
        var results = new List<RunResult>();
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("running", maxValue: specs.Count);
                foreach (var spec in specs)
                {
                    task.Description = Markup.Escape($"{spec.Name} on the {spec.Target}");
                    results.Add(spec.Run(random));
                    task.Increment(1);
                }
            });

        var table = new Table().Title("Results against the float64 reference").Border(TableBorder.Rounded);
        foreach (string column in new[] { "spec", "target", "shape", "in → out", "time", "throughput", "rel. error", "tolerance", "verdict" })
        {
            table.AddColumn(column);
        }

        foreach (var r in results)
        {
            string time = r.FirstCallMilliseconds is double first ? $"{r.Milliseconds:F3} ms (first {first:F0} ms)" : $"{r.Milliseconds:F2} ms";
            string error = $"{r.RelativeError:E2}" + (r.LseMaxError is double lse ? $" (LSE {lse:E1})" : string.Empty);
            table.AddRow(
                Markup.Escape(r.Spec), r.Target, Markup.Escape(r.Shape), $"{r.Input} → {r.Output}", time,
                $"{r.Throughput:F1} {r.ThroughputUnit}", error, $"{r.Tolerance:E0}", r.Pass ? "[green]PASS[/]" : "[red]FAIL[/]");
        }

        AnsiConsole.Write(table);
        int failed = results.Count(r => !r.Pass);
        AnsiConsole.MarkupLine(failed == 0
            ? $"[green]{results.Count} passed[/], 0 failed (seed {options.Seed})"
            : $"[red]{failed} failed[/] of {results.Count} (seed {options.Seed}: rerun with --seed {options.Seed})");

        if (options.PrintPlans)
        {
            foreach (var spec in specs.Where(spec => spec.Target == "CPU"))
            {
                AnsiConsole.WriteLine();
                PlanView.Write(spec.Plan.Describe(spec.Shape), gpu);
            }
        }

        if (options.JsonPath is not null)
        {
            ResultJson.Write(options.JsonPath, new { seed = options.Seed, gpu = gpu ? KernelDsl.Cuda.Cuda.GetDevice().ToString() : null, results });
            AnsiConsole.MarkupLine($"results written to {Markup.Escape(options.JsonPath)}");
        }

        return failed == 0 ? 0 : 1;
    }
}
