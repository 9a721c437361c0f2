using System.Text.Json;
using System.Text.Json.Nodes;

namespace R1Sharp.Model;

/// <summary>The model families R1Sharp implements; each maps to one Hugging Face architecture.</summary>
public enum Architecture { Qwen2, Llama, Qwen3, Qwen3Moe, DeepseekV3 }

/// <summary>
/// What sits on top of the decoder stack: a language-model head (<c>…ForCausalLM</c>, <see cref="CausalLM"/>) or a
/// scalar score on the last token (<c>…ForSequenceClassification</c> with one label, <see cref="SequenceScorer"/>).
/// </summary>
public enum ModelHead { CausalLM, SequenceClassification }

/// <summary>Llama-3 frequency-dependent RoPE scaling (<c>rope_scaling.rope_type = "llama3"</c>).</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// YaRN RoPE scaling (<c>rope_scaling.rope_type = "yarn"</c>, DeepSeek-V3): frequencies blended between interpolated
/// (÷ factor) and original by a linear ramp over the dimensions, and cos/sin multiplied by an attention factor.
/// </summary>
public sealed record YarnRopeScaling(double Factor, int OriginalMaxPositionEmbeddings, double BetaFast = 32, double BetaSlow = 1,
    double? Mscale = null, double? MscaleAllDim = null, double? AttentionFactor = null, bool Truncate = true)
{
    /// <summary>0.1·m·ln(s) + 1 for s &gt; 1, else 1 (yarn_get_mscale).</summary>
    public static double GetMscale(double scale, double mscale = 1) => scale <= 1 ? 1.0 : 0.1 * mscale * Math.Log(scale) + 1.0;
}

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
    /// <summary>YaRN scaling (<c>rope_scaling.rope_type = "yarn"</c>); at most one of this and <see cref="RopeScaling"/>.</summary>
    public YarnRopeScaling? Yarn { get; init; }
    /// <summary>Mixture-of-experts feed-forward (Qwen3-MoE, DeepSeek-V3); null for dense models (MixtureOfExperts.cs).</summary>
    public MoeSettings? Moe { get; init; }
    /// <summary>Multi-head latent attention (DeepSeek-V3); null for grouped-query attention (LatentAttention.cs).</summary>
    public LatentAttentionSettings? Mla { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q/k/v projections: always for Qwen2, <c>attention_bias</c> for Llama and Qwen3 (also on o_proj there).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Bias on the MLP projections: <c>mlp_bias</c>, a Llama field (the other families' MLPs have none in transformers).</summary>
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
        ["Qwen3MoeForCausalLM"] = (Architecture.Qwen3Moe, ModelHead.CausalLM),
        ["DeepseekV3ForCausalLM"] = (Architecture.DeepseekV3, ModelHead.CausalLM),
        ["Qwen2ForSequenceClassification"] = (Architecture.Qwen2, ModelHead.SequenceClassification),
        ["LlamaForSequenceClassification"] = (Architecture.Llama, ModelHead.SequenceClassification),
        ["Qwen3ForSequenceClassification"] = (Architecture.Qwen3, ModelHead.SequenceClassification),
        ["Qwen3MoeForSequenceClassification"] = (Architecture.Qwen3Moe, ModelHead.SequenceClassification),
        ["DeepseekV3ForSequenceClassification"] = (Architecture.DeepseekV3, ModelHead.SequenceClassification),
    };

    static readonly string[] KnownKeys =
    [
        "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings", "rms_norm_eps",
        "rope_theta", "rope_scaling", "rope_parameters", "tie_word_embeddings", "attention_bias", "mlp_bias",
        "initializer_range", "bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "hidden_act",
        "id2label", "label2id", "num_labels", // the head's labels: written from Head (a reward model has one)
        // mixture of experts (Qwen3-MoE, DeepSeek-V3) and latent attention (DeepSeek-V3): MoeSettings, LatentAttentionSettings
        "num_experts", "n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", "norm_topk_prob", "decoder_sparse_step",
        "mlp_only_layers", "router_aux_loss_coef", "output_router_logits", "first_k_dense_replace", "n_group", "topk_group",
        "routed_scaling_factor", "n_shared_experts", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
        "v_head_dim", "rope_interleave",
    ];

    /// <summary>Most parameters a config may describe (10 trillion): anything larger is a typo, not a model.</summary>
    public const long MaxParameters = 10_000_000_000_000;

    /// <summary>Reads <c>config.json</c>; errors name the file and the field and say what was expected.</summary>
    public static ModelConfig Load(string path) => FromJson(JsonInput.ReadObject(path, "config.json"), path);

    /// <summary>
    /// The model described by a parsed config.json. Every field the model uses is checked for its type and range (sizes
    /// positive, heads dividing the hidden size, token ids non-negative integers, …) before anything is allocated;
    /// errors are <see cref="InvalidDataException"/>s naming <paramref name="source"/> and the field.
    /// </summary>
    public static ModelConfig FromJson(JsonObject json, string source = "config.json")
    {
        string Where(string key) => $"{source}: field '{key}'";
        InvalidDataException Bad(string key, string expected, JsonNode? got) =>
            new($"{Where(key)}: expected {expected}, got {JsonInput.Kind(got)}");
        bool Present(string key) => !JsonInput.IsNull(json[key]);

        int Int(string key, int? fallback, int min = 1, int max = int.MaxValue)
        {
            var node = json[key];
            if (JsonInput.IsNull(node)) return fallback ?? throw new InvalidDataException($"{Where(key)} is missing (expected an integer ≥ {min})");
            if (!JsonInput.TryInteger(node, out long v) || v < min || v > max)
                throw Bad(key, max == int.MaxValue ? $"an integer ≥ {min} (at most {int.MaxValue})" : $"an integer from {min} to {max}", node);
            return (int)v;
        }
        double Number(JsonNode? node, string key, double fallback, bool positive)
        {
            if (JsonInput.IsNull(node)) return fallback;
            if (!JsonInput.TryNumber(node, out double v) || (positive ? v <= 0 : v < 0))
                throw Bad(key, positive ? "a finite number > 0" : "a finite number ≥ 0", node);
            return v;
        }
        bool Bool(string key, bool fallback)
        {
            var node = json[key];
            if (JsonInput.IsNull(node)) return fallback;
            return JsonInput.TryBool(node, out bool b) ? b : throw Bad(key, "true or false", node);
        }
        string String(string key, string fallback)
        {
            var node = json[key];
            if (JsonInput.IsNull(node)) return fallback;
            return JsonInput.TryString(node, out var text) ? text : throw Bad(key, "a string", node);
        }
        int? TokenId(JsonNode? node, string key)
        {
            if (JsonInput.IsNull(node)) return null;
            if (!JsonInput.TryInteger(node, out long v) || v < 0 || v > int.MaxValue) throw Bad(key, "a token id (an integer ≥ 0)", node);
            return (int)v;
        }

        // ---- architecture and head ----
        var archNode = json["architectures"];
        if (JsonInput.IsNull(archNode))
            throw new InvalidDataException($"{Where("architectures")} is missing (expected a list such as [\"Qwen2ForCausalLM\"]; supported: {string.Join(", ", Architectures.Keys)})");
        if (archNode is not JsonArray { Count: > 0 } archList || !JsonInput.TryString(archList[0], out var archName))
            throw Bad("architectures", "a list of architecture names such as [\"Qwen2ForCausalLM\"]", archNode);
        if (!Architectures.TryGetValue(archName, out var found))
            throw new InvalidDataException(
                $"{Where("architectures")}: unknown architecture '{archName}'; supported: {string.Join(", ", Architectures.Keys)}");
        var (arch, head) = found;
        if (head == ModelHead.SequenceClassification)
        {
            // transformers derives num_labels from id2label (2 when absent); a reward model has exactly one.
            var id2label = json["id2label"];
            if (!JsonInput.IsNull(id2label) && id2label is not JsonObject) throw Bad("id2label", "an object such as {\"0\": \"LABEL_0\"}", id2label);
            int labels = id2label is JsonObject labelMap ? labelMap.Count : Int("num_labels", 2, min: 0);
            if (labels != 1)
                throw new InvalidDataException($"{Where("id2label")}: {archName} with {labels} labels; only reward models (num_labels = 1) are supported");
        }
        string act = String("hidden_act", "silu");
        if (act is not ("silu" or "swish")) // transformers' ACT2FN: both are nn.SiLU
            throw new InvalidDataException($"{Where("hidden_act")}: '{act}' is not supported (only silu, also spelled swish)");

        // ---- sizes ----
        int vocab = Int("vocab_size", null);
        int hidden = Int("hidden_size", null);
        int intermediate = Int("intermediate_size", null);
        int layers = Int("num_hidden_layers", null);
        int heads = Int("num_attention_heads", null);
        // Sliding-window attention (Qwen2, Qwen3): transformers gives a layer a window only with use_sliding_window and a
        // sliding_window, and only where layer_types says "sliding_attention" (without layer_types: from max_window_layers on).
        if (Bool("use_sliding_window", false) && Present("sliding_window"))
        {
            int firstSliding = Int("max_window_layers", 28, min: 0); // Qwen2Config's and Qwen3Config's default
            int[] sliding = json["layer_types"] is JsonArray types
                ? Enumerable.Range(0, Math.Min(layers, types.Count)).Where(i => JsonInput.TryString(types[i], out var t) && t == "sliding_attention").ToArray()
                : Enumerable.Range(0, layers).Where(i => i >= firstSliding).ToArray();
            if (sliding.Length > 0)
                throw new InvalidDataException($"{Where("use_sliding_window")}: sliding-window attention is not supported (it would apply to layers " +
                    $"{string.Join(", ", sliding.Take(8))}{(sliding.Length > 8 ? ", …" : "")}; max_window_layers or layer_types select them)");
        }
        int kvHeads = Int("num_key_value_heads", heads);
        if (heads % kvHeads != 0)
            throw new InvalidDataException($"{Where("num_key_value_heads")}: {kvHeads} must divide num_attention_heads {heads}");
        int headDim;
        LatentAttentionSettings? mla = null;
        if (arch == Architecture.DeepseekV3)
        {
            int? qRank = Present("q_lora_rank") ? Int("q_lora_rank", null) : null;
            mla = new LatentAttentionSettings(qRank, Int("kv_lora_rank", null), Int("qk_nope_head_dim", null), Int("qk_rope_head_dim", null),
                Int("v_head_dim", null), Bool("rope_interleave", true));
            if (mla.QkRopeHeadDim % 2 != 0) throw new InvalidDataException($"{Where("qk_rope_head_dim")}: {mla.QkRopeHeadDim} must be even (rotary embeddings rotate pairs)");
        }
        if (mla is not null) headDim = mla.QkRopeHeadDim; // transformers' DeepseekV3Config sets head_dim = qk_rope_head_dim (the rotary part)
        else if (Present("head_dim")) headDim = Int("head_dim", null);
        else if (hidden % heads != 0)
            throw new InvalidDataException(
                $"{Where("num_attention_heads")}: hidden_size {hidden} is not divisible by num_attention_heads {heads} (and no head_dim is given)");
        else headDim = hidden / heads;
        if (headDim % 2 != 0)
            throw new InvalidDataException($"{Where(Present("head_dim") ? "head_dim" : "num_attention_heads")}: the head dimension {headDim} must be even (rotary embeddings rotate pairs)");
        int maxPositions = Int("max_position_embeddings", 4096);

        // ---- rotary embeddings: transformers v5 moved rope_theta/rope_scaling into rope_parameters; accept both ----
        string ropeKey = Present("rope_parameters") ? "rope_parameters" : "rope_scaling";
        var ropeNode = json[ropeKey];
        if (!JsonInput.IsNull(ropeNode) && ropeNode is not JsonObject) throw Bad(ropeKey, "an object (or null)", ropeNode);
        var rope = ropeNode as JsonObject;
        double theta = rope is not null && ropeKey == "rope_parameters" && !JsonInput.IsNull(rope["rope_theta"])
            ? Number(rope["rope_theta"], "rope_parameters.rope_theta", 10000.0, positive: true)
            : Number(json["rope_theta"], "rope_theta", 10000.0, positive: true);
        Llama3RopeScaling? scaling = null;
        YarnRopeScaling? yarn = null;
        string ropeType = "default";
        if (rope is not null)
        {
            string typeKey = JsonInput.IsNull(rope["rope_type"]) ? "type" : "rope_type";
            var typeNode = rope[typeKey];
            if (!JsonInput.IsNull(typeNode) && !JsonInput.TryString(typeNode, out ropeType)) throw Bad($"{ropeKey}.{typeKey}", "a string", typeNode);
        }
        if (ropeType == "llama3")
        {
            double F(string k, bool positive = true)
            {
                var node = rope![k];
                if (JsonInput.IsNull(node)) throw new InvalidDataException($"{Where($"{ropeKey}.{k}")} is missing (llama3 scaling needs factor, low_freq_factor, high_freq_factor, original_max_position_embeddings)");
                return Number(node, $"{ropeKey}.{k}", 0, positive);
            }
            double factor = F("factor"), low = F("low_freq_factor"), high = F("high_freq_factor");
            var originalNode = rope!["original_max_position_embeddings"];
            if (!JsonInput.TryInteger(originalNode, out long original) || original < 1 || original > int.MaxValue)
                throw Bad($"{ropeKey}.original_max_position_embeddings", "an integer ≥ 1", originalNode);
            if (high <= low)
                throw new InvalidDataException($"{Where($"{ropeKey}.high_freq_factor")}: {high} must be greater than low_freq_factor {low}");
            scaling = new Llama3RopeScaling(factor, low, high, (int)original);
        }
        else if (ropeType == "yarn")
        {
            double? Opt(string k) => JsonInput.IsNull(rope![k]) ? null : Number(rope[k], $"{ropeKey}.{k}", 0, positive: false);
            var originalNode = rope!["original_max_position_embeddings"];
            if (!JsonInput.TryInteger(originalNode, out long original) || original < 1 || original > int.MaxValue)
                throw Bad($"{ropeKey}.original_max_position_embeddings", "an integer ≥ 1", originalNode);
            double factor = Opt("factor") is { } f && f > 0 ? f : (double)maxPositions / original;
            bool truncate = JsonInput.IsNull(rope["truncate"]) || (JsonInput.TryBool(rope["truncate"], out bool tr) ? tr : throw Bad($"{ropeKey}.truncate", "true or false", rope["truncate"]));
            yarn = new YarnRopeScaling(factor, (int)original, Opt("beta_fast") is { } bf && bf != 0 ? bf : 32, Opt("beta_slow") is { } bs && bs != 0 ? bs : 1,
                Opt("mscale"), Opt("mscale_all_dim"), Opt("attention_factor"), truncate);
        }
        else if (ropeType != "default")
            throw new InvalidDataException($"{Where(ropeKey)}: rope type '{ropeType}' is not supported (default, llama3, yarn)");

        // ---- token ids and dtype ----
        var eosNode = json["eos_token_id"];
        int[] eos = eosNode switch
        {
            _ when JsonInput.IsNull(eosNode) => [],
            JsonArray arr => arr.Select((n, i) => TokenId(n, $"eos_token_id[{i}]") ?? throw Bad($"eos_token_id[{i}]", "a token id (an integer ≥ 0)", n)).ToArray(),
            _ => [TokenId(eosNode, "eos_token_id")!.Value],
        };
        string dtypeKey = Present("torch_dtype") ? "torch_dtype" : "dtype";
        string dtype = String(dtypeKey, "float32");

        MoeSettings? moe = null;
        if (arch == Architecture.Qwen3Moe && Int("num_experts", 0, min: 0) > 0)
        {
            var onlyDense = json["mlp_only_layers"];
            if (!JsonInput.IsNull(onlyDense) && onlyDense is not JsonArray) throw Bad("mlp_only_layers", "a list of layer indices", onlyDense);
            var dense = (onlyDense as JsonArray ?? []).Select((n, i) =>
                JsonInput.TryInteger(n, out long v) && v >= 0 ? (int)Math.Min(v, int.MaxValue) : throw Bad($"mlp_only_layers[{i}]", "a layer index (an integer ≥ 0)", n)).ToArray();
            moe = new MoeSettings
            {
                Router = RouterKind.Softmax,
                NumExperts = Int("num_experts", null),
                TopK = Int("num_experts_per_tok", null),
                ExpertIntermediateSize = Int("moe_intermediate_size", null),
                NormTopkProb = Bool("norm_topk_prob", false),
                DecoderSparseStep = Int("decoder_sparse_step", 1),
                MlpOnlyLayers = dense,
                RouterAuxLossCoef = Number(json["router_aux_loss_coef"], "router_aux_loss_coef", 0.001, positive: false),
                OutputRouterLogits = Bool("output_router_logits", false),
            };
        }
        else if (arch == Architecture.DeepseekV3)
            moe = new MoeSettings
            {
                Router = RouterKind.SigmoidGrouped,
                NumExperts = Int("n_routed_experts", null),
                TopK = Int("num_experts_per_tok", null),
                ExpertIntermediateSize = Int("moe_intermediate_size", null),
                NormTopkProb = Bool("norm_topk_prob", true),
                FirstKDenseReplace = Int("first_k_dense_replace", 0, min: 0),
                NumGroups = Int("n_group", 1),
                TopkGroup = Int("topk_group", 1),
                RoutedScalingFactor = Number(json["routed_scaling_factor"], "routed_scaling_factor", 1.0, positive: true),
                NumSharedExperts = Int("n_shared_experts", 0, min: 0),
            };
        if (moe is not null)
        {
            if (moe.TopK > moe.NumExperts)
                throw new InvalidDataException($"{Where("num_experts_per_tok")}: {moe.TopK} is more than the {moe.NumExperts} experts");
            if (moe.NumExperts % moe.NumGroups != 0)
                throw new InvalidDataException($"{Where("n_group")}: {moe.NumGroups} must divide n_routed_experts {moe.NumExperts}");
            if (moe.TopkGroup > moe.NumGroups)
                throw new InvalidDataException($"{Where("topk_group")}: {moe.TopkGroup} is more than n_group {moe.NumGroups}");
            if (moe.Router == RouterKind.SigmoidGrouped && moe.NumExperts / moe.NumGroups < 2 && moe.NumGroups > 1)
                throw new InvalidDataException($"{Where("n_group")}: each group needs at least two experts (a group's score is the sum of its top two)");
            if (moe.TopK > moe.TopkGroup * (moe.NumExperts / moe.NumGroups))
                throw new InvalidDataException($"{Where("num_experts_per_tok")}: {moe.TopK} experts do not fit in topk_group {moe.TopkGroup} groups of {moe.NumExperts / moe.NumGroups}");
        }
        bool attentionBias = Bool("attention_bias", false), mlpBias = Bool("mlp_bias", false), tied = Bool("tie_word_embeddings", false);
        double eps = Number(json["rms_norm_eps"], "rms_norm_eps", 1e-6, positive: true);
        double initializerRange = Number(json["initializer_range"], "initializer_range", 0.02, positive: false);
        var config = new ModelConfig
        {
            Architecture = arch,
            Head = head,
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = intermediate,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            MaxPositionEmbeddings = maxPositions,
            RmsNormEps = eps,
            RopeTheta = theta,
            RopeScaling = scaling,
            Yarn = yarn,
            Moe = moe,
            Mla = mla,
            TieWordEmbeddings = tied,
            AttentionBias = arch == Architecture.Qwen2 || attentionBias,
            MlpBias = arch == Architecture.Llama && mlpBias, // a LlamaConfig field: the other families' MLPs have no bias in transformers
            InitializerRange = initializerRange,
            BosTokenId = TokenId(json["bos_token_id"], "bos_token_id"),
            EosTokenIds = eos,
            PadTokenId = TokenId(json["pad_token_id"], "pad_token_id"),
            TorchDtype = dtype,
            Extra = Unknown(json),
        };
        long parameters;
        try { parameters = config.ParameterCount(); }
        catch (OverflowException) { parameters = long.MaxValue; }
        if (parameters > MaxParameters)
            throw new InvalidDataException(
                $"{source}: the sizes (vocab_size {vocab}, hidden_size {hidden}, intermediate_size {intermediate}, num_hidden_layers {layers}, " +
                $"num_attention_heads {heads} × head_dim {headDim}) describe {(parameters == long.MaxValue ? "more than 9e18" : parameters.ToString("E2"))} parameters; " +
                $"expected at most {MaxParameters:E0} (is one of them a typo?)");
        return config;
    }

    static JsonObject Unknown(JsonObject json)
    {
        var extra = new JsonObject();
        foreach (var (key, value) in json)
            if (!KnownKeys.Contains(key)) extra[key] = value?.DeepClone();
        return extra;
    }

    /// <summary>The config.json that transformers and vLLM read for this model.</summary>
    public JsonObject ToJson()
    {
        var (family, modelType) = Architecture switch
        {
            Architecture.Qwen2 => ("Qwen2", "qwen2"),
            Architecture.Llama => ("Llama", "llama"),
            Architecture.Qwen3 => ("Qwen3", "qwen3"),
            Architecture.Qwen3Moe => ("Qwen3Moe", "qwen3_moe"),
            _ => ("DeepseekV3", "deepseek_v3"),
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
                : Yarn is { } y
                    ? new JsonObject
                    {
                        ["rope_type"] = "yarn", ["factor"] = y.Factor, ["original_max_position_embeddings"] = y.OriginalMaxPositionEmbeddings,
                        ["beta_fast"] = y.BetaFast, ["beta_slow"] = y.BetaSlow, ["mscale"] = y.Mscale, ["mscale_all_dim"] = y.MscaleAllDim,
                        ["attention_factor"] = y.AttentionFactor, ["truncate"] = y.Truncate,
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
        if (Mla is not null) { json.Remove("head_dim"); Mla.WriteTo(json); }
        Moe?.WriteTo(Architecture, json);
        if (Head == ModelHead.SequenceClassification) // num_labels = 1, as transformers writes it
        {
            json["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
            json["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        }
        foreach (var (key, value) in Extra) json[key] = value?.DeepClone();
        return json;
    }

    /// <summary>Parameter count, including the head when it is not tied (or the score head of a reward model).</summary>
    /// <exception cref="OverflowException">The sizes do not fit a long (a config read by <see cref="FromJson"/> never does).</exception>
    public long ParameterCount() => CountParameters(active: false);

    /// <summary>
    /// Parameters one token passes through: as <see cref="ParameterCount"/>, but of each MoE layer's routed experts only the
    /// <c>num_experts_per_tok</c> it is sent to (the router and the shared experts count in full). Equal to it for dense models.
    /// </summary>
    public long ActiveParameterCount() => CountParameters(active: true);

    long CountParameters(bool active)
    {
        checked
        {
            long h = HiddenSize, q = (long)NumHeads * HeadDim, kv = (long)NumKvHeads * HeadDim;
            long attention = Mla is { } m
                ? m.ParameterCount(h, NumHeads, AttentionBias)
                : h * q + 2 * h * kv + q * h
                  + (AttentionBias ? q + 2 * kv + (Architecture == Architecture.Qwen2 ? 0 : h) : 0)
                  + (Architecture is Architecture.Qwen3 or Architecture.Qwen3Moe ? 2L * HeadDim : 0);
            long Ffn(long inner) => 3 * h * inner + (MlpBias ? 2L * inner + h : 0);
            long layers = 0;
            for (int i = 0; i < NumLayers; i++)
            {
                long ffn = Moe is { } e && e.IsSparse(i)
                    ? e.NumExperts * h + (Architecture == Architecture.DeepseekV3 ? e.NumExperts : 0) // router (+ correction bias)
                      + (active ? e.TopK : e.NumExperts) * Ffn(e.ExpertIntermediateSize)
                      + (e.NumSharedExperts > 0 ? Ffn((long)e.ExpertIntermediateSize * e.NumSharedExperts) : 0)
                    : Ffn(IntermediateSize);
                layers += attention + ffn + 2 * h;
            }
            long head = Head == ModelHead.SequenceClassification ? h : TieWordEmbeddings ? 0 : (long)VocabSize * h;
            return (long)VocabSize * h + head + layers + h;
        }
    }
}
