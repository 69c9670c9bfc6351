using System;
using System.Collections.Generic;
using KernelDsl;
using KernelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// How every GPU benchmark here times and feeds a kernel (shared with samples/FlexBench): CUDA events around
/// groups of back-to-back launches after a warm-up, median of 7 groups, fresh uniform random inputs. The PyTorch
/// scripts time their side the same way (torch.cuda.Event, same group sizing).
/// </summary>
internal static class DeviceTiming
{
    /// <summary>Median per-launch time of 7 groups, each about 25 ms long, after one warm-up launch.</summary>
    public static double MedianMilliseconds(Action run)
    {
        using var timer = new CudaTimer();
        run();
        Cuda.Synchronize();
        timer.Start();
        run();
        timer.Stop();
        int perGroup = Math.Clamp((int)(25 / Math.Max(timer.ElapsedMilliseconds(), 1e-3)), 1, 200);
        var groups = new List<double>();
        for (int g = 0; g < 7; g++)
        {
            timer.Start();
            for (int i = 0; i < perGroup; i++)
            {
                run();
            }

            timer.Stop();
            groups.Add(timer.ElapsedMilliseconds() / perGroup);
        }

        groups.Sort();
        return groups[groups.Count / 2];
    }

    /// <summary>BHSD q, k, v (uniform in [−1, 1)) and an output tensor of [b, h, s, d].</summary>
    public static (object Q, object K, object V, object O, Action Dispose) Allocate<T>(int b, int s, int h, int d, Random random)
        where T : unmanaged
    {
        var q = DeviceTensor<T>.Create(TensorLayout.BHSD, b, s, h, d);
        var k = DeviceTensor<T>.Create(TensorLayout.BHSD, b, s, h, d);
        var v = DeviceTensor<T>.Create(TensorLayout.BHSD, b, s, h, d);
        var o = DeviceTensor<T>.Create(TensorLayout.BHSD, b, s, h, d);
        var host = new T[q.Length];
        foreach (var t in new[] { q, k, v })
        {
            for (int i = 0; i < host.Length; i++)
            {
                float x = (float)((random.NextDouble() * 2) - 1);
                host[i] = typeof(T) == typeof(Half) ? (T)(object)(Half)x : (T)(object)(BFloat16)x;
            }

            t.Upload(host);
        }

        return (q, k, v, o, () => { q.Dispose(); k.Dispose(); v.Dispose(); o.Dispose(); });
    }
}
