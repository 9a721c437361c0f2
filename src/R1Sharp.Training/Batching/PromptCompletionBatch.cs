using R1Sharp.Model;
using static TorchSharp.torch;

namespace R1Sharp.Training.Batching;

/// <summary>
/// Prompts left-padded to Lp and completions right-padded to Lc, side by side: (B, Lp + Lc). Positions count only
/// real tokens, so a row's numbers equal those of the same sequence run alone (and those the sampler produced).
/// </summary>
public sealed class PromptCompletionBatch : IDisposable
{
    public required Tensor Ids { get; init; }            // (B, Lp + Lc) int64
    public required Tensor Valid { get; init; }          // (B, Lp + Lc) bool: false on padding
    public required Tensor CompletionIds { get; init; }  // (B, Lc) int64
    public required Tensor CompletionMask { get; init; } // (B, Lc) float32: 1 on completion tokens that count
    public required int PromptLength { get; init; }      // Lp
    public required int CompletionLength { get; init; }  // Lc

    /// <summary>Frees the four tensors now (a slice's are views: the batch it came from keeps the memory).</summary>
    public void Dispose()
    {
        Ids.Dispose();
        Valid.Dispose();
        CompletionIds.Dispose();
        CompletionMask.Dispose();
    }

    /// <param name="trainable">Per completion: false masks the whole completion out of the loss (e.g. truncated ones).</param>
    public static PromptCompletionBatch Build(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<int>> completions,
        Device device, IReadOnlyList<bool>? trainable = null)
    {
        int b = prompts.Count;
        int lp = prompts.Max(p => p.Count), lc = Math.Max(1, completions.Max(c => c.Count));
        var ids = new long[b * (lp + lc)];
        var valid = new bool[b * (lp + lc)];
        var cids = new long[b * lc];
        var cmask = new float[b * lc];
        for (int r = 0; r < b; r++)
        {
            var p = prompts[r];
            var c = completions[r];
            int row = r * (lp + lc), pad = lp - p.Count;
            for (int j = 0; j < p.Count; j++) { ids[row + pad + j] = p[j]; valid[row + pad + j] = true; }
            bool counts = trainable?[r] ?? true;
            for (int j = 0; j < c.Count; j++)
            {
                ids[row + lp + j] = c[j];
                valid[row + lp + j] = true;
                cids[r * lc + j] = c[j];
                cmask[r * lc + j] = counts ? 1 : 0;
            }
        }
        return new PromptCompletionBatch
        {
            Ids = tensor(ids, [b, lp + lc], device: device),
            Valid = tensor(valid, [b, lp + lc], device: device),
            CompletionIds = tensor(cids, [b, lc], device: device),
            CompletionMask = tensor(cmask, [b, lc], device: device),
            PromptLength = lp,
            CompletionLength = lc,
        };
    }

    /// <summary>Rows [start, start + count) as a batch of their own (views, no copy).</summary>
    public PromptCompletionBatch Slice(int start, int count) => new()
    {
        Ids = Ids.narrow(0, start, count),
        Valid = Valid.narrow(0, start, count),
        CompletionIds = CompletionIds.narrow(0, start, count),
        CompletionMask = CompletionMask.narrow(0, start, count),
        PromptLength = PromptLength,
        CompletionLength = CompletionLength,
    };

    public long Rows => Ids.shape[0];

    /// <summary>
    /// Logits (B, Lc, V) float32 for each completion position: the model's prediction of completion token t from
    /// the prompt and completion tokens before it, divided by <paramref name="temperature"/> (as the sampler did).
    /// </summary>
    public Tensor CompletionLogits(CausalLM model, double temperature = 1.0)
    {
        var logits = model.Logits(CompletionHidden(model));
        return temperature == 1.0 ? logits : logits / temperature;
    }

    /// <summary>The final hidden states (B, Lc, C) at the positions that predict each completion token.</summary>
    Tensor CompletionHidden(CausalLM model)
    {
        long t = Ids.shape[1];
        var positions = (Valid.to(ScalarType.Int64).cumsum(1) - 1).clamp_min(0);                                  // (B, T)
        var causal = ones(t, t, dtype: ScalarType.Bool, device: Ids.device).tril();
        var diagonal = eye(t, dtype: ScalarType.Bool, device: Ids.device);
        var mask = ((causal.unsqueeze(0) & Valid.unsqueeze(1)) | diagonal.unsqueeze(0)).unsqueeze(1);            // (B, 1, T, T)
        var all = model.Hidden(Ids, positions, mask);                                                            // (B, T, C)
        if (is_grad_enabled()) ExpertBalance.MarkPadding(model, Valid);  // MoE balancing counts real tokens only
        return all.narrow(1, PromptLength - 1, CompletionLength);                                               // (B, Lc, C)
    }

    /// <summary>log π(completion token t) (B, Lc), 0 where nothing is predicted (no entropy computed).</summary>
    public Tensor CompletionLogProbs(CausalLM model, double temperature = 1.0) => LogProbChunks(model, temperature, ChunkElements, null);

    /// <summary>Elements of one chunk's logits (b × positions × V) in <see cref="CompletionLogProbsAndEntropy"/>: 4M floats, 16 MB.</summary>
    public const long ChunkElements = 1L << 22;

    /// <summary>
    /// log π(completion token t) (B, Lc) — with grad when grad is on — and the entropy of π at each position (B, Lc), no grad.
    /// The vocabulary side is computed over chunks of positions (<see cref="ChunkElements"/>): per chunk z = head(h) / T,
    /// lse = logsumexp(z), log π = z[token] − lse and H = lse − Σ softmax(z)·z, so no (B, Lc, V) log-softmax, softmax or
    /// entropy temporary is ever made, and no allocation is larger than one chunk's logits (the autograd graph still keeps
    /// each chunk's logits for the backward of its logsumexp).
    /// </summary>
    public (Tensor LogProbs, Tensor Entropy) CompletionLogProbsAndEntropy(CausalLM model, double temperature = 1.0, long chunkElements = ChunkElements)
    {
        var entropies = new List<Tensor>();
        var logProbs = LogProbChunks(model, temperature, chunkElements, entropies);
        return (logProbs, entropies.Count == 1 ? entropies[0] : cat(entropies, 1));
    }

    /// <summary>The chunked log π of <see cref="CompletionLogProbsAndEntropy"/>; each chunk's entropy added to <paramref name="entropies"/> when given.</summary>
    Tensor LogProbChunks(CausalLM model, double temperature, long chunkElements, List<Tensor>? entropies)
    {
        var hidden = CompletionHidden(model);
        long b = hidden.shape[0], lc = hidden.shape[1];
        long chunk = Math.Clamp(chunkElements / Math.Max(1, b * model.Config.VocabSize), 1, lc);
        var logProbs = new List<Tensor>();
        for (long start = 0; start < lc; start += chunk)
        {
            long n = Math.Min(chunk, lc - start);
            var z = model.Logits(hidden.narrow(1, start, n));                                                      // (B, n, V)
            if (temperature != 1.0) z = z / temperature;
            var lse = z.logsumexp(-1);                                                                             // (B, n)
            logProbs.Add(z.gather(-1, CompletionIds.narrow(1, start, n).unsqueeze(-1)).squeeze(-1) - lse);
            if (entropies is null) continue;
            using var noGrad = no_grad();
            var (zd, lsed) = (z.detach(), lse.detach());
            entropies.Add(lsed - (zd - lsed.unsqueeze(-1)).exp_().mul_(zd).sum(-1));
        }
        return logProbs.Count == 1 ? logProbs[0] : cat(logProbs, 1);
    }
}
