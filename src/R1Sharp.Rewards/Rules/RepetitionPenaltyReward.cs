namespace R1Sharp.Rewards.Rules;

/// <summary>
/// N-gram repetition penalty (Yeo et al. 2025, arXiv 2502.03373 App. C.2; open-r1
/// <c>get_repetition_penalty_reward</c>): with W the completion's words and G its n-grams (|W| − n + 1 of them),
/// reward = (1 − |unique(G)| / |G|) · maxPenalty. 0 for an empty completion or one with fewer than n words;
/// maxPenalty ≤ 0, so the reward lies in [maxPenalty, 0]. Never null.
/// </summary>
/// <remarks>
/// Word split, by language (reference field <c>language</c> when present, else the constructor's): for
/// space-separated languages (en, fr, and anything not listed below), open-r1's <c>text.lower().split()</c> —
/// lower-cased, split on whitespace, punctuation kept attached. For zh, ja and ko open-r1 uses the jieba
/// segmenter, which .NET lacks; here every Han, kana or Hangul character is its own word and the runs of other
/// non-space characters between them are words (lower-cased), so n-grams are character n-grams in CJK text.
/// </remarks>
public sealed class RepetitionPenaltyReward : IReward
{
    private readonly string _language;

    /// <param name="ngramSize">n, the n-gram size (open-r1 default 3).</param>
    /// <param name="maxPenalty">The penalty for a fully repetitive text; must be ≤ 0 (open-r1 default −1).</param>
    /// <param name="language">Default language for the word split when the input has no <c>language</c> field.</param>
    public RepetitionPenaltyReward(int ngramSize = 3, double maxPenalty = -1.0, string language = "en")
    {
        if (maxPenalty > 0) throw new ArgumentException($"max_penalty {maxPenalty} should not be positive", nameof(maxPenalty));
        if (ngramSize < 1) throw new ArgumentOutOfRangeException(nameof(ngramSize), ngramSize, "ngram_size must be at least 1.");
        NgramSize = ngramSize;
        MaxPenalty = maxPenalty;
        _language = language;
    }

    /// <summary>n.</summary>
    public int NgramSize { get; }

    /// <summary>The penalty for a fully repetitive text (≤ 0).</summary>
    public double MaxPenalty { get; }

    /// <inheritdoc />
    public string Name => "repetition";

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            scores[i] = ScoreOne(batch[i].Completion, batch[i].Field("language") ?? _language);
        }
        return scores;
    }

    /// <summary>The penalty of one completion written in <paramref name="language"/>.</summary>
    public double ScoreOne(string completion, string language)
    {
        if (completion.Length == 0) return 0.0;
        List<int> ids = WordIds(completion, language, out int vocabularySize);
        if (ids.Count < NgramSize) return 0.0;

        int total = ids.Count - NgramSize + 1;
        int unique;
        if (NgramSize <= 3 && vocabularySize < (1 << 21))
        {
            var packed = new HashSet<long>(total);
            for (int start = 0; start < total; start++)
            {
                long key = 0;
                for (int k = 0; k < NgramSize; k++) key = (key << 21) | (uint)ids[start + k];
                packed.Add(key);
            }
            unique = packed.Count;
        }
        else
        {
            var set = new HashSet<NGram>(total);
            int[] idArray = [.. ids];
            for (int start = 0; start < total; start++) set.Add(new NGram(idArray, start, NgramSize));
            unique = set.Count;
        }
        return (1.0 - (double)unique / total) * MaxPenalty;
    }

    /// <summary>The words of <paramref name="text"/> as this reward splits them for <paramref name="language"/>.</summary>
    public static List<string> Split(string text, string language)
    {
        var words = new List<string>();
        string lower = text.ToLowerInvariant();
        ForEachWord(lower, IsCjkLanguage(language), (start, length) => words.Add(lower.Substring(start, length)));
        return words;
    }

    /// <summary>Word ids in order (equal words, equal ids) without allocating a string per occurrence.</summary>
    private static List<int> WordIds(string text, string language, out int vocabularySize)
    {
        string lower = text.ToLowerInvariant();
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        var ids = new List<int>();
        ForEachWord(lower, IsCjkLanguage(language), (start, length) =>
        {
            var word = lower.AsSpan(start, length);
            if (!lookup.TryGetValue(word, out int id)) lookup[word] = id = vocabulary.Count;
            ids.Add(id);
        });
        vocabularySize = vocabulary.Count;
        return ids;
    }

    private static void ForEachWord(string lower, bool cjk, Action<int, int> word)
    {
        int start = -1;
        for (int i = 0; i < lower.Length; i++)
        {
            char c = lower[i];
            bool space = char.IsWhiteSpace(c);
            bool single = cjk && c >= 0x1100 && Scripts.IsCjkCharacter(c);
            if (space || single)
            {
                if (start >= 0) { word(start, i - start); start = -1; }
                if (single) word(i, 1);
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        if (start >= 0) word(start, lower.Length - start);
    }

    private static bool IsCjkLanguage(string language) =>
        language.StartsWith("zh", StringComparison.OrdinalIgnoreCase)
        || language.StartsWith("ja", StringComparison.OrdinalIgnoreCase)
        || language.StartsWith("ko", StringComparison.OrdinalIgnoreCase);

    private readonly struct NGram(int[] ids, int start, int length) : IEquatable<NGram>
    {
        private ReadOnlySpan<int> Span => ids.AsSpan(start, length);

        public bool Equals(NGram other) => Span.SequenceEqual(other.Span);

        public override bool Equals(object? obj) => obj is NGram other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (int id in Span) hash.Add(id);
            return hash.ToHashCode();
        }
    }
}
