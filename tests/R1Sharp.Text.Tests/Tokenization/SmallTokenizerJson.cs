using System.IO.Compression;
using System.Text.Json.Nodes;

namespace R1Sharp.Text.Tests.Tokenization;

/// <summary>The small trained tokenizer.json (tests/fixtures/tokenizers/trained-bpe4k) as an editable JSON tree.</summary>
internal static class SmallTokenizerJson
{
    private static readonly Lazy<string> Text = new(() =>
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(TokenizerFixture.Dir("trained-bpe4k"), "tokenizer.json.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        return reader.ReadToEnd();
    });

    public static string Raw => Text.Value;

    public static JsonObject Tree() => JsonNode.Parse(Text.Value)!.AsObject();

    public static JsonObject AddedToken(int id, string content, bool special = true, bool lstrip = false, bool rstrip = false,
        bool singleWord = false, bool normalized = false) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = singleWord,
        ["lstrip"] = lstrip,
        ["rstrip"] = rstrip,
        ["normalized"] = normalized,
        ["special"] = special,
    };
}
