using System.Globalization;
using System.Runtime.CompilerServices;

namespace R1Sharp.Text.Tokenization;

/// <summary>A pre-tokenizer split pattern: finds the matches of an HF <c>Split</c> regex in a piece of text.</summary>
internal interface ISplitPattern
{
    /// <summary>The regex as written in tokenizer.json.</summary>
    string Pattern { get; }

    /// <summary>Appends the (start, end) of every non-empty match in <paramref name="input"/>, in order.</summary>
    void Matches(ReadOnlySpan<char> input, List<(int Start, int End)> output);
}

internal static class SplitPatterns
{
    /// <summary>
    /// The matcher for <paramref name="pattern"/>: the hand-written <see cref="GptSplitPattern"/> when the pattern is
    /// one it implements (Qwen2/2.5/3, Llama-3/cl100k, GPT-2), else the regex (<see cref="CodePointRegex"/>).
    /// </summary>
    public static ISplitPattern Create(string pattern) => (ISplitPattern?)GptSplitPattern.TryCreate(pattern) ?? new CodePointRegex(pattern);
}

/// <summary>
/// The split regexes of the GPT-2 / GPT-4 (cl100k) family, evaluated by hand instead of by <see cref="System.Text.RegularExpressions.Regex"/>
/// (about 5–10× faster, no allocation). Recognised patterns, character for character:
/// <list type="bullet">
/// <item>Qwen2/2.5/3: <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c></item>
/// <item>Llama-3 and cl100k: the same with <c>\p{N}{1,3}</c></item>
/// <item>GPT-2 (ByteLevel <c>use_regex</c>): <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c></item>
/// </list>
/// Semantics are those of <see cref="CodePointRegex"/> on the same pattern (which the tests check on a large corpus):
/// alternatives are tried in order at each position and the first that matches wins, classes are taken per code
/// point (<c>\p{L}</c>, <c>\p{N}</c> by Unicode general category, <c>\s</c> = <see cref="char.IsWhiteSpace(char)"/>,
/// the .NET and Oniguruma set), and <c>(?i)</c> folds ASCII letters only, as .NET does for these letters.
/// </summary>
internal sealed class GptSplitPattern : ISplitPattern
{
    public const string Qwen2 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public const string Cl100k =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    // Character classes (bit flags); a code point with none of them is "other" ([^\s\p{L}\p{N}]).
    private const byte Letter = 1, Number = 2, Space = 4, LineBreak = 8; // LineBreak: \r or \n (also Space)

    /// <summary>Class of every BMP code unit (surrogates: 0; pairs are classified by <see cref="ClassAt"/>).</summary>
    private static readonly byte[] BmpClass = BuildBmpClass();

    private readonly bool _gpt4;      // GPT-4 family (else GPT-2)
    private readonly int _maxDigits;  // \p{N} run length limit (GPT-4 family); GPT-2: unlimited with an optional space

    private GptSplitPattern(string pattern, bool gpt4, int maxDigits)
    {
        Pattern = pattern;
        _gpt4 = gpt4;
        _maxDigits = maxDigits;
    }

    public string Pattern { get; }

    public static GptSplitPattern? TryCreate(string pattern) => pattern switch
    {
        Qwen2 => new GptSplitPattern(pattern, gpt4: true, maxDigits: 1),
        Cl100k => new GptSplitPattern(pattern, gpt4: true, maxDigits: 3),
        Gpt2 => new GptSplitPattern(pattern, gpt4: false, maxDigits: int.MaxValue),
        _ => null,
    };

    public void Matches(ReadOnlySpan<char> input, List<(int Start, int End)> output)
    {
        int i = 0;
        while (i < input.Length)
        {
            int end = MatchAt(input, i);
            output.Add((i, end));
            i = end;
        }
    }

    /// <summary>The end of the match that starts at <paramref name="i"/> (every position starts a match: the
    /// alternatives cover letters, numbers, whitespace and everything else).</summary>
    public int MatchAt(ReadOnlySpan<char> s, int i)
    {
        int n = s.Length;
        char c = s[i];

        // '(?i:'s|'t|'re|'ve|'m|'ll|'d)' or, GPT-2, the same case-sensitive.
        if (c == '\'' && i + 1 < n)
        {
            char a = s[i + 1];
            if (_gpt4 && a is >= 'A' and <= 'Z') a = (char)(a | 0x20);
            if (a is 's' or 't' or 'm' or 'd') return i + 2;
            if (i + 2 < n)
            {
                char b = s[i + 2];
                if (_gpt4 && b is >= 'A' and <= 'Z') b = (char)(b | 0x20);
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
            }
        }

        int cls = ClassAt(s, i, out int width);
        int next = i + width;

        // Letters: GPT-4 '[^\r\n\p{L}\p{N}]?\p{L}+', GPT-2 ' ?\p{L}+'.
        if ((cls & Letter) != 0) return Run(s, next, Letter);
        bool prefixOk = _gpt4 ? (cls & (Letter | Number | LineBreak)) == 0 : c == ' ';
        if (prefixOk && next < n && (ClassAt(s, next, out int w2) & Letter) != 0) return Run(s, next + w2, Letter);

        // Numbers: GPT-4 '\p{N}{1,max}', GPT-2 ' ?\p{N}+'.
        if (_gpt4)
        {
            if ((cls & Number) != 0)
            {
                int j = next, count = 1;
                while (count < _maxDigits && j < n && (ClassAt(s, j, out int w) & Number) != 0)
                {
                    j += w;
                    count++;
                }
                return j;
            }
        }
        else
        {
            if ((cls & Number) != 0) return Run(s, next, Number);
            if (c == ' ' && next < n && (ClassAt(s, next, out int w) & Number) != 0) return Run(s, next + w, Number);
        }

        // Other: ' ?[^\s\p{L}\p{N}]+' (+ '[\r\n]*' in the GPT-4 family).
        int p = -1;
        if (cls == 0) p = next;
        else if (c == ' ' && next < n && ClassAt(s, next, out int w) == 0) p = next + w;
        if (p >= 0)
        {
            int j = RunOther(s, p);
            if (_gpt4)
                while (j < n && s[j] is '\r' or '\n') j++;
            return j;
        }

        // Whitespace (the only class left); whitespace is always one UTF-16 unit.
        int spaceEnd = i + 1;
        while (spaceEnd < n && (BmpClass[s[spaceEnd]] & Space) != 0) spaceEnd++;
        if (_gpt4)
        {
            // '\s*[\r\n]+': up to the last line break in the whitespace run.
            int k = s[i..spaceEnd].LastIndexOfAny('\r', '\n');
            if (k >= 0) return i + k + 1;
        }
        // '\s+(?!\S)': the run, less its last character when a non-space follows; else '\s+'.
        if (spaceEnd < n && spaceEnd - 1 > i) return spaceEnd - 1;
        return spaceEnd;
    }

    /// <summary>The class of the code point at <paramref name="i"/> and its UTF-16 length (a lone surrogate is "other").</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ClassAt(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (!char.IsSurrogate(c))
        {
            width = 1;
            return BmpClass[c];
        }
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return ClassOf(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, s[i + 1])), isSpace: false);
        }
        width = 1;
        return 0;
    }

    private static int Run(ReadOnlySpan<char> s, int j, int flag)
    {
        while (j < s.Length && (ClassAt(s, j, out int w) & flag) != 0) j += w;
        return j;
    }

    private static int RunOther(ReadOnlySpan<char> s, int j)
    {
        while (j < s.Length && ClassAt(s, j, out int w) == 0) j += w;
        return j;
    }

    private static byte ClassOf(UnicodeCategory category, bool isSpace)
    {
        byte cls = category switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => 0,
        };
        return isSpace ? (byte)(cls | Space) : cls;
    }

    private static byte[] BuildBmpClass()
    {
        var table = new byte[0x10000];
        for (int c = 0; c < table.Length; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            table[c] = ClassOf(CharUnicodeInfo.GetUnicodeCategory((char)c), char.IsWhiteSpace((char)c));
        }
        table['\r'] |= LineBreak;
        table['\n'] |= LineBreak;
        return table;
    }
}
