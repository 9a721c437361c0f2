using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>
/// Every row of tests/fixtures/tokenizers/*/golden.jsonl: ids produced by @lenml/tokenizers 3.7.2 (a JS port of
/// HF tokenizers) with add_special_tokens=false, and the decoded text.
/// </summary>
public sealed class GoldenTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    public static TheoryData<string, int> Rows()
    {
        var data = new TheoryData<string, int>();
        foreach (var family in new[] { "qwen3", "deepseek-v3", "llama3" })
            for (int i = 0; i < TokenizerFixture.Golden(family).Length; i++)
                data.Add(family, i);
        return data;
    }

    [Fact]
    public void Each_golden_file_has_all_181_texts()
    {
        foreach (var family in new[] { "qwen3", "deepseek-v3", "llama3" })
            Assert.Equal(181, TokenizerFixture.Golden(family).Length);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Encode_matches_reference_ids(string family, int row)
    {
        var golden = TokenizerFixture.Golden(family)[row];
        var ids = fixture.Get(family).Encode(golden.Text);
        Assert.Equal(golden.Ids, ids);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Decode_matches_reference_text(string family, int row)
    {
        var golden = TokenizerFixture.Golden(family)[row];
        var text = fixture.Get(family).Decode(golden.Ids);
        if (golden.DecodedEqual) Assert.Equal(golden.Text, text);
        if (golden.Decoded is not null) Assert.Equal(golden.Decoded, text);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Offsets_cover_the_text_in_order(string family, int row)
    {
        var golden = TokenizerFixture.Golden(family)[row];
        var tokenizer = fixture.Get(family);
        var encoded = tokenizer.EncodeWithOffsets(golden.Text);
        Assert.Equal(golden.Ids, encoded.Ids);
        Assert.Equal(encoded.Ids.Count, encoded.Offsets.Count);
        int previousEnd = 0;
        for (int i = 0; i < encoded.Ids.Count; i++)
        {
            var (start, end) = encoded.Offsets[i];
            Assert.InRange(start, 0, golden.Text.Length);
            Assert.InRange(end, start, golden.Text.Length);
            // Tokens that split one character's bytes share that character; otherwise offsets never go back.
            Assert.True(start >= previousEnd || start < previousEnd && end <= previousEnd + 2 && start >= previousEnd - 2,
                $"token {i} ({start},{end}) starts before the previous end {previousEnd}");
            previousEnd = Math.Max(previousEnd, end);
        }
        // Where tokens do not split characters, the token decodes to exactly its slice of the text
        // (decoded alone and without clean_up_tokenization_spaces, which Llama-3's config turns on).
        for (int i = 0; i < encoded.Ids.Count; i++)
        {
            var (start, end) = encoded.Offsets[i];
            var decoder = tokenizer.CreateIncrementalDecoder();
            string piece = decoder.Add(encoded.Ids[i]) + decoder.Flush();
            if (!piece.Contains('\uFFFD') && !tokenizer.SpecialTokenIds.Contains(encoded.Ids[i]))
                Assert.Equal(piece, golden.Text[start..end]);
        }
        if (golden.Text.Length > 0 && encoded.Ids.Count > 0) Assert.Equal(golden.Text.Length, previousEnd);
    }
}
