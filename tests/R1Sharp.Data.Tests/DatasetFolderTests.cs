using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Tests;

namespace R1Sharp.Data.Tests;

/// <summary>
/// Folders in the Hub's dataset layout. The fixture tests/fixtures/datasets/sft-hub was written by hyparquet-writer (npm),
/// with the messages column as Parquet's list of structs, as the Hub's Parquet files hold them.
/// </summary>
public sealed class DatasetFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-folder-").FullName;
    private static readonly string Hub = RepoPaths.Fixture("datasets", "sft-hub");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string relative, string text)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_hub_folder_reads_the_train_shards_in_order_with_their_own_file_and_row()
    {
        var rows = DataRows.ReadAll(Hub);
        Assert.Equal(20, rows.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"p{i}"), rows.Select(r => r.String("id")));
        Assert.Equal("train-00000-of-00002.parquet", Path.GetFileName(rows[0].File));
        Assert.Equal("train-00001-of-00002.parquet", Path.GetFileName(rows[10].File));
        Assert.Equal(1, rows[10].Line);
        var messages = Assert.IsType<JsonArray>(rows[0]["messages"]);
        Assert.Equal(["user", "assistant"], messages.Select(m => (string)m!["role"]!));
        Assert.StartsWith("What is ", (string)messages[0]!["content"]!);
    }

    [Fact]
    public void A_split_is_named_after_a_colon()
    {
        Assert.Equal(["p20", "p21", "p22", "p23"], DataRows.ReadAll(Hub + ":test").Select(r => r.String("id")));
        Assert.True(DataRows.Exists(Hub + ":test"));
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Hub + ":validation"));
        Assert.Contains("no split 'validation'", e.Message);
        Assert.Contains("splits: test, train", e.Message);
        Assert.Equal(["test", "train"], DatasetFolder.Splits(Hub).Keys.Order());
    }

    [Theory]
    [InlineData("train.jsonl|test.jsonl", "train", "test")]
    [InlineData("data/training-data.jsonl|data/dev.jsonl", "train", "validation")]
    [InlineData("train/part0.jsonl|valid/part0.jsonl", "train", "validation")]
    [InlineData("default/train/0000.jsonl|default/test/0000.jsonl", "train", "test")]
    [InlineData("data/cot_sft-00000-of-00001.jsonl|data/train-00000-of-00001.jsonl", "cot_sft", "train")]
    [InlineData("my_eval_set.jsonl|stuff.jsonl", "test", null)]
    public void Splits_are_inferred_from_file_and_folder_names(string files, string first, string? second)
    {
        foreach (var f in files.Split('|')) Write(f, "{\"x\": 1}\n");
        var splits = DatasetFolder.Splits(_dir);
        Assert.Contains(first, splits.Keys);
        if (second is not null) Assert.Contains(second, splits.Keys);
        Assert.Equal(second is null ? 1 : 2, splits.Count);
    }

    [Fact]
    public void Without_split_names_every_file_is_train_and_other_files_are_ignored()
    {
        Write("a.jsonl", "{\"x\": 1}\n");
        Write("b/c.json", "[{\"x\": 2}]");
        Write("README.md", "# card");
        Write(".cache/huggingface/x.jsonl", "{\"x\": 3}\n");
        Assert.Equal([1.0, 2.0], DataRows.ReadAll(_dir).Select(r => r.Number("x")!.Value));
        Assert.Equal(["train"], DatasetFolder.Splits(_dir).Keys);
    }

    [Fact]
    public void Metadata_files_are_not_rows_and_a_save_to_disk_folder_is_named_as_such()
    {
        // The Hub's dataset_infos.json beside the data, and datasets' save_to_disk layout (Arrow files and JSON metadata).
        Write("hub/data.jsonl", "{\"q\": \"a\"}\n");
        Write("hub/dataset_infos.json", "{\"default\": {\"features\": {}}}\n");
        Assert.Equal(["a"], DataRows.ReadAll(Path.Combine(_dir, "hub")).Select(r => r.String("q")));

        Write("saved/dataset_dict.json", "{\"splits\": [\"train\"]}");
        Write("saved/train/dataset_info.json", "{\n  \"citation\": \"\"\n}\n");
        Write("saved/train/state.json", "{\n  \"_data_files\": []\n}\n");
        Write("saved/train/data-00000-of-00001.arrow", "ARROW1");
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(Path.Combine(_dir, "saved")));
        Assert.Contains("save_to_disk", e.Message);
        Assert.Contains("to_json", e.Message);
    }

    [Fact]
    public void Several_splits_and_no_train_asks_for_one()
    {
        Write("test.jsonl", "{\"x\": 1}\n");
        Write("validation.jsonl", "{\"x\": 2}\n");
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(_dir));
        Assert.Contains("several splits (test, validation)", e.Message);
        Assert.Equal([2.0], DataRows.ReadAll(_dir + ":dev").Select(r => r.Number("x")!.Value));
    }

    [Fact]
    public void A_bad_row_in_a_shard_names_the_shard_and_its_line()
    {
        Write("data/train-00000-of-00002.jsonl", "{\"x\": 1}\n");
        string second = Write("data/train-00001-of-00002.jsonl", "{\"x\": 2}\n{\"x\": \n");
        var e = Assert.Throws<DatasetFormatException>(() => DataRows.ReadAll(_dir));
        Assert.Equal(second, e.File);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void A_colon_that_is_not_after_a_folder_is_part_of_a_file_name()
    {
        Assert.False(DataRows.Exists(Path.Combine(_dir, "missing") + ":train"));
        Assert.Throws<FileNotFoundException>(() => DataRows.ReadAll(Path.Combine(_dir, "no:such.jsonl")));
    }
}
