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

    /// <summary>transformers' ACT2FN maps "swish" to the same nn.SiLU as "silu"; anything else stays refused.</summary>
    [Fact]
    public void Hidden_act_swish_is_silu_as_in_transformers()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("qwen2-tiny"), "config.json")))!.AsObject();
        json["hidden_act"] = "swish";
        Assert.Equal(ModelConfig.FromJson(JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("qwen2-tiny"), "config.json")))!.AsObject()).ParameterCount(),
            ModelConfig.FromJson(json).ParameterCount());
        json["hidden_act"] = "gelu";
        Assert.Contains("field 'hidden_act': 'gelu' is not supported", Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(json)).Message);
    }

    /// <summary>
    /// mlp_bias is a LlamaConfig field; transformers' Qwen2, Qwen3, Qwen3-MoE and DeepSeek-V3 MLPs have no bias whatever a
    /// config says (their configs keep an unknown mlp_bias as a plain attribute), so such a checkpoint loads as they load it.
    /// </summary>
    [Fact]
    public void Mlp_bias_applies_to_llama_only_as_in_transformers()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture("qwen2-tiny"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["mlp_bias"] = true;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        using (var model = Checkpoint.Load(dir)) Assert.False(model.Config.MlpBias);
        Checkpoint.Inspect(dir);

        var llama = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("llama3-tiny"), "config.json")))!.AsObject();
        llama["mlp_bias"] = true;
        Assert.True(ModelConfig.FromJson(llama).MlpBias);
    }

    /// <summary>
    /// transformers' Qwen2/Qwen3 give a layer a sliding window only with use_sliding_window, a sliding_window, and the layer
    /// marked "sliding_attention" in layer_types (by default: from max_window_layers on). A config where no layer slides is
    /// plain full attention and loads; one where a layer would slide is refused, naming the field and the layers.
    /// </summary>
    [Theory]
    [InlineData("{\"use_sliding_window\": true, \"sliding_window\": 4096, \"max_window_layers\": 2}", null)]
    [InlineData("{\"use_sliding_window\": true, \"sliding_window\": null, \"max_window_layers\": 0}", null)]
    [InlineData("{\"use_sliding_window\": true, \"sliding_window\": 4096, \"max_window_layers\": 0, \"layer_types\": [\"full_attention\", \"full_attention\"]}", null)]
    [InlineData("{\"use_sliding_window\": false, \"sliding_window\": 4096, \"layer_types\": [\"sliding_attention\", \"sliding_attention\"]}", null)]
    [InlineData("{\"use_sliding_window\": true, \"sliding_window\": 4096, \"max_window_layers\": 1}", "layers 1")]
    [InlineData("{\"use_sliding_window\": true, \"sliding_window\": 4096}", null)] // max_window_layers defaults to 28 > 2 layers
    [InlineData("{\"use_sliding_window\": true, \"sliding_window\": 4096, \"layer_types\": [\"sliding_attention\", \"full_attention\"]}", "layers 0")]
    public void Sliding_window_is_refused_only_where_a_layer_would_slide(string fields, string? refusedLayers)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("qwen2-tiny"), "config.json")))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(fields)!.AsObject()) json[key] = value?.DeepClone();
        if (refusedLayers is null) { ModelConfig.FromJson(json); return; }
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.FromJson(json));
        Assert.Contains("field 'use_sliding_window'", e.Message);
        Assert.Contains(refusedLayers, e.Message);
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

    /// <summary>
    /// The safetensors format indexes every byte of the data: no gap between tensors and nothing after the last (the
    /// reference reader, which transformers uses, refuses both: InvalidOffset, MetadataIncompleteBuffer). A file with bytes
    /// appended, or a header that lost a tensor, is refused naming the file and the bytes (after the tensor names are checked,
    /// so that a tensor dropped from a checkpoint's header is still reported as missing: CheckpointTests.Missing_tensor_is_named).
    /// </summary>
    [Fact]
    public void Bytes_that_belong_to_no_tensor_are_refused_as_the_format_requires()
    {
        using var tmp = new TempDir();
        static byte[] File(string header, int dataBytes)
        {
            var h = Encoding.UTF8.GetBytes(header);
            return [.. BitConverter.GetBytes((long)h.Length), .. h, .. new byte[dataBytes]];
        }
        const string two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        var ok = tmp.Sub("ok.safetensors");
        System.IO.File.WriteAllBytes(ok, File(two, 12));
        SafeTensors.RequireIndexed(SafeTensors.ReadHeader(ok));

        var appended = tmp.Sub("appended.safetensors");
        System.IO.File.WriteAllBytes(appended, File(two, 12 + 64));
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.RequireIndexed(SafeTensors.ReadHeader(appended)));
        Assert.StartsWith($"{appended}: ", e.Message);
        Assert.Contains("64 bytes after the last tensor", e.Message);

        var gap = tmp.Sub("gap.safetensors");
        System.IO.File.WriteAllBytes(gap, File(two.Replace("[8,12]", "[12,16]"), 16));
        e = Assert.Throws<InvalidDataException>(() => SafeTensors.RequireIndexed(SafeTensors.ReadHeader(gap)));
        Assert.StartsWith($"{gap}: ", e.Message);
        Assert.Contains("bytes 8-12 of the data belong to no tensor", e.Message);
        Assert.Contains("'b'", e.Message);

        // a checkpoint with bytes appended to its weights: load and inspection refuse it, naming the file
        var dir = tmp.Sub("model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture("qwen2-tiny"))) System.IO.File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var weights = Path.Combine(dir, "model.safetensors");
        using (var stream = new FileStream(weights, FileMode.Append)) stream.Write(new byte[16]);
        Assert.Contains($"{weights}: 16 bytes after the last tensor", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir)).Message);
        Assert.Contains($"{weights}: 16 bytes after the last tensor", Assert.Throws<InvalidDataException>(() => Checkpoint.Inspect(dir)).Message);
    }

    /// <summary>
    /// A folder where a checkpoint or adapter file belongs (a failed download, an unpacked archive) is named as a folder,
    /// not reported as a file that is missing; a folder whose weights are pickled (.bin) says so, in inspection too.
    /// </summary>
    [Theory]
    [InlineData("qwen2-tiny", "config.json")]
    [InlineData("qwen2-tiny", "model.safetensors")]
    [InlineData("llama3-tiny", "model.safetensors.index.json")]
    [InlineData("llama3-tiny", "model-00002-of-00002.safetensors")]
    public void A_folder_in_place_of_a_checkpoint_file_is_named_as_a_folder(string fixture, string file)
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture(fixture))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Delete(Path.Combine(dir, file));
        Directory.CreateDirectory(Path.Combine(dir, file));
        foreach (var e in new[] { Assert.ThrowsAny<Exception>(() => Checkpoint.Load(dir)), Assert.ThrowsAny<Exception>(() => Checkpoint.Inspect(dir)) })
            Assert.StartsWith($"{Path.Combine(dir, file)}: {(file == "config.json" ? "not found as a file (it is a folder" : "is a folder")}", e.Message);
    }

    /// <summary>Shards without their index (a copy that lost model.safetensors.index.json) are refused by load and inspection alike, naming a shard.</summary>
    [Fact]
    public void Shards_without_their_index_are_refused_naming_the_index()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture("llama3-tiny"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Delete(Path.Combine(dir, "model.safetensors.index.json"));
        foreach (var e in new[] { Assert.ThrowsAny<Exception>(() => Checkpoint.Load(dir)), Assert.ThrowsAny<Exception>(() => Checkpoint.Inspect(dir)) })
        {
            Assert.StartsWith($"{dir}: ", e.Message);
            Assert.Contains("model-00001-of-00002.safetensors", e.Message);
            Assert.Contains("model.safetensors.index.json", e.Message);
        }
    }

    /// <summary>
    /// The Hugging Face cache keeps a snapshot's files as links into blobs/; a download cut short leaves a link whose blob
    /// is missing. The error names the file, says it is such a link, and where it points.
    /// </summary>
    [Theory]
    [InlineData("config.json")]
    [InlineData("model.safetensors")]
    public void A_link_to_a_missing_blob_is_named_as_one(string file)
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("snapshot");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture("qwen2-tiny"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Delete(Path.Combine(dir, file));
        File.CreateSymbolicLink(Path.Combine(dir, file), "../blobs/0123abcd");
        foreach (var e in new[] { Assert.ThrowsAny<Exception>(() => Checkpoint.Load(dir)), Assert.ThrowsAny<Exception>(() => Checkpoint.Inspect(dir)) })
            Assert.Equal($"{Path.Combine(dir, file)}: a link to ../blobs/0123abcd, which does not exist (a download cut short?)", e.Message);
    }

    [Fact]
    public void A_folder_of_pickled_weights_is_refused_by_inspection_too()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("model");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(Fixture("qwen2-tiny"), "config.json"), Path.Combine(dir, "config.json"));
        Assert.Empty(Checkpoint.Inspect(dir).WeightFiles); // a config without weights yet is fine
        File.WriteAllBytes(Path.Combine(dir, "pytorch_model.bin"), [0x50, 0x4B]);
        Assert.Contains("only pytorch_model.bin found", Assert.Throws<InvalidDataException>(() => Checkpoint.Inspect(dir)).Message);
        File.Delete(Path.Combine(dir, "pytorch_model.bin"));
        File.WriteAllText(Path.Combine(dir, "pytorch_model.bin.index.json"), "{\"weight_map\": {}}");
        Assert.Contains("pytorch_model.bin.index.json", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir)).Message);
        Assert.Contains("pytorch_model.bin.index.json", Assert.Throws<InvalidDataException>(() => Checkpoint.Inspect(dir)).Message);
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
