// Batched sampling: the rollout engine of GRPO and the generator of evaluation.
//   dotnet run --project src/R1Sharp.Cli -c Release -- generate --model DIR --prompt "..." --json
//
// Per step, on the model's device:  logits / T → top-k → top-p → min-p → sample (or argmax when T = 0); a sample is one
// uniform per row inverted through the filtered distribution's CDF.
// The log-probability reported for each sampled token is log softmax(logits / T) before the top-k/top-p/
// min-p filters (T = 1 when greedy): the quantity a GRPO trainer recomputes for π_old (TRL divides the
// policy's logits by the sampling temperature the same way).
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Engine;

public enum FinishReason { Stop, Length }

/// <param name="PromptIndex">Which prompt this completion answers.</param>
/// <param name="Tokens">The new tokens, including the stop token or the token that completed a stop string.</param>
/// <param name="LogProbs">log π(token) for each new token (see the file header for the exact distribution).</param>
/// <param name="StopString">The stop string that ended the sequence, if one did.</param>
public sealed record Completion(int PromptIndex, int[] Tokens, float[] LogProbs, FinishReason FinishReason, string? StopString = null);

/// <summary>One sampled token, as <see cref="Sampler.Generate"/> reports it to a <see cref="TokenObserver"/>.</summary>
/// <param name="Row">The index the completion will have in the returned list (prompt i's samples are i·n … i·n+n−1).</param>
/// <param name="Token">The token just appended to the row.</param>
/// <param name="LogProb">Its log-probability (as in <see cref="Completion.LogProbs"/>).</param>
/// <param name="Finish">The sampler's own verdict: Stop (stop token or stop string), Length (max new tokens), or null.</param>
/// <param name="TopTokens">With <see cref="GenerationOptions.TopLogProbs"/> &gt; 0: the most probable tokens, most probable first.</param>
/// <param name="TopLogProbs">Their log-probabilities.</param>
public readonly record struct SampledToken(int Row, int Token, float LogProb, FinishReason? Finish, int[]? TopTokens = null, float[]? TopLogProbs = null);

/// <summary>
/// Sees every sampled token as it is produced (streaming) and may end its row early: return Stop or Length to
/// finish the row with that reason, null to let it continue. When the sampler already finished the row
/// (<see cref="SampledToken.Finish"/> set) the return value is ignored.
/// </summary>
public delegate FinishReason? TokenObserver(in SampledToken token);

public sealed class Sampler(ILanguageModel model, Func<IReadOnlyList<int>, string>? decode = null)
{
    /// <summary>Rows decoded at once (at least one prompt's samples); further prompts wait and join as rows finish.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>
    /// Generates <paramref name="samplesPerPrompt"/> completions for each prompt (prompt i's samples are
    /// at i·n … i·n+n−1). Each prompt is prefilled once and its cache rows copied n times.
    /// <paramref name="observer"/>, when given, sees each token as it is sampled and may end rows early
    /// (per-row token limits, stop strings of its own, a client that went away).
    /// <paramref name="promptKeys"/>, when given (one per prompt), makes each row's draws depend only on
    /// (<see cref="GenerationOptions.Seed"/>, its prompt's key, its sample index, the token position) and not on the other
    /// prompts of the call: <see cref="KeyedUniform"/> gives the row's uniform, inverted through the filtered distribution's
    /// CDF. GRPO's rollouts use it so that a step's completions are the same however its prompts are split across ranks.
    /// </summary>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
        int samplesPerPrompt = 1, CancellationToken cancellationToken = default, TokenObserver? observer = null,
        IReadOnlyList<long>? promptKeys = null)
    {
        if (promptKeys is not null && promptKeys.Count != prompts.Count)
            throw new ArgumentException($"{promptKeys.Count} prompt keys for {prompts.Count} prompts");
        options.Validate();
        if (samplesPerPrompt < 1) throw new ArgumentException("samples per prompt must be ≥ 1");
        if (options.Stop.Count > 0 && decode is null) throw new ArgumentException("stop strings need a decoder (a tokenizer)");
        for (int i = 0; i < prompts.Count; i++)
            if (prompts[i].Count == 0) throw new ArgumentException($"prompt {i} is empty");

        using var generator = new Generator((ulong)(options.Seed ?? Random.Shared.NextInt64()), model.Device);
        return Decode(prompts, samplesPerPrompt, options, generator, cancellationToken, observer, promptKeys);
    }

    /// <summary>
    /// Continuous batching: the batch holds at most <see cref="MaxBatchSize"/> rows; when a quarter of its slots are finished
    /// or free and prompts are waiting, the finished rows are dropped and waiting prompts are prefilled and join the batch
    /// (whole prompts: a prompt's samples share its prefill). Without waiting prompts, finished rows keep decoding (outputs
    /// ignored) until they are a quarter of the batch, then are dropped.
    /// </summary>
    IReadOnlyList<Completion> Decode(IReadOnlyList<IReadOnlyList<int>> prompts, int n, GenerationOptions o, Generator generator,
        CancellationToken ct, TokenObserver? observer, IReadOnlyList<long>? keys)
    {
        ulong seed = (ulong)(o.Seed ?? 0);
        int rows = prompts.Count * n;
        var tokens = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var finish = new FinishReason?[rows];
        var stopString = new string?[rows];
        var stopIds = o.StopTokenIds.ToHashSet();
        int stopWindow = o.Stop.Count == 0 ? 0 : o.Stop.Max(s => s.Length) + 8; // tokens to decode
        int capacity = Math.Max(n, MaxBatchSize - MaxBatchSize % n);              // rows the batch may hold
        int refill = Math.Max(n, capacity / 4);                                     // free slots worth a refill
        int nextPrompt = 0;

        using var noGrad = no_grad();
        IDecodingBatch? batch = null;
        Tensor? logits = null;
        var live = Array.Empty<int>();                                              // batch position → row; -1 once the row finished
        try
        {
            while (true)
            {
                int free = capacity - live.Length;
                if (nextPrompt < prompts.Count && (batch is null || free >= refill))
                {
                    int count = Math.Min(prompts.Count - nextPrompt, free / n);
                    var (joining, joiningLogits) = Prefill(prompts, nextPrompt, count, n, o.MaxNewTokens);
                    if (batch is null) (batch, logits) = (joining, joiningLogits);
                    else
                    {
                        batch.Append(joining);
                        using (var scope = NewDisposeScope())
                        {
                            var all = cat([logits!, joiningLogits], 0).MoveToOuterDisposeScope();
                            logits!.Dispose();
                            logits = all;
                        }
                        joiningLogits.Dispose();
                    }
                    live = [.. live, .. Enumerable.Range(nextPrompt * n, count * n)];
                    nextPrompt += count;
                }
                if (batch is null) break;

                ct.ThrowIfCancellationRequested();
                using var stepScope = NewDisposeScope();
                var (next, lp) = keys is null ? Sample(logits!, o, generator)       // (B,), (B,)
                    : Sample(logits!, o, tensor(live.Select(row => row < 0 ? 0.5f
                        : KeyedUniform(seed, keys[row / n], row % n, tokens[row].Count)).ToArray(), device: model.Device));
                int topK = o.TopLogProbs > 0 ? (int)Math.Min(o.TopLogProbs, logits!.shape[^1]) : 0;
                long[]? topIds = null;
                float[]? topLp = null;
                if (topK > 0)
                {
                    var (values, indices) = (o.Temperature == 0 ? logits! : logits! / o.Temperature).log_softmax(-1).topk(topK); // (B, k)
                    topIds = indices.cpu().data<long>().ToArray();
                    topLp = values.cpu().data<float>().ToArray();
                }
                logits!.Dispose();
                logits = null;
                var nextIds = next.cpu().data<long>().ToArray();
                var nextLp = lp.cpu().data<float>().ToArray();
                for (int b = 0; b < live.Length; b++)
                {
                    int row = live[b];
                    if (row < 0) continue;
                    int token = (int)nextIds[b];
                    tokens[row].Add(token);
                    logProbs[row].Add(nextLp[b]);
                    if (stopIds.Contains(token)) finish[row] = FinishReason.Stop;
                    else if (stopWindow > 0 && FindStopString(tokens[row], o.Stop, stopWindow) is { } s)
                        (finish[row], stopString[row]) = (FinishReason.Stop, s);
                    else if (tokens[row].Count == o.MaxNewTokens) finish[row] = FinishReason.Length;
                    if (observer is not null)
                    {
                        var seen = new SampledToken(row, token, nextLp[b], finish[row],
                            topIds is null ? null : Array.ConvertAll(topIds[(b * topK)..((b + 1) * topK)], id => (int)id),
                            topLp?[(b * topK)..((b + 1) * topK)]);
                        var verdict = observer(seen);
                        finish[row] ??= verdict;
                    }
                    if (finish[row] is not null) live[b] = -1;
                }

                int finished = live.Count(r => r < 0);
                bool waiting = nextPrompt < prompts.Count;
                if (finished == live.Length)
                {
                    batch.Dispose();
                    (batch, live) = (null, []);
                    if (waiting) continue;
                    break;
                }
                var input = next.unsqueeze(1);                                              // (B, 1)
                if (finished * 4 >= live.Length || (waiting && finished > 0 && capacity - live.Length + finished >= refill))
                {
                    var keep = tensor(Enumerable.Range(0, live.Length).Where(b => live[b] >= 0).Select(b => (long)b).ToArray(), device: model.Device);
                    batch.KeepRows(keep);
                    input = input.index_select(0, keep);
                    live = live.Where(r => r >= 0).ToArray();
                }
                logits = batch.Step(input).MoveToOuterDisposeScope();
            }
        }
        finally
        {
            batch?.Dispose();
            logits?.Dispose();
        }

        return Enumerable.Range(0, rows).Select(row => new Completion(row / n, tokens[row].ToArray(), logProbs[row].ToArray(),
            finish[row] ?? FinishReason.Length, stopString[row])).ToList();
    }

    /// <summary>Prompts [start, start + count) left-padded and prefilled once each, their cache rows repeated n times: the batch and its logits (count·n, V).</summary>
    (IDecodingBatch Batch, Tensor Logits) Prefill(IReadOnlyList<IReadOnlyList<int>> prompts, int start, int count, int n, int maxNewTokens)
    {
        int longest = Enumerable.Range(start, count).Max(i => prompts[i].Count);
        var ids = new long[count * longest];
        var valid = new bool[count * longest];
        for (int r = 0; r < count; r++)
        {
            var p = prompts[start + r];
            int pad = longest - p.Count;           // left padding
            for (int j = 0; j < p.Count; j++) { ids[r * longest + pad + j] = p[j]; valid[r * longest + pad + j] = true; }
        }
        var batch = model.Start(count, longest + maxNewTokens);
        using var scope = NewDisposeScope();
        var logits = batch.Prefill(tensor(ids, [count, longest], device: model.Device), tensor(valid, [count, longest], device: model.Device));
        if (n > 1)
        {
            var expand = arange(count, device: model.Device).repeat_interleave(n); // (B·n,)
            batch.KeepRows(expand);
            logits = logits.index_select(0, expand);
        }
        return (batch, logits.MoveToOuterDisposeScope());
    }

    string? FindStopString(List<int> generated, IReadOnlyList<string> stops, int window)
    {
        var tail = decode!(generated.Count <= window ? generated : generated.GetRange(generated.Count - window, window));
        foreach (var stop in stops)
            if (tail.Contains(stop, StringComparison.Ordinal)) return stop;
        return null;
    }

    /// <summary>
    /// One token per row from float32 logits (B, V): (token ids (B,), their log-probabilities (B,)). Each row draws one uniform
    /// from <paramref name="generator"/> and inverts the filtered distribution's CDF with it (as the keyed overload below),
    /// rather than torch.multinomial, which draws an exponential variable for every token of the vocabulary.
    /// </summary>
    public static (Tensor Tokens, Tensor LogProbs) Sample(Tensor logits, GenerationOptions o, Generator? generator = null)
    {
        if (o.Temperature == 0) return Greedy(logits);
        var uniforms = rand(logits.shape[0], generator: generator, device: logits.device).neg_().add_(TorchSharpScalars.One, TorchSharpScalars.One); // 1 − u: (0, 1]
        return Sample(logits, o, uniforms);
    }

    /// <summary>
    /// One token per row from float32 logits (B, V), each row's draw from its own uniform <paramref name="uniforms"/> (B,) in
    /// (0, 1]: the first token whose cumulative probability (after the filters) reaches u·(total mass) — inverse-CDF sampling,
    /// so a row's token depends on its logits and its uniform alone.
    /// </summary>
    public static (Tensor Tokens, Tensor LogProbs) Sample(Tensor logits, GenerationOptions o, Tensor uniforms)
    {
        if (o.Temperature == 0) return Greedy(logits);
        // Every Scalar here is disposed or made once: this runs at every token (TorchSharpScalars.One says why it matters).
        long vocab = logits.shape[^1];
        using Scalar last = vocab - 1;
        var scaled = logits;
        if (o.Temperature != 1.0)
            using (Scalar temperature = o.Temperature) scaled = logits.div(temperature);
        var lse = scaled.logsumexp(-1, keepdim: true);                               // (B, 1)
        // Unfiltered, the probabilities are exp(z − lse) and need no second softmax.
        var probs = Filter(scaled, o) is { } filtered ? filtered.softmax(-1) : (scaled - lse).exp_();
        var cdf = probs.cumsum(-1);                                                  // (B, V), non-decreasing
        var target = uniforms.to(cdf.dtype).unsqueeze(-1) * cdf.narrow(-1, vocab - 1, 1);
        var next = (cdf < target).sum(-1).clamp_max(last);                           // tokens of zero probability are never chosen
        return (next, (scaled.gather(-1, next.unsqueeze(-1)) - lse).squeeze(-1));    // log softmax(z) at the token
    }

    /// <summary>
    /// A uniform number in (0, 1) from (seed, key, sample, position) alone: SplitMix64's finaliser over the four, the top 24
    /// bits as a float (what <see cref="Sample(Tensor, GenerationOptions, Tensor)"/> takes for keyed rows).
    /// </summary>
    public static float KeyedUniform(ulong seed, long key, int sample, int position)
    {
        ulong h = Mix(seed ^ 0x9E3779B97F4A7C15UL);
        h = Mix(h ^ (ulong)key);
        h = Mix(h ^ (uint)sample);
        h = Mix(h ^ ((ulong)(uint)position << 32));
        return ((h >> 40) + 0.5f) / (1 << 24);

        static ulong Mix(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    static (Tensor Tokens, Tensor LogProbs) Greedy(Tensor logits)
    {
        var greedy = logits.argmax(-1, keepdim: true);                                // (B, 1)
        return (greedy.squeeze(-1), (logits.gather(-1, greedy) - logits.logsumexp(-1, keepdim: true)).squeeze(-1));
    }

    static readonly Scalar MinusInfinity = float.NegativeInfinity;

    /// <summary>The logits / T after top-k, top-p and min-p (what is drawn from), or null when no filter applies.</summary>
    static Tensor? Filter(Tensor scaled, GenerationOptions o)
    {
        var filtered = scaled;
        long vocab = scaled.shape[^1];
        if (o.TopK > 0 && o.TopK < vocab)
        {
            var kth = filtered.topk(o.TopK).values.narrow(-1, o.TopK - 1, 1);       // (B, 1)
            filtered = filtered.masked_fill(filtered < kth, MinusInfinity);
        }
        if (o.TopP < 1)
        {
            // Keep the most probable tokens until their mass reaches top-p: drop a token when the mass of the
            // tokens ranked above it is already ≥ top-p (transformers' TopPLogitsWarper, in descending order).
            var (sorted, order) = filtered.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            using Scalar topP = o.TopP;
            var drop = (probs.cumsum(-1) - probs) >= topP;
            filtered = filtered.scatter(-1, order, sorted.masked_fill(drop, MinusInfinity));
        }
        if (o.MinP > 0)
        {
            var probs = filtered.softmax(-1);
            using Scalar minP = o.MinP;
            var threshold = probs.amax([-1], keepdim: true) * minP;
            filtered = filtered.masked_fill(probs < threshold, MinusInfinity);
        }
        return ReferenceEquals(filtered, scaled) ? null : filtered;
    }

    /// <summary>The text a completion should show: cut before its stop string, if one ended it.</summary>
    public static string TrimAtStop(string text, string? stopString)
    {
        if (stopString is null) return text;
        int at = text.IndexOf(stopString, StringComparison.Ordinal);
        return at >= 0 ? text[..at] : text;
    }
}
