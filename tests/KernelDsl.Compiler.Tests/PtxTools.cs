using System;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// Finds ptxas and cuobjdump (KDSL_CUDA_BIN, else .tools/cuda/usr/bin under the repository root, where
/// .ci/get-ptxas.sh puts them, else the PATH) and runs them.
/// </summary>
internal static class PtxTools
{
    public static string RepoRoot { get; } = FindRoot();

    public static string? Ptxas { get; } = Find("ptxas");

    public static string? Cuobjdump { get; } = Find("cuobjdump");

    /// <summary>ptxas's release ("11.8", "13.0"), or empty when ptxas is missing.</summary>
    public static string PtxasRelease { get; } = ReadRelease();

    /// <summary>True when ptxas knows sm_90a (CUDA 12.0 and later).</summary>
    public static bool SupportsSm90a => int.TryParse(PtxasRelease.Split('.')[0], out int major) && major >= 12;

    public static string MissingReason =>
        "ptxas/cuobjdump not found (looked in $KDSL_CUDA_BIN, " + Path.Combine(RepoRoot, ".tools/cuda/usr/bin") +
        " and PATH); run .ci/get-ptxas.sh to install CUDA 11.8's from Debian non-free";

    public static (int ExitCode, string Output) Run(string tool, string arguments)
    {
        var start = new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }

    /// <summary>What ptxas -v says about one entry.</summary>
    public sealed record Report(int Registers, int StackFrame, int SpillStores, int SpillLoads);

    public static Report Parse(string ptxasOutput)
    {
        var used = Regex.Match(ptxasOutput, @"Used (\d+) registers");
        var frame = Regex.Match(ptxasOutput, @"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads");
        if (!used.Success || !frame.Success)
        {
            throw new InvalidOperationException("unexpected ptxas output:\n" + ptxasOutput);
        }

        return new Report(int.Parse(used.Groups[1].Value), int.Parse(frame.Groups[1].Value), int.Parse(frame.Groups[2].Value), int.Parse(frame.Groups[3].Value));
    }

    private static string ReadRelease()
    {
        if (Ptxas is null)
        {
            return string.Empty;
        }

        var match = Regex.Match(Run(Ptxas, "--version").Output, @"release (\d+\.\d+)");
        return match.Success ? match.Groups[1].Value : string.Empty;
    }

    private static string? Find(string tool)
    {
        foreach (var dir in new[] { Environment.GetEnvironmentVariable("KDSL_CUDA_BIN"), Path.Combine(RepoRoot, ".tools", "cuda", "usr", "bin") })
        {
            if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, tool)))
            {
                return Path.Combine(dir, tool);
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, tool)))
            {
                return Path.Combine(dir, tool);
            }
        }

        return null;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KernelDsl.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
