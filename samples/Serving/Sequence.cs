using System.Collections.Generic;

namespace Serving;

/// <summary>One sequence being served: its pages (in token order), its length in the cache, and how many tokens it still generates.</summary>
internal sealed class Sequence(int id, int remaining)
{
    public int Id { get; } = id;

    public List<int> Pages { get; } = new();

    /// <summary>Tokens in the cache.</summary>
    public int Length { get; set; }

    /// <summary>Tokens still to generate.</summary>
    public int Remaining { get; set; } = remaining;

    /// <summary>The hidden state of its last token (the input of the next step).</summary>
    public float[] Hidden { get; set; } = [];

    /// <summary>Makes room for one more token: a new page when the last one is full.</summary>
    public void Reserve(PageAllocator allocator, int pageSize)
    {
        if (Length == Pages.Count * pageSize)
        {
            Pages.Add(allocator.Allocate());
        }
    }

    public void Release(PageAllocator allocator)
    {
        foreach (int page in Pages)
        {
            allocator.Release(page);
        }

        Pages.Clear();
    }
}
