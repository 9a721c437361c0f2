namespace R1Sharp.Text.Templates;

/// <summary>Turns character spans (e.g. <see cref="ChatRendering.AssistantSpans"/>) into a per-token loss mask.</summary>
public static class TokenMask
{
    /// <summary>
    /// mask[t] is true when token t's characters [Start, End) overlap any span — the tokens transformers'
    /// <c>return_assistant_tokens_mask</c> marks (it maps each span's first and last character to its token and
    /// marks everything between). Tokens with no characters (Start == End, e.g. an added BOS) are never marked.
    /// Offsets may come in any order; spans may overlap.
    /// </summary>
    /// <param name="tokenOffsets">Character offsets of each token in the rendered text, as a tokenizer reports them.</param>
    /// <param name="spans">Character spans to train on.</param>
    public static bool[] FromSpans(IReadOnlyList<(int Start, int End)> tokenOffsets, IReadOnlyList<(int Start, int End)> spans)
    {
        ArgumentNullException.ThrowIfNull(tokenOffsets);
        ArgumentNullException.ThrowIfNull(spans);
        // Merge the spans into sorted, disjoint intervals, then test each token with a binary search.
        var merged = new List<(int Start, int End)>(spans.Count);
        foreach (var s in spans.Where(s => s.End > s.Start).OrderBy(s => s.Start))
        {
            if (s.Start < 0) throw new ArgumentOutOfRangeException(nameof(spans), $"span ({s.Start}, {s.End}) starts before 0");
            if (merged.Count > 0 && s.Start <= merged[^1].End)
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, s.End));
            else
                merged.Add(s);
        }
        var mask = new bool[tokenOffsets.Count];
        for (int t = 0; t < tokenOffsets.Count; t++)
        {
            var (a, b) = tokenOffsets[t];
            if (b < a) throw new ArgumentException($"token {t} has offsets ({a}, {b}) with end before start", nameof(tokenOffsets));
            if (b == a) continue;
            // First merged span ending after the token's start.
            int lo = 0, hi = merged.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (merged[mid].End <= a) lo = mid + 1;
                else hi = mid;
            }
            mask[t] = lo < merged.Count && merged[lo].Start < b;
        }
        return mask;
    }
}
