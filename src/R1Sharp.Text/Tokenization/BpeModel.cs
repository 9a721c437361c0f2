using System.Buffers;
using System.Text;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// Byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant) with Hugging Face <c>tokenizers</c>'
/// merge order: a pre-token starts as one symbol per UTF-8 byte, and the adjacent pair with the lowest merge
/// rank is merged repeatedly, the leftmost first among equal ranks, until no pair has a merge
/// (HF <c>Word::merge_all</c>). With <c>ignore_merges</c> (Llama-3) a pre-token that is itself in the
/// vocabulary is one token without merging. Results are cached per pre-token.
/// </summary>
internal sealed class BpeModel
{
    private const int CacheBuckets = 1 << 15; // 65,536 cached words at most
    private const int ScanLimit = 128;

    private readonly Dictionary<long, long> _merges; // (left << 32 | right) -> (rank << 32 | merged id)
    private readonly int[] _byteIds = new int[256];
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly WordCache? _cache;

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, bool ignoreMerges,
        string? unkToken, bool fuseUnk, Func<int, string, Exception> badMerge, bool cache = true)
    {
        Vocab = vocab;
        Merges = merges;
        IgnoreMerges = ignoreMerges;
        UnkToken = unkToken;
        FuseUnk = fuseUnk;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cache = cache ? new WordCache(CacheBuckets) : null;

        int maxId = -1;
        foreach (var id in vocab.Values) maxId = Math.Max(maxId, id);
        IdToToken = new string?[maxId + 1];
        foreach (var (token, id) in vocab) IdToToken[id] = token;

        for (int b = 0; b < 256; b++)
            _byteIds[b] = vocab.TryGetValue(ByteLevelAlphabet.ByteToChar[b].ToString(), out var id) ? id : -1;
        UnkId = unkToken is not null && vocab.TryGetValue(unkToken, out var unk) ? unk : null;

        _merges = new Dictionary<long, long>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.TryGetValue(left, out var l)) throw badMerge(rank, $"merge token '{left}' is not in the vocabulary");
            if (!vocab.TryGetValue(right, out var r)) throw badMerge(rank, $"merge token '{right}' is not in the vocabulary");
            if (!vocab.TryGetValue(left + right, out var merged)) throw badMerge(rank, $"merged token '{left + right}' is not in the vocabulary");
            _merges[Key(l, r)] = ((long)rank << 32) | (uint)merged; // a repeated pair keeps its last rank, as in HF
        }
    }

    public Dictionary<string, int> Vocab { get; }
    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public string?[] IdToToken { get; }
    public bool IgnoreMerges { get; }
    public string? UnkToken { get; }
    public int? UnkId { get; }
    public bool FuseUnk { get; }

    /// <summary>The token ids of one pre-token (a space is prepended when <paramref name="prefix"/> is set).
    /// The array is shared (cached): callers must not change it.</summary>
    public int[] Tokenize(ReadOnlySpan<char> piece, bool prefix)
    {
        if (prefix) return TokenizeWithPrefix(piece);
        if (_cache is null) return TokenizeUncached(piece);
        int hash = _cache.Hash(piece);
        if (_cache.TryGet(piece, hash, out var cached)) return cached;
        var ids = TokenizeUncached(piece);
        _cache.Add(piece, hash, ids);
        return ids;
    }

    private int[] TokenizeWithPrefix(ReadOnlySpan<char> piece)
    {
        // " " + piece tokenizes exactly like a pre-token that starts with a space, so it shares the cache.
        if (piece.Length >= 256) return Tokenize(string.Concat(" ", piece), prefix: false);
        Span<char> key = stackalloc char[piece.Length + 1];
        key[0] = ' ';
        piece.CopyTo(key[1..]);
        return Tokenize(key, prefix: false);
    }

    private int[] TokenizeUncached(ReadOnlySpan<char> piece)
    {
        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rented = maxBytes > 512 ? ArrayPool<byte>.Shared.Rent(maxBytes) : null;
        Span<byte> bytes = rented ?? stackalloc byte[512];
        try
        {
            int n = Encoding.UTF8.GetBytes(piece, bytes);
            return TokenizeBytes(bytes[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>BPE over raw bytes (no cache).</summary>
    public int[] TokenizeBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return [];
        if (IgnoreMerges)
        {
            char[]? rentedChars = bytes.Length > 256 ? ArrayPool<char>.Shared.Rent(bytes.Length) : null;
            Span<char> chars = rentedChars ?? stackalloc char[256];
            for (int i = 0; i < bytes.Length; i++) chars[i] = ByteLevelAlphabet.ByteToChar[bytes[i]];
            bool hit = _vocabBySpan.TryGetValue(chars[..bytes.Length], out var whole);
            if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
            if (hit) return [whole];
        }

        var symbols = new int[bytes.Length];
        int count = 0;
        bool lastWasUnk = false;
        foreach (byte b in bytes)
        {
            int id = _byteIds[b];
            if (id >= 0)
            {
                symbols[count++] = id;
                lastWasUnk = false;
            }
            else if (UnkId is { } unk && !(FuseUnk && lastWasUnk))
            {
                symbols[count++] = unk;
                lastWasUnk = true;
            }
        }
        count = count <= ScanLimit ? MergeByScan(symbols, count) : MergeByHeap(symbols, count);
        return count == symbols.Length ? symbols : symbols[..count];
    }

    /// <summary>Short words: keep each adjacent pair's rank in an array and merge the minimum each round.</summary>
    private int MergeByScan(int[] symbols, int count)
    {
        if (count < 2) return count;
        Span<long> ranks = stackalloc long[count]; // ranks[i] = (rank << 32 | merged) of pair (i, i+1), or long.MaxValue
        for (int i = 0; i + 1 < count; i++) ranks[i] = Lookup(symbols[i], symbols[i + 1]);
        while (count > 1)
        {
            int best = -1;
            long bestValue = long.MaxValue;
            for (int i = 0; i + 1 < count; i++)
            {
                if (ranks[i] < bestValue)
                {
                    bestValue = ranks[i];
                    best = i;
                }
            }
            if (best < 0) break;
            symbols[best] = (int)(bestValue & 0xFFFFFFFF);
            // Remove symbol best+1 and pair best+1.
            Array.Copy(symbols, best + 2, symbols, best + 1, count - best - 2);
            if (count - best - 3 > 0) ranks.Slice(best + 2, count - best - 3).CopyTo(ranks[(best + 1)..]);
            count--;
            if (best > 0) ranks[best - 1] = Lookup(symbols[best - 1], symbols[best]);
            ranks[best] = best + 1 < count ? Lookup(symbols[best], symbols[best + 1]) : long.MaxValue;
        }
        return count;
    }

    /// <summary>Long words: a linked list of symbols and a priority queue ordered by (rank, position).</summary>
    private int MergeByHeap(int[] symbols, int count)
    {
        var next = new int[count];
        var prev = new int[count];
        var alive = new bool[count];
        for (int i = 0; i < count; i++)
        {
            next[i] = i + 1 < count ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }
        var queue = new PriorityQueue<int, long>();
        void Push(int pos)
        {
            if (pos < 0 || next[pos] < 0) return;
            long v = Lookup(symbols[pos], symbols[next[pos]]);
            if (v != long.MaxValue) queue.Enqueue(pos, (v & ~0xFFFFFFFFL) | (uint)pos);
        }
        for (int i = 0; i + 1 < count; i++) Push(i);
        while (queue.TryDequeue(out int pos, out long priority))
        {
            int right = next[pos];
            if (!alive[pos] || right < 0) continue;
            long v = Lookup(symbols[pos], symbols[right]);
            if (v == long.MaxValue || (v >> 32) != (priority >> 32)) continue; // stale entry
            symbols[pos] = (int)(v & 0xFFFFFFFF);
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            Push(prev[pos]);
            Push(pos);
        }
        int n = 0;
        for (int i = 0; i >= 0 && i < count; i = next[i]) symbols[n++] = symbols[i];
        return n;
    }

    private long Lookup(int left, int right) => _merges.TryGetValue(Key(left, right), out var v) ? v : long.MaxValue;

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
