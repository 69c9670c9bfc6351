using System.Collections.Generic;
using System.IO;
using System.Linq;
using GpuBench;
using Shouldly;
using Xunit;

namespace KernelDsl.Samples.Tests;

/// <summary>The GPU benchmarks' output when it goes to a log (run-on-device.sh pipes it into files).</summary>
public sealed class BenchConsoleTests
{
    private static readonly Dictionary<string, object>[] Rows =
    [
        new() { ["D"] = 64, ["dtype"] = "FP16", ["causal"] = true, ["S"] = 512, ["B"] = 32, ["H"] = 32, ["ms"] = 0.123456, ["tflops"] = 217.25, ["first_call_ms"] = 812.04 },
        new() { ["D"] = 64, ["dtype"] = "FP16", ["causal"] = true, ["S"] = 16384, ["B"] = 1, ["H"] = 32, ["ms"] = 9.87654, ["tflops"] = 431.5 },
    ];

    [Fact]
    public void A_log_gets_plain_lines_per_measurement_and_a_whole_table_without_escape_sequences()
    {
        var log = new StringWriter();
        var console = BenchConsole.Create(log, interactive: false);

        console.Run("standard grid", Rows.Length, progress =>
        {
            foreach (var row in Rows)
            {
                progress.Starting(GridOutput.Describe((int)row["D"], (string)row["dtype"], (bool)row["causal"], (int)row["S"]));
                progress.Finished(BenchConsole.RowLine(GridOutput.Columns, row));
            }
        });
        console.Table("KernelDsl forward on [a GPU]", GridOutput.Columns, Rows);
        string text = log.ToString();

        text.ShouldNotContain("\u001b"); // no ANSI: no colours, no cursor movement, no redrawn bar
        var lines = text.Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        lines[0].ShouldBe("[1/2] D 64  dtype FP16  causal True  S 512  B 32  H 32  ms 0.1235  TFLOP/s 217.2  first call ms 812.0");
        lines[1].ShouldBe("[2/2] D 64  dtype FP16  causal True  S 16384  B 1  H 32  ms 9.8765  TFLOP/s 431.5"); // no first call: no cell
        text.ShouldContain("KernelDsl forward on [a GPU]"); // a title with brackets is text, not markup

        // Each data row of the table is one line (not wrapped at 80 columns), with every cell in it.
        lines.ShouldContain(line => line.Contains("16384") && line.Contains("9.8765") && line.Contains("431.5") && line.Length > 80);
        lines.Count(line => line.Contains("FP16")).ShouldBe(4); // two progress lines, two table rows
    }

    [Fact]
    public void A_terminal_gets_a_progress_bar_and_still_every_measurement_line()
    {
        var screen = new StringWriter();
        var console = BenchConsole.Create(screen, interactive: true);

        console.Run("standard grid", Rows.Length, progress =>
        {
            foreach (var row in Rows)
            {
                progress.Starting($"S={row["S"]}");
                progress.Finished(BenchConsole.RowLine(GridOutput.Columns, row));
            }
        });

        console.Interactive.ShouldBeTrue();
        string text = screen.ToString();
        text.ShouldContain("S 512  B 32");
        text.ShouldContain("S 16384  B 1");
    }

    [Fact]
    public void A_backward_row_names_the_backward_and_the_step()
    {
        var row = new Dictionary<string, object>
        {
            ["D"] = 128, ["dtype"] = "BF16", ["causal"] = false, ["S"] = 4096, ["B"] = 4, ["H"] = 16,
            ["ms"] = 2.5, ["tflops"] = 300.04, ["step_ms"] = 3.25, ["step_tflops"] = 320.0,
        };
        BenchConsole.RowLine(GridOutput.BackwardColumns, row)
            .ShouldBe("D 128  dtype BF16  causal False  S 4096  B 4  H 16  bwd ms 2.5000  TFLOP/s 300.0  step ms 3.2500  step TFLOP/s 320.0");
    }

    [Fact]
    public void A_column_formats_numbers_invariantly_and_leaves_a_missing_key_empty()
    {
        var column = new ResultColumn("block_density", "block density", "P1");
        column.Cell(new Dictionary<string, object> { ["block_density"] = 0.25 }).ShouldBe("25.0 %");
        column.Cell(new Dictionary<string, object>()).ShouldBe(string.Empty);
        new ResultColumn("S").Cell(new Dictionary<string, object> { ["S"] = 4096 }).ShouldBe("4096");
    }
}
