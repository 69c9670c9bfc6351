using System.Text;
using Spectre.Console;

namespace Quickstart;

/// <summary>
/// Prints a plan's text. Without a GPU the lines about the GPU kernel (keys starting with "gpu" and their
/// continuation lines) are build-time estimates that nothing here measured, so they are dimmed and labelled.
/// </summary>
internal static class PlanView
{
    public static void Write(string planText, bool gpuPresent)
    {
        bool inGpuEntry = false;
        var markup = new StringBuilder();
        foreach (string line in planText.TrimEnd().Split('\n'))
        {
            string trimmed = line.TrimStart();
            int indent = line.Length - trimmed.Length;
            if (indent == 2)
            {
                inGpuEntry = trimmed.StartsWith("gpu", System.StringComparison.Ordinal);
            }
            else if (indent < 2)
            {
                inGpuEntry = false;
            }

            string text = Markup.Escape(line.TrimEnd('\r'));
            if (!inGpuEntry || gpuPresent)
            {
                markup.AppendLine(text);
            }
            else
            {
                markup.AppendLine(indent == 2 ? $"[grey]{text}[/] [yellow](estimate: no GPU here)[/]" : $"[grey]{text}[/]");
            }
        }

        AnsiConsole.Markup(markup.ToString());
    }
}
