using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Training;

/// <summary>Writes the loss curve as an SVG line chart (no plotting library needed).</summary>
internal static class LossPlot
{
    public static void Write(string path, IReadOnlyList<double> losses, double chance)
    {
        const int Width = 640, Height = 360, Left = 60, Right = 20, Top = 30, Bottom = 40;
        double max = System.Math.Max(losses.Max(), chance) * 1.05;
        string X(int step) => (Left + ((Width - Left - Right) * step / (double)System.Math.Max(1, losses.Count - 1))).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double loss) => (Top + ((Height - Top - Bottom) * (1 - (loss / max)))).ToString("F1", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{Left}\" y=\"18\">Associative recall: training loss (cross-entropy) per Adam step, KernelDsl CPU Forward/Backward</text>");
        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        for (int i = 0; i <= 4; i++)
        {
            double value = max * i / 4;
            svg.AppendLine($"<text x=\"{Left - 8}\" y=\"{Y(value)}\" text-anchor=\"end\">{value.ToString("F2", CultureInfo.InvariantCulture)}</text>");
        }

        svg.AppendLine($"<text x=\"{Width - Right}\" y=\"{Height - 12}\" text-anchor=\"end\">step {losses.Count}</text>");
        svg.AppendLine($"<line x1=\"{Left}\" y1=\"{Y(chance)}\" x2=\"{Width - Right}\" y2=\"{Y(chance)}\" stroke=\"gray\" stroke-dasharray=\"4 4\"/>");
        svg.AppendLine($"<text x=\"{Width - Right}\" y=\"{Y(chance)}\" dy=\"-4\" text-anchor=\"end\" fill=\"gray\">chance (ln {(int)System.Math.Round(System.Math.Exp(chance))})</text>");
        var points = string.Join(" ", losses.Select((loss, step) => X(step) + "," + Y(loss)));
        svg.AppendLine($"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{points}\"/>");
        svg.AppendLine("</svg>");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, svg.ToString());
    }
}
