using System;

namespace KernelDsl.Reference;

/// <summary>How tests and samples compare a kernel's output with the float64 reference.</summary>
public static class ErrorMetrics
{
    /// <summary>
    /// ‖actual − expected‖₂ / ‖expected‖₂. NaN (never passes a threshold) when any actual element is NaN —
    /// outputs are poisoned with NaN before a run, so an unwritten element shows up here. When the reference
    /// is all zeros the absolute error norm is returned.
    /// </summary>
    public static double RelativeError<T>(ReadOnlySpan<T> actual, ReadOnlySpan<double> expected)
        where T : unmanaged
    {
        if (actual.Length != expected.Length)
        {
            throw new ArgumentException($"Lengths differ: actual {actual.Length}, expected {expected.Length}.", nameof(expected));
        }

        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = AttentionReference.ToDouble(actual[i]);
            if (double.IsNaN(a))
            {
                return double.NaN;
            }

            double e = expected[i];
            diff += (a - e) * (a - e);
            norm += e * e;
        }

        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }

    /// <summary>
    /// Largest |actual − expected| over LSE values, treating a matching −∞ as exact and any other
    /// disagreement about −∞ (or a NaN) as +∞.
    /// </summary>
    public static double MaxLseError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            bool actualEmpty = float.IsNegativeInfinity(actual[i]);
            bool expectedEmpty = double.IsNegativeInfinity(expected[i]);
            if (float.IsNaN(actual[i]) || actualEmpty != expectedEmpty)
            {
                return double.PositiveInfinity;
            }

            if (!actualEmpty)
            {
                worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]));
            }
        }

        return worst;
    }
}
