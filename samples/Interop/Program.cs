using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using Interop;
using KernelDsl;
using KernelDsl.Cuda;

// The C# half of torch_ipc.py: open the CUDA IPC handles PyTorch exported, wrap them as DeviceTensor views (no copy,
// no ownership), run the generated Forward into PyTorch's output tensor, synchronize, close the handles. PyTorch
// keeps the memory alive while this runs and checks the output afterwards.
var handoffPath = new Argument<FileInfo>("handoff") { Description = "The JSON file torch_ipc.py wrote (device, dtype, and an IPC handle, offset, shape and strides per tensor)." };
handoffPath.AcceptExistingOnly();
var root = new RootCommand("Runs CausalFp16.Forward on q, k, v and o that another process (PyTorch, torch_ipc.py) allocated and exported as CUDA IPC handles.")
{
    handoffPath,
};
root.SetAction(parsed => Run(parsed.GetValue(handoffPath)!));
return root.Parse(args).Invoke();

static int Run(FileInfo path)
{
    IpcHandoff handoff;
    try
    {
        handoff = IpcHandoff.Read(path.FullName);
    }
    catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException)
    {
        Console.Error.WriteLine($"{path.FullName}: {e.Message}");
        return 2;
    }

    if (!Cuda.IsAvailable)
    {
        Console.Error.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
        return 1;
    }

    var context = CudaContext.ForDevice(handoff.Device);
    context.MakeCurrent(); // IPC mappings belong to the current context: KernelDsl's (the device's primary context)

    // PyTorch's caching allocator may put several tensors in one block: each allocation is opened once.
    var opened = new Dictionary<string, ulong>();
    var tensors = new Dictionary<string, DeviceTensor<Half>>();
    try
    {
        foreach (string name in IpcHandoff.Names)
        {
            var exported = handoff.Tensors[name];
            string key = Convert.ToHexString(exported.Handle);
            if (!opened.TryGetValue(key, out ulong allocation))
            {
                allocation = CudaIpc.Open(exported.Handle);
                opened[key] = allocation;
            }

            // Wrap checks with the driver that the view lies inside the mapped allocation, on this context's device.
            tensors[name] = DeviceTensor<Half>.Wrap(allocation + (ulong)exported.OffsetBytes, TensorLayout.BHSD, exported.Shape, exported.Strides, context);
            Console.WriteLine($"{name}: [{string.Join(", ", exported.Shape)}] strides [{string.Join(", ", exported.Strides)}] at 0x{tensors[name].DevicePointer:X} (allocation 0x{allocation:X} + {exported.OffsetBytes}), owns memory: {tensors[name].OwnsMemory}");
        }

        var clock = Stopwatch.StartNew();
        CausalFp16.Forward(tensors["q"], tensors["k"], tensors["v"], tensors["o"]);
        context.Synchronize(); // the other process reads o after this process exits
        Console.WriteLine($"CausalFp16.Forward wrote o in {clock.Elapsed.TotalMilliseconds:F1} ms (first call: PTX JIT + module load + the kernel) on {context.Device}");
        return 0;
    }
    finally
    {
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose(); // frees nothing: the views do not own the memory
        }

        foreach (ulong allocation in opened.Values)
        {
            CudaIpc.Close(allocation);
        }
    }
}
