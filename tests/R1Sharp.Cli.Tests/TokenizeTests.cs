using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Tests;

namespace R1Sharp.Cli.Tests;

/// <summary>Against tests/fixtures/tokenizers/trained-bpe4k/golden.jsonl: the ids a JS port of HF tokenizers produces.</summary>
public class TokenizeTests
{
    private static readonly string Tokenizer = RepoPaths.Fixture("tokenizers", "trained-bpe4k");

    private static List<(string Text, int[] Ids)> Golden() =>
        File.ReadLines(Path.Combine(Tokenizer, "golden.jsonl")).Where(l => l.Length > 0).Select(l =>
        {
            var row = JsonNode.Parse(l)!;
            return (row["text"]!.GetValue<string>(), row["ids"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray());
        }).ToList();

    private static int[] Ids(string line) => JsonNode.Parse(line)!["ids"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray();

    [Fact]
    public void Text_gives_the_reference_ids()
    {
        var (text, ids) = Golden().First(g => g.Ids.Length > 20);
        Assert.Equal(ids, Ids(CliRunner.Ok("tokenize", "--tokenizer", Tokenizer, "--text", text).Stdout.Trim()));
    }

    [Fact]
    public void Input_file_gives_one_row_per_row_in_order()
    {
        using var tmp = new TempDir();
        var golden = Golden().Take(40).ToList();
        string input = tmp.Write("in.jsonl", [.. golden.Select(g => new JsonObject { ["text"] = g.Text }.ToJsonString())]);
        string output = tmp.File("out.jsonl");
        var r = CliRunner.Ok("tokenize", "--tokenizer", Tokenizer, "--input", input, "--output", output);
        Assert.Equal("", r.Stdout);
        var lines = File.ReadAllLines(output);
        Assert.Equal(golden.Count, lines.Length);
        for (int i = 0; i < golden.Count; i++) Assert.Equal(golden[i].Ids, Ids(lines[i]));
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp"));
    }

    [Fact]
    public void A_malformed_row_names_file_line_and_field_and_writes_nothing()
    {
        using var tmp = new TempDir();
        string input = tmp.Write("in.jsonl", """{"text": "fine"}""", """{"txt": "typo"}""");
        string output = tmp.File("out.jsonl");
        Assert.Equal($"error: {input}:2: field 'text' is missing or not a string", CliRunner.Fails("tokenize", "--tokenizer", Tokenizer, "--input", input, "--output", output));
        Assert.False(File.Exists(output));
        Assert.Equal("error: give exactly one of --text and --input", CliRunner.Fails("tokenize", "--tokenizer", Tokenizer));
    }
}
