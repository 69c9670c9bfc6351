using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Spectre.Console;

namespace KernelDsl.Samples;

/// <summary>One column of a result table: the JSON row's key, its header, and how a number is written.</summary>
internal sealed record ResultColumn(string Key, string? Header = null, string? Format = null)
{
    public string Title => Header ?? Key;

    /// <summary>The cell for one row: empty when the row has no such key (e.g. first_call_ms after a spec's first S).</summary>
    public string Cell(IReadOnlyDictionary<string, object> row) => row.TryGetValue(Key, out var value)
        ? value switch
        {
            double number when Format is not null => number.ToString(Format, CultureInfo.InvariantCulture),
            IFormattable number => number.ToString(Format, CultureInfo.InvariantCulture),
            _ => value?.ToString() ?? string.Empty,
        }
        : string.Empty;
}

/// <summary>Reports the measurement in progress and the one just finished (see <see cref="BenchConsole.Run"/>).</summary>
internal interface IBenchProgress
{
    /// <summary>Names what is measured next; in a terminal the bar shows it (drawn now, before the timing starts).</summary>
    void Starting(string what);

    /// <summary>One measurement done: its line is printed (above the bar in a terminal) and the bar advances.</summary>
    void Finished(string line);
}

/// <summary>
/// The GPU benchmarks' console (GpuBench, FlexBench): a progress bar and a table with Spectre.Console for a person at a
/// terminal, and plain lines for a log — run-on-device.sh pipes the output into files, where ANSI escapes, cursor
/// movement and a redrawn bar would be noise. Spectre 0.57 already drops ANSI and the live display when stdout is
/// redirected (checked with TERM=xterm-256color and stdout in a file: no escape, one "task: 75%" line per milestone,
/// tables cut at 80 columns); here that is stated rather than detected, tables get the width of whole rows, and a log
/// gets one line per measurement instead of milestones. The bar is redrawn only between measurements (no refresh
/// thread), so nothing renders while the GPU is timed.
/// </summary>
internal sealed class BenchConsole
{
    private BenchConsole(IAnsiConsole console, bool interactive)
    {
        Console = console;
        Interactive = interactive;
    }

    /// <summary>Where everything is written.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>True for a terminal: live progress bar, colours. False for a log: plain text only.</summary>
    public bool Interactive { get; }

    /// <summary>Standard output: interactive only when it is a terminal.</summary>
    public static BenchConsole ForStandardOutput() => Create(System.Console.Out, interactive: !System.Console.IsOutputRedirected);

    /// <summary>A console over <paramref name="writer"/>; a non-interactive one writes plain text, wide enough for whole table rows.</summary>
    public static BenchConsole Create(TextWriter writer, bool interactive)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        if (!interactive)
        {
            console.Profile.Width = 240; // a log file: keep table rows whole instead of wrapping at 80 columns
        }

        return new BenchConsole(console, interactive);
    }

    /// <summary>A line of plain text (no markup is read in it).</summary>
    public void Line(string text) => Console.WriteLine(text);

    /// <summary>
    /// Runs <paramref name="measure"/> over <paramref name="count"/> measurements. In a terminal a progress bar counts
    /// them; in a log each finished line is the progress (a run cut short by a time limit still shows what it measured).
    /// </summary>
    public void Run(string title, int count, Action<IBenchProgress> measure)
    {
        if (!Interactive)
        {
            measure(new LogProgress(this, count));
            return;
        }

        Console.Progress()
            .AutoRefresh(false) // no render thread during the CUDA-event timing; redrawn by Starting/Finished
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context => measure(new BarProgress(Console, context, context.AddTask(Markup.Escape(title), maxValue: count))));
    }

    /// <summary>The result rows as a table with the given columns (numbers right-aligned).</summary>
    public void Table(string title, IReadOnlyList<ResultColumn> columns, IEnumerable<IReadOnlyDictionary<string, object>> rows)
    {
        var table = new Table().Title(Markup.Escape(title)).Border(Interactive ? TableBorder.Rounded : TableBorder.Ascii);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column.Title)).RightAligned());
        }

        foreach (var row in rows)
        {
            table.AddRow(columns.Select(column => Markup.Escape(column.Cell(row))).ToArray());
        }

        Console.Write(table);
    }

    /// <summary>One row as a log line: "header value" pairs in column order, empty cells left out.</summary>
    public static string RowLine(IReadOnlyList<ResultColumn> columns, IReadOnlyDictionary<string, object> row) =>
        string.Join("  ", columns.Select(column => (column.Title, Cell: column.Cell(row))).Where(c => c.Cell.Length > 0).Select(c => $"{c.Title} {c.Cell}"));

    private sealed class LogProgress(BenchConsole console, int count) : IBenchProgress
    {
        private int _done;

        public void Starting(string what)
        {
        }

        public void Finished(string line) => console.Line($"[{++_done}/{count}] {line}");
    }

    private sealed class BarProgress(IAnsiConsole console, ProgressContext context, ProgressTask task) : IBenchProgress
    {
        public void Starting(string what)
        {
            task.Description = Markup.Escape(what);
            context.Refresh();
        }

        public void Finished(string line)
        {
            console.WriteLine(line); // the live display draws itself again below it
            task.Increment(1);
            context.Refresh();
        }
    }
}
