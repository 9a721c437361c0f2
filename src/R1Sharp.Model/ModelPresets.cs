namespace R1Sharp.Model;

/// <summary>
/// Named shapes for models trained from scratch (Qwen2 architecture: q/k/v biases, GQA, tied embeddings).
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

    public static ModelConfig Create(string preset, int vocabSize, int maxPositions, int? bosTokenId, int eosTokenId, int? padTokenId)
    {
        if (!All.TryGetValue(preset, out var s))
            throw new ArgumentException($"unknown model preset '{preset}' (one of {string.Join(", ", All.Keys)})");
        return new ModelConfig
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
    }
}
