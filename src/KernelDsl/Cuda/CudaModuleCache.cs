using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace KernelDsl.Cuda;

/// <summary>
/// Loads each PTX text at most once per context and keeps the module for the life of the context.
/// Thread-safe: concurrent first calls with the same PTX wait for one JIT. Keyed by the PTX text itself, with two
/// identity fast paths, because hashing a 100–200 KB PTX string per launch costs more than a small kernel:
/// <see cref="GetKernel(GpuKernelInfo)"/> caches per generated kernel descriptor (what the generated Forward passes),
/// and interned strings are also remembered by reference.
/// </summary>
/// <remarks>
/// Generated code keeps its PTX as UTF-8 data decoded once into a (non-interned) string, so only the descriptor path
/// is free: measured on .NET 10 (2026-12-01, the 2-core Zen 5 development machine) with a 170 K-character PTX, a
/// lookup by text costs ~50 µs, and asking <c>string.IsInterned</c> on every call (a lookup of the whole string in the
/// runtime's intern table) another ~370 µs, which is where short kernels on the H200 lost most of their time. The
/// interned check now runs only when a module is first requested.
/// </remarks>
public sealed class CudaModuleCache
{
    private readonly ConcurrentDictionary<string, Lazy<CudaModule>> _byText = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CudaModule> _byReference = new(ReferenceEqualityComparer.Instance as IEqualityComparer<string>);
    private readonly ConcurrentDictionary<GpuKernelInfo, CudaKernel> _byKernelInfo = new(ReferenceEqualityComparer.Instance as IEqualityComparer<GpuKernelInfo>);

    internal CudaModuleCache(CudaContext context)
    {
        Context = context;
    }

    public CudaContext Context { get; }

    /// <summary>Number of distinct PTX texts loaded.</summary>
    public int Count => _byText.Count;

    /// <summary>
    /// The module for this PTX, JIT-compiling and loading it on first request (see <see cref="CudaModule.LoadTime"/>
    /// for how long that took). A failed load is not cached: the exception propagates and a later call retries.
    /// </summary>
    public CudaModule GetOrLoad(string ptx)
    {
        ArgumentException.ThrowIfNullOrEmpty(ptx);
        if (_byReference.TryGetValue(ptx, out CudaModule? known))
        {
            return known;
        }

        Lazy<CudaModule> entry = _byText.GetOrAdd(
            ptx,
            static (text, context) => new Lazy<CudaModule>(() => CudaModule.Load(context, text), LazyThreadSafetyMode.ExecutionAndPublication),
            Context);
        bool firstRequest = !entry.IsValueCreated;
        CudaModule module;
        try
        {
            module = entry.Value;
        }
        catch
        {
            _byText.TryRemove(new KeyValuePair<string, Lazy<CudaModule>>(ptx, entry));
            throw;
        }

        // Only interned strings (literals and constants) join the reference map: a PTX string built afresh per call
        // would otherwise add an entry per call. Asked once, when the module is first requested (see remarks).
        if (firstRequest && ReferenceEquals(string.IsInterned(ptx), ptx))
        {
            _byReference.TryAdd(ptx, module);
        }

        return module;
    }

    /// <summary>The kernel <paramref name="entryName"/> of this PTX (module loaded on first request).</summary>
    public CudaKernel GetKernel(string ptx, string entryName) => GetOrLoad(ptx).GetKernel(entryName);

    /// <summary>
    /// The kernel of a generated kernel descriptor, found by the descriptor's identity after the first call (no
    /// hashing of its PTX per launch). Generated code holds one descriptor per spec and family in a static field.
    /// </summary>
    public CudaKernel GetKernel(GpuKernelInfo kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return _byKernelInfo.TryGetValue(kernel, out CudaKernel? known)
            ? known
            : _byKernelInfo.GetOrAdd(kernel, GetKernel(kernel.Ptx, kernel.EntryName));
    }

    /// <summary>True when this PTX has already been loaded (so the next call pays no JIT).</summary>
    public bool IsLoaded(string ptx) =>
        _byText.TryGetValue(ptx, out Lazy<CudaModule>? entry) && entry.IsValueCreated;
}
