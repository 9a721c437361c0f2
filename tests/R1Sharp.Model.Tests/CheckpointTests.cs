using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Tests;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("r1sharp-test-").FullName;
    public string Sub(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

public class CheckpointTests
{
    static string Fixture(string name) => RepoPaths.Fixture("hf-tiny", name);

    static Dictionary<string, byte[]> RawTensors(string directory)
    {
        var result = new Dictionary<string, byte[]>();
        foreach (var file in Directory.GetFiles(directory, "*.safetensors"))
        {
            var header = SafeTensors.ReadHeader(file);
            var bytes = File.ReadAllBytes(file);
            foreach (var e in header.Entries)
                result[e.Name] = bytes.AsSpan((int)(header.DataStart + e.Begin), (int)e.Length).ToArray();
        }
        return result;
    }

    [Theory]
    [InlineData("qwen2-tiny")]
    [InlineData("llama3-tiny")]
    [InlineData("qwen3-tiny")]
    public void Saved_tensors_are_byte_identical_to_the_transformers_checkpoint(string name)
    {
        using var tmp = new TempDir();
        using (var model = Checkpoint.Load(Fixture(name))) // stored dtype (bfloat16 for qwen3-tiny)
            Checkpoint.Save(model, tmp.Sub("out"), companionsFrom: Fixture(name));
        var original = RawTensors(Fixture(name));
        var saved = RawTensors(tmp.Sub("out"));
        Assert.Equal(original.Keys.Order(), saved.Keys.Order());
        foreach (var (key, bytes) in original) Assert.True(bytes.AsSpan().SequenceEqual(saved[key]), key);

        var config = JsonNode.Parse(File.ReadAllText(tmp.Sub("out/config.json")))!;
        var reference = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(name), "config.json")))!;
        foreach (var field in new[] { "architectures", "vocab_size", "hidden_size", "num_key_value_heads", "rope_theta", "tie_word_embeddings", "torch_dtype" })
            Assert.True(JsonNode.DeepEquals(reference[field], config[field]), field);
        Assert.True(JsonNode.DeepEquals(reference["rope_scaling"], config["rope_scaling"]));
        Assert.True(File.Exists(tmp.Sub("out/generation_config.json")));
    }

    [Fact]
    public void Sharded_save_round_trips_bit_exactly()
    {
        using var tmp = new TempDir();
        using var model = Checkpoint.Load(Fixture("llama3-tiny"));
        Checkpoint.Save(model, tmp.Sub("sharded"), maxShardBytes: 60_000);
        Assert.True(File.Exists(tmp.Sub("sharded/model.safetensors.index.json")));
        Assert.True(Directory.GetFiles(tmp.Sub("sharded"), "model-*-of-*.safetensors").Length > 2);
        using var again = Checkpoint.Load(tmp.Sub("sharded"));
        var a = model.state_dict();
        var b = again.state_dict();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var k in a.Keys) Assert.True(a[k].bytes.SequenceEqual(b[k].bytes), k);
    }

    [Fact]
    public void A_single_file_is_read_before_an_index_left_beside_it()
    {
        // transformers' from_pretrained reads model.safetensors when a folder also holds an index (here one left by an
        // earlier sharded save whose shards are gone); reading the index would fail on its missing shards or load stale ones.
        using var tmp = new TempDir();
        using var model = Checkpoint.Load(Fixture("llama3-tiny"));
        Checkpoint.Save(model, tmp.Sub("both"));
        File.WriteAllText(tmp.Sub("both/model.safetensors.index.json"),
            """{"metadata": {"total_size": 1}, "weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}}""");
        using var again = Checkpoint.Load(tmp.Sub("both"));
        var a = model.state_dict();
        var b = again.state_dict();
        foreach (var k in a.Keys) Assert.True(a[k].bytes.SequenceEqual(b[k].bytes), k);
        Assert.Equal([tmp.Sub("both/model.safetensors")], Checkpoint.Inspect(tmp.Sub("both")).WeightFiles);
    }

    [Fact]
    public void Dtype_override_converts_and_saves_in_the_new_dtype()
    {
        using var tmp = new TempDir();
        using var model = Checkpoint.Load(Fixture("qwen2-tiny"), ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, model.DType);
        Checkpoint.Save(model, tmp.Sub("bf16"));
        Assert.Contains("\"bfloat16\"", File.ReadAllText(tmp.Sub("bf16/config.json")));
        using var again = Checkpoint.Load(tmp.Sub("bf16"));
        Assert.Equal(ScalarType.BFloat16, again.DType);
        foreach (var (k, v) in model.state_dict()) Assert.True(v.bytes.SequenceEqual(again.state_dict()[k].bytes), k);
    }

    // ---- bad checkpoints: each error names the file and the tensor ----

    static string CopyFixture(TempDir tmp, string name = "qwen2-tiny")
    {
        var dir = tmp.Sub(name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture(name))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>Rewrites model.safetensors with a modified header (and optionally modified data).</summary>
    static void RewriteHeader(string dir, Action<JsonObject> edit, Func<byte[], byte[]>? data = null)
    {
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(bytes.AsSpan(8, (int)n))!.AsObject();
        edit(header);
        var body = bytes.AsSpan(8 + (int)n).ToArray();
        var h = Encoding.UTF8.GetBytes(header.ToJsonString());
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)h.Length), .. h, .. (data?.Invoke(body) ?? body)]);
    }

    static Exception LoadFails(string dir) => Assert.ThrowsAny<Exception>(() => Checkpoint.Load(dir));

    [Fact]
    public void Missing_tensor_is_named()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        RewriteHeader(dir, h => h.Remove("model.layers.1.mlp.up_proj.weight"));
        var e = LoadFails(dir);
        Assert.Contains("missing", e.Message);
        Assert.Contains("model.layers.1.mlp.up_proj.weight", e.Message);
    }

    /// <summary>
    /// <c>r1sharp info</c> (Checkpoint.Inspect) validates without reading a weight, but as completely as loading: every
    /// tensor's name, shape and dtype against the config (the model is laid out on the meta device, which holds no data),
    /// so a folder that inspection passes also loads. Each corruption fails both with the same message.
    /// </summary>
    [Theory]
    [InlineData("a layer's tensor removed")]
    [InlineData("the final norm as [8, 8]")]
    [InlineData("the final norm stored as I32")]
    [InlineData("an extra tensor")]
    [InlineData("untied embeddings without lm_head")]
    public void Inspection_checks_every_tensor_as_loading_does(string corruption)
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        switch (corruption)
        {
            case "a layer's tensor removed": RewriteHeader(dir, h => h.Remove("model.layers.1.mlp.up_proj.weight")); break;
            case "the final norm as [8, 8]": RewriteHeader(dir, h => h["model.norm.weight"]!["shape"] = new JsonArray(8, 8)); break;
            case "the final norm stored as I32": RewriteHeader(dir, h => h["model.norm.weight"]!["dtype"] = "I32"); break;
            case "an extra tensor":
                RewriteHeader(dir, h => h["model.layers.0.extra.weight"] = new JsonObject
                {
                    ["dtype"] = "F32", ["shape"] = new JsonArray(2), ["data_offsets"] = new JsonArray(452864, 452872),
                }, data => [.. data, .. new byte[8]]);
                break;
            default:
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
                config["tie_word_embeddings"] = false;
                File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
                break;
        }
        var load = LoadFails(dir);
        var inspect = Assert.ThrowsAny<Exception>(() => Checkpoint.Inspect(dir));
        Assert.Equal(load.Message, inspect.Message);
        Assert.Contains(dir, inspect.Message);
    }

    [Fact]
    public void Unexpected_tensor_is_named_with_its_file()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        long end = 0;
        RewriteHeader(dir,
            h =>
            {
                end = h.Where(kv => kv.Key != "__metadata__").Max(kv => kv.Value!["data_offsets"]![1]!.GetValue<long>());
                h["model.layers.0.extra.weight"] = new JsonObject
                {
                    ["dtype"] = "F32", ["shape"] = new JsonArray(2), ["data_offsets"] = new JsonArray(end, end + 8),
                };
            },
            data => [.. data, .. new byte[8]]);
        var e = LoadFails(dir);
        Assert.Contains("unexpected", e.Message);
        Assert.Contains("model.layers.0.extra.weight", e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_tensor_and_both_shapes()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        config["intermediate_size"] = config["intermediate_size"]!.GetValue<int>() + 8;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var e = LoadFails(dir);
        Assert.Contains("shape", e.Message);
        Assert.Contains("mlp", e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void Non_float_dtype_is_rejected()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        // Same byte length: F32 [n] -> I32 [n].
        RewriteHeader(dir, h => h["model.norm.weight"]!["dtype"] = "I32");
        var e = LoadFails(dir);
        Assert.Contains("model.norm.weight", e.Message);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void Truncated_file_is_detected_before_reading()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = LoadFails(dir);
        Assert.Contains("truncated", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("{\"a\": ")]
    [InlineData("[1,2,3]")]
    public void MalformedHeaderIsReported(string header)
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        var h = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), [.. BitConverter.GetBytes((long)h.Length), .. h]);
        var e = LoadFails(dir);
        Assert.Contains("malformed", e.Message);
    }

    [Fact]
    public void Unknown_architecture_is_reported()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        config["architectures"] = new JsonArray("MistralForCausalLM");
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var e = LoadFails(dir);
        Assert.Contains("MistralForCausalLM", e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void Shard_listed_in_index_but_missing_is_reported()
    {
        using var tmp = new TempDir();
        var dir = CopyFixture(tmp, "llama3-tiny");
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        var e = LoadFails(dir);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void Failed_save_leaves_the_existing_checkpoint_intact()
    {
        using var tmp = new TempDir();
        using var model = Checkpoint.Load(Fixture("qwen2-tiny"));
        Checkpoint.Save(model, tmp.Sub("ckpt"));
        var before = RawTensors(tmp.Sub("ckpt"));
        // A save whose model cannot be written (disposed parameters) must throw and change nothing.
        var broken = Checkpoint.Load(Fixture("qwen2-tiny"));
        broken.Dispose();
        Assert.ThrowsAny<Exception>(() => Checkpoint.Save(broken, tmp.Sub("ckpt")));
        var after = RawTensors(tmp.Sub("ckpt"));
        foreach (var (k, v) in before) Assert.True(v.AsSpan().SequenceEqual(after[k]), k);
        Assert.Single(Directory.GetDirectories(tmp.Path)); // no staging folder left behind
    }
}
