using R1Sharp.Model;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;

/// <summary>The benchmarks' model: a preset (1m by default), randomly initialised, with a BPE tokenizer trained on a small embedded corpus.</summary>
static class TinyModel
{
    /// <summary>Saves the tokenizer and the model of <paramref name="preset"/> (HF layout) in <paramref name="dir"/>.</summary>
    public static void Save(string dir, string preset = "1m")
    {
        var corpus = EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: 300, Seed: 1));
        var tokenizer = new BpeTrainer(new BpeTrainerOptions
        {
            VocabSize = 1024, SpecialTokens = ["<|endoftext|>"], EosToken = "<|endoftext|>", PadToken = "<|endoftext|>",
        }).Train(corpus);
        tokenizer.Save(dir);
        int eos = tokenizer.EosTokenId!.Value;
        using var model = new CausalLM(ModelPresets.Create(preset, tokenizer.VocabSize, 1024, null, eos, eos));
        model.InitializeWeights(1);
        Checkpoint.Save(model, dir, companionsFrom: dir);
    }
}
