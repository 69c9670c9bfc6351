using System;
using System.Linq;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Backward;

/// <summary>
/// The CPU backward is deterministic by construction (one writer per output element, fixed summation orders, buffer
/// gradients reduced over a fixed number of groups in group order): ten runs on the same inputs give identical bits
/// for dQ, dK, dV and a learnable buffer's gradient, on a shape with many work items per pass.
/// </summary>
public sealed class BackwardDeterminismTests(ITestOutputHelper output)
{
    [Fact]
    public void TenRunsGiveIdenticalBits()
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var shape = new AttentionShape(2, 300, 300, 4, 2, 32, 32);
        float[] q = RandomTensors.Uniform<float>(random, 2 * 300 * 4 * 32), k = RandomTensors.Uniform<float>(random, 2 * 300 * 2 * 32);
        float[] v = RandomTensors.Uniform<float>(random, 2 * 300 * 2 * 32), dO = RandomTensors.Uniform<float>(random, q.Length);
        float[] slopes = Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble()).ToArray();
        var o = new float[q.Length];
        var lse = new float[2 * 4 * 300];
        BwdAlibiLearnable.Forward(q, k, v, o, lse, slopes, shape);

        byte[]? first = null;
        for (int run = 0; run < 10; run++)
        {
            var dq = new float[q.Length];
            var dk = new float[k.Length];
            var dv = new float[v.Length];
            var dSlopes = new float[slopes.Length];
            BwdAlibiLearnable.Backward(q, k, v, o, lse, dO, dq, dk, dv, slopes, dSlopes, shape);
            byte[] bits = new[] { dq, dk, dv, dSlopes }.SelectMany(a => a.SelectMany(BitConverter.GetBytes)).ToArray();
            if (first is null)
            {
                first = bits;
                dSlopes.ShouldAllBe(g => g != 0 && float.IsFinite(g));
            }
            else
            {
                bits.SequenceEqual(first).ShouldBeTrue($"run {run} differs from run 0 (seed {seed})");
            }
        }
    }
}
