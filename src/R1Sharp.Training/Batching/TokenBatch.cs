using R1Sharp.Model;
using static TorchSharp.torch;

namespace R1Sharp.Training.Batching;

/// <summary>
/// One micro-batch of token sequences for next-token training, packed several to a row or one per row.
/// At every position p the target is the next token of the same sequence; the loss mask is true where that next
/// token is one of the sequence's targets. Packed rows carry a block-diagonal causal mask and positions that
/// restart at 0 for each sequence, so a packed sequence sees exactly what it would see alone.
/// </summary>
public sealed class TokenBatch
{
    public required Tensor Ids { get; init; }            // (B, T) int64
    public required Tensor Targets { get; init; }        // (B, T) int64: next token of the same sequence (0 where none)
    public required Tensor LossMask { get; init; }       // (B, T) bool
    public required Tensor TargetIndex { get; init; }    // (N) int64: flat indices b·T + t of the positions where LossMask is true
    public required Tensor TargetIds { get; init; }      // (N) int64: Targets at those positions
    public required Tensor Positions { get; init; }      // (B, T) int64
    /// <summary>(B, 1, T, T) bool, true = may attend; null when each row holds one right-padded sequence (plain causal attention).</summary>
    public Tensor? AttentionMask { get; init; }
    /// <summary>(B, T) bool, false on the padding after a row's sequences.</summary>
    public Tensor? Valid { get; init; }
    /// <summary>Positions that count in the loss.</summary>
    public required long TargetTokens { get; init; }
    /// <summary>Real (non-padding) tokens.</summary>
    public required long Tokens { get; init; }

    public long Rows => Ids.shape[0];

    /// <summary>Final hidden states (B, T, C) of the batch.</summary>
    public Tensor Hidden(CausalLM model)
    {
        var hidden = model.Hidden(Ids, Positions, AttentionMask);
        if (Valid is not null && is_grad_enabled()) ExpertBalance.MarkPadding(model, Valid); // MoE balancing counts real tokens only
        return hidden;
    }

    /// <summary>
    /// Float32 logits (N, V) at the N loss positions only: the head runs on the hidden states that have a target
    /// (prompt and padding positions would be computed and thrown away).
    /// </summary>
    public Tensor TargetLogits(CausalLM model)
    {
        var hidden = Hidden(model);                                                          // (B, T, C)
        return model.Logits(hidden.reshape(-1, hidden.shape[2]).index_select(0, TargetIndex)); // (N, V)
    }

    /// <summary>Rows of packed sequences, each padded to <paramref name="rowLength"/> tokens.</summary>
    public static TokenBatch Packed(IReadOnlyList<IReadOnlyList<TokenSequence>> rows, int rowLength, Device device)
        => Build(rows, rowLength, device, packed: true);

    /// <summary>One sequence per row, right-padded to the longest of the batch.</summary>
    public static TokenBatch Padded(IReadOnlyList<TokenSequence> sequences, Device device)
        => Build(sequences.Select(s => (IReadOnlyList<TokenSequence>)[s]).ToList(), sequences.Max(s => s.Length), device, packed: false);

    static TokenBatch Build(IReadOnlyList<IReadOnlyList<TokenSequence>> rows, int t, Device device, bool packed)
    {
        int b = rows.Count;
        var ids = new long[b * t];
        var targets = new long[b * t];
        var loss = new bool[b * t];
        var positions = new long[b * t];
        var index = new List<long>();
        var segments = new long[b * t];
        var valid = new bool[b * t];
        long tokens = 0;
        for (int r = 0; r < b; r++)
        {
            int offset = r * t, used = 0, segment = 0;
            foreach (var s in rows[r])
            {
                if (used + s.Length > t)
                    throw new ArgumentException($"row {r}: sequences of {used + s.Length} tokens do not fit in {t}", nameof(rows));
                for (int j = 0; j < s.Length; j++)
                {
                    int p = offset + used + j;
                    ids[p] = s.Ids[j];
                    positions[p] = j;
                    segments[p] = segment;
                    valid[p] = true;
                    if (j + 1 < s.Length)
                    {
                        targets[p] = s.Ids[j + 1];
                        loss[p] = s.Targets[j + 1];
                        if (loss[p]) index.Add(p);
                    }
                }
                used += s.Length;
                tokens += s.Length;
                segment++;
            }
            for (int p = offset + used; p < offset + t; p++) // padding: a segment of its own, positions counting on
            {
                positions[p] = p - offset - used;
                segments[p] = segment;
            }
        }
        Tensor? mask = null;
        if (packed)
        {
            var seg = tensor(segments, [b, t], device: device);
            var causal = ones(t, t, dtype: ScalarType.Bool, device: device).tril();
            mask = ((seg.unsqueeze(2) == seg.unsqueeze(1)) & causal.unsqueeze(0)).unsqueeze(1); // (B, 1, T, T)
        }
        return new TokenBatch
        {
            Ids = tensor(ids, [b, t], device: device),
            Targets = tensor(targets, [b, t], device: device),
            LossMask = tensor(loss, [b, t], device: device),
            Positions = tensor(positions, [b, t], device: device),
            TargetIndex = tensor(index.ToArray(), device: device),
            TargetIds = tensor(index.Select(p => targets[p]).ToArray(), device: device),
            AttentionMask = mask,
            Valid = tensor(valid, [b, t], device: device),
            TargetTokens = index.Count,
            Tokens = tokens,
        };
    }
}
