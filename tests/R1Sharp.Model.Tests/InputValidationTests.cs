using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Tests;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>
/// The validation of what a checkpoint folder holds is strict about what is wrong and no stricter: every config.json
/// R1Sharp writes or transformers writes (the fixtures, v5's rope_parameters/dtype spelling, nulls) still loads, a config
/// whose sizes disagree with its weights fails before anything is allocated, and the messages name file and field.
/// </summary>
public class InputValidationTests
{
    static string Fixture(string name) => RepoPaths.Fixture("hf-tiny", name);

    public static TheoryData<string> Presets()
    {
        var data = new TheoryData<string>();
        foreach (var name in ModelPresets.All.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Every_preset_config_round_trips_through_its_json(string preset)
    {
        var configs = new[]
        {
            ModelPresets.Create(preset, 1024, 512, null, 2, null),
            ModelPresets.Create(preset, 1024, 512, 1, 2, 0) with { EosTokenIds = [] },
            ModelPresets.Create(preset, 1024, 512, 1, 2, 0) with { Head = ModelHead.SequenceClassification, Architecture = Architecture.Llama, MlpBias = true },
        };
        foreach (var config in configs)
        {
            var json = config.ToJson();
            var again = ModelConfig.FromJson(JsonNode.Parse(json.ToJsonString())!.AsObject());
            Assert.Equal(json.ToJsonString(), again.ToJson().ToJsonString());
            Assert.Equal(config.ParameterCount(), again.ParameterCount());
        }
    }

    [Theory]
    [InlineData("qwen2-tiny")]
    [InlineData("llama3-tiny")]
    [InlineData("qwen3-tiny")]
    public void The_transformers_fixtures_pass_inspection(string name)
    {
        var summary = Checkpoint.Inspect(Fixture(name));
        // Every parameter is stored once (tied embeddings have no lm_head.weight in the file).
        Assert.Equal(summary.Config.ParameterCount(), summary.StoredBytes / (summary.Config.TorchDtype == "bfloat16" ? 2 : 4));
        Assert.Equal(Directory.GetFiles(Fixture(name), "*.safetensors").Length, summary.WeightFiles.Count);
    }

    [Fact]
    public void The_transformers_v5_spelling_and_nulls_are_accepted()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("llama3-tiny"), "config.json")))!.AsObject();
        var scaling = json["rope_scaling"]!.DeepClone().AsObject();
        scaling["rope_theta"] = 500000.0;
        json.Remove("rope_scaling");
        json.Remove("rope_theta");
        json["rope_parameters"] = scaling;
        json["dtype"] = json["torch_dtype"]!.DeepClone();
        json.Remove("torch_dtype");
        json["eos_token_id"] = new JsonArray(2, 3);
        json["pad_token_id"] = null;
        json["bos_token_id"] = null;
        json["hidden_size"] = 64.0;             // a float that is a whole number, as some tools write sizes
        json["sliding_window"] = null;
        var config = ModelConfig.FromJson(json);
        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal(8.0, config.RopeScaling!.Factor);
        Assert.Equal([2, 3], config.EosTokenIds);
        Assert.Null(config.PadTokenId);
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal("float32", config.TorchDtype);
        Assert.True(config.Extra.ContainsKey("sliding_window"));
    }

    [Fact]
    public void A_config_larger_than_its_weights_fails_before_anything_is_allocated()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture("qwen2-tiny"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["vocab_size"] = 2_000_000_000; // an embedding of 2e9 × 64 float32 = 512 GB
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Contains($"{Path.Combine(dir, "model.safetensors")}: tensor 'model.embed_tokens.weight' has shape [320, 64], the config implies [2000000000, 64]", e.Message);
        Assert.Contains($"{Path.Combine(dir, "config.json")}: vocab_size 2000000000", e.Message);
        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadScorer(dir));
    }

    [Fact]
    public void Zero_length_and_scalar_tensors_in_any_header_order_are_not_overlaps()
    {
        using var tmp = new TempDir();
        var path = tmp.Sub("t.safetensors");
        // Header order b, a, c with a zero-length tensor sharing b's start offset (valid: a holds no bytes).
        var header = Encoding.UTF8.GetBytes(
            "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}," +
            "\"c\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)header.Length), .. header, .. new byte[12]]);
        var read = SafeTensors.ReadHeader(path);
        Assert.Equal(["b", "a", "c"], read.Entries.Select(e => e.Name));
        Assert.Equal(Array.Empty<long>(), read.Entries[2].Shape);

        // Written by SafeTensors.Save, read back the same.
        var saved = tmp.Sub("saved.safetensors");
        using (var s = tensor(3.0f)) using (var z = zeros(0)) using (var v = ones(5))
            SafeTensors.Save(saved, [("scalar", s), ("empty", z), ("vector", v)]);
        Assert.Equal([[], [0L], [5L]], SafeTensors.ReadHeader(saved).Entries.Select(e => e.Shape));
    }

    [Fact]
    public void Json_errors_name_the_line_and_repeated_keys_their_object()
    {
        var e = Assert.Throws<InvalidDataException>(() => JsonInput.ParseObject("{\n\"a\": 1,\n\"b\": }"u8, "f.json", "config.json"));
        Assert.StartsWith("f.json: line 3: not valid JSON", e.Message);
        e = Assert.Throws<InvalidDataException>(() => JsonInput.ParseObject("{\"rope\": {\"factor\": 1, \"factor\": 2}}"u8, "f.json", "config.json"));
        Assert.Equal("f.json: key 'factor' appears twice in 'rope' (a config.json must not repeat a key)", e.Message);
        e = Assert.Throws<InvalidDataException>(() => JsonInput.ParseObject([.. "{\"a\":\n\""u8, 0xC3, 0x28, .. "\"}"u8], "f.json", "config.json"));
        Assert.StartsWith("f.json: line 2: byte 7 is not valid UTF-8", e.Message);
        Assert.Equal(1, JsonInput.ParseObject([0xEF, 0xBB, 0xBF, .. "{\"a\": 1}"u8], "f.json", "config.json")["a"]!.GetValue<int>()); // a BOM is fine
    }
}
