using System.Text.Json;
using System.Text.Json.Nodes;

namespace R1Sharp.Model;

/// <summary>The model families R1Sharp implements; each maps to one Hugging Face architecture.</summary>
public enum Architecture { Qwen2, Llama, Qwen3 }

/// <summary>
/// What sits on top of the decoder stack: a language-model head (<c>…ForCausalLM</c>, <see cref="CausalLM"/>) or a
/// scalar score on the last token (<c>…ForSequenceClassification</c> with one label, <see cref="SequenceScorer"/>).
/// </summary>
public enum ModelHead { CausalLM, SequenceClassification }

/// <summary>Llama-3 frequency-dependent RoPE scaling (<c>rope_scaling.rope_type = "llama3"</c>).</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that define the network. Everything else in the file is
/// kept verbatim in <see cref="Extra"/> and written back on save, so a round trip loses nothing.
/// </summary>
public sealed record ModelConfig
{
    public required Architecture Architecture { get; init; }
    /// <summary>The head: <c>architectures[0]</c> ends in ForCausalLM or ForSequenceClassification.</summary>
    public ModelHead Head { get; init; } = ModelHead.CausalLM;
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 4096;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    public Llama3RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q/k/v projections: always for Qwen2, <c>attention_bias</c> for Llama and Qwen3 (also on o_proj there).</summary>
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    public double InitializerRange { get; init; } = 0.02;
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>The dtype the weights are stored in (<c>torch_dtype</c> or <c>dtype</c>): float32, bfloat16 or float16.</summary>
    public string TorchDtype { get; init; } = "float32";
    /// <summary>The other fields of config.json, written back unchanged.</summary>
    public JsonObject Extra { get; init; } = new();

    public int KvGroups => NumHeads / NumKvHeads;

    static readonly Dictionary<string, (Architecture, ModelHead)> Architectures = new()
    {
        ["Qwen2ForCausalLM"] = (Architecture.Qwen2, ModelHead.CausalLM),
        ["LlamaForCausalLM"] = (Architecture.Llama, ModelHead.CausalLM),
        ["Qwen3ForCausalLM"] = (Architecture.Qwen3, ModelHead.CausalLM),
        ["Qwen2ForSequenceClassification"] = (Architecture.Qwen2, ModelHead.SequenceClassification),
        ["LlamaForSequenceClassification"] = (Architecture.Llama, ModelHead.SequenceClassification),
        ["Qwen3ForSequenceClassification"] = (Architecture.Qwen3, ModelHead.SequenceClassification),
    };

    static readonly string[] KnownKeys =
    [
        "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings", "rms_norm_eps",
        "rope_theta", "rope_scaling", "rope_parameters", "tie_word_embeddings", "attention_bias", "mlp_bias",
        "initializer_range", "bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "hidden_act",
        "id2label", "label2id", "num_labels", // the head's labels: written from Head (a reward model has one)
    ];

    /// <summary>Reads <c>config.json</c>; errors name the file and the field.</summary>
    public static ModelConfig Load(string path)
    {
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new FormatException("not a JSON object"); }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: not a valid config.json ({e.Message})", e);
        }
        return FromJson(json, path);
    }

    public static ModelConfig FromJson(JsonObject json, string source = "config.json")
    {
        string Where(string key) => $"{source}: field '{key}'";
        T Get<T>(string key, T fallback)
        {
            if (json[key] is not { } node || node.GetValueKind() == JsonValueKind.Null) return fallback;
            try { return node.GetValue<T>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw new InvalidDataException($"{Where(key)} should be {typeof(T).Name}, is {node.ToJsonString()}", e); }
        }
        int Required(string key) => json[key] is null
            ? throw new InvalidDataException($"{Where(key)} is missing")
            : Get(key, 0);

        string archName = json["architectures"] is JsonArray { Count: > 0 } a ? a[0]!.GetValue<string>() : "(none)";
        if (!Architectures.TryGetValue(archName, out var found))
            throw new InvalidDataException(
                $"{Where("architectures")}: unknown architecture '{archName}'; supported: {string.Join(", ", Architectures.Keys)}");
        var (arch, head) = found;
        if (head == ModelHead.SequenceClassification)
        {
            // transformers derives num_labels from id2label (2 when absent); a reward model has exactly one.
            int labels = json["id2label"] is JsonObject id2label ? id2label.Count : Get("num_labels", 2);
            if (labels != 1)
                throw new InvalidDataException($"{Where("id2label")}: {archName} with {labels} labels; only reward models (num_labels = 1) are supported");
        }
        string act = Get("hidden_act", "silu");
        if (act != "silu") throw new InvalidDataException($"{Where("hidden_act")}: '{act}' is not supported (only silu)");
        if (Get("use_sliding_window", false))
            throw new InvalidDataException($"{Where("use_sliding_window")}: sliding-window attention is not supported");

        int hidden = Required("hidden_size"), heads = Required("num_attention_heads");
        int kvHeads = Get("num_key_value_heads", heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new InvalidDataException($"{Where("num_key_value_heads")}: {kvHeads} must divide num_attention_heads {heads}");

        // transformers v5 moved rope_theta/rope_scaling into rope_parameters; accept both.
        var rope = json["rope_parameters"] as JsonObject ?? json["rope_scaling"] as JsonObject;
        double theta = json["rope_parameters"] is JsonObject rp && rp["rope_theta"] is { } t ? t.GetValue<double>() : Get("rope_theta", 10000.0);
        Llama3RopeScaling? scaling = null;
        string ropeType = rope?["rope_type"]?.GetValue<string>() ?? rope?["type"]?.GetValue<string>() ?? "default";
        if (ropeType == "llama3")
        {
            double F(string k) => rope![k]?.GetValue<double>() ?? throw new InvalidDataException($"{Where("rope_scaling")}.{k} is missing");
            scaling = new Llama3RopeScaling(F("factor"), F("low_freq_factor"), F("high_freq_factor"), (int)F("original_max_position_embeddings"));
        }
        else if (ropeType != "default")
            throw new InvalidDataException($"{Where("rope_scaling")}: rope type '{ropeType}' is not supported (default, llama3)");

        var eos = json["eos_token_id"] switch
        {
            JsonArray arr => arr.Select(n => n!.GetValue<int>()).ToArray(),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => [v.GetValue<int>()],
            _ => Array.Empty<int>(),
        };
        var extra = new JsonObject();
        foreach (var (key, value) in json)
            if (!KnownKeys.Contains(key)) extra[key] = value?.DeepClone();

        return new ModelConfig
        {
            Architecture = arch,
            Head = head,
            VocabSize = Required("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Required("intermediate_size"),
            NumLayers = Required("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = Get("head_dim", hidden / heads),
            MaxPositionEmbeddings = Get("max_position_embeddings", 4096),
            RmsNormEps = Get("rms_norm_eps", 1e-6),
            RopeTheta = theta,
            RopeScaling = scaling,
            TieWordEmbeddings = Get("tie_word_embeddings", false),
            AttentionBias = arch == Architecture.Qwen2 || Get("attention_bias", false),
            MlpBias = Get("mlp_bias", false),
            InitializerRange = Get("initializer_range", 0.02),
            BosTokenId = Get<int?>("bos_token_id", null),
            EosTokenIds = eos,
            PadTokenId = Get<int?>("pad_token_id", null),
            TorchDtype = json["torch_dtype"]?.GetValue<string>() ?? json["dtype"]?.GetValue<string>() ?? "float32",
            Extra = extra,
        };
    }

    /// <summary>The config.json that transformers and vLLM read for this model.</summary>
    public JsonObject ToJson()
    {
        var (family, modelType) = Architecture switch
        {
            Architecture.Qwen2 => ("Qwen2", "qwen2"),
            Architecture.Llama => ("Llama", "llama"),
            _ => ("Qwen3", "qwen3"),
        };
        string archName = family + (Head == ModelHead.CausalLM ? "ForCausalLM" : "ForSequenceClassification");
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(archName),
            ["model_type"] = modelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumLayers,
            ["num_attention_heads"] = NumHeads,
            ["num_key_value_heads"] = NumKvHeads,
            ["head_dim"] = HeadDim,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling is { } s
                ? new JsonObject
                {
                    ["rope_type"] = "llama3", ["factor"] = s.Factor, ["low_freq_factor"] = s.LowFreqFactor,
                    ["high_freq_factor"] = s.HighFreqFactor, ["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings,
                }
                : null,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["hidden_act"] = "silu",
            ["initializer_range"] = InitializerRange,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = EosTokenIds.Count == 1 ? EosTokenIds[0] : new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray()),
            ["pad_token_id"] = PadTokenId,
            ["torch_dtype"] = TorchDtype,
        };
        if (Architecture != Architecture.Qwen2) json["attention_bias"] = AttentionBias;
        if (Architecture == Architecture.Llama) json["mlp_bias"] = MlpBias;
        if (Head == ModelHead.SequenceClassification) // num_labels = 1, as transformers writes it
        {
            json["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
            json["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        }
        foreach (var (key, value) in Extra) json[key] = value?.DeepClone();
        return json;
    }

    /// <summary>Parameter count, including the head when it is not tied (or the score head of a reward model).</summary>
    public long ParameterCount()
    {
        long h = HiddenSize, q = (long)NumHeads * HeadDim, kv = (long)NumKvHeads * HeadDim;
        long attention = h * q + 2 * h * kv + q * h
                         + (AttentionBias ? q + 2 * kv + (Architecture == Architecture.Qwen2 ? 0 : h) : 0)
                         + (Architecture == Architecture.Qwen3 ? 2L * HeadDim : 0);
        long mlp = 3 * h * IntermediateSize + (MlpBias ? 2L * IntermediateSize + h : 0);
        long layer = attention + mlp + 2 * h;
        long head = Head == ModelHead.SequenceClassification ? h : TieWordEmbeddings ? 0 : (long)VocabSize * h;
        return (long)VocabSize * h + head + NumLayers * layer + h;
    }
}
