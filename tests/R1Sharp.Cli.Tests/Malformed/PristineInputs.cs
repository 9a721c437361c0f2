using System.IO.Compression;
using R1Sharp.Model;
using R1Sharp.Tests;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using static TorchSharp.torch;

namespace R1Sharp.Cli.Tests.Malformed;

/// <summary>
/// The valid inputs the corpus corrupts: the hf-tiny fixtures (checkpoints written by transformers), the trained-bpe4k
/// tokenizer fixture (tokenizer.json unpacked so that it can be edited), and — built once per test run from those — a
/// text model (random weights, that tokenizer) with a resumable GRPO run folder whose checkpoint holds a real AdamW
/// state after one step. Cases copy these into their own workspace before changing anything.
/// </summary>
public static class PristineInputs
{
    public static string Qwen2 { get; } = RepoPaths.Fixture("hf-tiny", "qwen2-tiny");

    public static string Llama3 { get; } = RepoPaths.Fixture("hf-tiny", "llama3-tiny");

    /// <summary>A PEFT LoRA adapter for <see cref="Qwen2"/> (q_proj and v_proj, r 4), made by tests/fixtures/lora/make_fixture.py.</summary>
    public static string Adapter { get; } = RepoPaths.Fixture("lora", "qwen2-tiny-qv");

    static readonly Lazy<string> Shared = new(Create);

    /// <summary>tokenizer.json + tokenizer_config.json of the trained-bpe4k fixture (4,096 tokens, EOS &lt;|im_end|&gt;).</summary>
    public static string Tokenizer => Path.Combine(Shared.Value, "tokenizer");

    /// <summary>A 2-layer Qwen2 model over the tokenizer's vocabulary, with the tokenizer files.</summary>
    public static string TextModel => Path.Combine(Shared.Value, "base");

    /// <summary>A GRPO run folder: checkpoint/ with the model, trainer_state.json (step 1), optimizer.bin and rng.bin.</summary>
    public static string ResumeRun => Path.Combine(Shared.Value, "run");

    /// <summary>The optimizer.bin of a different model (one layer instead of two).</summary>
    public static string OtherOptimizer => Path.Combine(Shared.Value, "other-optimizer.bin");

    static string Create()
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-malformed-inputs-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };

        var fixture = RepoPaths.Fixture("tokenizers", "trained-bpe4k");
        var tokenizerDir = Directory.CreateDirectory(Path.Combine(dir, "tokenizer")).FullName;
        File.Copy(Path.Combine(fixture, "tokenizer_config.json"), Path.Combine(tokenizerDir, "tokenizer_config.json"));
        using (var gz = new GZipStream(File.OpenRead(Path.Combine(fixture, "tokenizer.json.gz")), CompressionMode.Decompress))
        using (var json = File.Create(Path.Combine(tokenizerDir, "tokenizer.json")))
            gz.CopyTo(json);

        var tokenizer = HfTokenizer.Load(tokenizerDir);
        int eos = tokenizer.EosTokenId ?? throw new InvalidOperationException("the fixture tokenizer has no EOS token");
        ModelConfig Config(int layers) => ModelPresets.Create("300k", tokenizer.VocabSize, 256, null, eos, eos) with
        {
            HiddenSize = 32, NumLayers = layers, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, IntermediateSize = 64,
        };

        using var model = new CausalLM(Config(2));
        model.InitializeWeights(seed: 7);
        Checkpoint.Save(model, Path.Combine(dir, "base"), companionsFrom: tokenizerDir);

        // One AdamW step, so that the saved moments are not all zero.
        using var optimizer = Optimizers.AdamW(model, 1e-3);
        using (var scope = NewDisposeScope())
        {
            var ids = tensor(tokenizer.Encode("Janet has 3 apples and buys 5 more.").Select(i => (long)i).ToArray()).unsqueeze(0);
            var loss = -model.Forward(ids).log_softmax(-1).mean();
            loss.backward();
            optimizer.step();
        }
        TrainingCheckpoint.Save(Path.Combine(dir, "run", "checkpoint"), model, optimizer, new TrainerState(1, 2), companionsFrom: tokenizerDir);

        using var other = new CausalLM(Config(1));
        using var otherOptimizer = Optimizers.AdamW(other, 1e-3);
        otherOptimizer.save_state_dict(Path.Combine(dir, "other-optimizer.bin"));
        return dir;
    }
}
