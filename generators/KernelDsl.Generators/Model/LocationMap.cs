using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Generators.Model;

/// <summary>One entry of a <see cref="LocationMap"/>: a spec path ("Mask.Left") and the syntax that wrote it.</summary>
internal sealed record LocationEntry(string SpecPath, LocationInfo Location);

/// <summary>
/// Spec path → the syntax that wrote it, so a compiler diagnostic lands on the offending attribute argument.
/// A path with no entry falls back to its attribute ("Mask.Left" → "Mask"), then to the class name.
/// </summary>
internal sealed record LocationMap(EquatableArray<LocationEntry> Entries)
{
    public LocationInfo? Find(string specPath) =>
        Exact(specPath) ?? Exact(SpecPaths.AttributeOf(specPath)) ?? Exact(SpecPaths.Class);

    private LocationInfo? Exact(string specPath)
    {
        foreach (var entry in Entries)
        {
            if (entry.SpecPath == specPath)
            {
                return entry.Location;
            }
        }

        return null;
    }

    /// <summary>Collects entries while parsing; the first location recorded for a path wins.</summary>
    internal sealed class Builder
    {
        private readonly List<LocationEntry> _entries = new();
        private readonly HashSet<string> _paths = new();

        public void Add(string specPath, LocationInfo location)
        {
            if (_paths.Add(specPath))
            {
                _entries.Add(new LocationEntry(specPath, location));
            }
        }

        public LocationMap Build() => new(_entries.ToEquatableArray());
    }
}
