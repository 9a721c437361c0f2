using R1Sharp.Model;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Recipes.Tests;

/// <summary>A 2-layer model with a tokenizer trained on a slice of the embedded corpus, saved once per test run.</summary>
public static class TinyModels
{
    static readonly Lazy<string> Folder = new(Create);

    /// <summary>A checkpoint folder (config, weights, tokenizer) with random weights; treat it as read-only.</summary>
    public static string Path => Folder.Value;

    static readonly Lazy<string> MoeFolder = new(() => Create(moe: true));

    /// <summary>The same with DeepSeek-V3's architecture (the dsv3-1m preset shrunk): latent attention, 1 dense + 1 sparse layer.</summary>
    public static string MoePath => MoeFolder.Value;

    static string Create() => Create(moe: false);

    static string Create(bool moe)
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-tiny-").FullName;
        var corpus = EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: 300, Seed: 1));
        var tokenizer = new BpeTrainer(new BpeTrainerOptions
        {
            VocabSize = 400, SpecialTokens = ["<|endoftext|>"], EosToken = "<|endoftext|>", PadToken = "<|endoftext|>",
        }).Train(corpus);
        tokenizer.Save(dir);
        int eos = tokenizer.EosTokenId!.Value;
        var config = ModelPresets.Create("1m", tokenizer.VocabSize, 512, null, eos, eos) with
        {
            HiddenSize = 32, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, IntermediateSize = 64,
        };
        if (moe)
            config = ModelPresets.Create("dsv3-1m", tokenizer.VocabSize, 512, null, eos, eos) with
            {
                HiddenSize = 32, NumLayers = 2, IntermediateSize = 64,
                Mla = new LatentAttentionSettings(QLoraRank: 16, KvLoraRank: 16, QkNopeHeadDim: 8, QkRopeHeadDim: 8, VHeadDim: 8, RopeInterleave: true),
                HeadDim = 8,
                Moe = ModelPresets.Create("dsv3-1m", 400, 512, null, eos, eos).Moe! with { ExpertIntermediateSize = 16 },
            };
        using var model = new CausalLM(config);
        model.InitializeWeights(seed: 3);
        Checkpoint.Save(model, dir, companionsFrom: dir);
        return dir;
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("r1sharp-test-").FullName;
    public string Sub(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}
