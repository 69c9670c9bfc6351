using System;

namespace Training;

/// <summary>
/// Associative recall: a sequence of <see cref="Pairs"/> (key, value) tokens — distinct keys — then one query key; the
/// target is the value stored with that key. Solving it needs attention: the query must find its key's position.
/// </summary>
internal sealed class RecallTask(int keys, int values, int pairs)
{
    public int Keys { get; } = keys;

    public int Values { get; } = values;

    public int Pairs { get; } = pairs;

    /// <summary>Positions per example: the pairs, then the query.</summary>
    public int Length => Pairs + 1;

    /// <summary>A batch: key and value per pair position ([batch, pairs]), the query key and the target value per example.</summary>
    public (int[] Keys, int[] Values, int[] Query, int[] Target) Batch(Random random, int batch)
    {
        var keys = new int[batch * Pairs];
        var values = new int[batch * Pairs];
        var query = new int[batch];
        var target = new int[batch];
        var order = new int[Keys];
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < Keys; i++)
            {
                order[i] = i;
            }

            random.Shuffle(order);
            for (int p = 0; p < Pairs; p++)
            {
                keys[(b * Pairs) + p] = order[p];
                values[(b * Pairs) + p] = random.Next(Values);
            }

            int asked = random.Next(Pairs);
            query[b] = keys[(b * Pairs) + asked];
            target[b] = values[(b * Pairs) + asked];
        }

        return (keys, values, query, target);
    }
}
