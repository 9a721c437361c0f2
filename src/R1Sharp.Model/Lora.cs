// LoRA adapters (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") on the linear layers of a
// CausalLM, in PEFT's layout so that adapters move both ways between R1Sharp and Hugging Face PEFT.
//
//   y = W x + b + s · B (A (dropout(x)))        A: (r, in), B: (out, r), W and b frozen
//   s = lora_alpha / r                           (use_rslora: lora_alpha / sqrt(r), Kalajdzievski 2023)
//   A ~ U(−1/sqrt(in), 1/sqrt(in))               kaiming_uniform(a = sqrt(5)), PEFT's default init; B = 0, so y = W x + b at step 0
//   merged: W' = W + s · B A                     (computed in float32, stored in W's dtype)
//
// The adapter weights are float32 whatever the base's dtype (PEFT's autocast_adapter_dtype): x is cast to float32 for
// the low-rank path and the product cast back. In a bfloat16 run the base therefore stays bf16 with no float32 copy, and
// only A and B are trained (and need optimiser state).
//
// Files, as PEFT's save_pretrained writes them: adapter_config.json (LoraConfig's fields) and adapter_model.safetensors
// with keys base_model.model.<module>.lora_A.weight / .lora_B.weight (no adapter name). target_modules as a list
// matches a module whose name is, or ends with ".", a listed name; as a string it is a regular expression the whole
// module name must match; "all-linear" is every linear layer except lm_head (saved as the list of names it matched).
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using R1Sharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>A LoRA configuration: the <c>lora:</c> section of the training configs.</summary>
public sealed record LoraOptions
{
    /// <summary>Rank r of the update B·A.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 65536)]
    public int R { get; init; } = 16;
    /// <summary>lora_alpha: the update is scaled by alpha / r (alpha / sqrt(r) with use_rslora).</summary>
    [System.ComponentModel.DataAnnotations.Range(1e-6, 1e6)]
    public double Alpha { get; init; } = 32;
    /// <summary>Dropout on the input of the low-rank path (training only).</summary>
    [System.ComponentModel.DataAnnotations.Range(0.0, 0.99)]
    public double Dropout { get; init; }
    /// <summary>Module names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or <c>all-linear</c>.</summary>
    [System.ComponentModel.DataAnnotations.MinLength(1)]
    public IReadOnlyList<string> TargetModules { get; init; } = [Lora.AllLinear];
    /// <summary>Rank-stabilised scaling alpha / sqrt(r).</summary>
    public bool UseRslora { get; init; }

    public double Scaling => UseRslora ? Alpha / Math.Sqrt(R) : Alpha / R;
}

/// <summary>The low-rank path attached to one <see cref="Dense"/> (registered on it as <c>lora_A</c> and <c>lora_B</c>).</summary>
public sealed class LoraAdapter
{
    internal LoraAdapter(Dense a, Dense b, double scaling, double dropout) => (A, B, Scaling, Dropout) = (a, b, scaling, dropout);

    public Dense A { get; }
    public Dense B { get; }
    public double Scaling { get; internal set; }
    public double Dropout { get; }

    /// <summary>y + s · B(A(dropout(x))), the low-rank path in float32.</summary>
    internal Tensor Add(Tensor x, Tensor y, bool training)
    {
        var h = x.to(A.weight.dtype);
        if (training && Dropout > 0) h = nn.functional.dropout(h, Dropout, training: true);
        using Scalar scaling = Scaling; // every forward of every adapted linear: no Scalar left to the finalizer (TorchSharpScalars.One)
        return y.add((B.forward(A.forward(h)) * scaling).to(y.dtype), TorchSharpScalars.One);
    }

    /// <summary>s · B A (out, in) in float32.</summary>
    public Tensor Delta() => matmul(B.weight, A.weight) * Scaling;
}

/// <summary>Attaching, saving, loading and merging LoRA adapters (see the top of this file).</summary>
public static class Lora
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";
    public const string AllLinear = "all-linear";
    const string KeyPrefix = "base_model.model.";

    /// <summary>Every linear layer that may carry an adapter: all <see cref="Dense"/> layers except lm_head.</summary>
    public static List<(string Name, Dense Layer)> Linears(CausalLM model) =>
        model.named_modules()
            .Where(m => m.module is Dense && m.name != "lm_head" && !m.name.EndsWith(".lora_A") && !m.name.EndsWith(".lora_B"))
            .Select(m => (m.name, (Dense)m.module)).ToList();

    /// <summary>The model's adapters by module name (empty when it has none).</summary>
    public static List<(string Name, LoraAdapter Adapter)> Adapters(CausalLM model) =>
        Linears(model).Where(l => l.Layer.Adapter is not null).Select(l => (l.Name, l.Layer.Adapter!)).ToList();

    public static bool IsAdapted(nn.Module model) => model is CausalLM lm && Linears(lm).Any(l => l.Layer.Adapter is not null);

    /// <summary>
    /// The modules <paramref name="targets"/> selects (PEFT's rules, top of this file); a list entry that matches no
    /// linear layer is an error naming it and the layers there are (<paramref name="where"/> says where the list came from).
    /// With <paramref name="everyEntry"/> false (an adapter PEFT saved) such entries are skipped, as PEFT skips them, and only
    /// a list of which nothing matches is an error.
    /// </summary>
    public static List<string> Select(CausalLM model, IReadOnlyList<string> targets, bool isRegex, string where, bool everyEntry = true)
    {
        var linears = Linears(model).Select(l => l.Name).ToList();
        var known = linears.Select(n => n[(n.LastIndexOf('.') + 1)..]).Distinct().ToList();
        if (targets.Count == 1 && targets[0] == AllLinear) return linears;
        if (isRegex)
        {
            var regex = new Regex($"^(?:{targets[0]})$", RegexOptions.CultureInvariant);
            var matched = linears.Where(n => regex.IsMatch(n)).ToList();
            return matched.Count > 0 ? matched
                : throw new InvalidDataException($"{where}: the pattern '{targets[0]}' matches no linear layer of the model (layers are named like {linears[0]})");
        }
        if (targets.Count == 0) throw new InvalidDataException($"{where}: empty (name modules such as q_proj, v_proj, or all-linear)");
        foreach (var t in targets)
        {
            if (t == AllLinear) throw new InvalidDataException($"{where}: '{AllLinear}' must be the only entry");
            if (t == "lm_head" || t == "embed_tokens")
                throw new InvalidDataException($"{where}: '{t}' is not supported (LoRA goes on the linear layers {string.Join(", ", known)})");
            if (everyEntry && !linears.Any(n => Matches(n, t)))
                throw new InvalidDataException($"{where}: '{t}' is not a linear layer of the model (known: {string.Join(", ", known)}, or {AllLinear})");
        }
        var selected = linears.Where(n => targets.Any(t => Matches(n, t))).ToList();
        return selected.Count > 0 ? selected
            : throw new InvalidDataException($"{where}: none of {string.Join(", ", targets.Select(t => $"'{t}'"))} is a linear layer of the model (known: {string.Join(", ", known)}, or {AllLinear})");
    }

    static bool Matches(string module, string target) => module == target || module.EndsWith("." + target, StringComparison.Ordinal);

    /// <summary>
    /// Adds freshly initialised adapters (A kaiming-uniform drawn from <paramref name="seed"/>, B zero) to the layers
    /// <paramref name="o"/> targets and freezes every other parameter of the model.
    /// </summary>
    public static void Attach(CausalLM model, LoraOptions o, long seed = 0, string where = "lora.target_modules")
    {
        var names = Select(model, o.TargetModules, isRegex: false, where);
        Attach(model, names, o.R, o.Scaling, o.Dropout, init: new Generator((ulong)seed, CPU));
        model.LoraSettings = o;
    }

    static void Attach(CausalLM model, IReadOnlyCollection<string> names, int r, double scaling, double dropout, Generator? init)
    {
        if (IsAdapted(model)) throw new InvalidOperationException("the model already carries LoRA adapters");
        foreach (var p in model.parameters()) p.requires_grad = false;
        var layers = Linears(model).ToDictionary(l => l.Name, l => l.Layer);
        using var noGrad = no_grad();
        foreach (var name in names)
        {
            var layer = layers[name];
            long outF = layer.weight.shape[0], inF = layer.weight.shape[1];
            var device = layer.weight.device;
            var a = new Dense(inF, r, false, ScalarType.Float32, device);
            var b = new Dense(r, outF, false, ScalarType.Float32, device);
            if (init is not null)
            {
                double bound = 1.0 / Math.Sqrt(inF); // kaiming_uniform(a=√5): gain √(2/6) · √(3/fan_in)
                a.weight.copy_((rand(r, inF, dtype: ScalarType.Float32, generator: init) * 2 - 1) * bound);
                b.weight.zero_();
            }
            layer.Attach(new LoraAdapter(a, b, scaling, dropout));
        }
    }

    /// <summary>
    /// The tensors a Hugging Face checkpoint of <paramref name="model"/> holds: its parameters, with every adapted layer's
    /// weight merged (W + s·B·A) and the adapters themselves left out.
    /// </summary>
    public static IEnumerable<(string Name, Tensor Tensor)> CheckpointTensors(IPretrainedModel model)
    {
        if (model is not CausalLM lm || !IsAdapted(lm))
        {
            foreach (var (name, p) in model.named_parameters()) yield return (name, p);
            yield break;
        }
        var adapters = Adapters(lm).ToDictionary(a => a.Name + ".weight", a => a.Adapter);
        foreach (var (name, p) in lm.named_parameters())
        {
            if (name.Contains(".lora_A.") || name.Contains(".lora_B.")) continue;
            if (!adapters.TryGetValue(name, out var adapter)) { yield return (name, p); continue; }
            using var noGrad = no_grad();
            yield return (name, (p.to(ScalarType.Float32) + adapter.Delta()).to(p.dtype));
        }
    }

    // ---------------------------------------------------------------- files

    /// <summary>An adapter folder's settings, as adapter_config.json states them.</summary>
    public sealed record AdapterConfig(int R, double Alpha, double Dropout, bool UseRslora, IReadOnlyList<string> TargetModules,
        bool TargetsIsRegex, string? BaseModel)
    {
        public double Scaling => UseRslora ? Alpha / Math.Sqrt(R) : Alpha / R;
    }

    /// <summary>
    /// Writes <paramref name="model"/>'s adapters to <paramref name="directory"/> as PEFT does (atomically: the folder is
    /// staged beside the target and renamed into place); <paramref name="writeExtra"/> adds files to the staged folder.
    /// </summary>
    public static void Save(CausalLM model, string directory, string? baseModel, Action<string>? writeExtra = null)
    {
        var adapters = Adapters(model);
        if (adapters.Count == 0) throw new InvalidOperationException("the model carries no LoRA adapter to save");
        var first = adapters[0].Adapter;
        int r = (int)first.A.weight.shape[0];
        Checkpoint.SaveFolder(directory, dir =>
        {
            AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), ConfigJson(model, adapters, r, baseModel).ToJsonString(JsonFormat.Indented) + "\n");
            var tensors = adapters.SelectMany(a => new[]
            {
                (KeyPrefix + a.Name + ".lora_A.weight", (Tensor)a.Adapter.A.weight),
                (KeyPrefix + a.Name + ".lora_B.weight", (Tensor)a.Adapter.B.weight),
            }).ToList();
            SafeTensors.Save(Path.Combine(dir, WeightsFile), tensors);
            writeExtra?.Invoke(dir);
        });
    }

    static JsonObject ConfigJson(CausalLM model, List<(string Name, LoraAdapter Adapter)> adapters, int r, string? baseModel)
    {
        var settings = model.LoraSettings ?? throw new InvalidOperationException("adapters attached without settings");
        var targets = adapters.Select(a => a.Name[(a.Name.LastIndexOf('.') + 1)..]).Distinct().Order(StringComparer.Ordinal);
        // LoraConfig's fields as PEFT's save_pretrained writes them (keys sorted, as its to_dict/json.dump does).
        return new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = baseModel,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = settings.Alpha,
            ["lora_bias"] = false,
            ["lora_dropout"] = settings.Dropout,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = r,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = new JsonArray(targets.Select(t => (JsonNode)t).ToArray()),
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = settings.UseRslora,
        };
    }

    /// <summary>
    /// Reads and checks adapter_config.json: a LoRA adapter for a causal LM, with the features R1Sharp implements. Every
    /// refusal names the file and the field.
    /// </summary>
    public static AdapterConfig ReadConfig(string directory)
    {
        if (File.Exists(directory)) throw new InvalidDataException($"{directory}: is a file; expected an adapter folder ({ConfigFile} and {WeightsFile})");
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: no such adapter folder (expected {ConfigFile} and {WeightsFile})");
        var path = Path.Combine(directory, ConfigFile);
        if (!Path.Exists(path)) throw new FileNotFoundException($"{path}: not found (is {directory} a PEFT adapter folder?)", path);
        var json = JsonInput.ReadObject(path, "PEFT adapter config");
        InvalidDataException Bad(string field, string problem) => new($"{path}: field '{field}': {problem}");

        if (!JsonInput.TryString(json["peft_type"], out var peftType)) throw Bad("peft_type", $"expected \"LORA\", got {JsonInput.Kind(json["peft_type"])}");
        if (peftType != "LORA") throw Bad("peft_type", $"'{peftType}' adapters are not supported (only LORA)");
        if (!JsonInput.IsNull(json["task_type"]) && (!JsonInput.TryString(json["task_type"], out var task) || task != "CAUSAL_LM"))
            throw Bad("task_type", $"expected \"CAUSAL_LM\", got {json["task_type"]!.ToJsonString()}");
        if (!JsonInput.TryInteger(json["r"], out long r) || r < 1 || r > 65536) throw Bad("r", $"expected the rank (an integer ≥ 1), got {JsonInput.Kind(json["r"])}");
        if (!JsonInput.TryNumber(json["lora_alpha"], out double alpha) || alpha <= 0) throw Bad("lora_alpha", $"expected a number > 0, got {JsonInput.Kind(json["lora_alpha"])}");
        double dropout = 0;
        if (!JsonInput.IsNull(json["lora_dropout"]) && (!JsonInput.TryNumber(json["lora_dropout"], out dropout) || dropout < 0 || dropout >= 1))
            throw Bad("lora_dropout", $"expected a probability in [0, 1), got {JsonInput.Kind(json["lora_dropout"])}");
        bool rslora = false;
        if (!JsonInput.IsNull(json["use_rslora"]) && !JsonInput.TryBool(json["use_rslora"], out rslora))
            throw Bad("use_rslora", $"expected true or false, got {JsonInput.Kind(json["use_rslora"])}");

        // What R1Sharp does not implement: refused rather than silently ignored.
        void Refuse(string field, Func<JsonNode?, bool> isDefault, string what)
        {
            if (!isDefault(json[field])) throw Bad(field, $"{json[field]!.ToJsonString()} is not supported ({what})");
        }
        static bool NullOrEmpty(JsonNode? n) => JsonInput.IsNull(n) || n is JsonObject { Count: 0 } || n is JsonArray { Count: 0 } || (JsonInput.TryString(n, out var s) && s.Length == 0);
        static bool FalseOrNull(JsonNode? n) => JsonInput.IsNull(n) || (JsonInput.TryBool(n, out var b) && !b);
        Refuse("bias", n => JsonInput.IsNull(n) || (JsonInput.TryString(n, out var s) && s == "none"), "only bias \"none\": R1Sharp trains no biases");
        Refuse("use_dora", FalseOrNull, "DoRA is not implemented");
        Refuse("fan_in_fan_out", FalseOrNull, "the linear layers store (out, in)");
        Refuse("modules_to_save", NullOrEmpty, "fully trained extra modules are not implemented");
        Refuse("rank_pattern", NullOrEmpty, "per-module ranks are not implemented");
        Refuse("alpha_pattern", NullOrEmpty, "per-module alphas are not implemented");
        Refuse("layers_to_transform", NullOrEmpty, "selecting layers by index is not implemented");
        Refuse("layers_pattern", NullOrEmpty, "selecting layers by index is not implemented");
        Refuse("exclude_modules", NullOrEmpty, "excluding modules is not implemented");
        Refuse("lora_bias", FalseOrNull, "adapter biases are not implemented");
        Refuse("layer_replication", NullOrEmpty, "layer replication is not implemented");
        Refuse("target_parameters", NullOrEmpty, "LoRA on parameters is not implemented");
        Refuse("trainable_token_indices", NullOrEmpty, "trainable tokens are not implemented");
        Refuse("use_qalora", FalseOrNull, "QA-LoRA is not implemented");

        List<string> targets;
        bool isRegex = false;
        var targetNode = json["target_modules"];
        if (JsonInput.TryString(targetNode, out var pattern))
        {
            isRegex = !pattern.Equals(AllLinear, StringComparison.OrdinalIgnoreCase); // PEFT lower-cases it before comparing
            targets = [isRegex ? pattern : AllLinear];
            if (isRegex)
                try { _ = new Regex(pattern); }
                catch (ArgumentException e) { throw Bad("target_modules", $"'{pattern}' is not a regular expression: {e.Message}"); }
        }
        else if (targetNode is JsonArray list && list.Count > 0)
        {
            targets = [];
            for (int i = 0; i < list.Count; i++)
                targets.Add(JsonInput.TryString(list[i], out var t) && t.Length > 0 ? t : throw Bad($"target_modules[{i}]", $"expected a module name, got {JsonInput.Kind(list[i])}"));
        }
        else throw Bad("target_modules", $"expected a list of module names or a pattern, got {JsonInput.Kind(targetNode)}");

        string? baseModel = JsonInput.TryString(json["base_model_name_or_path"], out var b) ? b : null;
        return new AdapterConfig((int)r, alpha, dropout, rslora, targets, isRegex, baseModel);
    }

    /// <summary>
    /// Loads the PEFT adapter in <paramref name="directory"/> onto <paramref name="model"/> (un-merged; the base is frozen).
    /// Everything is checked before a weight is read: the config, that every module it targets has both tensors, that no
    /// tensor is for a module it does not target or the model lacks, and every shape. <paramref name="trainable"/> leaves
    /// the adapters trainable (resuming a run).
    /// </summary>
    public static AdapterConfig Load(CausalLM model, string directory, bool trainable = false)
    {
        var (config, names, header, entries) = Check(model, directory);
        model.LoraSettings = Settings(config);
        Attach(model, names, config.R, config.Scaling, config.Dropout, init: null);
        Copy(model, header, entries);
        foreach (var (_, adapter) in Adapters(model))
        {
            adapter.A.weight.requires_grad = trainable;
            adapter.B.weight.requires_grad = trainable;
        }
        return config;
    }

    /// <summary>
    /// Serving one adapter after another (<c>r1sharp serve</c>'s <c>/v1/load_lora_adapter</c>): loads the adapter in
    /// <paramref name="directory"/> as <see cref="Load"/> does onto a model without adapters, or into the adapters the model
    /// carries — then it must adapt the same layers with the same r (alpha, rsLoRA may differ). Everything is checked before
    /// a weight changes, so a refused folder leaves the model as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder is not such an adapter (the message names the file and the field).</exception>
    public static AdapterConfig Replace(CausalLM model, string directory)
    {
        var current = Adapters(model);
        if (current.Count == 0) return Load(model, directory);
        var (config, names, header, entries) = Check(model, directory);
        int r = (int)current[0].Adapter.A.weight.shape[0];
        if (config.R != r || !names.Order(StringComparer.Ordinal).SequenceEqual(current.Select(c => c.Name).Order(StringComparer.Ordinal)))
            throw new InvalidDataException($"{Path.Combine(directory, ConfigFile)}: adapts {names.Count} layer(s) with r {config.R}; the served adapters " +
                                           $"adapt {current.Count} with r {r} (one server switches between adapters of one shape)");
        Copy(model, header, entries);
        foreach (var (_, adapter) in current) adapter.Scaling = config.Scaling;
        model.LoraSettings = Settings(config);
        return config;
    }

    /// <summary>The LoRA options an adapter config describes (what the model records of the adapters it carries).</summary>
    static LoraOptions Settings(AdapterConfig config) =>
        new() { R = config.R, Alpha = config.Alpha, Dropout = config.Dropout, UseRslora = config.UseRslora, TargetModules = config.TargetModules };

    /// <summary>Makes the model's adapters add nothing (B = 0): its outputs are then exactly the base's.</summary>
    public static void Silence(CausalLM model)
    {
        using var noGrad = no_grad();
        foreach (var (_, adapter) in Adapters(model)) adapter.B.weight.zero_();
    }

    static void Copy(CausalLM model, SafeTensors.Header header, Dictionary<string, SafeTensors.Entry> entries)
    {
        using var file = new FileStream(header.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var noGrad = no_grad();
        foreach (var (name, adapter) in Adapters(model))
        {
            using var a = SafeTensors.Read(header, entries[KeyPrefix + name + ".lora_A.weight"], file);
            using var b = SafeTensors.Read(header, entries[KeyPrefix + name + ".lora_B.weight"], file);
            adapter.A.weight.copy_(a);
            adapter.B.weight.copy_(b);
        }
    }

    /// <summary>Load's checks: the config, every targeted layer's two tensors, no other tensor, every shape and dtype.</summary>
    static (AdapterConfig Config, List<string> Names, SafeTensors.Header Header, Dictionary<string, SafeTensors.Entry> Entries) Check(CausalLM model, string directory)
    {
        var config = ReadConfig(directory);
        var configPath = Path.Combine(directory, ConfigFile);
        var weights = Path.Combine(directory, WeightsFile);
        if (!Path.Exists(weights)) // a folder there: ReadHeader names it
            throw new FileNotFoundException(File.Exists(Path.Combine(directory, "adapter_model.bin"))
                ? $"{directory}: only adapter_model.bin found; R1Sharp reads safetensors (save with safe_serialization=True)"
                : $"{weights}: not found", weights);
        var header = SafeTensors.ReadHeader(weights);
        var entries = header.Entries.ToDictionary(e => e.Name);

        var names = Select(model, config.TargetModules, config.TargetsIsRegex, $"{configPath}: field 'target_modules'", everyEntry: false);
        var layers = Linears(model).ToDictionary(l => l.Name, l => l.Layer);
        var expected = new Dictionary<string, (string Module, long[] Shape)>();
        foreach (var name in names)
        {
            long outF = layers[name].weight.shape[0], inF = layers[name].weight.shape[1];
            expected[KeyPrefix + name + ".lora_A.weight"] = (name, [config.R, inF]);
            expected[KeyPrefix + name + ".lora_B.weight"] = (name, [outF, config.R]);
        }
        var missing = expected.Keys.Where(k => !entries.ContainsKey(k)).ToList();
        string adapterNamed = header.Entries.Any(e => e.Name.Contains(".default.")) ? "; PEFT saves keys without the adapter name 'default'" : "";
        if (missing.Count > 0)
            throw new InvalidDataException($"{weights}: missing tensor(s) {string.Join(", ", missing.Take(4).Select(m => $"'{m}'"))}{(missing.Count > 4 ? $" and {missing.Count - 4} more" : "")} " +
                $"(target_modules in {configPath} selects {names.Count} layer(s){adapterNamed})");
        var routers = model.named_modules().Where(m => m.module is Router).Select(m => KeyPrefix + m.name + ".lora_").ToList();
        foreach (var e in header.Entries)
        {
            if (!expected.ContainsKey(e.Name) && routers.Any(r => e.Name.StartsWith(r, StringComparison.Ordinal)))
                throw new InvalidDataException($"{weights}: tensor '{e.Name}': LoRA on the mixture-of-experts router (mlp.gate) is not supported " +
                    "(PEFT's all-linear adapts transformers' Qwen3-MoE router; train the adapter with target_modules that leave out 'gate')");
            if (!expected.TryGetValue(e.Name, out var want))
                throw new InvalidDataException($"{weights}: unexpected tensor '{e.Name}' (not a lora_A/lora_B weight of a layer that target_modules in {configPath} selects" +
                    adapterNamed + ")");
            if (!e.Shape.SequenceEqual(want.Shape))
                throw new InvalidDataException($"{weights}: tensor '{e.Name}' has shape [{string.Join(", ", e.Shape)}], expected [{string.Join(", ", want.Shape)}] (r = {config.R} from {configPath})");
            if (!Precision.IsFloatingPoint(e.DType))
                throw new InvalidDataException($"{weights}: tensor '{e.Name}' has dtype {SafeTensors.DTypeName(e.DType)}, expected a floating-point type");
        }
        SafeTensors.RequireIndexed(header);

        return (config, names, header, entries);
    }
}
