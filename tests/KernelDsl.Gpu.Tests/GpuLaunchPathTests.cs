using System;
using System.Linq;
using KernelDsl.Cuda;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests;

/// <summary>
/// The device <c>Forward</c>'s launch path on a GPU: no managed allocation per call in steady state (with LSE, captured
/// buffers and a block mask), and calls on a created stream captured into a CUDA graph replay to the same results as
/// direct calls. Skips without a GPU. In the GPU collection: run one at a time (an allocation count is disturbed by
/// other tests' work) and left out where there is no GPU (tests/Directory.Build.targets).
/// </summary>
[Collection(nameof(GpuCollection))]
public class GpuLaunchPathTests(ITestOutputHelper output)
{
    [Fact]
    public void SteadyStateForwardAllocatesNothing()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        var shape = new AttentionShape(1, 64, 64, 8, 8, 128, 128);
        using var q = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 64, 8, 128);
        using var k = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 64, 8, 128);
        using var v = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 64, 8, 128);
        using var o = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 64, 8, 128);
        using var lse = new DeviceBuffer<float>(8 * 64);
        var documents = Enumerable.Range(0, 64).Select(i => i / 20).ToArray();
        using var deviceDocuments = DeviceBuffer<int>.From(documents);
        using var mask = GpuDocumentBf16D128.CreateGpuBlockMask(shape, documents).ToDevice();
        using var stream = CudaStream.Create();
        Upload(new Random(Random.Shared.Next()), q, k, v);

        foreach (var (name, launch) in new (string, Action)[]
        {
            ("default stream, with block mask", () => GpuDocumentBf16D128.Forward(q, k, v, o, lse, deviceDocuments, blockMask: mask)),
            ("created stream, with block mask", () => GpuDocumentBf16D128.Forward(q, k, v, o, lse, deviceDocuments, stream, mask)),
            ("created stream, no block mask", () => GpuDocumentBf16D128.Forward(q, k, v, o, lse, deviceDocuments, stream)),
        })
        {
            for (int i = 0; i < 200; i++)
            {
                launch();
            }

            Cuda.Cuda.Synchronize();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                launch();
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Cuda.Cuda.Synchronize();
            output.WriteLine($"{name}: {allocated} bytes over 1000 calls");
            allocated.ShouldBe(0, name);
        }
    }

    [Fact]
    public void HundredCapturedCallsReplayToTheDirectResults()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        const int Calls = 100;
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);

        // 100 calls, each with its own q and output (k, v shared), small enough for a tiny-problem graph.
        using var k = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 96, 2, 64);
        using var v = DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 96, 2, 64);
        var qs = Enumerable.Range(0, Calls).Select(_ => DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 80, 4, 64)).ToArray();
        var outputs = Enumerable.Range(0, Calls).Select(_ => DeviceTensor<Half>.Create(TensorLayout.BSHD, 1, 80, 4, 64)).ToArray();
        var lses = Enumerable.Range(0, Calls).Select(_ => new DeviceBuffer<float>(4 * 80)).ToArray();
        try
        {
            using var stream = CudaStream.Create();
            Upload(random, [k, v, .. qs]);
            void Call(int i, CudaStream s) => GpuFp16BshdCausalTopLeftD64.Forward(qs[i], k, v, outputs[i], lses[i], s);

            // Direct calls (this is also each kernel's first call, so the capture pays no JIT).
            for (int i = 0; i < Calls; i++)
            {
                Call(i, stream);
            }

            stream.Synchronize();
            var direct = outputs.Select(o => o.ToArray()).ToArray();
            var directLse = lses.Select(l => l.ToArray()).ToArray();

            using var graph = CudaGraph.Capture(stream, s =>
            {
                CudaGraph.IsCapturing(s).ShouldBeTrue();
                for (int i = 0; i < Calls; i++)
                {
                    Call(i, s);
                }
            });
            graph.NodeCount.ShouldBe(Calls);
            CudaGraph.IsCapturing(stream).ShouldBeFalse();

            // Capture recorded, did not run: poison, replay, compare bit for bit.
            Poison(outputs, lses);
            graph.Launch(stream);
            stream.Synchronize();
            for (int i = 0; i < Calls; i++)
            {
                outputs[i].ToArray().ShouldBe(direct[i], $"output of call {i}");
                lses[i].ToArray().ShouldBe(directLse[i], $"LSE of call {i}");
            }

            // A replay reads the inputs as they are at replay time: new q values give the new direct results.
            Upload(random, qs);
            Poison(outputs, lses);
            graph.Launch(stream);
            stream.Synchronize();
            var replayed = outputs.Select(o => o.ToArray()).ToArray();
            for (int i = 0; i < Calls; i++)
            {
                Call(i, stream);
            }

            stream.Synchronize();
            for (int i = 0; i < Calls; i++)
            {
                replayed[i].ShouldBe(outputs[i].ToArray(), $"output of call {i} after new inputs");
                replayed[i].ShouldNotBe(direct[i], $"call {i} saw the new inputs");
            }
        }
        finally
        {
            foreach (var t in qs.Concat(outputs))
            {
                t.Dispose();
            }

            foreach (var l in lses)
            {
                l.Dispose();
            }
        }
    }

    [Fact]
    public void ACaptureThatSynchronizesFailsAndLeavesTheStreamUsable()
    {
        Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");
        using var stream = CudaStream.Create();
        using var buffer = new DeviceBuffer<float>(16);

        // A synchronous upload inside the capture is refused by the driver (it would run now, not at replay).
        Should.Throw<CudaException>(() => CudaGraph.Capture(stream, _ => buffer.Upload(new float[16])));
        CudaGraph.IsCapturing(stream).ShouldBeFalse();
        stream.Synchronize();
        buffer.Upload(new float[16]);
    }

    private static void Upload<T>(Random random, params DeviceTensor<T>[] tensors)
        where T : unmanaged
    {
        foreach (var t in tensors)
        {
            t.Upload(RandomTensors.Uniform<T>(random, checked((int)t.Length), 1f));
        }
    }

    private static void Poison(DeviceTensor<Half>[] outputs, DeviceBuffer<float>[] lses)
    {
        foreach (var o in outputs)
        {
            o.Fill(Half.NaN);
        }

        foreach (var l in lses)
        {
            l.Fill(float.NaN);
        }
    }
}
