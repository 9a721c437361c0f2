// r1sharp pretrain --output runs/base [--config configs/pretrain.yaml] [--resume]
//
// Pretrains a small Qwen2-architecture model from scratch with next-token cross-entropy:
//     L(θ) = −(1/N) Σ_t log p_θ(x_{t+1} | x_≤t)   over packed rows of the corpus.
// The default corpus is the embedded arithmetic task's (R1Sharp.Rewards.Tasks.Arithmetic): facts, direct answers
// (some wrong) and a few worked examples, so the base model is imperfect on purpose, as R1's base is: it knows the
// vocabulary and the problems but usually answers without working.
// Deliberate choices: documents are packed end to end with an EOS between them and attention runs across document
// boundaries within a row (nanoGPT-style; no block-diagonal masks); no dropout; tied embeddings.
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Pretrain;

public sealed record PretrainOptions
{
    /// <summary>
    /// Model shape (ModelPresets: 1m, 3m, 6m, 25m). The default 1m (d 128 × 4 layers) learns the embedded task's copying
    /// (an induction head forms within ~500 steps) and its arithmetic facts in about 6 minutes on 2 CPU cores.
    /// </summary>
    public string Preset { get; init; } = "1m";
    /// <summary>BPE vocabulary trained on the corpus.</summary>
    [Range(260, 1 << 20)]
    public int VocabSize { get; init; } = 1024;
    /// <summary>
    /// How the tokenizer trainer splits text before merging: <c>words</c> (Qwen2's regex: merges stay inside words) or
    /// <c>phrases</c> (only digits are split off, so frequent phrases such as the R1-Zero template become a few tokens,
    /// as in SentencePiece without whitespace splitting). Digits are single tokens either way.
    /// </summary>
    public string TokenizerSplit { get; init; } = "phrases";
    /// <summary>An existing tokenizer folder to use instead of training one (a distillation student shares its teacher's
    /// vocabulary, so token-level distillation is possible).</summary>
    public string? Tokenizer { get; init; }
    /// <summary>A text file (.txt: one document per blank-line-separated block; .jsonl: {"text": …} rows); null = the embedded arithmetic corpus.</summary>
    public string? Corpus { get; init; }
    /// <summary>Documents in the embedded corpus.</summary>
    [Range(1, int.MaxValue)]
    public int CorpusDocuments { get; init; } = 20_000;
    /// <summary>Embedded corpus mix (PretrainingCorpusOptions): arithmetic facts, direct answers, worked examples in the
    /// R1-Zero format, textbook solutions (worked, no template), general exchanges; the five shares sum to 1.</summary>
    public double FactShare { get; init; } = 0.20;
    public double DirectShare { get; init; } = 0.35;
    public double WorkedShare { get; init; } = 0.15;
    public double TextbookShare { get; init; } = 0.25;
    public double GeneralShare { get; init; } = 0.05;
    /// <summary>Share of direct answers that are wrong, as a careless writer's would be.</summary>
    public double WrongDirectShare { get; init; } = 0.3;
    /// <summary>Embedded problems: operations, operand ranges, wording (expressions by default: a tiny model learns to copy them).</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    [Range(1, int.MaxValue)]
    public int SequenceLength { get; init; } = 256;
    [Range(1, int.MaxValue)]
    public int BatchSize { get; init; } = 16;
    [Range(1, int.MaxValue)]
    public int Steps { get; init; } = 1200;
    [Range(0.0, 1.0)]
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 30;
    public double MinLearningRateRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.1;
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Share of packed rows held out for the evaluation loss.</summary>
    public double EvalShare { get; init; } = 0.01;
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 10;
    [Range(1, int.MaxValue)]
    public int CheckpointEvery { get; init; } = 100;
    public long Seed { get; init; }
    public string Dtype { get; init; } = "float32";
    public string Device { get; init; } = "cpu";
}

public sealed record PretrainResult(string ModelDirectory, int Steps, double TrainLoss, double EvalLoss, double TokensPerSecond, double Seconds);

public static class PretrainRecipe
{
    public const string EndOfText = "<|endoftext|>";

    /// <summary>
    /// Digits one by one, newlines on their own, tags such as " &lt;think&gt;" with their leading space, and every other
    /// run of text free to merge across spaces. A run stops before " &lt;", so a prompt ending in "Assistant:" splits
    /// exactly as the same prompt does inside a training document (no token straddles the prompt/completion edge).
    /// </summary>
    public const string PhraseSplitPattern = @"\p{N}|\n|\s?<[^<>\s\p{N}]*>?|[^\p{N}\n<]+?(?=\s?<|\p{N}|\n|$)";

    public static PretrainResult Run(PretrainOptions o, string output, RunSettings? settings = null)
    {
        settings ??= new RunSettings();
        var ct = settings.Cancel;
        Directory.CreateDirectory(output);
        var clock = Stopwatch.StartNew();
        var device = o.Device == "cpu" ? CPU : new Device(o.Device);
        manual_seed(o.Seed);

        // ---- data: corpus → tokenizer → packed rows of T + 1 tokens ----
        var documents = o.Corpus is null
            ? EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: o.CorpusDocuments, Seed: (int)o.Seed,
                FactShare: o.FactShare, DirectShare: o.DirectShare, WorkedShare: o.WorkedShare, TextbookShare: o.TextbookShare, GeneralShare: o.GeneralShare, WrongDirectShare: o.WrongDirectShare,
                Difficulty: o.Difficulty))
            : ReadCorpus(o.Corpus);
        var tokenizerDir = Path.Combine(output, "tokenizer");
        HfTokenizer tokenizer;
        if (Directory.Exists(tokenizerDir)) tokenizer = HfTokenizer.Load(tokenizerDir);
        else if (o.Tokenizer is not null)
        {
            HfTokenizer.Load(o.Tokenizer).Save(tokenizerDir);
            tokenizer = HfTokenizer.Load(tokenizerDir);
        }
        else
        {
            tokenizer = new BpeTrainer(new BpeTrainerOptions
            {
                VocabSize = o.VocabSize, SpecialTokens = [EndOfText], EosToken = EndOfText, PadToken = EndOfText,
                // One token each wherever they stand, as in Qwen3's and DeepSeek-R1's tokenizers; <think> swallows the space
                // before it, so a prompt ending in "Assistant:" meets the model's "<think>" as in training.
                AddedTokens = [new AddedTokenSpec("<think>", LStrip: true), "</think>"],
                ModelMaxLength = o.SequenceLength,
                SplitPattern = o.TokenizerSplit switch
                {
                    "words" => BpeTrainerOptions.Qwen2SplitPattern,
                    "phrases" => PhraseSplitPattern,
                    _ => throw new ArgumentException($"tokenizer_split: '{o.TokenizerSplit}' is not words or phrases"),
                },
                MaxTokenLength = 48,
            }).Train(documents, ct);
            tokenizer.Save(tokenizerDir);
            tokenizer = HfTokenizer.Load(tokenizerDir);
        }
        int eos = tokenizer.EosTokenId ?? throw new InvalidDataException($"{tokenizerDir}: no EOS token");
        var rows = Pack(documents, tokenizer, eos, o.SequenceLength);
        int evalRows = Math.Max(1, (int)(rows.Count * o.EvalShare));
        var evalSet = rows.GetRange(rows.Count - evalRows, evalRows);
        rows.RemoveRange(rows.Count - evalRows, evalRows);
        var messages = new List<string>();
        messages.Add($"corpus: {documents.Count:N0} documents → {rows.Count:N0} training rows of {o.SequenceLength} tokens " +
            $"({(long)rows.Count * o.SequenceLength:N0} tokens, vocabulary {tokenizer.VocabSize:N0}); {evalRows} rows held out");

        // ---- model and optimiser (fresh, or from the last complete checkpoint) ----
        var checkpointDir = Path.Combine(output, "checkpoint");
        var resumeFrom = settings.Resume ? TrainingCheckpoint.Find(checkpointDir) : null;
        var dtype = Precision.Parse(o.Dtype);
        CausalLM model;
        if (resumeFrom is not null) model = Checkpoint.Load(resumeFrom, dtype, device);
        else
        {
            var config = ModelPresets.Create(o.Preset, tokenizer.VocabSize, o.SequenceLength * 2, null, eos, eos);
            model = new CausalLM(config, dtype, device);
            model.InitializeWeights(o.Seed);
        }
        using var _ = model;
        var optimizer = Optimizers.AdamW(model, o.LearningRate, o.WeightDecay, 0.9, 0.95);
        var schedule = new LearningRateSchedule(o.LearningRate, o.WarmupSteps, o.Steps, o.MinLearningRateRatio);
        var state = new TrainerState(0, 0);
        if (resumeFrom is not null)
        {
            state = TrainingCheckpoint.Restore(resumeFrom, optimizer);
            messages.Add($"resumed from {resumeFrom} at step {state.Step}");
        }
        messages.Add($"model: {model.Config.ParameterCount() / 1e6:F2}M parameters ({o.Preset}), {o.Steps} steps of {o.BatchSize} × {o.SequenceLength} tokens");
        using var log = new RunLog(output, "pretrain", o.Steps, resumeFrom is null ? null : state.Step, settings,
            ["loss", "learning_rate", "tokens_per_second"]);
        messages.ForEach(log.Say);

        // ---- training loop ----
        var guard = new NonFiniteGuard(warn: log.Say);
        var order = new EpochOrder(rows.Count, o.Seed, "pretrain");
        double lastLoss = double.NaN, tokensSeen = 0;
        var window = Stopwatch.StartNew();
        for (int step = state.Step; step < o.Steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = Batch(rows, order, state.DataPosition, o.BatchSize, device);   // (B, T + 1)
            var input = batch.narrow(1, 0, o.SequenceLength);
            var target = batch.narrow(1, 1, o.SequenceLength);
            var loss = TokenLosses.CrossEntropy(model.Forward(input), target, ones_like(target, dtype: ScalarType.Bool));
            loss.backward();
            double lossValue = loss.item<float>();
            double gradNorm = Optimizers.ClipGradients(model, o.MaxGradNorm);
            if (guard.Allow(step + 1, lossValue, gradNorm))
            {
                Optimizers.SetLearningRate(optimizer, schedule.At(step));
                optimizer.step();
            }
            optimizer.zero_grad();
            state = state with { Step = step + 1, DataPosition = state.DataPosition + o.BatchSize };
            lastLoss = lossValue;
            tokensSeen += o.BatchSize * o.SequenceLength;

            if ((step + 1) % o.LogEvery == 0 || step + 1 == o.Steps)
            {
                double tps = tokensSeen / window.Elapsed.TotalSeconds;
                log.Step(step + 1, new Dictionary<string, double>
                    {
                        ["loss"] = lossValue, ["learning_rate"] = schedule.At(step), ["grad_norm"] = gradNorm, ["tokens_per_second"] = tps,
                    },
                    $"step {step + 1}/{o.Steps}  loss {lossValue:F4}  lr {schedule.At(step):E2}  grad norm {gradNorm:F2}  {tps:N0} tokens/s");
                tokensSeen = 0;
                window.Restart();
            }
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < o.Steps)
                TrainingCheckpoint.Save(checkpointDir, model, optimizer, state, companionsFrom: tokenizerDir);
        }

        // ---- evaluate, save ----
        double evalLoss = EvalLoss(model, evalSet, o.SequenceLength, o.BatchSize, device);
        TrainingCheckpoint.Save(checkpointDir, model, optimizer, state, companionsFrom: tokenizerDir);
        var modelDir = Path.Combine(output, "model");
        Checkpoint.Save(model, modelDir, companionsFrom: tokenizerDir);
        var result = new PretrainResult(modelDir, state.Step, lastLoss, evalLoss,
            (double)state.Step * o.BatchSize * o.SequenceLength / clock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds);
        File.WriteAllText(Path.Combine(output, "summary.json"), JsonSerializer.Serialize(result, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        log.Step(state.Step, new Dictionary<string, double> { ["eval_loss"] = evalLoss }, $"eval loss {evalLoss:F4}");
        log.Say($"done: eval loss {evalLoss:F4}, model saved to {modelDir} ({clock.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    static IReadOnlyList<string> ReadCorpus(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: corpus not found", path);
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            var docs = new List<string>();
            int line = 0;
            foreach (var raw in File.ReadLines(path))
            {
                line++;
                if (string.IsNullOrWhiteSpace(raw)) continue;
                var text = (JsonNode.Parse(raw) as JsonObject)?["text"]?.GetValue<string>()
                           ?? throw new InvalidDataException($"{path}:{line}: field 'text' is missing");
                docs.Add(text);
            }
            return docs;
        }
        return File.ReadAllText(path).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Encodes every document, appends EOS, and cuts the stream into rows of T + 1 tokens (stride T).</summary>
    static List<long[]> Pack(IReadOnlyList<string> documents, HfTokenizer tokenizer, int eos, int t)
    {
        var stream = new List<long>();
        foreach (var d in documents)
        {
            foreach (var id in tokenizer.Encode(d)) stream.Add(id);
            stream.Add(eos);
        }
        var rows = new List<long[]>();
        for (int start = 0; start + t + 1 <= stream.Count; start += t) rows.Add(stream.GetRange(start, t + 1).ToArray());
        return rows;
    }

    static Tensor Batch(List<long[]> rows, EpochOrder order, long position, int batchSize, Device device)
    {
        int width = rows[0].Length;
        var data = new long[batchSize * width];
        for (int b = 0; b < batchSize; b++) rows[order.At(position + b)].CopyTo(data, b * width);
        return tensor(data, [batchSize, width], device: device);
    }

    static double EvalLoss(CausalLM model, List<long[]> rows, int t, int batchSize, Device device)
    {
        using var noGrad = no_grad();
        double total = 0;
        int count = 0;
        for (int start = 0; start < rows.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(batchSize, rows.Count - start);
            var batch = tensor(rows.GetRange(start, n).SelectMany(r => r).ToArray(), [n, t + 1], device: device);
            total += TokenLosses.CrossEntropy(model.Forward(batch.narrow(1, 0, t)), batch.narrow(1, 1, t), ones(n, t, dtype: ScalarType.Bool)).item<float>() * n;
            count += n;
        }
        return total / count;
    }
}
