using System.Collections.Generic;
using KernelDsl.Generators.Model;

namespace KernelDsl.Generators.Parsing;

/// <summary>An argument value the user wrote, already converted to its property's type, and where it is.</summary>
internal sealed record ParsedArgument(object Value, LocationInfo Location);

/// <summary>
/// One KernelDsl attribute as read from the user's code: the arguments that were written (an argument that
/// was left out has no entry — that differs from writing its default) and whether every one could be read.
/// Lives only inside the parse step.
/// </summary>
internal sealed class ParsedAttribute
{
    private readonly Dictionary<string, ParsedArgument> _arguments = new();
    private readonly HashSet<string> _mentioned = new();

    public ParsedAttribute(string name, LocationInfo location)
    {
        Name = name;
        Location = location;
    }

    /// <summary>Short name, e.g. "Mask".</summary>
    public string Name { get; }

    /// <summary>The attribute's syntax, e.g. <c>Mask(MaskKind.Causal)</c>.</summary>
    public LocationInfo Location { get; }

    /// <summary>False when an argument or the constructor could not be read (a KDSL0010 was reported).</summary>
    public bool IsValid { get; private set; } = true;

    public IEnumerable<KeyValuePair<string, ParsedArgument>> Arguments => _arguments;

    public void Set(string property, ParsedArgument argument) => _arguments[property] = argument;

    public void MarkInvalid() => IsValid = false;

    /// <summary>Notes that the user wrote this argument, readable or not (a wrong HeadDim is not a missing one).</summary>
    public void Mention(string property) => _mentioned.Add(property);

    public bool IsMentioned(string property) => _mentioned.Contains(property);

    public bool IsWritten(string property) => _arguments.ContainsKey(property);

    public T Get<T>(string property, T fallback) =>
        _arguments.TryGetValue(property, out var argument) && argument.Value is T value ? value : fallback;

    /// <summary>The written value, or null when the argument was left out.</summary>
    public T? GetOrNull<T>(string property)
        where T : struct =>
        _arguments.TryGetValue(property, out var argument) && argument.Value is T value ? value : null;
}
