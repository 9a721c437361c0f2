using Parquet.Serialization;
using R1Sharp.Data;
using R1Sharp.Rewards;
using R1Sharp.Tasks;

namespace R1Sharp.Tasks.Tests;

public sealed class DatasetLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-loader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Jsonl_with_default_mapping()
    {
        string path = Write("data.jsonl", """
            {"question": "What is 2+3?", "answer": 5, "tests": [{"input": "1", "output": "2"}], "ok": true}

            {"prompt": "Hi", "answer": "x", "id": "row-b", "skipme": null}
            """);
        var loaded = await DatasetLoader.LoadAsync(path);
        Assert.Equal(2, loaded.Examples.Count);
        var first = loaded.Examples[0];
        Assert.Equal("data-1", first.Id);
        Assert.Equal("What is 2+3?", first.Question);
        Assert.Equal("What is 2+3?", first.Prompt);
        Assert.Equal("5", first.Field("answer"));
        Assert.Equal("""[{"input":"1","output":"2"}]""", first.Field("tests"));   // lists and objects as compact JSON
        Assert.Equal("true", first.Field("ok"));
        Assert.Equal("row-b", loaded.Examples[1].Id);
        Assert.Null(loaded.Examples[1].Field("skipme"));
        Assert.Null(loaded.Examples[1].Field("id"));
    }

    [Fact]
    public async Task Message_prompts_with_text_parts_or_ShareGPT_turns_give_the_last_user_turn()
    {
        string path = Write("parts.jsonl", """
            {"prompt": [{"role": "user", "content": [{"type": "text", "text": "Compute "}, {"type": "text", "text": "1+1"}]}], "answer": "2"}
            {"prompt": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Compute 2+2"}], "answer": "4"}
            """);
        var loaded = await DatasetLoader.LoadAsync(path);
        Assert.Equal(["Compute 1+1", "Compute 2+2"], loaded.Examples.Select(e => e.Question));
        Assert.Contains("Be brief.", loaded.Examples[1].Field("messages"));
    }

    [Fact]
    public async Task Explicit_mapping_messages_and_prompt_style()
    {
        string path = Write("chat.jsonl", """
            {"conv": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Compute 1+1"}], "final": "2", "extra": "e"}
            """);
        var options = new DatasetLoadOptions(
            new FieldMapping(Prompt: "conv", Reference: new Dictionary<string, string> { ["answer"] = "final" }, CopyOtherColumns: false),
            PromptStyle.R1Zero);
        var example = (await DatasetLoader.LoadAsync(path, options)).Examples.Single();
        Assert.Equal("Compute 1+1", example.Question);
        Assert.Equal(PromptTemplates.RenderR1Zero("Compute 1+1"), example.Prompt);
        Assert.Equal("2", example.Field("answer"));
        Assert.Null(example.Field("extra"));
        Assert.Contains("Be brief.", example.Field("messages"));
    }

    [Fact]
    public async Task Malformed_rows_name_file_line_and_field()
    {
        string path = Write("bad.jsonl", "{\"question\": \"ok\", \"answer\": \"1\"}\n{\"question\": \"no answer\"}\n{not json\n[1, 2]\n{\"answer\": \"3\"}\n{\"question\": 7}\n");
        var options = new DatasetLoadOptions(new FieldMapping(Required: ["answer"]));

        var missing = await Assert.ThrowsAsync<DatasetFormatException>(() => DatasetLoader.LoadAsync(path, options));
        Assert.Equal((path, 2L, "answer"), (missing.File, missing.Line, missing.Field));
        Assert.StartsWith($"{path}:2: field 'answer'", missing.Message);

        var skipped = await DatasetLoader.LoadAsync(path, options with { SkipMalformed = true });
        Assert.Single(skipped.Examples);
        Assert.Equal(5, skipped.Skipped);
        Assert.Equal([2L, 3, 4, 5, 6], skipped.Problems.Select(p => p.Line));
        Assert.Equal([(string?)"answer", null, null, "prompt", "question"], skipped.Problems.Select(p => p.Field));
    }

    [Fact]
    public async Task Duplicate_ids_are_rejected()
    {
        string path = Write("dup.jsonl", "{\"id\": \"a\", \"prompt\": \"x\"}\n{\"id\": \"a\", \"prompt\": \"y\"}\n");
        var ex = await Assert.ThrowsAsync<DatasetFormatException>(() => DatasetLoader.LoadAsync(path));
        Assert.Equal((2L, "id"), (ex.Line, ex.Field));
    }

    public sealed class ParquetRow
    {
        public string? Problem { get; set; }
        public int Answer { get; set; }
        public List<string>? Tests { get; set; }
        public double? Score { get; set; }
    }

    [Fact]
    public async Task Parquet_untyped_keeps_nested_lists()
    {
        string path = Path.Combine(_dir, "data.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new ParquetRow { Problem = "p1", Answer = 5, Tests = ["a", "b"], Score = 1.5 },
            new ParquetRow { Problem = null, Answer = 7, Tests = [], Score = null },
            new ParquetRow { Problem = "p3", Answer = 9, Tests = ["c"], Score = 2 },
        }, path);

        var ex = await Assert.ThrowsAsync<DatasetFormatException>(() => DatasetLoader.LoadAsync(path));
        Assert.Equal(2L, ex.Line); // row 2 has no prompt

        var loaded = await DatasetLoader.LoadAsync(path, new DatasetLoadOptions(SkipMalformed: true));
        Assert.Equal(1, loaded.Skipped);
        Assert.Equal(["p1", "p3"], loaded.Examples.Select(e => e.Question));
        Assert.Equal("5", loaded.Examples[0].Field("Answer"));
        Assert.Equal("""["a","b"]""", loaded.Examples[0].Field("Tests"));
        Assert.Equal("1.5", loaded.Examples[0].Field("Score"));
        Assert.Equal("""["c"]""", loaded.Examples[1].Field("Tests"));
    }
}
