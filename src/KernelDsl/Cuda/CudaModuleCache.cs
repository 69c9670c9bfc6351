using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace KernelDsl.Cuda;

/// <summary>
/// Loads each PTX text at most once per context and keeps the module for the life of the context.
/// Thread-safe: concurrent first calls with the same PTX wait for one JIT. Keyed by the PTX text itself, with a
/// reference-identity fast path for interned strings: generated code passes the same string constant on every
/// call, and hashing a 100 KB PTX string per launch would cost more than a small kernel.
/// </summary>
public sealed class CudaModuleCache
{
    private readonly ConcurrentDictionary<string, Lazy<CudaModule>> _byText = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CudaModule> _byReference = new(ReferenceEqualityComparer.Instance as IEqualityComparer<string>);

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

        // Only interned strings (literals and constants, which is what generated code passes) join the
        // reference map: a PTX string built afresh per call would otherwise add an entry per call.
        if (ReferenceEquals(string.IsInterned(ptx), ptx))
        {
            _byReference.TryAdd(ptx, module);
        }

        return module;
    }

    /// <summary>The kernel <paramref name="entryName"/> of this PTX (module loaded on first request).</summary>
    public CudaKernel GetKernel(string ptx, string entryName) => GetOrLoad(ptx).GetKernel(entryName);

    /// <summary>True when this PTX has already been loaded (so the next call pays no JIT).</summary>
    public bool IsLoaded(string ptx) =>
        _byText.TryGetValue(ptx, out Lazy<CudaModule>? entry) && entry.IsValueCreated;
}
