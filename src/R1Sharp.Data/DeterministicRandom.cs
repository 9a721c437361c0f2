namespace R1Sharp.Data;

/// <summary>
/// SplitMix64 (Steele, Lea &amp; Flood 2014): a tiny generator whose output depends only on the seed, on every
/// platform and .NET version, so generated tasks are reproducible byte for byte.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _state;

    /// <summary>A generator for <paramref name="seed"/>.</summary>
    public DeterministicRandom(ulong seed) => _state = seed;

    /// <summary>A generator for a seed and a stream name (e.g. a split), so streams never overlap by accident.</summary>
    public DeterministicRandom(long seed, string stream) => _state = unchecked((ulong)seed) ^ StableHash(stream);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = unchecked(_state += 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>] (both inclusive).</summary>
    public int Next(int min, int max)
    {
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), $"max {max} < min {min}");
        ulong range = (ulong)((long)max - min + 1);
        return (int)(min + (long)(NextUInt64() % range));
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>A uniformly chosen element.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(0, items.Count - 1)];

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>FNV-1a 64-bit hash of the UTF-16 text: stable across processes (unlike string.GetHashCode).</summary>
    public static ulong StableHash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = unchecked((hash ^ (byte)c) * 1099511628211UL);
            hash = unchecked((hash ^ (byte)(c >> 8)) * 1099511628211UL);
        }
        return hash;
    }
}
