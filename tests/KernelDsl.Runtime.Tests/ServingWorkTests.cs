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
        items.ShouldBe([0, 2, 4, 4, 6]);                      // 8 × 16 = 128 rows: still one block
        items = ServingWork.ItemOffsets(offsets, 4, group: 8, headsKv: 2, blockQ: 32);
        items.ShouldBe([0, 2, 10, 10, 12]);                   // 128 rows in blocks of 32: 4 per KV head
    }

    [Fact]
    public void Every_item_maps_to_the_sequence_that_owns_it_skipping_empty_ones()
    {
        int[] items = [0, 2, 2, 2, 5, 6];
        int[] expected = [0, 0, 3, 3, 3, 4];
        for (int item = 0; item < 6; item++)
        {
            ServingWork.SequenceOf(items, item).ShouldBe(expected[item], $"item {item}");
        }
    }
}
