using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Tests;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>
/// The encoder's fast paths (hand-written split patterns, the word cache, walking the matches without lists, the
/// ASCII offsets shortcut) against the straightforward ones (the .NET regex engine on code points, BPE on every
/// pre-token, the general offsets path): same matches, ids and offsets on a large varied corpus — every text under
/// data/, the golden and fuzz texts, and generated strings that stress the pattern's corners (contractions in any
/// case, whitespace runs before letters and line breaks, digit runs in several scripts and planes, CJK, emoji, lone
/// surrogates, combining marks, special tokens). The regex path itself is held to Hugging Face's ids by GoldenTests
/// and DifferentialTests.
/// </summary>
public sealed class FastPathTests
{
    private static readonly Lazy<string[]> LazyCorpus = new(BuildCorpus);

    private static string[] Corpus => LazyCorpus.Value;

    [Theory]
    [InlineData(GptSplitPattern.Qwen2)]
    [InlineData(GptSplitPattern.Cl100k)]
    [InlineData(GptSplitPattern.Gpt2)]
    public void Hand_written_split_patterns_match_the_regex_engine(string pattern)
    {
        var fast = GptSplitPattern.TryCreate(pattern);
        Assert.NotNull(fast);
        var regex = new CodePointRegex(pattern);
        var expected = new List<(int, int)>();
        var actual = new List<(int, int)>();
        var failures = new List<string>();
        long pieces = 0;
        foreach (var text in Corpus)
        {
            expected.Clear();
            actual.Clear();
            regex.Matches(text, expected);
            fast.Matches(text, actual);
            pieces += expected.Count;
            if (!expected.SequenceEqual(actual) && failures.Count < 10)
                failures.Add($"{JsonSerializer.Serialize(text)}: regex {Show(text, expected)} hand-written {Show(text, actual)}");
        }
        Assert.Empty(failures);
        Assert.True(pieces > 500_000, $"only {pieces} pieces");
    }

    [Fact]
    public void Only_the_exact_patterns_get_the_hand_written_matcher()
    {
        Assert.IsType<GptSplitPattern>(SplitPatterns.Create(BpeTrainerOptions.Qwen2SplitPattern));
        Assert.IsType<CodePointRegex>(SplitPatterns.Create(GptSplitPattern.Qwen2.Replace(@"\p{N}", @"\p{N}{1,2}")));
        Assert.IsType<CodePointRegex>(SplitPatterns.Create(GptSplitPattern.Gpt2 + "|x"));
        Assert.IsType<CodePointRegex>(SplitPatterns.Create(@"\p{N}{1,3}"));
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("deepseek-v3")]
    [InlineData("trained-bpe4k")]
    public void Fast_encoder_gives_the_ids_and_offsets_of_the_reference_encoder(string family)
    {
        var dir = TokenizerFixture.Dir(family);
        var fast = HfTokenizer.Load(dir);
        var reference = HfTokenizer.LoadReference(dir);
        var failures = new List<string>();
        var expected = Corpus.Select(text => reference.EncodeWithOffsets(text)).ToArray();
        // Twice over: the second pass reads the word cache the first one filled.
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < Corpus.Length; i++)
            {
                var actual = fast.EncodeWithOffsets(Corpus[i]);
                if (failures.Count < 10 && (!expected[i].Ids.SequenceEqual(actual.Ids) || !expected[i].Offsets.SequenceEqual(actual.Offsets)))
                    failures.Add($"pass {pass} EncodeWithOffsets: {JsonSerializer.Serialize(Corpus[i])}");
                if (failures.Count < 10 && !fast.Encode(Corpus[i]).SequenceEqual(expected[i].Ids))
                    failures.Add($"pass {pass} Encode: {JsonSerializer.Serialize(Corpus[i])}");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void Gpt2_style_byte_level_regex_with_and_without_prefix_space_matches_the_reference()
    {
        // A tokenizer.json with no Split step: ByteLevel's own GPT-2 regex (use_regex) does the splitting.
        foreach (bool prefixSpace in new[] { false, true })
        {
            var tree = SmallTokenizerJson.Tree();
            tree["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "ByteLevel", ["add_prefix_space"] = prefixSpace, ["trim_offsets"] = true, ["use_regex"] = true,
            };
            string json = tree.ToJsonString();
            var fast = HfTokenizer.FromJson(json);
            var reference = HfTokenizer.FromJsonReference(json);
            foreach (var text in Corpus.Take(5000))
            {
                var expected = reference.EncodeWithOffsets(text);
                var actual = fast.EncodeWithOffsets(text);
                Assert.Equal(expected.Ids, actual.Ids);
                Assert.Equal(expected.Offsets, actual.Offsets);
            }
        }
    }

    [Fact]
    public void Word_cache_returns_only_what_was_stored_under_that_word()
    {
        // One bucket (two entries) for 2,000 words: constant eviction, and every lookup must either miss or return
        // the ids stored for exactly that word.
        var cache = new WordCache(1);
        var words = Enumerable.Range(0, 2000).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        int hits = 0;
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < words.Length; i++)
            {
                int hash = cache.Hash(words[i]);
                if (cache.TryGet(words[i], hash, out var ids))
                {
                    Assert.Equal([i], ids);
                    hits++;
                }
                else
                {
                    cache.Add(words[i], hash, [i]);
                }
                // The word added just before is still there (it moved to the second slot).
                if (i > 0)
                {
                    Assert.True(cache.TryGet(words[i - 1], cache.Hash(words[i - 1]), out var previous));
                    Assert.Equal([i - 1], previous);
                }
            }
        }
        Assert.Equal(0, hits); // each word was evicted long before it came round again
        Assert.Equal(cache.Hash("abc"), cache.Hash("abc".AsSpan()));
        Assert.NotEqual(cache.Hash("abcd"), cache.Hash("abce"));
    }

    private static string Show(string text, List<(int Start, int End)> matches) =>
        JsonSerializer.Serialize(matches.Select(m => text[m.Start..m.End]));

    /// <summary>Every string in data/ (all JSONL fields), the golden and fuzz texts, and 20,000 generated strings.</summary>
    private static string[] BuildCorpus()
    {
        var texts = new List<string>();
        foreach (var file in Directory.EnumerateFiles(RepoPaths.Data(), "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            foreach (var line in File.ReadLines(file))
                if (line.Length > 0)
                {
                    using var doc = JsonDocument.Parse(line);
                    CollectStrings(doc.RootElement, texts);
                }
        int fromData = texts.Count;
        foreach (var family in new[] { "qwen3", "llama3", "deepseek-v3", "trained-bpe4k" })
            texts.AddRange(TokenizerFixture.Golden(family).Select(r => r.Text));
        foreach (var family in new[] { "qwen3" }) // the three fuzz files hold the same texts
        {
            using var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(TokenizerFixture.FixturesRoot, "tokenizers", "fuzz", family + ".jsonl.gz")), CompressionMode.Decompress));
            while (reader.ReadLine() is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                texts.Add(doc.RootElement.GetProperty("text").GetString()!);
            }
        }
        Assert.True(fromData > 3000, $"only {fromData} strings under data/");

        string[] fragments =
        [
            "a", "b", "Z", "hello", "World", "ÉCOLE", "naïve", "ß", "Ǆ", "ǅ", // letters, incl. title case
            "'s", "'S", "'t", "'T", "'re", "'RE", "'rE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'x", "'", "''", "'\u017F", "'r", "'l", "'v",
            "0", "7", "42", "123", "1234567", "3.14", "1,000", "٣٤٥", "४२", "²", "½", "Ⅻ", "①", "\U0001D7CF\U0001D7D0\U0001D7D1\U0001D7D2", "\U00010107",
            " ", "  ", "   ", "\t", "\t\t", " \t", "\n", "\r\n", "\r", "\n\n", " \n", "\n ", " \n \n ", "\u0085", "\u00A0", "\u3000", "\u2028", "\u2029", "\u000B", "\u000C", "\u1680", "\u202F",
            ".", ",", "!", "?", "...", "$", "%", "<<", ">>", "=", "+", "-", "*", "/", "\\", "(", ")", "[", "]", "{", "}", "|", "~", "#", "@", "&", "^", "_", "`", "\"",
            "—", "’", "“", "”", "€", "…", "\u200B", "\uFEFF", "\u00AD",
            "中文", "字符", "日本語", "のテキスト", "カタカナ", "한국어", "Привет", "Ελληνικά", "عربى", "हिन्दी", "ไทย", "\U00020001",
            "😀", "🚀", "🚀🚀", "👍🏽", "🇯🇵", "\U0001D400", "\uD800", "\uDC00", "\uDBFF", "e\u0301", "a\u0308", "\u0301", "ﬁ",
            "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<|begin_of_text|>", "<|eot_id|>", "<｜end▁of▁sentence｜>", "<|im_start", "|>",
            "\\frac{1}{2}", "$x^2$", "http://a.b/c?d=e", "<<48/2=24>>",
        ];
        var rng = new Random(20240611);
        var sb = new StringBuilder();
        for (int k = 0; k < 20_000; k++)
        {
            sb.Clear();
            int count = rng.Next(1, 40);
            for (int j = 0; j < count; j++) sb.Append(fragments[rng.Next(fragments.Length)]);
            texts.Add(sb.ToString());
        }
        return texts.ToArray();
    }

    private static void CollectStrings(JsonElement element, List<string> output)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                output.Add(element.GetString()!);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject()) CollectStrings(property.Value, output);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) CollectStrings(item, output);
                break;
        }
    }
}
