using System;
using System.IO;
using System.Runtime.CompilerServices;
using Shouldly;

namespace KernelDsl.Generators.Tests;

/// <summary>
/// Approval checks of generated files against Snapshots/{name}.approved.txt (Shouldly's ShouldMatchApproved,
/// with stable names: no test class or method in them, so moving a test does not orphan its snapshots).
/// <para>
/// Re-approving after an intended change to the emitters (mechanical):
/// <c>KERNELDSL_ACCEPT_SNAPSHOTS=1 dotnet test tests/KernelDsl.Generators.Tests</c> writes every received text
/// over its approved file; review the result with <c>git diff tests/KernelDsl.Generators.Tests/Snapshots</c> and
/// commit. To drop snapshots of files no longer generated, delete Snapshots/*.approved.txt first. Without the
/// variable a mismatch fails and leaves Snapshots/{name}.received.txt (git-ignored) next to the approved file.
/// </para>
/// </summary>
internal static class Snapshot
{
    public const string AcceptVariable = "KERNELDSL_ACCEPT_SNAPSHOTS";

    public const string Folder = "Snapshots";

    public static void Match(string actual, string name, [CallerFilePath] string thisFile = "")
    {
        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            string folder = Path.Combine(Path.GetDirectoryName(thisFile)!, Folder);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, name + ".approved.txt"), actual);
        }

        actual.ShouldMatchApproved(options => options
            .UseCallerLocation()
            .SubFolder(Folder)
            .WithDiscriminator(name)
            // Shouldly hands the discriminator over with a leading '.'.
            .WithFilenameGenerator((_, discriminator, type, extension) => $"{discriminator?.TrimStart('.')}.{type}.{extension}")
            .NoDiff());
    }
}
