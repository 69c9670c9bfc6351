using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using KernelDsl.Cuda;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Shared helpers: GPU skip rule, embedded PTX, seeded random data.</summary>
internal static class TestSupport
{
    /// <summary>Skips the calling test, with the driver's reason, when no GPU can run it.</summary>
    public static void RequireGpu() =>
        Assert.SkipUnless(Cuda.IsAvailable, $"No CUDA device: {Cuda.UnavailableReason}");

    /// <summary>Skips the calling test when a GPU is present (the test observes the no-GPU path).</summary>
    public static void RequireNoGpu() =>
        Assert.SkipWhen(Cuda.IsAvailable, "A CUDA device is present, so the no-GPU path cannot be observed here (DriverProbeTests fakes it).");

    /// <summary>Whether the driver library itself can be loaded (independent of cuInit and devices).</summary>
    public static bool DriverLibraryLoads()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out nint library))
        {
            NativeLibrary.Free(library);
            return true;
        }

        return false;
    }

    /// <summary>A PTX file embedded from the Ptx folder.</summary>
    public static string Ptx(string name)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name + ".ptx")
            ?? throw new InvalidOperationException($"No embedded PTX named {name}.ptx.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>A fresh seed, written to the test output so a failure can be replayed.</summary>
    public static Random SeededRandom(ITestOutputHelper output)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed = {seed}");
        return new Random(seed);
    }

    public static float[] RandomFloats(Random random, int length, float scale = 4f)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        }

        return values;
    }
}
