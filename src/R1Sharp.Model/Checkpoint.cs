using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>
/// Hugging Face checkpoint folders: config.json + model.safetensors (or model-0000i-of-0000n.safetensors
/// with model.safetensors.index.json), generation_config.json and tokenizer files. What we save, transformers
/// and vLLM load; what they save, we load.
/// </summary>
public static class Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";
    public const string GenerationConfigFile = "generation_config.json";
    /// <summary>transformers' pickled (torch.save) weights, which R1Sharp does not read: named in the refusal.</summary>
    const string PickledWeights = "pytorch_model.bin", PickledIndex = "pytorch_model.bin.index.json";
    /// <summary>transformers' shard names (model-00001-of-00002.safetensors).</summary>
    const string ShardPattern = "*-of-*.safetensors";

    /// <summary>Files copied along with the weights when present (tokenizer and generation settings).</summary>
    public static readonly string[] CompanionFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
        "added_tokens.json", "chat_template.jinja", "chat_template.json", GenerationConfigFile,
    ];

    /// <summary>Tensors some checkpoints carry that the model computes itself.</summary>
    static bool Ignorable(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>
    /// Loads a causal LM checkpoint folder. <paramref name="dtype"/> overrides config.json's torch_dtype. Everything is
    /// validated (names, shapes, dtypes, offsets, file sizes) before any weight is read, and a failure leaves
    /// no half-loaded model behind.
    /// </summary>
    public static CausalLM Load(string directory, ScalarType? dtype = null, Device? device = null)
    {
        directory = ModelLocation.Resolve(directory);
        var configPath = RequireFile(directory, ConfigFile);
        var config = ModelConfig.Load(configPath);
        if (config.Head != ModelHead.CausalLM)
            throw new InvalidDataException($"{configPath}: field 'architectures': a reward model ({config.Head}), not a causal LM; load it with Checkpoint.LoadScorer");
        var type = dtype ?? ParseStoredDtype(config, directory);
        var sources = LocateTensors(directory);
        CheckSizes(config, sources, directory);
        return Fill(new CausalLM(config, type, device), config, sources, directory,
            notStored: _ => false, ignored: k => (config.TieWordEmbeddings && k == "lm_head.weight") || IsExtraLayer(config, k));
    }

    /// <summary>
    /// DeepSeek-V3 checkpoints carry the multi-token-prediction module as layer num_hidden_layers (model.layers.61.* in
    /// the released one); transformers skips it, and so do we.
    /// </summary>
    static bool IsExtraLayer(ModelConfig c, string name)
    {
        if (c.Architecture != Architecture.DeepseekV3 || !name.StartsWith("model.layers.", StringComparison.Ordinal)) return false;
        var rest = name["model.layers.".Length..];
        int dot = rest.IndexOf('.');
        return dot > 0 && int.TryParse(rest[..dot], out int layer) && layer >= c.NumLayers;
    }

    /// <summary>
    /// Loads a reward model (<c>…ForSequenceClassification</c>, one label). From a causal LM checkpoint it starts a new
    /// one, as transformers' <c>AutoModelForSequenceClassification.from_pretrained(causal_lm, num_labels=1)</c> does:
    /// <c>model.*</c> from the file, <c>lm_head</c> dropped, <c>score</c> drawn from N(0, initializer_range) with
    /// <paramref name="headSeed"/>; pad_token_id defaults to the EOS id (TRL's fallback when a tokenizer has no pad).
    /// </summary>
    public static SequenceScorer LoadScorer(string directory, ScalarType? dtype = null, Device? device = null, long headSeed = 0)
    {
        directory = ModelLocation.Resolve(directory);
        var config = ModelConfig.Load(RequireFile(directory, ConfigFile));
        var type = dtype ?? ParseStoredDtype(config, directory);
        var sources = LocateTensors(directory);
        CheckSizes(config, sources, directory);
        if (config.Head == ModelHead.SequenceClassification)
            return Fill(new SequenceScorer(config, type, device), config, sources, directory, notStored: _ => false, ignored: k => IsExtraLayer(config, k));

        var scorerConfig = config with
        {
            Head = ModelHead.SequenceClassification,
            PadTokenId = config.PadTokenId ?? (config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null),
        };
        var scorer = Fill(new SequenceScorer(scorerConfig, type, device), scorerConfig, sources, directory,
            notStored: k => k == "score.weight", ignored: k => k == "lm_head.weight" || IsExtraLayer(config, k));
        scorer.InitializeHead(headSeed);
        return scorer;
    }

    /// <summary>Copies the stored tensors into <paramref name="model"/>'s parameters after checking them all (<see cref="CheckTensors"/>) and returns it in inference mode (<c>eval()</c>, as transformers' from_pretrained does); disposes it on failure.</summary>
    /// <param name="notStored">Parameters the file is not expected to hold (a new head).</param>
    /// <param name="ignored">Stored tensors the model does not use.</param>
    static T Fill<T>(T model, ModelConfig config, Dictionary<string, (SafeTensors.Header Header, SafeTensors.Entry Entry)> sources,
        string directory, Func<string, bool> notStored, Func<string, bool> ignored) where T : nn.Module
    {
        try
        {
            var parameters = CheckTensors(model, config, sources, directory, notStored, ignored);
            using var noGrad = no_grad();
            foreach (var group in parameters.GroupBy(p => sources[p.Key].Header.Path))
            {
                using var file = new FileStream(group.Key, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                foreach (var (name, p) in group)
                {
                    var (header, entry) = sources[name];
                    using var stored = SafeTensors.Read(header, entry, file);
                    p.copy_(stored); // converts dtype and moves to the model's device
                }
            }
            model.eval(); // inference mode, as transformers' from_pretrained leaves a model: training loops call train()
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks the stored tensors against <paramref name="model"/>'s parameters (which may lie on the meta device, holding
    /// no data): none missing, none unexpected, every shape, a floating-point dtype, and no bytes outside a tensor in any
    /// file. Returns the parameters the files must fill.
    /// </summary>
    static Dictionary<string, TorchSharp.Modules.Parameter> CheckTensors(nn.Module model, ModelConfig config,
        Dictionary<string, (SafeTensors.Header Header, SafeTensors.Entry Entry)> sources, string directory,
        Func<string, bool> notStored, Func<string, bool> ignored)
    {
        var parameters = model.named_parameters().Where(p => !notStored(p.name)).ToDictionary(p => p.name, p => p.parameter);
        var missing = parameters.Keys.Where(k => !sources.ContainsKey(k)).ToList();
        var unexpected = sources.Keys.Where(k => !parameters.ContainsKey(k) && !Ignorable(k) && !ignored(k) && !notStored(k)).ToList();
        var files = sources.Values.Select(s => s.Header.Path).Distinct().ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{(files.Count == 1 ? files[0] : directory)}: missing tensor(s) {Names(missing)} for {config.Architecture} with {config.NumLayers} layers");
        if (unexpected.Count > 0)
            throw new InvalidDataException($"{sources[unexpected[0]].Header.Path}: unexpected tensor(s) {Names(unexpected)} (not part of a {config.Architecture} model)");
        foreach (var (name, p) in parameters)
        {
            var (header, entry) = sources[name];
            if (!entry.Shape.SequenceEqual(p.shape))
                throw new InvalidDataException($"{header.Path}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], the config implies [{string.Join(", ", p.shape)}]");
            if (!Precision.IsFloatingPoint(entry.DType))
                throw new InvalidDataException($"{header.Path}: tensor '{name}' has dtype {SafeTensors.DTypeName(entry.DType)}, expected a floating-point type");
        }
        foreach (var header in sources.Values.Select(s => s.Header).Distinct()) SafeTensors.RequireIndexed(header);
        return parameters;
    }

    /// <summary>
    /// Checks, before the model allocates anything, that the stored tensors have the sizes config.json describes: the
    /// embeddings (vocab_size × hidden_size), the first layer's attention and MLP projections, and a last layer. A config
    /// whose sizes do not match its weights (vocab_size 10⁹, 1,000 layers) fails here with the field named, instead of
    /// asking for memory the checkpoint never held.
    /// </summary>
    static void CheckSizes(ModelConfig c, Dictionary<string, (SafeTensors.Header Header, SafeTensors.Entry Entry)> sources, string directory)
    {
        string configPath = Path.Combine(directory, ConfigFile);
        long h = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim;
        int last = c.NumLayers - 1;
        var expected = new List<(string Name, long[] Shape, string Fields)>
        {
            ("model.embed_tokens.weight", [c.VocabSize, h], $"vocab_size {c.VocabSize}, hidden_size {h}"),
        };
        if (c.Mla is { } m)
            expected.Add(("model.layers.0.self_attn.kv_a_proj_with_mqa.weight", [m.KvLoraRank + m.QkRopeHeadDim, h],
                $"kv_lora_rank {m.KvLoraRank} + qk_rope_head_dim {m.QkRopeHeadDim}, hidden_size {h}"));
        else
        {
            expected.Add(("model.layers.0.self_attn.q_proj.weight", [q, h], $"num_attention_heads {c.NumHeads} × head_dim {c.HeadDim}, hidden_size {h}"));
            expected.Add(("model.layers.0.self_attn.k_proj.weight", [kv, h], $"num_key_value_heads {c.NumKvHeads} × head_dim {c.HeadDim}, hidden_size {h}"));
        }
        if (c.Moe is { } e && e.IsSparse(0))
            expected.Add(("model.layers.0.mlp.gate.weight", [e.NumExperts, h], $"number of experts {e.NumExperts}, hidden_size {h}"));
        else expected.Add(("model.layers.0.mlp.gate_proj.weight", [c.IntermediateSize, h], $"intermediate_size {c.IntermediateSize}, hidden_size {h}"));
        if (c.Moe is { } moe && moe.IsSparse(last))
            expected.Add(($"model.layers.{last}.mlp.experts.{moe.NumExperts - 1}.down_proj.weight", [h, moe.ExpertIntermediateSize],
                $"num_hidden_layers {c.NumLayers}, experts {moe.NumExperts}, moe_intermediate_size {moe.ExpertIntermediateSize}"));
        else expected.Add(($"model.layers.{last}.mlp.down_proj.weight", [h, c.IntermediateSize], $"num_hidden_layers {c.NumLayers}"));
        foreach (var (name, shape, fields) in expected)
        {
            if (!sources.TryGetValue(name, out var source))
                throw new InvalidDataException(
                    $"{directory}: missing tensor(s) '{name}' for {c.Architecture} with {c.NumLayers} layers ({configPath}: {fields})");
            if (!source.Entry.Shape.SequenceEqual(shape))
                throw new InvalidDataException(
                    $"{source.Header.Path}: tensor '{name}' has shape [{string.Join(", ", source.Entry.Shape)}], the config implies " +
                    $"[{string.Join(", ", shape)}] ({configPath}: {fields})");
        }
    }

    /// <summary>What <see cref="Inspect"/> found: the config and the weight files, validated without reading a weight.</summary>
    public sealed record Summary(ModelConfig Config, IReadOnlyList<string> WeightFiles, int Tensors, long StoredBytes);

    /// <summary>
    /// Validates a checkpoint folder without loading weights: config.json (every field), the stored dtype, the index
    /// and every safetensors header, the sizes of the main tensors against the config, then every tensor's name, shape and
    /// dtype as loading checks them, so a folder that passes also loads. A folder with a config but
    /// no weights yet is accepted (no weight files).
    /// </summary>
    public static Summary Inspect(string directory)
    {
        directory = ModelLocation.Resolve(directory);
        var config = ModelConfig.Load(RequireFile(directory, ConfigFile));
        var type = ParseStoredDtype(config, directory);
        if (!new[] { IndexFile, WeightsFile, PickledWeights, PickledIndex }.Any(f => Path.Exists(Path.Combine(directory, f)))
            && !Directory.EnumerateFiles(directory, ShardPattern).Any())
            return new Summary(config, [], 0, 0);
        var sources = LocateTensors(directory);
        CheckSizes(config, sources, directory);
        // Every tensor as Load / LoadScorer checks it, against the model laid out on the meta device (no memory, no data).
        var meta = new Device(DeviceType.META);
        using (nn.Module layout = config.Head == ModelHead.CausalLM ? new CausalLM(config, type, meta) : new SequenceScorer(config, type, meta))
            CheckTensors(layout, config, sources, directory, notStored: _ => false,
                ignored: k => (config.Head == ModelHead.CausalLM && config.TieWordEmbeddings && k == "lm_head.weight") || IsExtraLayer(config, k));
        var files = sources.Values.Select(s => s.Header.Path).Distinct().Order(StringComparer.Ordinal).ToList();
        return new Summary(config, files, sources.Count, sources.Values.Sum(s => s.Entry.Length));
    }

    static string Names(List<string> names) =>
        string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + (names.Count > 5 ? $" and {names.Count - 5} more" : "");

    static ScalarType ParseStoredDtype(ModelConfig config, string directory)
    {
        try { return Precision.Parse(config.TorchDtype); }
        catch (ArgumentException e) { throw new InvalidDataException($"{Path.Combine(directory, ConfigFile)}: field 'torch_dtype': {e.Message}"); }
    }

    static string RequireFile(string directory, string name)
    {
        if (File.Exists(directory)) throw new InvalidDataException($"{directory}: is a file; expected a checkpoint folder (config.json + *.safetensors)");
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such checkpoint folder (expected a folder with config.json and *.safetensors)");
        var path = Path.Combine(directory, name);
        if (Directory.Exists(path))
            throw new FileNotFoundException($"{path}: not found as a file (it is a folder; is {directory} a Hugging Face checkpoint?)", path);
        if (File.Exists(path)) return path;
        throw new FileNotFoundException(File.Exists(Path.Combine(directory, Lora.ConfigFile))
            ? $"{path}: not found (is {directory} a Hugging Face checkpoint? it holds {Lora.ConfigFile}, a LoRA adapter: give its base model as --model and this folder as --adapter)"
            : $"{path}: not found (is {directory} a Hugging Face checkpoint?)", path);
    }

    /// <summary>Maps every tensor name to the file and header entry holding it.</summary>
    static Dictionary<string, (SafeTensors.Header Header, SafeTensors.Entry Entry)> LocateTensors(string directory)
    {
        var index = Path.Combine(directory, IndexFile);
        var single = Path.Combine(directory, WeightsFile);
        List<string> files;
        Dictionary<string, string>? weightMap = null;
        // model.safetensors first when a folder has both, as transformers' from_pretrained reads it (an index left behind by
        // an earlier sharded save must not win over the weights saved after it).
        if (File.Exists(single)) files = [single];
        else if (Path.Exists(index)) // a folder there is named as one by ReadObject, as by ReadHeader below
        {
            var indexJson = JsonInput.ReadObject(index, "safetensors index (model.safetensors.index.json)");
            if (indexJson["weight_map"] is not JsonObject map)
                throw new InvalidDataException($"{index}: field 'weight_map': expected an object {{tensor name: shard file}}, got {JsonInput.Kind(indexJson["weight_map"])}");
            weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in map)
            {
                if (!JsonInput.TryString(value, out var shard) || shard.Length == 0)
                    throw new InvalidDataException($"{index}: field 'weight_map.{name}': expected a shard file name, got {JsonInput.Kind(value)}");
                if (shard != Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\'))
                    throw new InvalidDataException($"{index}: field 'weight_map.{name}': '{shard}' is not a file name in the checkpoint folder");
                weightMap[name] = shard;
            }
            files = weightMap.Values.Distinct().Select(f => Path.Combine(directory, f)).ToList();
            foreach (var f in files)
                if (!Path.Exists(f)) throw new FileNotFoundException($"{index}: shard {Path.GetFileName(f)} is missing", f);
        }
        else if (Path.Exists(single)) files = [single]; // a folder: ReadHeader names it as one
        else if (new[] { PickledWeights, PickledIndex }.FirstOrDefault(f => Path.Exists(Path.Combine(directory, f))) is { } pickled)
            throw new InvalidDataException($"{directory}: only {pickled} found; R1Sharp reads safetensors (convert with transformers: save_pretrained(safe_serialization=True))");
        else if (Directory.EnumerateFiles(directory, ShardPattern).Order(StringComparer.Ordinal).FirstOrDefault() is { } shard)
            throw new FileNotFoundException($"{directory}: {Path.GetFileName(shard)} but neither {WeightsFile} nor {IndexFile} found (sharded weights need their index)");
        else throw new FileNotFoundException($"{directory}: neither {WeightsFile} nor {IndexFile} found");

        var result = new Dictionary<string, (SafeTensors.Header, SafeTensors.Entry)>();
        foreach (var f in files)
        {
            var header = SafeTensors.ReadHeader(f);
            foreach (var e in header.Entries)
            {
                if (result.TryGetValue(e.Name, out var other))
                    throw new InvalidDataException($"{f}: tensor '{e.Name}' also appears in {other.Item1.Path}");
                result[e.Name] = (header, e);
            }
        }
        if (weightMap is not null)
            foreach (var (name, shard) in weightMap)
                if (!result.TryGetValue(name, out var found) || Path.GetFileName(found.Item1.Path) != shard)
                    throw new InvalidDataException($"{index}: lists tensor '{name}' in {shard}, which does not hold it");
        return result;
    }

    /// <summary>
    /// Saves the model in Hugging Face layout. The folder is written beside the target and renamed into place,
    /// so an existing good checkpoint is never replaced by a half-written one. Companion files (tokenizer,
    /// generation config) are copied from <paramref name="companionsFrom"/> when given; <paramref name="writeExtra"/>
    /// adds files of its own (a trainer's state) to the folder before it is renamed into place.
    /// </summary>
    public static void Save(IPretrainedModel model, string directory, string? companionsFrom = null, long maxShardBytes = 5_000_000_000,
        Action<string>? writeExtra = null)
    {
        SaveFolder(directory, staging =>
        {
            WriteFolder(model, staging, companionsFrom, maxShardBytes);
            writeExtra?.Invoke(staging);
        });
    }

    /// <summary>Writes a folder with <paramref name="write"/> beside <paramref name="directory"/> and renames it into place (as <see cref="Save"/>).</summary>
    public static void SaveFolder(string directory, Action<string> write)
    {
        directory = Path.GetFullPath(directory.TrimEnd(Path.DirectorySeparatorChar));
        var parent = Path.GetDirectoryName(directory)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(directory)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            using (NewDisposeScope()) // the temporaries of writing (CPU copies, RNG state) are freed now, not by the GC
                write(staging);
            ReplaceDirectory(staging, directory);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    static void WriteFolder(IPretrainedModel model, string dir, string? companionsFrom, long maxShardBytes)
    {
        if (companionsFrom is not null && Directory.Exists(companionsFrom))
            foreach (var name in CompanionFiles)
            {
                var source = Path.Combine(companionsFrom, name);
                if (File.Exists(source)) File.Copy(source, Path.Combine(dir, name), overwrite: true);
            }

        var config = model.Config with { TorchDtype = Precision.Name(model.DType) };
        WriteJson(Path.Combine(dir, ConfigFile), config.ToJson());
        if (!File.Exists(Path.Combine(dir, GenerationConfigFile)))
        {
            var generation = new JsonObject { ["bos_token_id"] = config.BosTokenId };
            generation["eos_token_id"] = config.EosTokenIds.Count == 1
                ? config.EosTokenIds[0]
                : new JsonArray(config.EosTokenIds.Select(i => (JsonNode)i).ToArray());
            if (config.PadTokenId is { } pad) generation["pad_token_id"] = pad;
            WriteJson(Path.Combine(dir, GenerationConfigFile), generation);
        }

        var tensors = Lora.CheckpointTensors(model).ToList(); // LoRA adapters merged into their layers' weights
        var shards = new List<List<(string, Tensor)>> { new() };
        long shardBytes = 0, total = 0;
        foreach (var (name, t) in tensors)
        {
            long bytes = t.numel() * SafeTensors.ElementSize(t.dtype);
            if (shardBytes > 0 && shardBytes + bytes > maxShardBytes) { shards.Add(new()); shardBytes = 0; }
            shards[^1].Add((name, t));
            shardBytes += bytes;
            total += bytes;
        }
        if (shards.Count == 1)
        {
            SafeTensors.Save(Path.Combine(dir, WeightsFile), shards[0]);
            return;
        }
        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            var file = $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors";
            SafeTensors.Save(Path.Combine(dir, file), shards[i]);
            foreach (var (name, _) in shards[i]) weightMap[name] = file;
        }
        WriteJson(Path.Combine(dir, IndexFile), new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = total },
            ["weight_map"] = weightMap,
        });
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static void WriteJson(string path, JsonNode json) => File.WriteAllText(path, json.ToJsonString(Indented) + "\n");

    /// <summary>
    /// Puts <paramref name="staging"/> at <paramref name="target"/>: old folder aside (<c>target.old-*</c>), new one in,
    /// old one deleted. A crash between the two renames leaves the old folder aside, complete: <see cref="FindComplete"/>.
    /// Once the new folder is in place, leftovers of saves a crash interrupted (staging folders, folders set aside) are
    /// deleted too. Every deletion first renames the folder to <c>.target.trash-*</c>, so a deletion cut short never
    /// leaves a half-deleted <c>target.old-*</c> that <see cref="FindComplete"/> would take for a checkpoint.
    /// </summary>
    static void ReplaceDirectory(string staging, string target)
    {
        string parent = Path.GetDirectoryName(target)!, name = Path.GetFileName(target);
        if (Directory.Exists(target))
        {
            var old = target + $".old-{Guid.NewGuid():N}";
            Directory.Move(target, old);
            Directory.Move(staging, target);
            Discard(old);
        }
        else Directory.Move(staging, target);
        foreach (var pattern in new[] { $".{name}.tmp-*", $"{name}.old-*", $".{name}.trash-*" })
            foreach (var leftover in Directory.GetDirectories(parent, pattern))
                Discard(leftover);

        void Discard(string dir)
        {
            var trash = Path.GetFileName(dir).StartsWith($".{name}.trash-", StringComparison.Ordinal)
                ? dir
                : Path.Combine(parent, $".{name}.trash-{Guid.NewGuid():N}");
            if (trash != dir) Directory.Move(dir, trash);
            Directory.Delete(trash, recursive: true);
        }
    }

    /// <summary>
    /// The complete checkpoint saved at <paramref name="directory"/>: the folder itself, or — after a crash between
    /// the two renames of a save — the previous one set aside. Never a half-written staging folder.
    /// </summary>
    public static string? FindComplete(string directory)
    {
        directory = Path.GetFullPath(directory.TrimEnd(Path.DirectorySeparatorChar));
        static bool Complete(string d) => File.Exists(Path.Combine(d, ConfigFile)) || File.Exists(Path.Combine(d, Lora.ConfigFile));
        if (Complete(directory)) return directory;
        var parent = Path.GetDirectoryName(directory)!;
        if (!Directory.Exists(parent)) return null;
        return Directory.GetDirectories(parent, Path.GetFileName(directory) + ".old-*")
            .Where(Complete)
            .OrderByDescending(Directory.GetLastWriteTimeUtc)
            .FirstOrDefault();
    }
}
