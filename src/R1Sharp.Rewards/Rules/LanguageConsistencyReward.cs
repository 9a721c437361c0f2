using System.Text;

namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Language consistency (DeepSeek-R1 §2.3.3): the share of the chain-of-thought's words that belong to the
/// target language, target / (target + other), in [0, 1]; null when the chain has no countable word or the
/// target language is unknown.
/// </summary>
/// <remarks>
/// <para><b>Chain-of-thought</b>: <see cref="CompletionText.ChainOfThought"/> — the text inside
/// <c>&lt;think&gt;…&lt;/think&gt;</c>, or the whole completion without tags.</para>
/// <para><b>Target</b>: reference field <c>language</c> when present, else the constructor's default. Codes:
/// <c>en</c>, <c>fr</c> (identified by word lists, <see cref="LanguageWords"/>); <c>zh</c>, <c>ja</c>,
/// <c>ko</c>, <c>ru</c>, <c>uk</c>, <c>el</c>, <c>ar</c>, <c>fa</c>, <c>he</c>, <c>hi</c>, <c>th</c>
/// (identified by script). Region suffixes (<c>en-US</c>) and English names (<c>French</c>) are accepted.</para>
/// <para><b>What is a word</b>: a maximal run of letters (Unicode category L, with combining marks) of one
/// script, cut at anything else — digits, spaces, punctuation, apostrophes and hyphens (so <c>l'addition</c>
/// is <c>l</c> + <c>addition</c>). Han and kana characters are one word each. Not counted either way:
/// single-letter words of alphabetic scripts (variables such as x or π, elided articles such as l'), letter
/// runs touching a digit (<c>2x</c>, <c>x2</c>), LaTeX commands (letters right after a backslash),
/// tag names inside <c>&lt;…&gt;</c>, and names of mathematical functions (sin, log, gcd, …). Numbers, symbols
/// and operators are not words.</para>
/// <para><b>Which language a word belongs to</b>. For a Latin-script target with a word list: a word in the
/// target's list is target; a word in another language's list is other; otherwise a word with a letter
/// outside the target's alphabet (for English any non-ASCII letter; for French anything beyond ASCII and
/// àâæçéèêëîïôœùûüÿ) is other, a word with a French accent is target when the target is French, and any
/// remaining word (a name, a rare word) is neutral. Words in a non-Latin script are other. For a
/// script-identified target: words in the target's script are target; Latin words are other when they
/// are in a word list or written in lower case, neutral when they are unknown capitalised or upper-case
/// words (names, acronyms, point labels such as ABC); words in any other script are other.</para>
/// </remarks>
public sealed class LanguageConsistencyReward : IReward
{
    private const string FrenchLetters = "àâæçéèêëîïôœùûüÿ";

    private readonly string _defaultLanguage;

    /// <param name="defaultLanguage">The target when an input has no <c>language</c> reference field.</param>
    public LanguageConsistencyReward(string defaultLanguage = "en")
    {
        if (Normalize(defaultLanguage) is null)
            throw new ArgumentException($"Unknown language '{defaultLanguage}'. Known: {string.Join(", ", Targets.Keys)}.", nameof(defaultLanguage));
        _defaultLanguage = defaultLanguage;
    }

    /// <inheritdoc />
    public string Name => "language";

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            scores[i] = Share(CompletionText.ChainOfThought(batch[i].Completion), batch[i].Field("language") ?? _defaultLanguage);
        }
        return scores;
    }

    /// <summary>The share of <paramref name="text"/>'s counted words in <paramref name="language"/>; null when none counts.</summary>
    public static double? Share(string text, string language)
    {
        var (target, other) = Count(text, language);
        return target + other == 0 ? null : (double)target / (target + other);
    }

    /// <summary>(target words, other-language words) in <paramref name="text"/>; (0, 0) for an unknown language.</summary>
    public static (int Target, int Other) Count(string text, string language)
    {
        string? code = Normalize(language);
        if (code is null) return (0, 0);
        var target = Targets[code];
        int targetCount = 0, otherCount = 0;
        Span<char> lower = stackalloc char[64];
        int i = 0;
        while (i < text.Length)
        {
            char ch = text[i];
            if (ch < 0x80 && !char.IsAsciiLetter(ch))
            {
                if (ch == '<' && SkipTag(text, ref i)) continue;
                i++;
                continue;
            }
            if (!Rune.TryGetRuneAt(text, i, out Rune rune) || !Rune.IsLetter(rune))
            {
                i += char.IsSurrogate(ch) && i + 1 < text.Length && char.IsSurrogatePair(ch, text[i + 1]) ? 2 : 1;
                continue;
            }
            Script script = Scripts.Of(rune);
            int start = i;
            if (Scripts.IsCharacterPerWord(script))
            {
                i += rune.Utf16SequenceLength;
                if (target.Scripts.Contains(script)) targetCount++; else otherCount++;
                continue;
            }
            // A run of letters (and combining marks) of one script.
            int letters = 0;
            while (i < text.Length)
            {
                char c = text[i];
                if (c < 0x80)
                {
                    if (script == Script.Latin && char.IsAsciiLetter(c)) { letters++; i++; continue; }
                    break;
                }
                if (!Rune.TryGetRuneAt(text, i, out Rune r)) break;
                if (Rune.IsLetter(r) && Scripts.Of(r) == script) letters++;
                else if (letters == 0 || Rune.GetUnicodeCategory(r) is not (System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark)) break;
                i += r.Utf16SequenceLength;
            }
            if (letters < 2) continue;
            if (start > 0 && (text[start - 1] == '\\' || char.IsDigit(text[start - 1]))) continue;
            if (i < text.Length && char.IsDigit(text[i])) continue;
            var word = text.AsSpan(start, i - start);
            switch (Classify(word, script, code, target, lower))
            {
                case 1: targetCount++; break;
                case -1: otherCount++; break;
            }
        }
        return (targetCount, otherCount);
    }

    /// <summary>+1 target, −1 other, 0 neutral.</summary>
    private static int Classify(ReadOnlySpan<char> word, Script script, string code, Target target, Span<char> buffer)
    {
        if (script == Script.Other) return 0;
        if (script != Script.Latin) return target.Scripts.Contains(script) ? 1 : -1;

        Span<char> lower = word.Length <= buffer.Length ? buffer[..word.Length] : new char[word.Length];
        word.ToLowerInvariant(lower);
        if (MathLookup.Contains(lower)) return 0;
        bool inTarget = target.Words is { } words && words.Contains(lower);
        if (inTarget) return 1;
        bool inOther = false;
        foreach (var (otherCode, list) in WordLists)
            if (otherCode != code && list.Contains(lower)) { inOther = true; break; }
        if (!target.Scripts.Contains(Script.Latin))
        {
            // Script-identified target: Latin words are foreign unless they look like names or acronyms.
            if (inOther) return -1;
            return char.IsUpper(word[0]) ? 0 : -1;
        }
        if (inOther) return -1;
        bool foreignLetter = false, frenchLetter = false;
        foreach (char c in lower)
        {
            if (c < 0x80) continue;
            if (FrenchLetters.Contains(c)) frenchLetter = true; else foreignLetter = true;
        }
        if (code == "en" && (foreignLetter || frenchLetter)) return -1;
        if (code == "fr" && foreignLetter) return -1;
        if (code == "fr" && frenchLetter) return 1;
        return 0;
    }

    private static bool SkipTag(string text, ref int i)
    {
        // <name> or </name>: ASCII letters, digits and underscores only.
        int j = i + 1;
        if (j < text.Length && text[j] == '/') j++;
        int nameStart = j;
        while (j < text.Length && (char.IsAsciiLetterOrDigit(text[j]) || text[j] == '_')) j++;
        if (j == nameStart || j >= text.Length || text[j] != '>') return false;
        i = j + 1;
        return true;
    }

    /// <summary>The canonical code for a language name or code, or null when unknown.</summary>
    public static string? Normalize(string language)
    {
        string key = language.Trim().ToLowerInvariant();
        int dash = key.IndexOfAny(['-', '_']);
        if (dash > 0) key = key[..dash];
        key = key switch
        {
            "english" => "en", "french" or "français" or "francais" => "fr", "chinese" or "中文" => "zh",
            "japanese" => "ja", "korean" => "ko", "russian" => "ru", "ukrainian" => "uk", "greek" => "el",
            "arabic" => "ar", "persian" or "farsi" => "fa", "hebrew" => "he", "hindi" => "hi", "thai" => "th",
            _ => key,
        };
        return Targets.ContainsKey(key) ? key : null;
    }

    private sealed record Target(HashSet<Script> Scripts, HashSet<string>.AlternateLookup<ReadOnlySpan<char>>? Words);

    private static HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Lookup(IReadOnlySet<string> set) =>
        ((HashSet<string>)set).GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly (string Code, HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Words)[] WordLists =
    [
        ("en", Lookup(LanguageWords.English)),
        ("fr", Lookup(LanguageWords.French)),
    ];

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> MathLookup = Lookup(LanguageWords.MathNames);

    private static readonly Dictionary<string, Target> Targets = new()
    {
        ["en"] = new([Script.Latin], Lookup(LanguageWords.English)),
        ["fr"] = new([Script.Latin], Lookup(LanguageWords.French)),
        ["zh"] = new([Script.Han], null),
        ["ja"] = new([Script.Han, Script.Hiragana, Script.Katakana], null),
        ["ko"] = new([Script.Hangul, Script.Han], null),
        ["ru"] = new([Script.Cyrillic], null),
        ["uk"] = new([Script.Cyrillic], null),
        ["el"] = new([Script.Greek], null),
        ["ar"] = new([Script.Arabic], null),
        ["fa"] = new([Script.Arabic], null),
        ["he"] = new([Script.Hebrew], null),
        ["hi"] = new([Script.Devanagari], null),
        ["th"] = new([Script.Thai], null),
    };
}
