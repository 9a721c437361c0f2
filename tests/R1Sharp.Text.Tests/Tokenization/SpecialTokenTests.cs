using System.Text.Json.Nodes;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>Added and special tokens written in the input text, their flags, and add_special_tokens.</summary>
public sealed class SpecialTokenTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    [Fact]
    public void Qwen3_chat_markup_splits_out_special_tokens()
    {
        var qwen = fixture.Qwen3;
        int imStart = qwen.TokenToId("<|im_start|>")!.Value, imEnd = qwen.TokenToId("<|im_end|>")!.Value;
        Assert.Equal(151644, imStart); // ids from the tokenizer.json added_tokens
        Assert.Equal(151645, imEnd);
        var ids = qwen.Encode("<|im_start|>user\nWhat is 2+2?<|im_end|><|im_end|>\n<|im_start|>assistant\n");
        Assert.Equal(imStart, ids[0]);
        Assert.Equal(2, ids.Count(i => i == imEnd));
        Assert.Equal([imStart, .. qwen.Encode("user\nWhat is 2+2?"), imEnd, imEnd, .. qwen.Encode("\n"), imStart, .. qwen.Encode("assistant\n")], ids);
    }

    [Fact]
    public void Incomplete_special_token_text_is_ordinary_text()
    {
        var qwen = fixture.Qwen3;
        var ids = qwen.Encode("<|im_start user <|im_end");
        Assert.DoesNotContain(151644, ids);
        Assert.DoesNotContain(151645, ids);
        Assert.Equal("<|im_start user <|im_end", qwen.Decode(ids));
    }

    [Fact]
    public void Non_special_added_tokens_are_matched_but_kept_when_skipping_special_tokens()
    {
        var qwen = fixture.Qwen3;
        int think = qwen.TokenToId("<think>")!.Value;
        Assert.DoesNotContain(think, qwen.SpecialTokenIds); // "special": false in Qwen3's tokenizer.json
        var ids = qwen.Encode("<|im_start|>assistant\n<think>\nok</think>\n\n42<|im_end|>");
        Assert.Contains(think, ids);
        Assert.Equal("assistant\n<think>\nok</think>\n\n42", qwen.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<|im_start|>assistant\n<think>\nok</think>\n\n42<|im_end|>", qwen.Decode(ids));
    }

    [Fact]
    public void Special_token_ids_and_config_roles()
    {
        Assert.Null(fixture.Qwen3.BosTokenId);
        Assert.Equal(151645, fixture.Qwen3.EosTokenId);
        Assert.Equal(151643, fixture.Qwen3.PadTokenId);
        Assert.Equal(131072, fixture.Qwen3.ModelMaxLength);
        Assert.Contains("<|im_start|>", fixture.Qwen3.ChatTemplate);
        Assert.Equal(151669, fixture.Qwen3.VocabSize); // len(tokenizer) in transformers
        Assert.Equal(0, fixture.DeepSeek.BosTokenId);
        Assert.Equal(1, fixture.DeepSeek.EosTokenId);
        Assert.Equal(128000, fixture.Llama3.BosTokenId);
        Assert.Equal(128001, fixture.Llama3.EosTokenId);
        Assert.Null(fixture.Llama3.ModelMaxLength); // 1e30 = "no limit" in transformers
        Assert.True(fixture.Llama3.CleanUpTokenizationSpaces);
    }

    [Fact]
    public void Add_special_tokens_follows_add_bos_token_and_the_post_processor()
    {
        // DeepSeek-V3: LlamaTokenizerFast with add_bos_token=true → BOS; Qwen3: add_bos_token=false, no BOS;
        // this Llama-3 tokenizer.json has a ByteLevel post-processor and its config no add_bos_token → nothing.
        Assert.True(fixture.DeepSeek.AddBosToken);
        Assert.Equal([0, .. fixture.DeepSeek.Encode("Hello")], fixture.DeepSeek.Encode("Hello", addSpecialTokens: true));
        Assert.False(fixture.Qwen3.AddBosToken);
        Assert.Equal(fixture.Qwen3.Encode("Hello"), fixture.Qwen3.Encode("Hello", addSpecialTokens: true));
        Assert.False(fixture.Llama3.AddBosToken);
        var withOffsets = fixture.DeepSeek.EncodeWithOffsets("Hello", addSpecialTokens: true);
        Assert.Equal((0, 0), withOffsets.Offsets[0]);
    }

    [Fact]
    public void Template_processing_post_processor_adds_bos()
    {
        // Llama-3.1's tokenizer.json shape: Sequence [ByteLevel, TemplateProcessing(<|begin_of_text|> $A)].
        var json = SmallTokenizerJson.Tree();
        json["post_processor"] = JsonNode.Parse("""
            {"type":"Sequence","processors":[
              {"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
              {"type":"TemplateProcessing",
               "single":[{"SpecialToken":{"id":"<|im_start|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
               "pair":[{"SpecialToken":{"id":"<|im_start|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
               "special_tokens":{"<|im_start|>":{"id":"<|im_start|>","ids":[1],"tokens":["<|im_start|>"]}}}]}
            """);
        var tokenizer = HfTokenizer.FromJson(json.ToJsonString());
        Assert.Equal([1, .. tokenizer.Encode("hi")], tokenizer.Encode("hi", addSpecialTokens: true));
    }

    [Fact]
    public void Lstrip_and_rstrip_swallow_surrounding_whitespace()
    {
        var json = SmallTokenizerJson.Tree();
        json["added_tokens"]!.AsArray().Add(SmallTokenizerJson.AddedToken(4096, "<mask>", lstrip: true, rstrip: true));
        var tokenizer = HfTokenizer.FromJson(json.ToJsonString());
        // HF: the match grows over the spaces on both sides, so they are not tokenized.
        Assert.Equal([.. tokenizer.Encode("a"), 4096, .. tokenizer.Encode("b")], tokenizer.Encode("a  <mask>  b"));
        var offsets = tokenizer.EncodeWithOffsets("a  <mask>  b").Offsets;
        Assert.Contains((1, 11), offsets);
    }

    [Fact]
    public void Single_word_tokens_only_match_outside_words()
    {
        var json = SmallTokenizerJson.Tree();
        json["added_tokens"]!.AsArray().Add(SmallTokenizerJson.AddedToken(4096, "ok", special: false, singleWord: true));
        var tokenizer = HfTokenizer.FromJson(json.ToJsonString());
        Assert.Equal([.. tokenizer.Encode("say "), 4096, .. tokenizer.Encode("!")], tokenizer.Encode("say ok!"));
        Assert.DoesNotContain(4096, tokenizer.Encode("okay bok"));
    }

    [Fact]
    public void Leftmost_longest_match_wins()
    {
        var json = SmallTokenizerJson.Tree();
        json["added_tokens"]!.AsArray().Add(SmallTokenizerJson.AddedToken(4096, "<a>"));
        json["added_tokens"]!.AsArray().Add(SmallTokenizerJson.AddedToken(4097, "<a><b>"));
        var tokenizer = HfTokenizer.FromJson(json.ToJsonString());
        Assert.Equal([4097, 4096], tokenizer.Encode("<a><b><a>"));
    }

    [Fact]
    public void Normalized_added_tokens_match_after_normalization()
    {
        // normalized=true: matched in NFC text, so a decomposed "é" in the input still matches "<é>".
        var json = SmallTokenizerJson.Tree();
        json["added_tokens"]!.AsArray().Add(SmallTokenizerJson.AddedToken(4096, "<\u00e9>", normalized: true));
        var tokenizer = HfTokenizer.FromJson(json.ToJsonString());
        Assert.Equal([4096], tokenizer.Encode("<e\u0301>"));
        Assert.Equal((0, 4), tokenizer.EncodeWithOffsets("<e\u0301>").Offsets[0]);
    }
}
