using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace KernelDsl.Samples;

/// <summary>One measured point of a benchmark plot: a series (a system, a kernel, a dtype), x and y.</summary>
internal sealed record PlotPoint(string Series, double X, double Y);

/// <summary>
/// Draws benchmark results as lines, one per series (throughput against sequence length), with ScottPlot; written
/// next to the JSON results. PNG or SVG by the file's extension.
/// </summary>
internal static class ResultPlot
{
    /// <summary>
    /// A benchmark's plot beside its JSON (same name, .svg), or the reason it could not be drawn — SkiaSharp's native
    /// library may be missing where the benchmark runs; the results are in the JSON already and samples/PlotResults
    /// draws them on any machine. Returns the line to print.
    /// </summary>
    public static string SaveBeside(string jsonPath, string title, string xLabel, string yLabel, IReadOnlyList<PlotPoint> points)
    {
        string path = Path.ChangeExtension(jsonPath, ".svg");
        try
        {
            Save(path, title, xLabel, yLabel, points);
            return $"plot {path}";
        }
        catch (Exception e)
        {
            // Any failure: SkiaSharp's native library missing (DllNotFoundException, TypeInitializationException), no
            // fonts, a file in the way. The results are saved already; a run must not fail over its picture.
            string reason = e.GetBaseException().Message;
            int sentence = reason.IndexOf(". ", StringComparison.Ordinal); // the loader's message goes on with advice on strace
            return $"plot not written ({(sentence > 0 ? reason[..sentence] : reason)}); samples/PlotResults draws it from {jsonPath}";
        }
    }

    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotPoint> points, bool logX = true)
    {
        var plot = new ScottPlot.Plot();
        foreach (var series in points.GroupBy(point => point.Series))
        {
            var ordered = series.OrderBy(point => point.X).ToArray();
            double[] xs = ordered.Select(point => logX ? Math.Log2(point.X) : point.X).ToArray();
            var line = plot.Add.Scatter(xs, ordered.Select(point => point.Y).ToArray());
            line.LegendText = series.Key;
            line.MarkerSize = 7;
        }

        if (logX)
        {
            // Sequence lengths double from point to point: equal spacing, labelled with the lengths themselves.
            var ticks = points.Select(point => point.X).Distinct().Order().ToArray();
            plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log2).ToArray(), ticks.Select(x => x.ToString("0")).ToArray());
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.SetLimitsY(0, points.Count == 0 ? 1 : points.Max(point => point.Y) * 1.1);
        plot.ShowLegend(ScottPlot.Edge.Right); // outside the data, so no point hides behind it

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        if (path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
        {
            plot.SaveSvg(path, 900, 560);
        }
        else
        {
            plot.SavePng(path, 900, 560);
        }
    }
}
