using R1Sharp.Text.Tokenization.Unicode;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// HF normalizers supported here: the Unicode forms (<c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>),
/// <c>Lowercase</c>, and a <c>Sequence</c> of them. Keeps, for every output character, the input range it came
/// from, so token offsets point into the caller's text.
/// </summary>
internal sealed class TextNormalizer
{
    private readonly IReadOnlyList<object> _steps; // UnicodeNormalizer or LowercaseStep

    private TextNormalizer(IReadOnlyList<object> steps) => _steps = steps;

    internal sealed class LowercaseStep;

    public static TextNormalizer? Create(IReadOnlyList<object> steps) => steps.Count == 0 ? null : new TextNormalizer(steps);

    public static object Unicode(NormalizationKind kind) => UnicodeNormalizer.Get(kind);

    public static object Lowercase() => new LowercaseStep();

    /// <summary>
    /// Normalizes <paramref name="text"/>. Returns false when nothing changes. Otherwise, for output character k,
    /// starts[k]..ends[k] is the input range (relative to <paramref name="text"/>) it came from.
    /// </summary>
    public bool Normalize(ReadOnlySpan<char> text, out string? result, out int[]? starts, out int[]? ends)
    {
        result = null;
        starts = ends = null;
        foreach (var step in _steps)
        {
            ReadOnlySpan<char> input = result is null ? text : result.AsSpan();
            string? output;
            int[]? s, e;
            if (step is UnicodeNormalizer unicode)
            {
                if (!unicode.Normalize(input, out output, out s, out e)) continue;
            }
            else
            {
                if (!Lower(input, out output)) continue;
                s = e = null; // one-to-one
            }
            if (s is not null && e is not null)
            {
                if (starts is not null && ends is not null)
                {
                    for (int k = 0; k < s.Length; k++)
                    {
                        int a = s[k], b = e[k];
                        s[k] = starts[a];
                        e[k] = b > a ? ends[b - 1] : starts[a];
                    }
                }
                starts = s;
                ends = e;
            }
            result = output;
        }
        if (result is null) return false;
        if (starts is null)
        {
            starts = new int[result.Length];
            ends = new int[result.Length];
            for (int k = 0; k < result.Length; k++)
            {
                starts[k] = k;
                ends[k] = k + 1;
            }
        }
        return true;
    }

    /// <summary>Unicode simple lowercase mapping per code point (keeps the UTF-16 length).</summary>
    private static bool Lower(ReadOnlySpan<char> input, out string? output)
    {
        output = null;
        var buffer = new char[input.Length];
        bool changed = false;
        int i = 0;
        foreach (var rune in input.EnumerateRunes())
        {
            var lower = System.Text.Rune.ToLowerInvariant(rune);
            int written = lower.EncodeToUtf16(buffer.AsSpan(i));
            if (lower != rune) changed = true;
            i += written;
        }
        if (!changed) return false;
        output = new string(buffer, 0, i);
        return true;
    }
}
