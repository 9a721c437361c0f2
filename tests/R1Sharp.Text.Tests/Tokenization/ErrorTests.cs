using System.Text.Json.Nodes;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>Malformed or unsupported files fail with the file name and the JSON path of the problem.</summary>
public sealed class ErrorTests
{
    private static TokenizerFormatException Fails(JsonObject json, string? config = null) =>
        Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromJson(json.ToJsonString(), config));

    [Fact]
    public void Word_piece_model_is_rejected_with_its_path()
    {
        var json = SmallTokenizerJson.Tree();
        json["model"] = JsonNode.Parse("""{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0}}""");
        var e = Fails(json);
        Assert.Equal("tokenizer.json", e.File);
        Assert.Equal("$.model.type", e.JsonPath);
        Assert.StartsWith("tokenizer.json: $.model.type: unsupported model type 'WordPiece'", e.Message);
    }

    [Fact]
    public void Unigram_model_is_rejected()
    {
        var json = SmallTokenizerJson.Tree();
        json["model"] = JsonNode.Parse("""{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0]]}""");
        Assert.Contains("unsupported model type 'Unigram'", Fails(json).Message);
    }

    [Fact]
    public void Unknown_pre_tokenizer_is_rejected_with_its_path()
    {
        var json = SmallTokenizerJson.Tree();
        json["pre_tokenizer"]!["pretokenizers"]![0] = JsonNode.Parse("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"}""");
        var e = Fails(json);
        Assert.Equal("$.pre_tokenizer.pretokenizers[0].type", e.JsonPath);
        Assert.Contains("unsupported pre-tokenizer type 'Metaspace'", e.Message);
    }

    [Fact]
    public void Missing_byte_level_pre_tokenizer_is_rejected()
    {
        var json = SmallTokenizerJson.Tree();
        json["pre_tokenizer"] = JsonNode.Parse("""{"type":"Split","pattern":{"String":" "},"behavior":"Removed","invert":false}""");
        Assert.Contains("needs a ByteLevel pre-tokenizer", Fails(json).Message);
    }

    [Fact]
    public void Bad_regex_names_the_pattern()
    {
        var json = SmallTokenizerJson.Tree();
        json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "(unclosed";
        Assert.Equal("$.pre_tokenizer.pretokenizers[0].pattern.Regex", Fails(json).JsonPath);
    }

    [Fact]
    public void Unsupported_normalizer_and_decoder_are_rejected()
    {
        var json = SmallTokenizerJson.Tree();
        json["normalizer"] = JsonNode.Parse("""{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Precompiled","precompiled_charsmap":""}]}""");
        Assert.Equal("$.normalizer.normalizers[1].type", Fails(json).JsonPath);

        json = SmallTokenizerJson.Tree();
        json["decoder"] = JsonNode.Parse("""{"type":"WordPiece","prefix":"##","cleanup":true}""");
        Assert.Equal("$.decoder.type", Fails(json).JsonPath);
    }

    [Fact]
    public void Bad_merge_names_its_index()
    {
        var json = SmallTokenizerJson.Tree();
        json["model"]!["merges"]![3] = "abc";
        var e = Fails(json);
        Assert.Equal("$.model.merges[3]", e.JsonPath);

        json = SmallTokenizerJson.Tree();
        json["model"]!["merges"]![5] = new JsonArray("Ġ", "notatoken");
        Assert.Contains("'notatoken' is not in the vocabulary", Fails(json).Message);
    }

    [Fact]
    public void Wrong_value_types_name_the_field()
    {
        var json = SmallTokenizerJson.Tree();
        json["added_tokens"]![0]!["id"] = "zero";
        var e = Fails(json);
        Assert.Equal("$.added_tokens[0].id", e.JsonPath);
        Assert.Contains("expected a 32-bit integer", e.Message);

        json = SmallTokenizerJson.Tree();
        json["model"]!.AsObject().Remove("vocab");
        Assert.Equal("$.model: missing required field 'vocab'", Fails(json).Message["tokenizer.json: ".Length..]);
    }

    [Fact]
    public void Invalid_json_reports_line_and_position()
    {
        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromJson("{\n  \"model\": {,\n}"));
        Assert.StartsWith("tokenizer.json: line 2", e.Message);
    }

    [Fact]
    public void Bad_config_names_tokenizer_config_json()
    {
        var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromJson(SmallTokenizerJson.Raw, """{"eos_token": 5}"""));
        Assert.Equal("tokenizer_config.json", e.File);
        Assert.Equal("$.eos_token", e.JsonPath);

        e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.FromJson(SmallTokenizerJson.Raw, """{"add_bos_token": true}"""));
        Assert.Equal("$.add_bos_token", e.JsonPath);
    }

    [Fact]
    public void Load_errors_name_the_file_on_disk()
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-tok-");
        try
        {
            Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(dir.FullName));
            File.WriteAllText(Path.Combine(dir.FullName, "tokenizer.json"), "[]");
            var e = Assert.Throws<TokenizerFormatException>(() => HfTokenizer.Load(dir.FullName));
            Assert.Equal(Path.Combine(dir.FullName, "tokenizer.json"), e.File);
            Assert.Contains("expected an object, found an array", e.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
        Assert.Throws<DirectoryNotFoundException>(() => HfTokenizer.Load("/nonexistent/tokenizer-dir"));
    }
}
