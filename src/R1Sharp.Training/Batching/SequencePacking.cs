namespace R1Sharp.Training.Batching;

/// <summary>
/// A tokenized training sequence: its ids and, per token, whether the token is a target of the loss (predicted from
/// the tokens before it in the same sequence). The first token is never predicted.
/// </summary>
public sealed record TokenSequence(int[] Ids, bool[] Targets)
{
    public int Length => Ids.Length;

    /// <summary>Tokens that count in the loss: marked targets after the first position.</summary>
    public int TargetCount => Targets.Skip(1).Count(t => t);

    /// <summary>The first <paramref name="length"/> tokens.</summary>
    public TokenSequence Truncate(int length) => length >= Ids.Length ? this : new(Ids[..length], Targets[..length]);
}

/// <summary>Packing whole sequences into fixed-length rows.</summary>
public static class SequencePacking
{
    /// <summary>
    /// Best-fit decreasing bin packing (TRL's <c>packing_strategy="bfd"</c>): sequences sorted longest first (ties by
    /// index), each placed in the open row with the least free space that still holds it, else in a new row. No
    /// sequence is split, so no example is cut at a row boundary. Returns, per row, the sequence indices in placement order.
    /// </summary>
    /// <exception cref="ArgumentException">A length is not in [1, <paramref name="capacity"/>].</exception>
    public static IReadOnlyList<int[]> BestFitDecreasing(IReadOnlyList<int> lengths, int capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "row capacity must be at least 1");
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i);
        var rows = new List<List<int>>();
        var open = new SortedSet<(int Free, int Row)>(); // rows with free space, by free space then row
        foreach (int i in order)
        {
            int length = lengths[i];
            if (length < 1 || length > capacity)
                throw new ArgumentException($"sequence {i} has length {length}, outside [1, {capacity}]", nameof(lengths));
            (int Free, int Row)? best = null;
            foreach (var candidate in open.GetViewBetween((length, int.MinValue), (capacity, int.MaxValue)))
            {
                best = candidate; // the smallest free space that fits
                break;
            }
            if (best is { } b)
            {
                open.Remove(b);
                rows[b.Row].Add(i);
                if (b.Free > length) open.Add((b.Free - length, b.Row));
            }
            else
            {
                rows.Add([i]);
                if (capacity > length) open.Add((capacity - length, rows.Count - 1));
            }
        }
        return rows.Select(r => r.ToArray()).ToList();
    }
}
