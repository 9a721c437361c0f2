using System.Globalization;
using System.Text.RegularExpressions;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// A Hugging Face pre-tokenizer regex (Oniguruma syntax, run over Unicode code points) evaluated with .NET's
/// <see cref="Regex"/>, which runs over UTF-16 code units and so would see a supplementary character such as
/// "🚀" as two surrogates that match neither <c>\p{So}</c> nor <c>[^\s\p{L}\p{N}]</c> as one character.
/// Text that contains surrogate pairs is therefore matched on a compacted copy in which each supplementary
/// character is replaced by one BMP stand-in of the same Unicode general category (chosen outside the ASCII,
/// Latin-1, kana and CJK ranges that tokenizer patterns name explicitly), and match positions are mapped back.
/// One code point stays one character, so quantifiers such as <c>\p{N}{1,3}</c> or <c>[^\r\n\p{L}\p{N}]?</c>
/// count exactly as Oniguruma does.
/// </summary>
internal sealed class CodePointRegex : ISplitPattern
{
    private static readonly char[] StandIns = BuildStandIns();

    private readonly Regex _regex;

    public CodePointRegex(string pattern, RegexOptions extra = RegexOptions.None)
    {
        Pattern = pattern;
        // Oniguruma (Ruby syntax) treats ^ and $ as line anchors, hence Multiline.
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant | RegexOptions.Multiline | extra);
    }

    public string Pattern { get; }

    /// <summary>Appends the (start, end) of every non-empty match in <paramref name="input"/>, in order.</summary>
    public void Matches(ReadOnlySpan<char> input, List<(int Start, int End)> output)
    {
        if (input.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in _regex.EnumerateMatches(input))
                if (m.Length > 0) output.Add((m.Index, m.Index + m.Length));
            return;
        }

        // Compact: one char per code point; map[k] = index in input of compact char k (map[len] = input.Length).
        var compact = new char[input.Length];
        var map = new int[input.Length + 1];
        int n = 0;
        for (int i = 0; i < input.Length; i++)
        {
            map[n] = i;
            if (char.IsHighSurrogate(input[i]) && i + 1 < input.Length && char.IsLowSurrogate(input[i + 1]))
            {
                int cp = char.ConvertToUtf32(input[i], input[i + 1]);
                compact[n++] = StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(cp)];
                i++;
            }
            else
            {
                compact[n++] = input[i];
            }
        }
        map[n] = input.Length;
        foreach (var m in _regex.EnumerateMatches(compact.AsSpan(0, n)))
            if (m.Length > 0) output.Add((map[m.Index], map[m.Index + m.Length]));
    }

    private static char[] BuildStandIns()
    {
        var table = new char[32];
        var found = new bool[32];
        // Search U+A000..U+FFFF first, then U+0370..U+9FFF, skipping surrogates, kana and CJK ideographs.
        IEnumerable<int> Candidates()
        {
            for (int c = 0xA000; c <= 0xFFFF; c++) yield return c;
            for (int c = 0x0370; c < 0xA000; c++) yield return c;
        }
        foreach (int c in Candidates())
        {
            if (c is >= 0xD800 and <= 0xDFFF or >= 0x3040 and <= 0x30FF or >= 0x3400 and <= 0x9FFF or >= 0xAC00 and <= 0xD7AF) continue;
            int cat = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[cat])
            {
                found[cat] = true;
                table[cat] = (char)c;
            }
        }
        // Categories with no BMP member outside those ranges never occur in supplementary planes either;
        // fall back to U+FFFD (So) so the table is total.
        for (int i = 0; i < table.Length; i++)
            if (!found[i]) table[i] = '\uFFFD';
        return table;
    }
}
