using KernelDsl.Cpu;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// The serving kernels' work items: one per (sequence, KV head, block of packed query rows), so a KV group's query heads share
/// one item (and one pass over K/V) whenever group × queries fits a row block; sequences without queries have none.
/// </summary>
public unsafe class ServingWorkTests
{
    [Fact]
    public void A_group_that_fits_a_row_block_is_one_item_per_kv_head()
    {
        int* offsets = stackalloc int[] { 0, 1, 17, 17, 20 };   // 1, 16, 0 and 3 queries
        var items = ServingWork.ItemOffsets(offsets, 4, group: 8, headsKv: 2, blockQ: 128);
        items[..5].ShouldBe([0, 2, 4, 4, 6]);                 // 8 × 16 = 128 rows: still one block
        var again = ServingWork.ItemOffsets(offsets, 4, group: 8, headsKv: 2, blockQ: 32);
        again[..5].ShouldBe([0, 2, 10, 10, 12]);              // 128 rows in blocks of 32: 4 per KV head
        again.ShouldBeSameAs(items);                          // the thread's pooled buffer: no allocation per call
    }

    [Fact]
    public void The_pooled_offsets_serve_a_larger_batch_rewritten_from_zero()
    {
        int* small = stackalloc int[] { 0, 1, 2 };
        ServingWork.ItemOffsets(small, 2, group: 1, headsKv: 1, blockQ: 16);
        int* large = stackalloc int[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33 };
        var items = ServingWork.ItemOffsets(large, 33, group: 1, headsKv: 3, blockQ: 16);
        items.Length.ShouldBeGreaterThanOrEqualTo(34);
        for (int s = 0; s <= 33; s++)
        {
            items[s].ShouldBe(3 * s, $"sequence {s}");
        }
    }

    [Fact]
    public void Every_item_maps_to_the_sequence_that_owns_it_skipping_empty_ones()
    {
        int[] items = [0, 2, 2, 2, 5, 6];
        int[] expected = [0, 0, 3, 3, 3, 4];
        for (int item = 0; item < 6; item++)
        {
            ServingWork.SequenceOf(items, 5, item).ShouldBe(expected[item], $"item {item}");
        }
    }
}
