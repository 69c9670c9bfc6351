using System.IO;
using Shouldly;

namespace KernelDsl.Compiler.Tests;

/// <summary>PTX approval snapshots: Snapshots/{name}.approved.ptx, reviewed as diffs.</summary>
internal static class PtxSnapshot
{
    /// <summary>
    /// Compares with Snapshots/{name}.approved.ptx; a difference writes {name}.received.ptx next to it. Set
    /// KDSL_ACCEPT_SNAPSHOTS=1 to rewrite the baseline.
    /// </summary>
    public static void Matches(string ptx, string name)
    {
        string approved = Path.Combine(PtxTools.RepoRoot, "tests", "KernelDsl.Compiler.Tests", "Snapshots", name + ".approved.ptx");
        bool created = !File.Exists(approved);
        if (System.Environment.GetEnvironmentVariable("KDSL_ACCEPT_SNAPSHOTS") == "1" || created)
        {
            File.WriteAllText(approved, ptx);
        }

        string expected = File.ReadAllText(approved).Replace("\r\n", "\n");
        if (expected != ptx)
        {
            File.WriteAllText(approved.Replace(".approved.ptx", ".received.ptx"), ptx);
        }

        created.ShouldBeFalse("no baseline existed; one was written to " + approved + ": review it and commit it");
        ptx.ShouldBe(expected, "emitted PTX differs from Snapshots/" + name + ".approved.ptx (a .received.ptx was written next to it)");
    }

}
