using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Parquet.Serialization;
using R1Sharp.Data;

namespace R1Sharp.Data.Tests;

/// <summary>The one reader of data files: every format gives the same rows, and every problem names file, line and field.</summary>
public sealed class DataRowsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-rows-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string WriteGzip(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(Encoding.UTF8.GetBytes(text));
        return path;
    }

    private const string Lines = "{\"q\": \"a\", \"n\": 1}\n\n{\"q\": \"b\", \"n\": 2}\n";

    public sealed class Row
    {
        public string? Q { get; set; }
        public int N { get; set; }
    }

    [Fact]
    public async Task Every_format_gives_the_same_rows()
    {
        string parquet = Path.Combine(_dir, "rows.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new Row { Q = "a", N = 1 }, new Row { Q = "b", N = 2 } }, parquet);
        var files = new[]
        {
            Write("rows.jsonl", Lines),
            Write("rows.ndjson", Lines),
            Write("rows.json", Lines),                                               // datasets' to_json writes JSON lines
            Write("array.json", "  [{\"q\": \"a\", \"n\": 1},\n {\"q\": \"b\", \"n\": 2}]"),
            WriteGzip("rows.jsonl.gz", Lines),
            WriteGzip("array.json.gz", "[{\"q\": \"a\", \"n\": 1}, {\"q\": \"b\", \"n\": 2}]"),
            parquet,
        };
        foreach (var file in files)
        {
            var rows = DataRows.ReadAll(file);
            Assert.Equal(["a", "b"], rows.Select(r => r.String("q", "Q")));
            Assert.Equal([1.0, 2.0], rows.Select(r => r.Number(r.FirstPresent("n", "N")!)!.Value));
            Assert.All(rows, r => Assert.Equal(file, r.File));
        }
        Assert.Equal([1L, 3], DataRows.ReadAll(files[0]).Select(r => r.Line));      // blank lines keep the numbering
        Assert.Equal([1L, 2], DataRows.ReadAll(files[3]).Select(r => r.Line));      // an array's rows are numbered by element
    }

    [Fact]
    public async Task Async_and_blocking_reads_are_the_same_reader()
    {
        string path = Write("rows.jsonl", Lines);
        var rows = new List<DataRow>();
        await foreach (var row in DataRows.ReadAsync(path)) rows.Add(row);
        Assert.Equal(DataRows.ReadAll(path).Select(r => r.Fields.ToJsonString()), rows.Select(r => r.Fields.ToJsonString()));
    }

    [Theory]
    [InlineData("{\"q\": \"a\"}\n{\"q\": \"b\", \"q\": \"c\"}\n", 2, "Duplicate")]
    [InlineData("{\"q\": \"a\"}\n{not json\n", 2, "not valid JSON")]
    [InlineData("{\"q\": \"a\"}\n\n[1, 2]\n", 3, "expected a JSON object, got an array")]
    [InlineData("\"text\"\n", 1, "expected a JSON object, got a string")]
    public void Bad_rows_name_the_file_and_line(string text, long line, string problem)
    {
        string path = Write("bad.jsonl", text);
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(path));
        Assert.Equal((path, line), (e.File, e.Line));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith($"{path}:{line}: ", e.Message);

        var skipped = new List<DatasetFormatException>();
        var good = DataRows.Read(path, malformed: skipped.Add).ToList();
        Assert.Equal(line, Assert.Single(skipped).Line);
        Assert.All(good, r => Assert.NotEqual(line, r.Line));
    }

    [Theory]
    [InlineData("rows.json")]
    [InlineData("rows.jsonl")]
    public void Leading_blank_lines_count_in_line_numbers(string name)
    {
        string path = Write(name, "\n \r\n{\"q\": \"a\"}\n{not json\n");
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(path));
        Assert.Equal(4, e.Line);
        var skipped = new List<DatasetFormatException>();
        Assert.Equal(3, Assert.Single(DataRows.Read(path, malformed: skipped.Add).ToList()).Line);
        // An array after blank lines: a JSON error names the file's line too.
        Assert.Equal(4, Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write("array-" + name, "\n\n[{\"q\": \"a\"},\n {oops}]\n"))).Line);
    }

    [Theory]
    [InlineData("rows.jsonl")]
    [InlineData("rows.ndjson")]
    public void A_json_lines_file_that_holds_one_array_is_read_as_the_array(string name)
    {
        // No JSON-lines file starts with '[' (every line is an object), and Hugging Face datasets reads such a file as its array.
        var rows = DataRows.ReadAll(Write(name, "[\n  {\"q\": \"a\"},\n  {\"q\": \"b\"}\n]\n"));
        Assert.Equal(["a", "b"], rows.Select(r => r.String("q")));
    }

    [Fact]
    public void A_pretty_printed_object_is_refused_saying_that_objects_go_on_one_line()
    {
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write("pretty.json", "{\n  \"q\": \"a\"\n}\n")));
        Assert.Equal(1, e.Line);
        Assert.Contains("each object is on one line", e.Message);
    }

    [Fact]
    public void Files_that_are_not_data_are_refused_clearly()
    {
        Assert.Throws<FileNotFoundException>(() => DataRows.ReadAll(Path.Combine(_dir, "missing.jsonl")));
        Assert.Contains("a folder with no data files", Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(_dir)).Message);
        Assert.Contains("cannot read Parquet", Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write("bad.parquet", "PAR1 not really"))).Message);
        Assert.Contains("not valid JSON", Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write("cut.json", "[{\"q\": 1}, {"))).Message);
        var scalar = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write("scalars.json", "[{\"q\": 1}, 2]")));
        Assert.Equal(2, scalar.Line);
        Assert.Contains("expected a JSON object, got a number", scalar.Message);
        Assert.Contains("cannot decompress", Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write("bad.jsonl.gz", "not gzip at all"))).Message);
        foreach (var other in new[] { "rows.csv", "rows.tsv", "data-00000-of-00001.arrow", "rows.csv.gz" })
        {
            var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Write(other, "q,n\na,1\n")));
            Assert.Equal((0L, null), (e.Line, e.Field));
            Assert.Contains("r1sharp reads JSON lines", e.Message);
        }
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_are_refused_naming_the_line_not_replaced()
    {
        // Latin-1 "café" on line 3 of 5 (and on line 1003 of a file longer than the reader's buffer): a silent U+FFFD
        // would change the text trained or graded on.
        byte[] Bad(int goodLines) => [.. Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"q\": \"ok \uFFFD\"}\r\n", goodLines)) + "{\"q\": \"caf"),
            0xE9, .. Encoding.UTF8.GetBytes("\"}\n{\"q\": \"b\"}\n{\"q\": \"c\"}\n")];
        string lines = Path.Combine(_dir, "latin1.jsonl"), far = Path.Combine(_dir, "far.jsonl"), array = Path.Combine(_dir, "latin1.json"),
            gzip = Path.Combine(_dir, "latin1.jsonl.gz");
        File.WriteAllBytes(lines, Bad(2));
        File.WriteAllBytes(far, Bad(1002));
        File.WriteAllBytes(array, [.. "[\n"u8, .. Encoding.UTF8.GetBytes("{\"q\": \"a\"},\n{\"q\": \"caf"), 0xE9, .. "\"}]\n"u8]);
        using (var file = File.Create(gzip))
        using (var zip = new GZipStream(file, CompressionLevel.Fastest))
            zip.Write(Bad(2));
        foreach (var (path, line) in new[] { (lines, 3L), (far, 1003L), (array, 3L), (gzip, 3L) })
        {
            var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(path));
            Assert.Equal((path, line), (e.File, e.Line));
            Assert.Contains("not valid UTF-8", e.Message);
            Assert.Contains("0xE9", e.Message);
            // Skipping malformed rows does not skip this: the file as a whole is not text.
            Assert.Throws<DatasetFormatException>(() => DataRows.Read(path, malformed: _ => { }).ToList());
        }
        Assert.Equal("ok \uFFFD", DataRows.ReadAll(Write("fffd.jsonl", "{\"q\": \"ok \uFFFD\"}\n"))[0].String("q")); // a real U+FFFD is text
    }

    [Fact]
    public void Field_accessors_name_the_field_and_what_was_expected()
    {
        var row = DataRows.ReadAll(Write("rows.jsonl", "{\"answer\": 18, \"list\": [1, 2], \"inf\": 1e999, \"text\": \"x\"}\n"))[0];
        Assert.Equal("18", row.Scalar("gold", "answer"));
        Assert.Equal("x", row.String("text"));
        Assert.Null(row.OptionalString("missing"));
        Assert.Equal("[1,2]", DataRow.Text(row["list"]!));
        var missing = Assert.Throws<DatasetFormatException>(() => row.String("prompt", "question"));
        Assert.Equal("prompt", missing.Field);
        Assert.Contains("also looked for 'question'", missing.Message);
        Assert.Contains("the row has answer, list, inf, text", missing.Message);
        Assert.Contains("expected a string, got a number", Assert.Throws<DatasetFormatException>(() => row.String("answer")).Message);
        Assert.Contains("expected a string or a number, got an array", Assert.Throws<DatasetFormatException>(() => row.Scalar("list")).Message);
        Assert.Contains("not a finite number", Assert.Throws<DatasetFormatException>(() => row.Number("inf")).Message);
    }

    [Fact]
    public void Written_rows_follow_the_JSON_conventions_and_replace_the_file_whole()
    {
        string path = Path.Combine(_dir, "out", "rows.jsonl");
        DataRows.WriteJsonl(path, [new JsonObject { ["completion"] = "<think>\n1 + 2 = 3\n</think> l'été", ["score"] = 0.5 }]);
        Assert.Equal("{\"completion\":\"<think>\\n1 + 2 = 3\\n</think> l'été\",\"score\":0.5}\n", File.ReadAllText(path));
        DataRows.WriteJsonl(path, [new JsonObject { ["n"] = 1 }]);
        Assert.Equal("{\"n\":1}\n", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));   // no temporary file left beside it
    }

    private sealed record Summary(double EvalLoss, double? Accuracy, string ModelName);

    [Fact]
    public void Summaries_are_snake_case_with_non_finite_numbers_as_null()
    {
        string json = JsonFormat.Serialize(new Summary(double.NaN, null, "m"), indented: false);
        Assert.Equal("{\"eval_loss\":null,\"accuracy\":null,\"model_name\":\"m\"}", json);
        string path = Path.Combine(_dir, "summary.json");
        JsonFormat.Write(path, new Summary(0.25, 1.0, "m"));
        Assert.Equal(new Summary(0.25, 1.0, "m"), JsonFormat.Read<Summary>(path));
        File.WriteAllText(path, "{\"eval_loss\": ");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => JsonFormat.Read<Summary>(path)).Message);
    }

    [Fact]
    public void Held_out_splits_are_seeded_and_never_take_everything()
    {
        var items = Enumerable.Range(0, 50).ToList();
        var (train, held) = DataSplit.HoldOut(items, 0.1, 3, "s");
        Assert.Equal(5, held.Count);
        Assert.Equal(items, train.Concat(held).Order());
        Assert.Equal(held, DataSplit.HoldOut(items, 0.1, 3, "s").HeldOut);
        Assert.NotEqual(held, DataSplit.HoldOut(items, 0.1, 4, "s").HeldOut);
        Assert.Single(DataSplit.HoldOut(items, 0.001, 3, "s").HeldOut);      // a positive share holds out at least one
        Assert.Single(DataSplit.HoldOut([1, 2], 0.99, 3, "s").Train);        // and never all
        Assert.Empty(DataSplit.HoldOut(items, 0, 3, "s").HeldOut);
    }
}
