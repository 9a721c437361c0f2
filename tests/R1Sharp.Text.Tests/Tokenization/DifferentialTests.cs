using System.IO.Compression;
using System.Text.Json;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>
/// 3,000 random texts per family (tests/fixtures/tokenizers/fuzz, see make_texts.py) tokenized by the JS port of
/// HF tokenizers (@lenml/tokenizers 3.7.2): ids and decoded text must match on every row.
/// </summary>
public sealed class DifferentialTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    [Theory]
    [InlineData("qwen3")]
    [InlineData("deepseek-v3")]
    [InlineData("llama3")]
    public void Random_texts_match_the_js_port(string family)
    {
        var tokenizer = fixture.Get(family);
        var path = Path.Combine(TokenizerFixture.FixturesRoot, "tokenizers", "fuzz", family + ".jsonl.gz");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        var failures = new List<string>();
        int rows = 0;
        while (reader.ReadLine() is { } line)
        {
            rows++;
            using var doc = JsonDocument.Parse(line);
            string text = doc.RootElement.GetProperty("text").GetString()!;
            int[] ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            string decoded = doc.RootElement.GetProperty("decoded").GetString()!;
            if (!tokenizer.Encode(text).SequenceEqual(ids) && failures.Count < 10)
                failures.Add($"row {rows} encode {JsonSerializer.Serialize(text)}");
            if (tokenizer.Decode(ids) != decoded && failures.Count < 10)
                failures.Add($"row {rows} decode {JsonSerializer.Serialize(text)}");
        }
        Assert.Equal(3000, rows);
        Assert.Empty(failures);
    }

    [Fact]
    public void Whitespace_class_is_oniguruma_s_not_javascript_s()
    {
        // Oniguruma's \s (HF tokenizers' regex engine), Unicode case: U+0009-000D, U+0085, Zl, Zp, Zs — so NEL is
        // whitespace and U+FEFF (Cf) is not. JavaScript's \s is the other way round, hence their absence from the fuzz set.
        var matches = new List<(int, int)>();
        new CodePointRegex(@"\s+").Matches("a\u0085b\uFEFFc\u3000\u2028d", matches);
        Assert.Equal([(1, 2), (5, 7)], matches);
    }

    [Fact]
    public void Encoding_is_thread_safe()
    {
        var qwen = fixture.Qwen3;
        var rows = TokenizerFixture.Golden("qwen3");
        Parallel.For(0, rows.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var row = rows[i % rows.Length];
            Assert.Equal(row.Ids, qwen.Encode(row.Text));
        });
    }

    [Fact]
    public void A_very_long_word_uses_the_heap_merge_and_round_trips()
    {
        var qwen = fixture.Qwen3;
        // Golden row 178 (300 x "a") already checks the heap path (words over 128 bytes) against the reference;
        // this checks that a 50,000-letter pre-token stays fast and lossless.
        string word = string.Concat(Enumerable.Repeat("abcdefghij", 5000));
        var ids = qwen.Encode(word);
        Assert.Equal(word, qwen.Decode(ids));
        Assert.True(ids.Count < word.Length / 2);
    }
}
