// r1sharp pretrain --output runs/base [--config FILE.yaml] [--resume]
//
// Pretrains a small Qwen2-architecture model from scratch with next-token cross-entropy:
//     L(θ) = −(1/N) Σ_t log p_θ(x_{t+1} | x_≤t)   over packed rows of the corpus.
// The default corpus is the embedded arithmetic task's (R1Sharp.Tasks.Arithmetic): facts, direct answers
// (some wrong) and a few worked examples, so the base model is imperfect on purpose, as R1's base is: it knows the
// vocabulary and the problems but usually answers without working.
// Data-parallel (mpiexec, docs/distributed.md): each step's B rows are chosen as in one process; rank r takes its
// contiguous share b_r (TrainingRun.Shard) and back-propagates its rows' mean loss × b_r / B, so the gradients summed
// over ranks are the one-process step's.
// Deliberate choices: documents are packed end to end with an EOS between them and attention runs across document
// boundaries within a row (nanoGPT-style; no block-diagonal masks); no dropout; tied embeddings.
// Opening the run, bf16 master weights, the optimiser step, checkpoints and summary.json are TrainingRun's and
// OptimizerStep's (docs/architecture.md); this file is the corpus, the tokenizer and the loop.
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using R1Sharp.Data;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Distributed;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Pretrain;

/// <summary>How the tokenizer trainer splits text before merging.</summary>
public enum TokenizerSplit
{
    /// <summary>Qwen2's regex: merges stay inside words.</summary>
    Words,
    /// <summary>Only digits (and tags) are split off, so frequent phrases such as the R1-Zero template become a few tokens, as in SentencePiece without whitespace splitting.</summary>
    Phrases,
}

public sealed record PretrainOptions
{
    /// <summary>
    /// Model shape (ModelPresets: 1m, 3m, 6m, 25m; dsv3-1m, a DeepSeek-V3 mixture of experts with 0.82M active parameters).
    /// The default 1m (d 128 × 4 layers) learns the embedded task's copying (an induction head forms within ~500 steps)
    /// and its arithmetic facts in about 6 minutes on 2 CPU cores.
    /// </summary>
    public string Preset { get; init; } = "1m";
    /// <summary>BPE vocabulary trained on the corpus.</summary>
    [Range(260, 1 << 20)]
    public int VocabSize { get; init; } = 1024;
    /// <summary>How the tokenizer trainer splits text before merging: <c>words</c> or <c>phrases</c>. Digits are single tokens either way.</summary>
    public TokenizerSplit TokenizerSplit { get; init; } = TokenizerSplit.Phrases;
    /// <summary>An existing tokenizer folder to use instead of training one (a distillation student shares its teacher's
    /// vocabulary, so token-level distillation is possible).</summary>
    public string? Tokenizer { get; init; }
    /// <summary>A text file (.txt: one document per blank-line-separated block) or a data file of {"text": …} rows (JSONL, JSON, Parquet); null = the embedded arithmetic corpus.</summary>
    public string? Corpus { get; init; }
    /// <summary>Documents in the embedded corpus.</summary>
    [Range(1, int.MaxValue)]
    public int CorpusDocuments { get; init; } = 20_000;
    /// <summary>Embedded corpus mix (PretrainingCorpusOptions): arithmetic facts, direct answers, worked examples in the
    /// R1-Zero format, textbook solutions (worked, no template), general exchanges; the five shares sum to 1.</summary>
    [Range(0.0, 1.0)]
    public double FactShare { get; init; } = 0.20;
    /// <summary>Share of direct answers, without working.</summary>
    [Range(0.0, 1.0)]
    public double DirectShare { get; init; } = 0.35;
    /// <summary>Share of worked examples in the R1-Zero format.</summary>
    [Range(0.0, 1.0)]
    public double WorkedShare { get; init; } = 0.15;
    /// <summary>Share of textbook solutions: worked, outside the template.</summary>
    [Range(0.0, 1.0)]
    public double TextbookShare { get; init; } = 0.25;
    /// <summary>Longest chain of the embedded corpus's textbook solutions (null: the difficulty's). Longer than the difficulty's,
    /// the base sees working of chains that long, outside the template only (the pipeline's hard split, docs/pipeline.md).</summary>
    [Range(1, 4)]
    public int? TextbookMaxOperations { get; init; }
    /// <summary>Share of general exchanges (the words later stages fine-tune on); the five shares sum to 1.</summary>
    [Range(0.0, 1.0)]
    public double GeneralShare { get; init; } = 0.05;
    /// <summary>Share of direct answers that are wrong, as a careless writer's would be.</summary>
    [Range(0.0, 1.0)]
    public double WrongDirectShare { get; init; } = 0.3;
    /// <summary>Embedded problems: operations, operand ranges, wording (expressions by default: a tiny model learns to copy them).</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    /// <summary>Tokens per training row.</summary>
    [Range(1, int.MaxValue)]
    public int SequenceLength { get; init; } = 256;
    /// <summary>Rows per optimiser step.</summary>
    [Range(1, int.MaxValue)]
    public int BatchSize { get; init; } = 16;
    /// <summary>Optimiser steps.</summary>
    [Range(1, int.MaxValue)]
    public int Steps { get; init; } = 1200;
    /// <summary>AdamW and its schedule: lr 3e-3 after 30 warm-up steps, cosine to a tenth, weight decay 0.1, β₂ 0.95 (nanoGPT's).</summary>
    [Flatten]
    public OptimizerOptions Optimizer { get; init; } = new()
    {
        LearningRate = 3e-3, WarmupSteps = 30, MinLearningRateRatio = 0.1, WeightDecay = 0.1, AdamBeta2 = 0.95,
    };
    /// <summary>Share of packed rows held out for the evaluation loss.</summary>
    [Range(0.0, 0.5)]
    public double EvalShare { get; init; } = 0.01;
    /// <summary>Log the metrics every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 10;
    /// <summary>Save a resumable checkpoint every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Seed of the run: the corpus, the initial weights, the data order.</summary>
    public long Seed { get; init; }
}

/// <summary>What a pretraining run produced (summary.json holds these after the common fields).</summary>
public sealed record PretrainResult([property: JsonIgnore] string ModelDirectory, int Steps, double TrainLoss, double EvalLoss, double TokensPerSecond, double Seconds);

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
        ConfigBinder.Check(o, "pretrain");
        using var run = TrainingRun.Open(output, "pretrain", settings, o.Seed, dataParallel: true);

        // ---- data: corpus → tokenizer → packed rows of T + 1 tokens ----
        var documents = o.Corpus is null
            ? EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: o.CorpusDocuments, Seed: (int)o.Seed,
                FactShare: o.FactShare, DirectShare: o.DirectShare, WorkedShare: o.WorkedShare, TextbookShare: o.TextbookShare, GeneralShare: o.GeneralShare, WrongDirectShare: o.WrongDirectShare,
                Difficulty: o.Difficulty, TextbookMaxOperations: o.TextbookMaxOperations ?? 0))
            : ReadCorpus(o.Corpus, run.Cancel);
        var tokenizerDir = Path.Combine(output, "tokenizer");
        // Rank 0 trains (or copies) the tokenizer into the run folder; the other ranks then load it from there.
        var tokenizer = run.IsMain ? Tokenizer(o, documents, tokenizerDir, run.Cancel) : null;
        run.Collective.Barrier();
        tokenizer ??= Tokenizer(o, documents, tokenizerDir, run.Cancel);
        int eos = tokenizer.EosTokenId ?? throw new InvalidDataException($"{tokenizerDir}: no EOS token");
        var rows = Pack(documents, tokenizer, eos, o.SequenceLength);
        if (rows.Count < 2) throw new InvalidDataException($"pretrain: the corpus makes {rows.Count} row(s) of {o.SequenceLength + 1} tokens; it needs at least 2 (one is held out)");
        int evalRows = Math.Clamp((int)(rows.Count * o.EvalShare), 1, rows.Count - 1);
        var evalSet = rows.GetRange(rows.Count - evalRows, evalRows);
        rows.RemoveRange(rows.Count - evalRows, evalRows);
        run.Say($"corpus: {documents.Count:N0} documents → {rows.Count:N0} training rows of {o.SequenceLength} tokens " +
                $"({(long)rows.Count * o.SequenceLength:N0} tokens, vocabulary {tokenizer.VocabSize:N0}); {evalRows} rows held out");

        // ---- model and optimiser (fresh, or from the last complete checkpoint) ----
        using var model = run.ResumeFrom is not null ? run.LoadCausalLM(tokenizerDir)
            : run.InitCausalLM(ModelPresets.Create(o.Preset, tokenizer.VocabSize, o.SequenceLength * 2, null, eos, eos), o.Seed);
        model.Model.train(); // a resumed model comes back from Checkpoint.Load in inference mode
        var optimizer = run.Optimizer(model, o.Optimizer, o.Steps, out var state);
        optimizer.Reduction = ReduceOp.Sum; // each rank back-propagates (its rows' mean loss) × (its rows / BatchSize)
        run.Say($"model: {model.Config.ParameterCount() / 1e6:F2}M parameters{(model.Config.Moe is null ? "" : $" ({model.Config.ActiveParameterCount() / 1e6:F2}M active)")} ({o.Preset}), {Precision.Name(run.Dtype)}, {o.Steps} steps of {o.BatchSize} × {o.SequenceLength} tokens");
        run.StartLog(o.Steps, state.Step, ["loss", "learning_rate", "tokens_per_second"]);

        // ---- the loop ----
        var order = new EpochOrder(rows.Count, o.Seed, "pretrain");
        var window = new MetricWindow();
        double lastLoss = double.NaN;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int step = state.Step; step < o.Steps; step++)
        {
            run.Cancel.ThrowIfCancellationRequested();
            double loss = 0;
            var (first, count) = run.Shard(o.BatchSize);                                       // this rank's rows of the batch
            if (count > 0)
                using (var scope = NewDisposeScope())
                {
                    var batch = Batch(rows, order, state.DataPosition, o.BatchSize, run.Device).narrow(0, first, count); // (b, T + 1)
                    var input = batch.narrow(1, 0, o.SequenceLength);
                    var target = batch.narrow(1, 1, o.SequenceLength);
                    var lossTensor = TokenLosses.CrossEntropy(model.Model.Forward(input), target, ones_like(target, dtype: ScalarType.Bool));
                    double share = (double)count / o.BatchSize;                                // every row has T targets
                    optimizer.Backward(share == 1 ? lossTensor : lossTensor * share, share);
                    loss = lossTensor.item<float>() * share;
                }
            if (run.Collective.Size > 1)
            {
                double[] sum = [loss];
                run.Collective.AllReduce(sum);
                loss = sum[0];
            }
            var applied = optimizer.Apply(step, loss);
            state = state with { Step = step + 1, DataPosition = state.DataPosition + o.BatchSize };
            lastLoss = loss;
            window.Add("tokens_per_second", o.BatchSize * o.SequenceLength, clock.Elapsed.TotalSeconds);
            clock.Restart();

            if ((step + 1) % o.LogEvery == 0 || step + 1 == o.Steps)
            {
                double tps = window.Flush()["tokens_per_second"];
                var logged = new Dictionary<string, double>
                {
                    ["loss"] = loss, ["learning_rate"] = applied.LearningRate, ["grad_norm"] = applied.GradNorm, ["tokens_per_second"] = tps,
                };
                if (optimizer.ExpertLoad is { } expertLoad) logged["expert_load_max_over_mean"] = expertLoad; // mixture-of-experts models
                run.Log(step + 1, logged,
                    $"step {step + 1}/{o.Steps}  loss {loss:F4}  lr {applied.LearningRate:E2}  grad norm {applied.GradNorm:F2}  {tps:N0} tokens/s");
            }
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < o.Steps) run.SaveCheckpoint(model, optimizer, state, tokenizerDir);
        }

        // ---- evaluate, save ----
        double evalLoss = EvalLoss(model.Model, evalSet, o.SequenceLength, o.BatchSize, run.Device);
        run.Log(state.Step, new Dictionary<string, double> { ["eval_loss"] = evalLoss }, $"eval loss {evalLoss:F4}");
        var result = new PretrainResult(run.ModelDirectory, state.Step, lastLoss, evalLoss,
            (double)state.Step * o.BatchSize * o.SequenceLength / run.Clock.Elapsed.TotalSeconds, run.Clock.Elapsed.TotalSeconds);
        run.Finish(model, optimizer, state, tokenizerDir, result);
        run.Say($"done: eval loss {evalLoss:F4}, model saved to {run.ModelDirectory} ({run.Clock.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    /// <summary>The run's tokenizer: kept from an earlier start of this run, copied from <see cref="PretrainOptions.Tokenizer"/>, or trained on the corpus.</summary>
    static HfTokenizer Tokenizer(PretrainOptions o, IReadOnlyList<string> documents, string tokenizerDir, CancellationToken ct)
    {
        if (Directory.Exists(tokenizerDir)) return HfTokenizer.Load(tokenizerDir);
        if (o.Tokenizer is not null) HfTokenizer.Load(o.Tokenizer).Save(tokenizerDir);
        else
            new BpeTrainer(new BpeTrainerOptions
            {
                VocabSize = o.VocabSize, SpecialTokens = [EndOfText], EosToken = EndOfText, PadToken = EndOfText,
                // One token each wherever they stand, as in Qwen3's and DeepSeek-R1's tokenizers; <think> swallows the space
                // before it, so a prompt ending in "Assistant:" meets the model's "<think>" as in training.
                AddedTokens = [new AddedTokenSpec("<think>", LStrip: true), "</think>"],
                ModelMaxLength = o.SequenceLength,
                SplitPattern = o.TokenizerSplit == TokenizerSplit.Words ? BpeTrainerOptions.Qwen2SplitPattern : PhraseSplitPattern,
                MaxTokenLength = 48,
            }).Train(documents, ct).Save(tokenizerDir);
        return HfTokenizer.Load(tokenizerDir);
    }

    static IReadOnlyList<string> ReadCorpus(string path, CancellationToken ct)
    {
        if (path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            return File.Exists(path) ? File.ReadAllText(path).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : throw new FileNotFoundException($"{path}: corpus not found", path);
        return [.. DataRows.Read(path, ct).Select(row => row.String("text"))];
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
            var batch = tensor(rows.GetRange(start, n).SelectMany(r => r).ToArray(), [n, t + 1], device: device);   // (n, T + 1)
            total += TokenLosses.CrossEntropy(model.Forward(batch.narrow(1, 0, t)), batch.narrow(1, 1, t), ones(n, t, dtype: ScalarType.Bool, device: device)).item<float>() * n;
            count += n;
        }
        return total / count;
    }
}
