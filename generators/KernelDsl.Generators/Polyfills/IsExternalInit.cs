// netstandard2.0 lacks the marker type that C# 9 init accessors and records need. The compiler core has
// its own copy, but it is internal there.
namespace System.Runtime.CompilerServices;

internal static class IsExternalInit
{
}
