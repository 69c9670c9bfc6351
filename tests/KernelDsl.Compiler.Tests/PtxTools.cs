using System;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// Finds ptxas and cuobjdump and runs them. Two toolchains: the main one (KDSL_CUDA_BIN, else .tools/cuda/usr/bin
/// under the repository root, where .ci/get-ptxas.sh puts CUDA 11.8, else the PATH) assembles the sm_80 family and
/// proves its PTX ISA 7.8 promise; the Hopper one (KDSL_CUDA12_BIN, else .tools/cuda12/usr/bin, where
/// `.ci/get-ptxas.sh trixie` puts CUDA 12.4, else the main one when it is CUDA 12 or later) assembles sm_90a.
/// </summary>
internal static class PtxTools
{
    public static string RepoRoot { get; } = FindRoot();

    public static string? Ptxas { get; } = Find("ptxas");

    public static string? Cuobjdump { get; } = Find("cuobjdump");

    /// <summary>ptxas's release ("11.8", "13.0"), or empty when ptxas is missing.</summary>
    public static string PtxasRelease { get; } = ReadRelease(Ptxas);

    /// <summary>The toolchain that assembles sm_90a (wgmma): CUDA 12 or later, or null when none was found.</summary>
    public static (string Ptxas, string Cuobjdump, string Release)? Hopper { get; } = FindHopper();

    public static string HopperMissingReason =>
        "no CUDA 12+ ptxas for sm_90a (looked in $KDSL_CUDA12_BIN, " + Path.Combine(RepoRoot, ".tools/cuda12/usr/bin") +
        ", and the main toolchain, ptxas " + (PtxasRelease.Length == 0 ? "missing" : PtxasRelease) +
        "); run `.ci/get-ptxas.sh trixie` to install CUDA 12.4's from Debian non-free";

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

    private static string ReadRelease(string? ptxas)
    {
        if (ptxas is null)
        {
            return string.Empty;
        }

        var match = Regex.Match(Run(ptxas, "--version").Output, @"release (\d+\.\d+)");
        return match.Success ? match.Groups[1].Value : string.Empty;
    }

    private static bool KnowsSm90a(string release) => int.TryParse(release.Split('.')[0], out int major) && major >= 12;

    private static (string, string, string)? FindHopper()
    {
        foreach (var dir in new[] { Environment.GetEnvironmentVariable("KDSL_CUDA12_BIN"), Path.Combine(RepoRoot, ".tools", "cuda12", "usr", "bin") })
        {
            if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, "ptxas")) && File.Exists(Path.Combine(dir, "cuobjdump")))
            {
                string ptxas = Path.Combine(dir, "ptxas");
                string release = ReadRelease(ptxas);
                if (KnowsSm90a(release))
                {
                    return (ptxas, Path.Combine(dir, "cuobjdump"), release);
                }
            }
        }

        return Ptxas is not null && Cuobjdump is not null && KnowsSm90a(PtxasRelease) ? (Ptxas, Cuobjdump, PtxasRelease) : null;
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
