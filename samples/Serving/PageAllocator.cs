using System;
using System.Collections.Generic;

namespace Serving;

/// <summary>
/// Hands out the pages of a pool. Pages are reference-counted so that sequences can share the pages of a common prefix (a
/// system prompt): each sequence retains them, and a page returns to the free list when its last user releases it.
/// </summary>
internal sealed class PageAllocator
{
    private readonly Stack<int> _free = new();
    private readonly int[] _users;

    public PageAllocator(int pages)
    {
        _users = new int[pages];
        for (int page = pages - 1; page >= 0; page--)
        {
            _free.Push(page);
        }
    }

    public int Capacity => _users.Length;

    public int FreePages => _free.Count;

    /// <summary>A free page, now with one user.</summary>
    public int Allocate()
    {
        if (_free.Count == 0)
        {
            throw new InvalidOperationException($"The pool's {Capacity} pages are all in use: raise --pages, or serve fewer or shorter sequences.");
        }

        int page = _free.Pop();
        _users[page] = 1;
        return page;
    }

    /// <summary>One more user of an allocated page (a sequence sharing it).</summary>
    public void Retain(int page)
    {
        if (_users[page] == 0)
        {
            throw new InvalidOperationException($"Page {page} is free; only an allocated page can be shared.");
        }

        _users[page]++;
    }

    /// <summary>One user fewer; the page is free again when none is left.</summary>
    public void Release(int page)
    {
        if (_users[page] == 0)
        {
            throw new InvalidOperationException($"Page {page} is already free.");
        }

        if (--_users[page] == 0)
        {
            _free.Push(page);
        }
    }
}
