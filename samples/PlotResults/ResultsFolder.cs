using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using KernelDsl.Samples;

namespace PlotResults;

/// <summary>Finds the benchmark JSON in a folder and writes one plot per configuration beside it.</summary>
internal static class ResultsFolder
{
    public static int Plot(DirectoryInfo folder, string format)
    {
        if (!folder.Exists)
        {
            Console.Error.WriteLine($"No folder {folder.FullName}.");
            return 1;
        }

        var written = new List<string>();
        string grid = Path.Combine(folder.FullName, "kerneldsl-gpu.json");
        if (File.Exists(grid))
        {
            written.AddRange(PlotGrid(folder.FullName, grid, Path.Combine(folder.FullName, "torch-anchors.json"), format));
        }

        string variants = Path.Combine(folder.FullName, "kerneldsl-variants.json");
        if (File.Exists(variants))
        {
            written.AddRange(PlotVariants(folder.FullName, variants, Path.Combine(folder.FullName, "flex-variants.json"), format));
        }

        if (written.Count == 0)
        {
            Console.Error.WriteLine($"{folder.FullName} has neither kerneldsl-gpu.json nor kerneldsl-variants.json.");
            return 1;
        }

        written.ForEach(path => Console.WriteLine($"wrote {path}"));
        return 0;
    }

    /// <summary>GpuBench's grid: per (D, dtype, causal), KernelDsl and each PyTorch backend the anchors measured.</summary>
    private static IEnumerable<string> PlotGrid(string folder, string oursPath, string torchPath, string format)
    {
        var points = new List<(string Config, PlotPoint Point)>();
        foreach (var row in Rows(oursPath))
        {
            points.Add((GridConfig(row), new PlotPoint("KernelDsl", row.GetProperty("S").GetDouble(), row.GetProperty("tflops").GetDouble())));
        }

        if (File.Exists(torchPath))
        {
            var systems = new[] { ("flash", "FlashAttention-2 (SDPA flash)"), ("cudnn", "cuDNN (SDPA)"), ("flex", "FlexAttention") };
            foreach (var row in Rows(torchPath))
            {
                foreach (var (key, name) in systems)
                {
                    if (row.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number)
                    {
                        points.Add((GridConfig(row), new PlotPoint(name, row.GetProperty("S").GetDouble(), value.GetDouble())));
                    }
                }
            }
        }

        string device = Device(oursPath);
        foreach (var config in points.GroupBy(p => p.Config))
        {
            string path = Path.Combine(folder, $"tflops-{config.Key}.{format}");
            ResultPlot.Save(path, $"{config.Key.Replace('-', ' ')}, B·S = 16384, H·D = 2048 — {device}", "sequence length", "TFLOP/s",
                config.Select(p => p.Point).ToList());
            yield return path;
        }
    }

    /// <summary>FlexBench's variants: per variant, KernelDsl and FlexAttention in each precision.</summary>
    private static IEnumerable<string> PlotVariants(string folder, string oursPath, string flexPath, string format)
    {
        var points = new List<(string Variant, PlotPoint Point)>();
        foreach (var row in Rows(oursPath))
        {
            points.Add((row.GetProperty("variant").GetString()!, new PlotPoint($"KernelDsl {row.GetProperty("dtype").GetString()}", row.GetProperty("S").GetDouble(), row.GetProperty("tflops").GetDouble())));
        }

        if (File.Exists(flexPath))
        {
            foreach (var row in Rows(flexPath))
            {
                points.Add((row.GetProperty("variant").GetString()!, new PlotPoint($"FlexAttention {row.GetProperty("dtype").GetString()}", row.GetProperty("S").GetDouble(), row.GetProperty("tflops").GetDouble())));
            }
        }

        string device = Device(oursPath);
        foreach (var variant in points.GroupBy(p => p.Variant))
        {
            string path = Path.Combine(folder, $"tflops-{variant.Key}.{format}");
            ResultPlot.Save(path, $"{variant.Key}, D = 128, H = 16, B·S = 16384 (TFLOP/s on kept pairs) — {device}", "sequence length", "TFLOP/s",
                variant.Select(p => p.Point).ToList());
            yield return path;
        }
    }

    private static string GridConfig(JsonElement row) =>
        $"d{row.GetProperty("D").GetInt32()}-{row.GetProperty("dtype").GetString()!.ToLowerInvariant()}-{(row.GetProperty("causal").GetBoolean() ? "causal" : "dense")}";

    private static IEnumerable<JsonElement> Rows(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("results").EnumerateArray().Select(row => row.Clone()).ToList();
    }

    private static string Device(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        string name = document.RootElement.TryGetProperty("device", out var device) ? device.GetString() ?? "GPU" : "GPU";
        int details = name.IndexOf(" (", StringComparison.Ordinal); // "NVIDIA H200 (sm_90, 132 SMs, ...)": the name only
        return details > 0 ? name[..details] : name;
    }
}
