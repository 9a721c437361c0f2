using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>
/// LoRA against tests/fixtures/lora: PEFT-layout adapters made in Python, the merged weights and the merged model's
/// logits computed by an independent PyTorch implementation (tests/fixtures/lora/make_fixture.py).
/// </summary>
public class LoraTests
{
    static readonly string Base = RepoPaths.Fixture("hf-tiny", "qwen2-tiny");
    static string Adapter(string name) => RepoPaths.Fixture("lora", name);
    public static TheoryData<string> Adapters => new() { "qwen2-tiny-qv", "qwen2-tiny-rslora", "llama3-tiny-all" };
    /// <summary>The hf-tiny base an adapter fixture was made for (its name's first part: qwen2-tiny, llama3-tiny).</summary>
    static string BaseOf(string adapter) => RepoPaths.Fixture("hf-tiny", string.Join('-', adapter.Split('-').Take(2)));

    static (Tensor Ids, Tensor Logits) Reference(string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Adapter(name), "reference.json")))!;
        var ids = json["input_ids"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
        var rows = json["logits"]!.AsArray();
        var flat = rows.SelectMany(r => r!.AsArray()).SelectMany(p => p!.AsArray()).Select(v => (float)v!.GetValue<double>()).ToArray();
        long t = rows[0]!.AsArray().Count;
        return (tensor(ids.SelectMany(r => r).ToArray()).view(ids.Length, -1), tensor(flat).view(ids.Length, t, -1));
    }

    static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory, MemberData(nameof(Adapters))]
    public void Un_merged_adapter_gives_the_reference_logits(string name)
    {
        using var scope = NewDisposeScope();
        var (ids, expected) = Reference(name);
        using var model = Checkpoint.Load(BaseOf(name), ScalarType.Float32);
        Lora.Load(model, Adapter(name));
        model.eval();
        using var noGrad = no_grad();
        var logits = model.Forward(ids);
        Assert.True(MaxDiff(logits, expected) <= 1e-5, $"{name}: max |logit difference| = {MaxDiff(logits, expected):E3}");
        // and the adapter matters: the base alone is far from these logits
        using var plain = Checkpoint.Load(BaseOf(name), ScalarType.Float32);
        Assert.True(MaxDiff(plain.Forward(ids), expected) > 1e-2);
    }

    /// <summary>
    /// A loaded model is in inference mode, as transformers' from_pretrained and PEFT's PeftModel.from_pretrained leave it:
    /// an adapter saved with lora_dropout > 0 (qwen2-tiny-qv: 0.05) must not drop anything in generate, chat, eval or serve,
    /// which never call eval() themselves. Only training loops switch dropout on (train()).
    /// </summary>
    [Fact]
    public void Loaded_model_is_in_inference_mode_so_adapter_dropout_is_off()
    {
        using var scope = NewDisposeScope();
        var (ids, expected) = Reference("qwen2-tiny-qv");
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        Assert.False(model.training);
        Lora.Load(model, Adapter("qwen2-tiny-qv"));
        using var noGrad = no_grad();
        Assert.True(MaxDiff(model.Forward(ids), expected) <= 1e-5);
        Assert.True(MaxDiff(model.Forward(ids), expected) <= 1e-5);
        using var scorer = Checkpoint.LoadScorer(Base, ScalarType.Float32);
        Assert.False(scorer.training);
    }

    [Theory, MemberData(nameof(Adapters))]
    public void Merged_checkpoint_holds_the_reference_weights_and_logits(string name)
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        using (var model = Checkpoint.Load(BaseOf(name), ScalarType.Float32))
        {
            Lora.Load(model, Adapter(name));
            Checkpoint.Save(model, tmp.Sub("merged"));
        }
        var header = SafeTensors.ReadHeader(Path.Combine(tmp.Sub("merged"), Checkpoint.WeightsFile));
        Assert.DoesNotContain(header.Entries, e => e.Name.Contains("lora"));
        using var merged = Checkpoint.Load(tmp.Sub("merged"), ScalarType.Float32);
        var weights = merged.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var refPath = Path.Combine(Adapter(name), "merged.safetensors");
        var refHeader = SafeTensors.ReadHeader(refPath);
        using (var file = File.OpenRead(refPath))
            foreach (var e in refHeader.Entries)
            {
                using var expected = SafeTensors.Read(refHeader, e, file);
                Assert.True(MaxDiff(weights[e.Name], expected) <= 1e-5, $"{e.Name}: max difference {MaxDiff(weights[e.Name], expected):E3}");
            }
        // layers without an adapter are the base's, bit for bit
        using var plain = Checkpoint.Load(BaseOf(name), ScalarType.Float32);
        var adapted = refHeader.Entries.Select(e => e.Name).ToHashSet();
        foreach (var (n, p) in plain.named_parameters().Where(p => !adapted.Contains(p.name)))
            Assert.True(p.equal(weights[n]).all().item<bool>(), n);
        var (ids, logits) = Reference(name);
        using var noGrad = no_grad();
        Assert.True(MaxDiff(merged.Forward(ids), logits) <= 1e-5);
    }

    [Fact]
    public void Saved_adapter_has_PEFTs_layout_keys_dtypes_and_config()
    {
        using var tmp = new TempDir();
        using (var model = Checkpoint.Load(Base, ScalarType.Float32))
        {
            Lora.Load(model, Adapter("qwen2-tiny-qv"));
            Lora.Save(model, tmp.Sub("adapter"), "tests/fixtures/hf-tiny/qwen2-tiny");
        }
        // The header, parsed here by the format's definition (8-byte little-endian length, JSON), against the Python-written file.
        static JsonObject RawHeader(string path)
        {
            var bytes = File.ReadAllBytes(path);
            long n = BitConverter.ToInt64(bytes, 0);
            return JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n))!.AsObject();
        }
        var ours = RawHeader(Path.Combine(tmp.Sub("adapter"), Lora.WeightsFile));
        var peft = RawHeader(Path.Combine(Adapter("qwen2-tiny-qv"), Lora.WeightsFile));
        Assert.Equal(peft.Select(kv => kv.Key).Where(k => k != "__metadata__").Order(), ours.Select(kv => kv.Key).Where(k => k != "__metadata__").Order());
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", ours.Select(kv => kv.Key));
        foreach (var (key, value) in peft.Where(kv => kv.Key != "__metadata__"))
        {
            Assert.Equal("F32", ours[key]!["dtype"]!.GetValue<string>());
            Assert.Equal(value!["shape"]!.ToJsonString(), ours[key]!["shape"]!.ToJsonString());
        }
        // The tensors are the ones loaded, byte for byte.
        var a = RawTensorBytes(Path.Combine(tmp.Sub("adapter"), Lora.WeightsFile));
        var b = RawTensorBytes(Path.Combine(Adapter("qwen2-tiny-qv"), Lora.WeightsFile));
        foreach (var (k, v) in b) Assert.Equal(v, a[k]);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(tmp.Sub("adapter"), Lora.ConfigFile)))!.AsObject();
        var reference = JsonNode.Parse(File.ReadAllText(Path.Combine(Adapter("qwen2-tiny-qv"), Lora.ConfigFile)))!.AsObject();
        Assert.Equal(reference.Select(kv => kv.Key).Order(), config.Select(kv => kv.Key).Order());
        foreach (var key in new[] { "peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora", "bias", "fan_in_fan_out", "modules_to_save", "use_dora", "base_model_name_or_path" })
            Assert.True(JsonNode.DeepEquals(reference[key], config[key]), $"{key}: {config[key]?.ToJsonString()} vs {reference[key]?.ToJsonString()}");
    }

    static Dictionary<string, byte[]> RawTensorBytes(string file)
    {
        var header = SafeTensors.ReadHeader(file);
        var bytes = File.ReadAllBytes(file);
        return header.Entries.ToDictionary(e => e.Name, e => bytes.AsSpan((int)(header.DataStart + e.Begin), (int)e.Length).ToArray());
    }

    [Fact]
    public void Fresh_adapter_starts_as_the_base_model_with_PEFTs_initialisation_and_freezes_the_base()
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        using var plain = Checkpoint.Load(Base, ScalarType.Float32);
        Lora.Attach(model, new LoraOptions { R = 4, Alpha = 8, TargetModules = ["all-linear"] }, seed: 3);
        using (var again = Checkpoint.Load(Base, ScalarType.Float32))
        {
            Lora.Attach(again, new LoraOptions { R = 4, Alpha = 8, TargetModules = ["all-linear"] }, seed: 3);
            Assert.True(Lora.Adapters(again)[5].Adapter.A.weight.equal(Lora.Adapters(model)[5].Adapter.A.weight).all().item<bool>()); // the seed decides
        }
        var adapters = Lora.Adapters(model);
        Assert.Equal(2 * 7, adapters.Count); // every linear layer of 2 layers; not lm_head (tied here anyway)
        foreach (var (name, adapter) in adapters)
        {
            double bound = 1 / Math.Sqrt(adapter.A.weight.shape[1]);
            Assert.True(adapter.A.weight.abs().max().item<float>() <= bound, name);
            Assert.True(adapter.A.weight.abs().max().item<float>() > 0.8 * bound, name); // uniform over the whole range
            Assert.Equal(0, adapter.B.weight.abs().max().item<float>());
            Assert.Equal(2.0, adapter.Scaling);
        }
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(4 * 7, trainable.Count);
        Assert.All(trainable, n => Assert.Matches(@"\.lora_[AB]\.weight$", n));
        var ids = tensor(new long[] { 5, 9, 17, 3 }).view(1, -1);
        using var noGrad = no_grad();
        Assert.True(model.Forward(ids).equal(plain.Forward(ids)).all().item<bool>());
    }

    [Fact]
    public void Gradients_reach_only_the_adapters_and_match_the_formula()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        Lora.Attach(model, new LoraOptions { R = 2, Alpha = 4, UseRslora = true, TargetModules = ["v_proj"] });
        var layer = ((Attention)model.model.layers[0].self_attn).v_proj;
        Assert.Equal(4 / Math.Sqrt(2), layer.Adapter!.Scaling, 12);
        using (no_grad()) layer.Adapter.B.weight.normal_();
        var x = randn(3, 64);
        var y = layer.forward(x);
        var expected = nn.functional.linear(x, layer.weight, layer.bias) + (4 / Math.Sqrt(2)) * x.matmul(layer.Adapter.A.weight.t()).matmul(layer.Adapter.B.weight.t());
        Assert.True(MaxDiff(y, expected) < 1e-5);
        y.sum().backward();
        Assert.Null(layer.weight.grad);
        Assert.NotNull(layer.Adapter.A.weight.grad);
        Assert.NotNull(layer.Adapter.B.weight.grad);
    }

    [Fact]
    public void Dropout_acts_only_in_training_mode()
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        Lora.Attach(model, new LoraOptions { R = 2, Alpha = 2, Dropout = 0.5, TargetModules = ["q_proj"] });
        var layer = ((Attention)model.model.layers[0].self_attn).q_proj;
        using (no_grad()) layer.Adapter!.B.weight.normal_();
        var x = randn(4, 64);
        model.eval();
        var a = layer.forward(x);
        Assert.True(a.equal(layer.forward(x)).all().item<bool>());
        model.train();
        Assert.False(a.allclose(layer.forward(x)));
    }

    [Fact]
    public void Bfloat16_base_keeps_float32_adapters()
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Base, ScalarType.BFloat16);
        Lora.Load(model, Adapter("qwen2-tiny-qv"));
        var (ids, expected) = Reference("qwen2-tiny-qv");
        Assert.All(Lora.Adapters(model), a => Assert.Equal(ScalarType.Float32, a.Adapter.A.weight.dtype));
        using var noGrad = no_grad();
        using var plain = Checkpoint.Load(Base, ScalarType.Float32);
        double adapted = (model.Forward(ids) - expected).abs().mean().item<float>(), without = (plain.Forward(ids) - expected).abs().mean().item<float>();
        Assert.True(adapted < without / 3, $"bf16 with adapter: mean |diff| {adapted}, base without adapter: {without}");
    }

    // ---- malformed and unsupported adapters: one message naming the file and the field or tensor ----

    static string CopyAdapter(TempDir tmp, string name = "qwen2-tiny-qv")
    {
        var dir = tmp.Sub(name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Adapter(name))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    static string EditConfig(TempDir tmp, Action<JsonObject> edit)
    {
        var dir = CopyAdapter(tmp);
        var path = Path.Combine(dir, Lora.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return dir;
    }

    [Theory]
    [InlineData("use_dora", "true", "DoRA")]
    [InlineData("bias", "\"all\"", "bias")]
    [InlineData("modules_to_save", "[\"lm_head\"]", "modules_to_save")]
    [InlineData("rank_pattern", "{\"q_proj\": 8}", "rank_pattern")]
    [InlineData("alpha_pattern", "{\"q_proj\": 8}", "alpha_pattern")]
    [InlineData("peft_type", "\"IA3\"", "peft_type")]
    [InlineData("r", "0", "'r'")]
    [InlineData("target_modules", "[\"qkv_proj\"]", "qkv_proj")]
    [InlineData("target_modules", "[\"lm_head\"]", "lm_head")]
    [InlineData("layers_to_transform", "[0]", "layers_to_transform")]
    public void Unsupported_or_bad_config_is_refused_naming_file_and_field(string field, string value, string mentioned)
    {
        using var tmp = new TempDir();
        var dir = EditConfig(tmp, j => j[field] = JsonNode.Parse(value));
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        var e = Assert.ThrowsAny<Exception>(() => Lora.Load(model, dir));
        Assert.Contains(Path.Combine(dir, Lora.ConfigFile), e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(mentioned, e.Message);
        Assert.False(Lora.IsAdapted(model)); // nothing attached
    }

    /// <summary>
    /// PEFT refuses a target_modules list only when no entry matches a module (inject_adapter: "Target modules … not found
    /// in the base model"); an entry for another architecture's names (query_key_value, c_attn) is skipped, and the adapter
    /// it saves keeps the list as given. Such an adapter loads here too, with the same logits.
    /// </summary>
    [Fact]
    public void Adapter_list_entries_that_match_no_layer_are_skipped_as_PEFT_does()
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        var dir = EditConfig(tmp, j => j["target_modules"] = new JsonArray("q_proj", "query_key_value", "v_proj", "c_attn"));
        var (ids, expected) = Reference("qwen2-tiny-qv");
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        Lora.Load(model, dir);
        Assert.Equal(4, Lora.Adapters(model).Count); // q_proj and v_proj of both layers
        using var noGrad = no_grad();
        model.eval();
        Assert.True(MaxDiff(model.Forward(ids), expected) <= 1e-5);

        // a list of which nothing matches is still refused, naming the entries
        using var other = Checkpoint.Load(Base, ScalarType.Float32);
        using var tmp2 = new TempDir();
        var none = EditConfig(tmp2, j => j["target_modules"] = new JsonArray("query_key_value", "c_attn"));
        var e = Assert.Throws<InvalidDataException>(() => Lora.Load(other, none));
        Assert.Contains("'target_modules'", e.Message);
        Assert.Contains("query_key_value", e.Message);
    }

    /// <summary>
    /// transformers' Qwen3-MoE router (mlp.gate) is an nn.Linear, so PEFT's all-linear adapts it and saves "gate" in
    /// target_modules with lora_A/lora_B tensors for every sparse layer's router. R1Sharp's router carries no adapter: the
    /// refusal says so, naming the file and the tensor, instead of calling the tensor one that target_modules does not select.
    /// </summary>
    [Fact]
    public void Adapter_on_the_moe_router_is_refused_naming_the_router()
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", "qwen3-moe-tiny"), ScalarType.Float32);
        var dir = tmp.Sub("moe-adapter");
        Directory.CreateDirectory(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Adapter("qwen2-tiny-qv"), Lora.ConfigFile)))!.AsObject();
        config["target_modules"] = new JsonArray("q_proj", "gate");
        File.WriteAllText(Path.Combine(dir, Lora.ConfigFile), config.ToJsonString());
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, module) in model.named_modules())
        {
            long outF = module switch { Dense d when name.EndsWith(".q_proj") => d.weight.shape[0], Router r => r.weight.shape[0], _ => 0 };
            if (outF == 0) continue;
            tensors.Add(($"base_model.model.{name}.lora_A.weight", zeros(4, 64)));
            tensors.Add(($"base_model.model.{name}.lora_B.weight", zeros(outF, 4)));
        }
        SafeTensors.Save(Path.Combine(dir, Lora.WeightsFile), tensors);
        var e = Assert.Throws<InvalidDataException>(() => Lora.Load(model, dir));
        Assert.Contains(Path.Combine(dir, Lora.WeightsFile), e.Message);
        Assert.Contains("'base_model.model.model.layers.1.mlp.gate.lora_A.weight'", e.Message);
        Assert.Contains("router (mlp.gate)", e.Message);
        Assert.False(Lora.IsAdapted(model));
    }

    [Fact]
    public void A_folder_in_place_of_an_adapter_file_or_a_file_in_place_of_the_folder_is_named()
    {
        using var tmp = new TempDir();
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        foreach (var file in new[] { Lora.ConfigFile, Lora.WeightsFile })
        {
            var dir = CopyAdapter(tmp, "qwen2-tiny-qv");
            File.Delete(Path.Combine(dir, file));
            Directory.CreateDirectory(Path.Combine(dir, file));
            Assert.StartsWith($"{Path.Combine(dir, file)}: is a folder", Assert.ThrowsAny<Exception>(() => Lora.Load(model, dir)).Message);
            Directory.Delete(dir, recursive: true);
        }
        var config = Path.Combine(Adapter("qwen2-tiny-qv"), Lora.ConfigFile);
        Assert.StartsWith($"{config}: is a file; expected an adapter folder", Assert.ThrowsAny<Exception>(() => Lora.Load(model, config)).Message);
        Assert.False(Lora.IsAdapted(model));
    }

    /// <summary>PEFT compares a target_modules string to the all-linear shorthand case-insensitively (target_modules.lower()).</summary>
    [Theory]
    [InlineData("all-linear")]
    [InlineData("ALL-LINEAR")]
    [InlineData("All-Linear")]
    public void All_linear_shorthand_is_matched_regardless_of_case(string shorthand)
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        var dir = CopyAdapter(tmp, "llama3-tiny-all");
        var path = Path.Combine(dir, Lora.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["target_modules"] = shorthand;
        File.WriteAllText(path, json.ToJsonString());
        var (ids, expected) = Reference("llama3-tiny-all");
        using var model = Checkpoint.Load(BaseOf("llama3-tiny-all"), ScalarType.Float32);
        Lora.Load(model, dir);
        using var noGrad = no_grad();
        model.eval();
        Assert.True(MaxDiff(model.Forward(ids), expected) <= 1e-5);
    }

    /// <summary>
    /// A state dict saved with the adapter name in its keys (…lora_A.default.weight, as model.state_dict() holds them) is not
    /// what PEFT's save_pretrained writes; the refusal says so, whichever check meets it first (here: every expected key missing).
    /// </summary>
    [Fact]
    public void Keys_with_the_adapter_name_are_refused_with_the_reason()
    {
        using var scope = NewDisposeScope();
        using var tmp = new TempDir();
        var dir = CopyAdapter(tmp);
        var weights = Path.Combine(dir, Lora.WeightsFile);
        var header = SafeTensors.ReadHeader(weights);
        var tensors = new List<(string, Tensor)>();
        using (var file = File.OpenRead(weights))
            foreach (var e in header.Entries)
                tensors.Add((e.Name.Replace(".lora_A.", ".lora_A.default.").Replace(".lora_B.", ".lora_B.default."), SafeTensors.Read(header, e, file)));
        SafeTensors.Save(weights, tensors);
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        var error = Assert.Throws<InvalidDataException>(() => Lora.Load(model, dir));
        Assert.StartsWith($"{weights}: ", error.Message);
        Assert.Contains("without the adapter name 'default'", error.Message);
    }

    /// <summary>An adapter folder given where the model belongs (generate --model ADAPTER) is named as an adapter.</summary>
    [Fact]
    public void An_adapter_folder_loaded_as_a_model_is_named_as_an_adapter()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(Adapter("qwen2-tiny-qv")));
        Assert.StartsWith($"{Path.Combine(Adapter("qwen2-tiny-qv"), "config.json")}: not found", e.Message);
        Assert.Contains("LoRA adapter: give its base model as --model and this folder as --adapter", e.Message);
    }

    [Fact]
    public void Wrong_rank_in_config_is_a_shape_error_naming_the_tensor()
    {
        using var tmp = new TempDir();
        var dir = EditConfig(tmp, j => j["r"] = 8);
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        var e = Assert.Throws<InvalidDataException>(() => Lora.Load(model, dir));
        Assert.Contains(Lora.WeightsFile, e.Message);
        Assert.Contains("lora_A.weight' has shape [4, 64], expected [8, 64]", e.Message);
    }

    [Fact]
    public void Target_without_tensors_is_a_missing_tensor_error()
    {
        using var tmp = new TempDir();
        var dir = EditConfig(tmp, j => j["target_modules"] = new JsonArray("q_proj", "v_proj", "k_proj"));
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        var e = Assert.Throws<InvalidDataException>(() => Lora.Load(model, dir));
        Assert.Contains("missing tensor(s) 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'", e.Message);
    }

    [Fact]
    public void Tensor_for_an_untargeted_layer_or_a_missing_file_is_refused()
    {
        using var tmp = new TempDir();
        var dir = EditConfig(tmp, j => j["target_modules"] = new JsonArray("q_proj"));
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        var e = Assert.Throws<InvalidDataException>(() => Lora.Load(model, dir));
        Assert.Contains("unexpected tensor 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight'", e.Message);

        File.Delete(Path.Combine(dir, Lora.WeightsFile));
        var missing = Assert.Throws<FileNotFoundException>(() => Lora.Load(model, dir));
        Assert.Contains(Lora.WeightsFile, missing.Message);
        var noConfig = Assert.Throws<FileNotFoundException>(() => Lora.Load(model, tmp.Path));
        Assert.Contains(Lora.ConfigFile, noConfig.Message);
    }

    [Fact]
    public void Training_options_name_unknown_targets()
    {
        using var model = Checkpoint.Load(Base, ScalarType.Float32);
        var e = Assert.Throws<InvalidDataException>(() => Lora.Attach(model, new LoraOptions { TargetModules = ["query"] }));
        Assert.Contains("lora.target_modules: 'query' is not a linear layer", e.Message);
        Assert.Contains("q_proj", e.Message);
    }
}
