using R1Sharp.Data;

namespace R1Sharp.Training.Runs;

/// <summary>
/// The order in which a recipe visits its <paramref name="count"/> rows (or pairs): a seeded permutation per epoch, so
/// the item at a data position is a function of (seed, stream, position) and a resumed run continues exactly.
/// </summary>
/// <param name="stream">Names the random stream (e.g. <c>sft</c>), so recipes with the same seed shuffle differently.</param>
public sealed class EpochOrder(int count, long seed, string stream)
{
    int epoch = -1;
    int[] permutation = [];

    /// <summary>The index of the item at <paramref name="position"/> (counting across epochs).</summary>
    public int At(long position)
    {
        int e = (int)(position / count);
        if (e != epoch)
        {
            permutation = Enumerable.Range(0, count).ToArray();
            new DeterministicRandom(seed, $"{stream}-epoch-{e}").Shuffle(permutation);
            epoch = e;
        }
        return permutation[position % count];
    }
}
