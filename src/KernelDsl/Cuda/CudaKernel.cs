using System;
using System.Threading;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// One kernel (a PTX .entry) of a loaded module: its resource usage as the JIT compiled it, the dynamic
/// shared-memory limit, and <c>Launch</c>. Thread-safe; lives as long as its module.
/// </summary>
public sealed class CudaKernel
{
    private readonly Lock _gate = new();
    private int _dynamicSharedLimit;

    private CudaKernel(CudaModule module, string entryName, nint function)
    {
        Module = module;
        EntryName = entryName;
        Function = function;
        Registers = GetAttribute(FunctionAttribute.NumRegs);
        LocalMemoryBytes = GetAttribute(FunctionAttribute.LocalSizeBytes);
        StaticSharedMemoryBytes = GetAttribute(FunctionAttribute.SharedSizeBytes);
        MaxThreadsPerBlock = GetAttribute(FunctionAttribute.MaxThreadsPerBlock);
        _dynamicSharedLimit = GetAttribute(FunctionAttribute.MaxDynamicSharedSizeBytes);
    }

    public CudaModule Module { get; }

    public CudaContext Context => Module.Context;

    /// <summary>The .entry name in the PTX.</summary>
    public string EntryName { get; }

    /// <summary>Registers per thread (CU_FUNC_ATTRIBUTE_NUM_REGS).</summary>
    public int Registers { get; }

    /// <summary>Local memory per thread in bytes (CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES); non-zero means spills or a stack frame.</summary>
    public int LocalMemoryBytes { get; }

    /// <summary>Statically declared shared memory per block, in bytes.</summary>
    public int StaticSharedMemoryBytes { get; }

    /// <summary>The most threads a block of this kernel may have given its register use.</summary>
    public int MaxThreadsPerBlock { get; }

    /// <summary>The current limit on dynamic shared memory per block (raise with <see cref="EnsureDynamicSharedMemory"/>).</summary>
    public int MaxDynamicSharedMemoryBytes => Volatile.Read(ref _dynamicSharedLimit);

    internal nint Function { get; }

    internal static CudaKernel Create(CudaModule module, string entryName)
    {
        module.Context.MakeCurrent();
        CudaResult result = CudaDriver.cuModuleGetFunction(out nint function, module.Handle, entryName);
        CudaException.Check(result, "cuModuleGetFunction", $"no kernel named '{entryName}' in the module (check the PTX .entry name)");
        return new CudaKernel(module, entryName, function);
    }

    /// <summary>
    /// Raises the kernel's dynamic shared-memory limit to at least <paramref name="bytes"/> (beyond the 48 KiB
    /// default a kernel must opt in). Calls the driver only when the limit actually grows, so calling it before
    /// every launch is cheap. Throws <see cref="ArgumentOutOfRangeException"/> past the device's opt-in limit.
    /// </summary>
    public void EnsureDynamicSharedMemory(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= Volatile.Read(ref _dynamicSharedLimit))
        {
            return;
        }

        int available = Context.Device.SharedMemoryPerBlockOptIn - StaticSharedMemoryBytes;
        if (bytes > available)
        {
            throw new ArgumentOutOfRangeException(
                nameof(bytes), bytes,
                $"Kernel '{EntryName}' asks for {bytes} bytes of dynamic shared memory, but {Context.Device.Name} allows " +
                $"{Context.Device.SharedMemoryPerBlockOptIn} per block, {StaticSharedMemoryBytes} of which the kernel declares statically.");
        }

        lock (_gate)
        {
            if (bytes > _dynamicSharedLimit)
            {
                Context.MakeCurrent();
                CudaException.Check(
                    CudaDriver.cuFuncSetAttribute(Function, FunctionAttribute.MaxDynamicSharedSizeBytes, bytes),
                    "cuFuncSetAttribute",
                    $"kernel '{EntryName}', CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = {bytes}");
                Volatile.Write(ref _dynamicSharedLimit, bytes);
            }
        }
    }

    /// <summary>
    /// Enqueues the kernel on <paramref name="stream"/> (null: the legacy default stream). Raises the dynamic
    /// shared-memory limit first if needed. Launch errors (bad configuration, too many resources) throw here;
    /// faults during execution surface at the next synchronization.
    /// </summary>
    public unsafe void Launch(Dim3 grid, Dim3 block, int dynamicSharedBytes, CudaStream? stream, KernelArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        nint streamHandle = PrepareLaunch(block, dynamicSharedBytes, stream);
        CudaResult result;
        void** pointers = stackalloc void*[Math.Max(1, arguments.Count)];
        fixed (byte* data = arguments.Data)
        {
            for (int i = 0; i < arguments.Count; i++)
            {
                pointers[i] = data + arguments.GetSlot(i).Offset;
            }

            result = CudaDriver.cuLaunchKernel(
                Function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, (uint)dynamicSharedBytes, streamHandle, arguments.Count == 0 ? null : pointers, null);
        }

        CheckLaunch(result, grid, block, dynamicSharedBytes, arguments.Count);
    }

    /// <summary>
    /// The allocation-free launch the generated <c>Forward</c> uses: as <see cref="Launch(Dim3, Dim3, int, CudaStream?, KernelArguments)"/>,
    /// with the values in a <see cref="LaunchArguments"/> on the caller's stack. In steady state this is one
    /// cuCtxSetCurrent and one cuLaunchKernel; an error message is formatted only when the launch fails.
    /// </summary>
    public void Launch(Dim3 grid, Dim3 block, int dynamicSharedBytes, CudaStream? stream, ref LaunchArguments arguments)
    {
        nint streamHandle = PrepareLaunch(block, dynamicSharedBytes, stream);
        CudaResult result = arguments.LaunchKernel(Function, grid, block, (uint)dynamicSharedBytes, streamHandle);
        CheckLaunch(result, grid, block, dynamicSharedBytes, arguments.Count);
    }

    /// <summary>The checks before a launch: block size, stream context, shared-memory opt-in; makes the context current.</summary>
    private nint PrepareLaunch(Dim3 block, int dynamicSharedBytes, CudaStream? stream)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dynamicSharedBytes);
        if (block.Volume > MaxThreadsPerBlock)
        {
            ThrowTooManyThreads(block);
        }

        nint streamHandle = CudaStream.HandleFor(stream, Context);
        EnsureDynamicSharedMemory(dynamicSharedBytes);
        Context.MakeCurrent();
        return streamHandle;
    }

    private void CheckLaunch(CudaResult result, Dim3 grid, Dim3 block, int dynamicSharedBytes, int count)
    {
        if (result != CudaResult.Success)
        {
            CudaException.Check(result, "cuLaunchKernel",
                $"kernel '{EntryName}', grid {grid}, block {block}, {dynamicSharedBytes} bytes dynamic shared memory, {count} parameters");
        }
    }

    private void ThrowTooManyThreads(Dim3 block) =>
        throw new ArgumentOutOfRangeException(nameof(block), block,
            $"Kernel '{EntryName}' can run at most {MaxThreadsPerBlock} threads per block ({Registers} registers per thread).");

    public override string ToString() =>
        $"{EntryName}: {Registers} registers, {LocalMemoryBytes} B local, {StaticSharedMemoryBytes} B static shared memory";

    private int GetAttribute(FunctionAttribute attribute)
    {
        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuFuncGetAttribute(out int value, attribute, Function), "cuFuncGetAttribute", attribute.ToString());
        return value;
    }
}
