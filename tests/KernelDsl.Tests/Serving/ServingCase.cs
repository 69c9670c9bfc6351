using System;
using KernelDsl.Reference;

namespace KernelDsl.Tests.Serving;

/// <summary>Helpers of the serving tests: NaN poison, and the two error measures against the float64 reference.</summary>
internal static class ServingCase
{
    /// <summary>An array of <paramref name="length"/> NaNs (poison: an element the kernel does not write fails the test).</summary>
    public static T[] Poisoned<T>(int length)
        where T : unmanaged
    {
        var data = new T[length];
        Array.Fill(data, RandomTensors.FromFloat<T>(float.NaN));
        return data;
    }

    /// <summary>(relative error of O — NaN when any element is NaN —, max |LSE error| with −∞ matched exactly).</summary>
    public static (double Output, double Lse) Errors<TOut>(TOut[] output, float[] lse, ReferenceResult reference)
        where TOut : unmanaged =>
        (ErrorMetrics.RelativeError<TOut>(output, reference.Output), ErrorMetrics.MaxLseError(lse, reference.Lse));
}
