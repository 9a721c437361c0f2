namespace R1Sharp.Model;

/// <summary>
/// Named shapes for models trained from scratch: <see cref="All"/> in the Qwen2 architecture (q/k/v biases, GQA, tied
/// embeddings), <see cref="MixtureOfExperts"/> in DeepSeek-V3's (MLA + MoE) and Qwen3-MoE's.
/// Sizes are for a 1,024-token vocabulary; the vocabulary adds vocab × hidden.
/// </summary>
public static class ModelPresets
{
    public sealed record Shape(int Hidden, int Layers, int Heads, int KvHeads, int Intermediate);

    public static IReadOnlyDictionary<string, Shape> All { get; } = new Dictionary<string, Shape>
    {
        ["300k"] = new(96, 3, 4, 2, 256),    // ≈ 0.35M parameters (the CPU demo's distillation student)
        ["1m"] = new(128, 4, 4, 2, 384),     // ≈ 0.9M
        ["3m"] = new(192, 6, 6, 2, 512),     // ≈ 2.6M
        ["6m"] = new(256, 8, 8, 4, 704),     // ≈ 6.2M
        ["25m"] = new(512, 8, 8, 4, 1408),   // ≈ 26M (the shape of bench/R1Sharp.Bench)
    };

    /// <summary>
    /// Mixture-of-experts presets. dsv3-1m, DeepSeek-V3 architecture (latent attention, sigmoid group-limited routing, a
    /// shared expert, the first layer dense): d 128 × 4 layers, 8 experts of width 96 (top-2 in 2 groups, 1 group per
    /// token) + 1 shared; ≈ 0.82M active of 1.5M parameters with a 1,024-token vocabulary (the "1m" dense preset's budget).
    /// qwen3moe-1m: the Qwen3-MoE architecture at the same budget — d 128 × 4 layers (the first dense: mlp_only_layers [0]),
    /// grouped-query attention with q/k norms, 8 experts of width 96 top-2 (softmax, renormalised), no shared expert, the
    /// Switch load-balancing loss on (output_router_logits, router_aux_loss_coef 0.001).
    /// </summary>
    public static IReadOnlyList<string> MixtureOfExperts { get; } = ["dsv3-1m", "qwen3moe-1m"];

    /// <summary>Every preset name.</summary>
    public static IEnumerable<string> Names => All.Keys.Concat(MixtureOfExperts);

    public static ModelConfig Create(string preset, int vocabSize, int maxPositions, int? bosTokenId, int eosTokenId, int? padTokenId)
    {
        ModelConfig Dense(Shape s) => new()
        {
            Architecture = Architecture.Qwen2,
            VocabSize = vocabSize,
            HiddenSize = s.Hidden,
            IntermediateSize = s.Intermediate,
            NumLayers = s.Layers,
            NumHeads = s.Heads,
            NumKvHeads = s.KvHeads,
            HeadDim = s.Hidden / s.Heads,
            MaxPositionEmbeddings = maxPositions,
            RmsNormEps = 1e-6,
            RopeTheta = 10000,
            TieWordEmbeddings = true,
            AttentionBias = true,
            BosTokenId = bosTokenId,
            EosTokenIds = [eosTokenId],
            PadTokenId = padTokenId,
            TorchDtype = "float32",
        };

        // The MoE presets keep the 1m shape's width, depth and heads and swap the parts their architecture changes.
        if (preset == "dsv3-1m")
            return Dense(All["1m"]) with
            {
                Architecture = Architecture.DeepseekV3,
                AttentionBias = false,
                NumKvHeads = 4,
                HeadDim = 16,
                Mla = new LatentAttentionSettings(QLoraRank: 64, KvLoraRank: 32, QkNopeHeadDim: 32, QkRopeHeadDim: 16, VHeadDim: 32, RopeInterleave: true),
                Moe = new MoeSettings
                {
                    Router = RouterKind.SigmoidGrouped, NumExperts = 8, TopK = 2, ExpertIntermediateSize = 96, NormTopkProb = true,
                    FirstKDenseReplace = 1, NumGroups = 2, TopkGroup = 1, RoutedScalingFactor = 1.0, NumSharedExperts = 1,
                },
            };
        if (preset == "qwen3moe-1m")
            return Dense(All["1m"]) with
            {
                Architecture = Architecture.Qwen3Moe,
                AttentionBias = false,
                Moe = new MoeSettings
                {
                    Router = RouterKind.Softmax, NumExperts = 8, TopK = 2, ExpertIntermediateSize = 96, NormTopkProb = true,
                    DecoderSparseStep = 1, MlpOnlyLayers = [0], OutputRouterLogits = true, RouterAuxLossCoef = 0.001,
                },
            };
        if (!All.TryGetValue(preset, out var shape))
            throw new ArgumentException($"unknown model preset '{preset}' (one of {string.Join(", ", Names)})");
        return Dense(shape);
    }
}
