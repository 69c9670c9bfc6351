using System.Collections.Generic;
using System.IO;
using System.Linq;
using FlexBench;
using GpuBench;
using Shouldly;
using Xunit;

namespace KernelDsl.Samples.Tests;

/// <summary>The plots the GPU benchmarks write beside their JSON: TFLOP/s against sequence length, a line per series.</summary>
public sealed class ResultPlotTests
{
    [Fact]
    public void GpuBench_plots_one_line_per_configuration_beside_the_json()
    {
        string folder = Directory.CreateTempSubdirectory("kdsl-plot-").FullName;
        string json = Path.Combine(folder, "kerneldsl-gpu.json");
        var rows = new List<Dictionary<string, object>>();
        foreach (bool causal in new[] { false, true })
        {
            foreach (int s in new[] { 512, 1024, 2048 })
            {
                rows.Add(new() { ["D"] = 128, ["dtype"] = "BF16", ["causal"] = causal, ["S"] = s, ["B"] = 16384 / s, ["H"] = 16, ["ms"] = 1.0, ["tflops"] = 100.0 + s / 10.0 });
            }
        }

        var log = new StringWriter();
        GridOutput.Plot(BenchConsole.Create(log, interactive: false), json, "NVIDIA H200", rows);

        string svgPath = Path.Combine(folder, "kerneldsl-gpu.svg");
        log.ToString().Trim().ShouldBe($"plot {svgPath}");
        string svg = File.ReadAllText(svgPath);
        svg.ShouldContain("</svg>");
        svg.ShouldContain("D=128 BF16 dense");
        svg.ShouldContain("D=128 BF16 causal");
        svg.ShouldContain("NVIDIA H200");
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void FlexBench_plots_one_line_per_variant_and_dtype()
    {
        string folder = Directory.CreateTempSubdirectory("kdsl-plot-").FullName;
        string json = Path.Combine(folder, "kerneldsl-variants.json");
        var rows = new[] { "FP16", "BF16" }.SelectMany(dtype => new[] { 4096, 16384 }.Select(s =>
            new Dictionary<string, object> { ["variant"] = "softcap", ["dtype"] = dtype, ["S"] = s, ["tflops"] = 300.0 })).ToList();

        VariantOutput.Plot(BenchConsole.Create(new StringWriter(), interactive: false), json, "NVIDIA H200", rows);

        string svg = File.ReadAllText(Path.Combine(folder, "kerneldsl-variants.svg"));
        svg.ShouldContain("softcap FP16");
        svg.ShouldContain("softcap BF16");
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void A_plot_that_cannot_be_written_is_a_line_not_a_crash()
    {
        // A folder where the file should be: the write fails after the results were measured; the benchmark goes on.
        string folder = Directory.CreateTempSubdirectory("kdsl-plot-").FullName;
        Directory.CreateDirectory(Path.Combine(folder, "results.svg"));
        string line = ResultPlot.SaveBeside(Path.Combine(folder, "results.json"), "t", "x", "y", [new PlotPoint("a", 1, 1), new PlotPoint("a", 2, 2)]);
        line.ShouldStartWith("plot not written (");
        line.ShouldEndWith($"samples/PlotResults draws it from {Path.Combine(folder, "results.json")}");
        Directory.Delete(folder, recursive: true);
    }
}
