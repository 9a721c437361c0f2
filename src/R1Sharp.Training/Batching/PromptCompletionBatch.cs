using R1Sharp.Model;
using R1Sharp.Training.Losses;
using static TorchSharp.torch;

namespace R1Sharp.Training.Batching;

/// <summary>
/// Prompts left-padded to Lp and completions right-padded to Lc, side by side: (B, Lp + Lc). Positions count only
/// real tokens, so a row's numbers equal those of the same sequence run alone (and those the sampler produced).
/// </summary>
public sealed class PromptCompletionBatch
{
    public required Tensor Ids { get; init; }            // (B, Lp + Lc) int64
    public required Tensor Valid { get; init; }          // (B, Lp + Lc) bool: false on padding
    public required Tensor CompletionIds { get; init; }  // (B, Lc) int64
    public required Tensor CompletionMask { get; init; } // (B, Lc) float32: 1 on completion tokens that count
    public required int PromptLength { get; init; }      // Lp
    public required int CompletionLength { get; init; }  // Lc

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
        long b = Ids.shape[0], t = Ids.shape[1];
        var positions = (Valid.to(ScalarType.Int64).cumsum(1) - 1).clamp_min(0);                                  // (B, T)
        var causal = ones(t, t, dtype: ScalarType.Bool, device: Ids.device).tril();
        var diagonal = eye(t, dtype: ScalarType.Bool, device: Ids.device);
        var mask = ((causal.unsqueeze(0) & Valid.unsqueeze(1)) | diagonal.unsqueeze(0)).unsqueeze(1);            // (B, 1, T, T)
        var all = model.Hidden(Ids, positions, mask);                                                            // (B, T, C)
        if (is_grad_enabled()) ExpertBalance.MarkPadding(model, Valid);  // MoE balancing counts real tokens only
        var hidden = all.narrow(1, PromptLength - 1, CompletionLength);                                         // (B, Lc, C)
        var logits = model.Logits(hidden);
        return temperature == 1.0 ? logits : logits / temperature;
    }

    /// <summary>log π(completion token t) (B, Lc), 0 where nothing is predicted.</summary>
    public Tensor CompletionLogProbs(CausalLM model, double temperature = 1.0)
        => TokenLosses.TargetLogProbs(CompletionLogits(model, temperature), CompletionIds);
}
