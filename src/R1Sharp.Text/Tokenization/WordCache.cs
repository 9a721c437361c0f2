using System.Numerics;
using System.Runtime.InteropServices;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// Pre-token → ids cache of <see cref="BpeModel"/>: a fixed table of buckets of two entries (so it never grows past
/// <c>2 × buckets</c> words and needs no clearing), keyed by a fast seeded hash of the characters. Lock-free and
/// thread-safe: an entry is immutable and a slot is replaced by one reference write, so a reader sees either the old
/// or the new entry, both consistent. A word evicted by a collision is just computed again.
/// </summary>
internal sealed class WordCache
{
    private readonly Entry?[] _slots;
    private readonly int _bucketMask;
    private readonly ulong _seed = (ulong)Random.Shared.NextInt64() | 1;

    /// <param name="buckets">Number of two-entry buckets (a power of two).</param>
    public WordCache(int buckets)
    {
        if (buckets <= 0 || !BitOperations.IsPow2(buckets)) throw new ArgumentOutOfRangeException(nameof(buckets));
        _slots = new Entry?[buckets * 2];
        _bucketMask = buckets - 1;
    }

    public int Hash(ReadOnlySpan<char> key)
    {
        const ulong K = 0x9E3779B97F4A7C15;
        ulong h = _seed ^ ((ulong)key.Length * K);
        var words = MemoryMarshal.Cast<char, ulong>(key);
        foreach (ulong w in words) h = (BitOperations.RotateLeft(h ^ w, 27) * K) + 0x632BE59BD9B4E019;
        for (int i = words.Length * 4; i < key.Length; i++) h = (BitOperations.RotateLeft(h ^ key[i], 27) * K) + 0x632BE59BD9B4E019;
        h ^= h >> 31;
        h *= 0xBF58476D1CE4E5B9;
        h ^= h >> 29;
        return (int)h;
    }

    public bool TryGet(ReadOnlySpan<char> key, int hash, out int[] ids)
    {
        int slot = (hash & _bucketMask) << 1;
        var entry = _slots[slot];
        if (entry is not null && entry.Hash == hash && key.SequenceEqual(entry.Key))
        {
            ids = entry.Ids;
            return true;
        }
        entry = _slots[slot + 1];
        if (entry is not null && entry.Hash == hash && key.SequenceEqual(entry.Key))
        {
            ids = entry.Ids;
            return true;
        }
        ids = null!;
        return false;
    }

    /// <summary>Adds a word: it takes the bucket's first slot and the previous first moves to the second.</summary>
    public void Add(ReadOnlySpan<char> key, int hash, int[] ids)
    {
        int slot = (hash & _bucketMask) << 1;
        var entry = new Entry(key.ToString(), hash, ids);
        var first = Volatile.Read(ref _slots[slot]);
        if (first is not null) Volatile.Write(ref _slots[slot + 1], first);
        Volatile.Write(ref _slots[slot], entry);
    }

    private sealed class Entry(string key, int hash, int[] ids)
    {
        public readonly string Key = key;
        public readonly int Hash = hash;
        public readonly int[] Ids = ids;
    }
}
