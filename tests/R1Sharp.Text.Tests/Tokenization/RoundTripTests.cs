using System.Text.Json;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>Save → Load, streaming decode, offsets and regex edge cases on the reference tokenizers.</summary>
public sealed class RoundTripTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    [Theory]
    [InlineData("qwen3")]
    [InlineData("deepseek-v3")]
    [InlineData("llama3")]
    public void Save_then_load_gives_identical_ids_and_settings(string family)
    {
        var original = fixture.Get(family);
        var dir = Directory.CreateTempSubdirectory("r1sharp-tok-");
        try
        {
            original.Save(dir.FullName);
            Assert.Equal(["tokenizer.json", "tokenizer_config.json"], Directory.GetFiles(dir.FullName).Select(Path.GetFileName).Order());
            var loaded = HfTokenizer.Load(dir.FullName);
            foreach (var row in TokenizerFixture.Golden(family))
                Assert.Equal(row.Ids, loaded.Encode(row.Text));
            Assert.Equal(original.VocabSize, loaded.VocabSize);
            Assert.Equal(original.SpecialTokenIds.Order(), loaded.SpecialTokenIds.Order());
            Assert.Equal(original.EosTokenId, loaded.EosTokenId);
            Assert.Equal(original.AddBosToken, loaded.AddBosToken);
            Assert.Equal(original.ChatTemplate, loaded.ChatTemplate);

            // The written file keeps HF's layout: merges in the input's format, vocabulary in id order.
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "tokenizer.json")));
            var merges = doc.RootElement.GetProperty("model").GetProperty("merges");
            Assert.Equal(family == "qwen3" ? JsonValueKind.Array : JsonValueKind.String, merges[0].ValueKind);
            Assert.Equal(0, doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().First().Value.GetInt32());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_accepts_a_plain_tokenizer_json_and_chat_template_jinja()
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-tok-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "tokenizer.json"), SmallTokenizerJson.Raw);
            File.WriteAllText(Path.Combine(dir.FullName, "chat_template.jinja"), "{{ messages[0]['content'] }}");
            var tokenizer = HfTokenizer.Load(dir.FullName);
            Assert.Equal("{{ messages[0]['content'] }}", tokenizer.ChatTemplate);
            Assert.Equal(tokenizer.VocabSize, HfTokenizer.Load(Path.Combine(dir.FullName, "tokenizer.json")).VocabSize);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("deepseek-v3")]
    [InlineData("llama3")]
    public void Incremental_decoding_equals_decode_and_holds_back_partial_characters(string family)
    {
        var tokenizer = fixture.Get(family);
        foreach (var row in TokenizerFixture.Golden(family))
        {
            var decoder = tokenizer.CreateIncrementalDecoder();
            var pieces = row.Ids.Select(decoder.Add).Append(decoder.Flush()).ToList();
            string whole = string.Concat(pieces);
            Assert.Equal(row.DecodedEqual ? row.Text : whole, whole);
            // Characters split across tokens are held back, never emitted as U+FFFD.
            if (!row.Text.Contains('\uFFFD')) Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        }
    }

    [Fact]
    public void Incremental_decoder_flushes_an_incomplete_character_as_replacement()
    {
        var qwen = fixture.Qwen3;
        // A rare supplementary character (CJK Extension B) whose 4 UTF-8 bytes span several tokens.
        var ids = qwen.Encode("\U00020001");
        Assert.True(ids.Count > 1);
        var decoder = qwen.CreateIncrementalDecoder();
        Assert.Equal("", decoder.Add(ids[0]));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("\uFFFD", qwen.Decode([ids[0]]));
    }

    [Fact]
    public void Decode_skips_unknown_ids_like_hf()
    {
        var qwen = fixture.Qwen3;
        Assert.Equal("hi", qwen.Decode([.. qwen.Encode("hi"), 151935, -1]));
        Assert.Null(qwen.IdToToken(151935));
        Assert.Equal("Ġthe", qwen.IdToToken(qwen.TokenToId("Ġthe")!.Value));
    }

    [Fact]
    public void Nfc_is_applied_and_offsets_point_into_the_original_text()
    {
        var qwen = fixture.Qwen3;
        string decomposed = "Cafe\u0301 na\u0131\u0308ve";
        string composed = "Caf\u00e9 na\u0131\u0308ve"; // U+0131 + U+0308 has no composition
        Assert.Equal(qwen.Encode(composed), qwen.Encode(decomposed));
        var encoded = qwen.EncodeWithOffsets(decomposed);
        Assert.Equal(decomposed.Length, encoded.Offsets.Max(o => o.End));
        Assert.All(encoded.Offsets, o => Assert.InRange(o.End, o.Start, decomposed.Length));
        // DeepSeek-V3 has no normalizer: the decomposed form stays different.
        Assert.NotEqual(fixture.DeepSeek.Encode(composed), fixture.DeepSeek.Encode(decomposed));
    }

    [Fact]
    public void Supplementary_characters_count_as_one_character_in_split_regexes()
    {
        // Oniguruma runs over code points; .NET Regex over UTF-16 units. CodePointRegex must match like Oniguruma.
        // \p{N}{1,3} on four mathematical bold digits (U+1D7CF.., 2 UTF-16 units each): "𝟏𝟐𝟑" + "𝟒".
        var matches = new List<(int, int)>();
        new CodePointRegex(@"\p{N}{1,3}").Matches("\U0001D7CF\U0001D7D0\U0001D7D1\U0001D7D2", matches);
        Assert.Equal([(0, 6), (6, 8)], matches);

        // Qwen's [^\r\n\p{L}\p{N}]?\p{L}+ takes one emoji (So) before letters: "😀abc" is one pre-token,
        // and " 🚀🚀" stays one punctuation/symbol run ( ?[^\s\p{L}\p{N}]+).
        matches.Clear();
        var qwenRegex = new CodePointRegex(BpeTrainerOptions.Qwen2SplitPattern);
        qwenRegex.Matches("😀abc 🚀🚀", matches);
        Assert.Equal([(0, 5), (5, 10)], matches);

        // And through the whole tokenizer: the Llama-3 offsets never cut the 3-digit group.
        var offsets = fixture.Llama3.EncodeWithOffsets("\U0001D7CF\U0001D7D0\U0001D7D1\U0001D7D2").Offsets;
        Assert.DoesNotContain(offsets, o => o.Start < 6 && o.End > 6);
    }
}
