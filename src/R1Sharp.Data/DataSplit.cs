namespace R1Sharp.Data;

/// <summary>Seeded splits of a list of examples.</summary>
public static class DataSplit
{
    /// <summary>
    /// Holds out round(<paramref name="share"/> × count) items (at least one when the share is positive, and never all),
    /// chosen by a seeded shuffle of the stream <paramref name="stream"/>; the rest keep their order.
    /// </summary>
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> HeldOut) HoldOut<T>(IReadOnlyList<T> items, double share, long seed, string stream)
    {
        int held = share > 0 && items.Count > 1 ? Math.Clamp((int)Math.Round(items.Count * share), 1, items.Count - 1) : 0;
        if (held == 0) return (items, []);
        var indices = Enumerable.Range(0, items.Count).ToArray();
        new DeterministicRandom(seed, stream).Shuffle(indices);
        var heldOut = indices.Take(held).ToHashSet();
        return ([.. items.Where((_, i) => !heldOut.Contains(i))], [.. items.Where((_, i) => heldOut.Contains(i))]);
    }
}
