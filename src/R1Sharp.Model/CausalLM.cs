// The decoder-only transformer (CausalLM) behind Qwen2, Llama-3 and Qwen3 checkpoints, read top to bottom.
// Checked against transformers' own logits: dotnet test tests/R1Sharp.Model.Tests --filter HfFixture
//
//   x = embed_tokens(ids)
//   for each layer:  x = x + o_proj(attention(rope(q), rope(k), v))   on input_layernorm(x)
//                    x = x + down_proj(silu(gate_proj(h)) * up_proj(h)) on h = post_attention_layernorm(x)
//   logits = lm_head(norm(x))          (lm_head = embed_tokens when the embeddings are tied)
//
// Family differences, all from config.json: Qwen2 has q/k/v biases; Qwen3 normalises q and k per head
// (q_norm, k_norm) and may have head_dim != hidden/heads; Llama-3 scales RoPE frequencies ("llama3").
// Qwen3-MoE and DeepSeek-V3 swap parts of a layer, chosen by DecoderLayer from the config: a sparse mixture of experts
// for the MLP (MixtureOfExperts.cs) and, for DeepSeek-V3, multi-head latent attention (LatentAttention.cs) with YaRN RoPE.
// Field names are the Hugging Face parameter names, so state_dict() keys are checkpoint keys.
// A reward model (SequenceScorer.cs) runs the same model.* stack with a scalar head instead of lm_head.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>A linear layer whose weights start uninitialised (a checkpoint or <see cref="CausalLM.InitializeWeights"/> fills them).</summary>
public sealed class Dense : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter? bias;

    public Dense(long inFeatures, long outFeatures, bool hasBias, ScalarType dtype, Device device) : base(nameof(Dense))
    {
        weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype, device: device));
        bias = hasBias ? new Parameter(zeros(outFeatures, dtype: dtype, device: device)) : null;
        RegisterComponents();
    }

    /// <summary>A LoRA adapter's low-rank path added to the output (Lora.cs), or null.</summary>
    public LoraAdapter? Adapter { get; private set; }

    internal void Attach(LoraAdapter adapter)
    {
        register_module("lora_A", adapter.A);
        register_module("lora_B", adapter.B);
        Adapter = adapter;
    }

    public override Tensor forward(Tensor x)
    {
        var y = nn.functional.linear(x, weight, bias);
        return Adapter is null ? y : Adapter.Add(x, y, training);
    }
}

/// <summary>y = w · x / sqrt(mean(x²) + ε), computed in float32 and cast back (as transformers does).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    readonly Scalar eps; // made once: a double here would make a new Scalar every call (TorchSharpScalars.One)

    public RmsNorm(long dim, double eps, ScalarType dtype, Device device) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim, dtype: dtype, device: device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * rsqrt(x32.pow(TorchSharpScalars.Two).mean([-1], keepdim: true).add(eps, TorchSharpScalars.One));
        return weight * normed.to(x.dtype);
    }
}

public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    public Parameter weight;

    public TokenEmbedding(long vocab, long dim, ScalarType dtype, Device device) : base(nameof(TokenEmbedding))
    {
        weight = new Parameter(empty(vocab, dim, dtype: dtype, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids) // (B, T) -> (B, T, C)
        => weight.index_select(0, ids.reshape(-1)).view(ids.shape[0], ids.shape[1], weight.shape[1]);
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public Dense gate_proj, up_proj, down_proj;

    /// <param name="intermediateSize">The hidden width; intermediate_size when null (an expert passes moe_intermediate_size).</param>
    public Mlp(ModelConfig c, ScalarType dtype, Device device, int? intermediateSize = null) : base(nameof(Mlp))
    {
        int inner = intermediateSize ?? c.IntermediateSize;
        gate_proj = new Dense(c.HiddenSize, inner, c.MlpBias, dtype, device);
        up_proj = new Dense(c.HiddenSize, inner, c.MlpBias, dtype, device);
        down_proj = new Dense(inner, c.HiddenSize, c.MlpBias, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
}

/// <summary>Rotary position embedding tables for given positions, as transformers computes them.</summary>
public static class Rope
{
    /// <summary>inv_freq_i = θ^(-2i/D), then Llama-3's wavelength-dependent scaling or YaRN when configured.</summary>
    public static float[] InverseFrequencies(ModelConfig c)
    {
        using var scope = NewDisposeScope();
        int d = c.HeadDim;
        var invFreq = 1.0 / pow(c.RopeTheta, arange(0, d, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / d);
        if (c.Yarn is { } y) return Yarn(y, d, c.RopeTheta);
        if (c.RopeScaling is { } s)
        {
            double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
            double highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
            var wavelen = 2 * Math.PI / invFreq;
            var scaled = where(wavelen > lowWavelen, invFreq / s.Factor, invFreq);
            var smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            var smoothed = (1 - smooth) * scaled / s.Factor + smooth * scaled;
            var medium = (wavelen < highWavelen).logical_not() & (wavelen > lowWavelen).logical_not();
            invFreq = where(medium, smoothed, scaled);
        }
        return invFreq.to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>
    /// YaRN (transformers' _compute_yarn_parameters): inv_freq blended from θ^(-2i/D) / factor (interpolated) and θ^(-2i/D)
    /// (extrapolated) by a linear ramp between the dimensions that turn beta_fast and beta_slow times over the original context.
    /// </summary>
    static float[] Yarn(YarnRopeScaling y, int d, double theta)
    {
        double CorrectionDim(double rotations) => d * Math.Log(y.OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = CorrectionDim(y.BetaFast), high = CorrectionDim(y.BetaSlow);
        if (y.Truncate) { low = Math.Floor(low); high = Math.Ceiling(high); }
        low = Math.Max(low, 0);
        high = Math.Min(high, d - 1);
        if (low == high) high += 0.001;
        var posFreqs = pow(theta, arange(0, d, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / d);
        var extrapolation = 1.0 / posFreqs;
        var interpolation = 1.0 / (y.Factor * posFreqs);
        var keep = 1 - ((arange(d / 2, dtype: ScalarType.Float32) - low) / (high - low)).clamp(0, 1);
        return (interpolation * (1 - keep) + extrapolation * keep).to(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>The factor cos and sin are multiplied by: 1, or YaRN's attention factor.</summary>
    public static double AttentionScaling(ModelConfig c) => c.Yarn switch
    {
        null => 1.0,
        { AttentionFactor: { } f } => f,
        { Mscale: { } m, MscaleAllDim: { } all } y when m != 0 && all != 0 => YarnRopeScaling.GetMscale(y.Factor, m) / YarnRopeScaling.GetMscale(y.Factor, all),
        var y => YarnRopeScaling.GetMscale(y.Factor),
    };

    /// <summary>cos and sin for positions (B, T): each (B, 1, T, D) in <paramref name="dtype"/>, times <paramref name="scaling"/>.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(float[] invFreq, Tensor positions, ScalarType dtype, double scaling = 1.0)
    {
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * tensor(invFreq, device: positions.device); // (B, T, D/2)
        var emb = cat([freqs, freqs], -1).unsqueeze(1);                                                          // (B, 1, T, D)
        return scaling == 1.0 ? (emb.cos().to(dtype), emb.sin().to(dtype)) : ((emb.cos() * scaling).to(dtype), (emb.sin() * scaling).to(dtype));
    }

    /// <summary>x·cos + rotate_half(x)·sin, with rotate_half(x) = (−x₂, x₁) over the two halves of D.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) // x (B, H, T, D)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos).add(rotated * sin, TorchSharpScalars.One);
    }
}

/// <summary>
/// Preallocated keys and values for incremental decoding: per layer (B, H_kv, capacity, D). All rows share
/// one write position (prompts are left-padded to a common length); padding is masked by the caller.
/// Latent attention (DeepSeek-V3) stores its compressed latent here instead: "keys" (B, 1, capacity, kv_lora_rank) the
/// normalised latent, "values" (B, 1, capacity, qk_rope_head_dim) the rotated shared key (LatentAttention.cs).
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys, values;

    public KvCache(ModelConfig c, int batchSize, int capacity, ScalarType dtype, Device device)
    {
        keys = new Tensor[c.NumLayers];
        values = new Tensor[c.NumLayers];
        var (heads, keyDim, valueDim) = c.Mla is { } m ? (1, m.KvLoraRank, m.QkRopeHeadDim) : (c.NumKvHeads, c.HeadDim, c.HeadDim);
        for (int i = 0; i < c.NumLayers; i++)
        {
            keys[i] = zeros(batchSize, heads, capacity, keyDim, dtype: dtype, device: device).DetachFromDisposeScope();
            values[i] = zeros(batchSize, heads, capacity, valueDim, dtype: dtype, device: device).DetachFromDisposeScope();
        }
        Capacity = capacity;
    }

    public int Capacity { get; private set; }
    public int Length { get; private set; }
    public long BatchSize => keys[0].shape[0];

    /// <summary>Writes k, v (B, H_kv, T, D) at the current position; returns the filled prefix (B, H_kv, Length+T, D).</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > Capacity) throw new InvalidOperationException($"KV cache full: {Length} + {t} > capacity {Capacity}");
        keys[layer].narrow(2, Length, t).copy_(k);
        values[layer].narrow(2, Length, t).copy_(v);
        return (keys[layer].narrow(2, 0, Length + t), values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Layer <paramref name="layer"/>'s whole key and value buffers (B, H_kv, capacity, D), for <see cref="VectorDecoder"/>.</summary>
    internal Tensor KeysOf(int layer) => keys[layer];
    internal Tensor ValuesOf(int layer) => values[layer];

    /// <summary>Moves the write position past the tokens the last forward appended.</summary>
    public void Advance(int tokens) => Length += tokens;

    /// <summary>Keeps only the given rows (B' ≤ B), e.g. to drop finished sequences from a decode batch.</summary>
    public void KeepRows(Tensor rows) => Rebuild(t => t.index_select(0, rows));

    /// <summary>Makes room for at least <paramref name="length"/> positions (at least doubling), keeping what is filled.</summary>
    public void Reserve(int length)
    {
        if (length <= Capacity) return;
        int capacity = Math.Max(length, 2 * Capacity);
        Rebuild(t => Moved(t, capacity, 0));
        Capacity = capacity;
    }

    /// <summary>Puts <paramref name="columns"/> empty positions in front of the filled ones (the caller masks them).</summary>
    public void PadLeft(int columns)
    {
        int capacity = Math.Max(Capacity, Length + columns);
        Rebuild(t => Moved(t, capacity, columns));
        (Capacity, Length) = (capacity, Length + columns);
    }

    /// <summary>
    /// Adds the rows of <paramref name="other"/> after these, its filled positions aligned on the right with these
    /// (other's [0, other.Length) at [Length − other.Length, Length)); the positions in front are left empty for the caller to mask.
    /// </summary>
    public void AppendRows(KvCache other)
    {
        if (other.Length > Length) throw new ArgumentException($"the joining cache is longer ({other.Length}) than this one ({Length})", nameof(other));
        int offset = Length - other.Length;
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = Joined(keys[i], other.keys[i]);
            values[i] = Joined(values[i], other.values[i]);
        }

        Tensor Joined(Tensor mine, Tensor theirs)
        {
            using var scope = NewDisposeScope();
            var joined = cat([mine, Moved(theirs, Capacity, offset, other.Length)], 0).DetachFromDisposeScope();
            mine.Dispose();
            return joined;
        }
    }

    /// <summary>(B, H, ·, D) → (B, H, capacity, D) with the first <paramref name="length"/> positions (all filled ones by default) moved <paramref name="shift"/> to the right.</summary>
    Tensor Moved(Tensor t, int capacity, int shift, int? length = null)
    {
        int filled = length ?? Length;
        var moved = zeros([t.shape[0], t.shape[1], capacity, t.shape[3]], dtype: t.dtype, device: t.device);
        moved.narrow(2, shift, filled).copy_(t.narrow(2, 0, filled));
        return moved;
    }

    /// <summary>Replaces every layer's keys and values by <paramref name="change"/> of them.</summary>
    void Rebuild(Func<Tensor, Tensor> change)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            var (k, v) = (keys[i], values[i]);
            keys[i] = change(k).DetachFromDisposeScope();
            values[i] = change(v).DetachFromDisposeScope();
            k.Dispose();
            v.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t.Dispose();
    }
}

/// <summary>A layer's self-attention: <see cref="Attention"/> or <see cref="LatentAttention"/>.</summary>
public interface ISelfAttention
{
    /// <param name="x">(B, T, C)</param>
    /// <param name="mask">null: causal over the T new tokens (no cache offset, no padding); else boolean (B, 1, T, S), true = may attend.</param>
    Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer);
}

/// <summary>Grouped-query self-attention with rotary positions and an optional KV cache.</summary>
public sealed class Attention : nn.Module, ISelfAttention
{
    public Dense q_proj, k_proj, v_proj, o_proj;
    public RmsNorm? q_norm, k_norm;
    readonly int heads, kvHeads, headDim;

    public Attention(ModelConfig c, ScalarType dtype, Device device) : base(nameof(Attention))
    {
        (heads, kvHeads, headDim) = (c.NumHeads, c.NumKvHeads, c.HeadDim);
        q_proj = new Dense(c.HiddenSize, heads * headDim, c.AttentionBias, dtype, device);
        k_proj = new Dense(c.HiddenSize, kvHeads * headDim, c.AttentionBias, dtype, device);
        v_proj = new Dense(c.HiddenSize, kvHeads * headDim, c.AttentionBias, dtype, device);
        // Qwen2 has biases on q, k, v only; Llama and Qwen3 put attention_bias on o_proj too.
        o_proj = new Dense(heads * headDim, c.HiddenSize, c.AttentionBias && c.Architecture != Architecture.Qwen2, dtype, device);
        if (c.Architecture is Architecture.Qwen3 or Architecture.Qwen3Moe)
        {
            q_norm = new RmsNorm(headDim, c.RmsNormEps, dtype, device);
            k_norm = new RmsNorm(headDim, c.RmsNormEps, dtype, device);
        }
        RegisterComponents();
    }

    /// <param name="x">(B, T, C)</param>
    /// <param name="mask">null: causal over the T new tokens (no cache offset, no padding); else boolean (B, 1, T, S), true = may attend.</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, heads, headDim);   // (B, T, H, D)
        var k = k_proj.forward(x).view(b, t, kvHeads, headDim); // (B, T, Hkv, D)
        var v = v_proj.forward(x).view(b, t, kvHeads, headDim);
        if (q_norm is not null) { q = q_norm.forward(q); k = k_norm!.forward(k); }
        q = Rope.Apply(q.transpose(1, 2), cos, sin);             // (B, H, T, D)
        k = Rope.Apply(k.transpose(1, 2), cos, sin);             // (B, Hkv, T, D)
        v = v.transpose(1, 2);
        if (cache is not null) (k, v) = cache.Append(layer, k, v); // (B, Hkv, S, D)

        int groups = heads / kvHeads;
        Tensor y;
        if (mask is null)
        {
            if (groups > 1) // repeat K/V to every query head: (B, Hkv, S, D) -> (B, H, S, D)
            {
                long s = k.shape[2];
                k = k.unsqueeze(2).expand(b, kvHeads, groups, s, headDim).reshape(b, heads, s, headDim);
                v = v.unsqueeze(2).expand(b, kvHeads, groups, s, headDim).reshape(b, heads, s, headDim);
            }
            y = Causal(q, k, v);
        }
        else y = Masked(q, k, v, mask);
        return o_proj.forward(y.transpose(1, 2).reshape(b, t, heads * headDim)); // (B, T, C)
    }

    /// <summary>
    /// Attention of q (B, H, T, D) over k, v (B, Hkv, S, D) under a boolean mask (B, 1, T, S), true = may attend. Each group's
    /// query heads are folded into the query axis so K/V are not copied: (B, Hkv, groups·T, D) against a mask
    /// (B, 1, groups·T, S). From <see cref="CausalBlocksFrom"/> positions on the CPU, a mask that shows every query one
    /// contiguous run of keys ending at its own position (query i is key S − T + i: packed rows, a cache before them) is
    /// attended sequence by sequence (<see cref="PerSegment"/>); one that shows no query a later key, in query blocks of
    /// <see cref="CausalBlock"/> against the keys up to the block's end, as <see cref="CausalInBlocks"/>; any other in one call.
    /// </summary>
    public static Tensor Masked(Tensor q, Tensor k, Tensor v, Tensor mask)
    {
        long b = q.shape[0], heads = q.shape[1], t = q.shape[2], d = q.shape[3], kvHeads = k.shape[1], s = k.shape[2];
        long groups = heads / kvHeads, offset = s - t;
        var shape = InBlocks(q, t) ? MaskShape.Of(mask, offset) : null;
        if (shape?.Runs is { } runs && PerSegmentAttention && mask.shape[0] == b) return PerSegment(q, k, v, runs, offset);
        long block = shape is { SeesLaterKeys: false } ? CausalBlock : t;
        var grouped = q.reshape(b, kvHeads, groups, t, d);
        var blocks = new List<Tensor>();
        for (long start = 0; start < t; start += block)
        {
            long n = Math.Min(block, t - start), end = block == t ? s : offset + start + n;
            var qb = grouped.narrow(3, start, n).reshape(b, kvHeads, groups * n, d);
            var mb = mask.narrow(2, start, n).narrow(3, 0, end);
            if (groups > 1) mb = mb.unsqueeze(2).expand(b, 1, groups, n, end).reshape(b, 1, groups * n, end);
            blocks.Add(nn.functional.scaled_dot_product_attention(qb, k.narrow(2, 0, end), v.narrow(2, 0, end), mb, 0.0, false)
                .view(b, kvHeads, groups, n, d));
        }
        return (blocks.Count == 1 ? blocks[0] : cat(blocks, 3)).view(b, heads, t, d);
    }

    /// <summary>
    /// Whether masked attention on rows of ≥ <see cref="CausalBlocksFrom"/> positions goes sequence by sequence where the mask
    /// allows (<see cref="PerSegment"/>); false: query blocks over the whole row. For benchmarks and tests.
    /// </summary>
    public static bool PerSegmentAttention { get; set; } = true;

    /// <summary>
    /// Packed rows attended one sequence at a time, as a varlen flash-attention kernel does: each of <paramref name="runs"/>
    /// (in row and position order) is attended in blocks of <see cref="CausalBlock"/> queries against its keys up to the
    /// block's end. Nothing between two sequences of a
    /// row is computed, where a block-diagonal mask over the whole row computes every pair below the diagonal and masks out
    /// those between sequences (bench/README.md has the times). Outputs and gradients are the single masked call's up to
    /// float rounding (tests/R1Sharp.Model.Tests/CausalInBlocksTests.cs).
    /// </summary>
    static Tensor PerSegment(Tensor q, Tensor k, Tensor v, IReadOnlyList<QueryRun> runs, long offset)
    {
        long b = q.shape[0], heads = q.shape[1], t = q.shape[2], d = q.shape[3], kvHeads = k.shape[1], groups = heads / kvHeads;
        var rows = new List<Tensor>();
        foreach (var row in runs.GroupBy(run => run.Row))
        {
            var grouped = q.narrow(0, row.Key, 1).reshape(1, kvHeads, groups, t, d);
            Tensor kr = k.narrow(0, row.Key, 1), vr = v.narrow(0, row.Key, 1);
            var pieces = new List<Tensor>();
            foreach (var (_, from, to, first) in row)
                for (long start = from; start < to; start += CausalBlock) // queries from..to−1 see keys first..offset + i
                {
                    long n = Math.Min(CausalBlock, to - start), keys = offset + start + n - first;
                    var qb = grouped.narrow(3, start, n).reshape(1, kvHeads, groups * n, d);
                    var visible = Visible(n, keys, offset + start - first, groups, q.device);
                    pieces.Add(nn.functional.scaled_dot_product_attention(qb, kr.narrow(2, first, keys), vr.narrow(2, first, keys), visible, 0.0, false)
                        .view(1, kvHeads, groups, n, d));
                }
            rows.Add(pieces.Count == 1 ? pieces[0] : cat(pieces, 3));
        }
        return (rows.Count == 1 ? rows[0] : cat(rows, 0)).view(b, heads, t, d);
    }

    /// <summary>Queries <paramref name="From"/>..<paramref name="To"/>−1 of row <paramref name="Row"/>, which see the keys from <paramref name="FirstKey"/> to their own.</summary>
    readonly record struct QueryRun(long Row, long From, long To, long FirstKey);

    /// <summary>(groups·n, keys): query r of a block, in each of its group's heads, sees the keys up to r + <paramref name="diagonal"/>.</summary>
    static Tensor Visible(long n, long keys, long diagonal, long groups, Device device)
    {
        var visible = ones(n, keys, dtype: ScalarType.Bool, device: device).tril(diagonal);
        return groups == 1 ? visible : visible.unsqueeze(0).expand(groups, n, keys).reshape(groups * n, keys);
    }

    /// <summary>
    /// What a mask (B, 1, T, S) lets the queries see, worked out once per mask tensor (every layer of a forward gets the same
    /// one; masks are not changed in place): whether some query sees a key after its own position offset + i, and — when
    /// each query sees one contiguous run of keys ending at its own position, and the rows average at least
    /// <see cref="MinSegment"/> queries per run — those runs.
    /// </summary>
    sealed record MaskShape(long Offset, bool SeesLaterKeys, IReadOnlyList<QueryRun>? Runs)
    {
        static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Tensor, MaskShape> Known = new();

        /// <summary>Shorter runs on average (left padding, where each pad sees only itself) keep the blocks over the whole row.</summary>
        const long MinSegment = 32;

        public static MaskShape Of(Tensor mask, long offset)
        {
            if (Known.TryGetValue(mask, out var known) && known.Offset == offset) return known;
            var shape = Compute(mask, offset);
            Known.AddOrUpdate(mask, shape);
            return shape;
        }

        static MaskShape Compute(Tensor mask, long offset)
        {
            using var scope = NewDisposeScope();
            long b = mask.shape[0], t = mask.shape[2], s = mask.shape[3];
            var m = mask.squeeze(1); // (B, T, S)
            if ((m & ones(t, s, dtype: ScalarType.Bool, device: mask.device).triu(offset + 1)).any().item<bool>())
                return new MaskShape(offset, true, null);
            // Seeing no later key, query i sees exactly the keys first..offset + i when it sees offset + i − first + 1 of them.
            var first = m.to(ScalarType.Byte).argmax(-1);                                                       // (B, T)
            var run = arange(t, dtype: ScalarType.Int64, device: mask.device).add(offset + 1).sub(first);
            if (!m.sum(-1, type: ScalarType.Int64).eq(run).all().item<bool>()) return new MaskShape(offset, false, null);
            var starts = first.cpu().data<long>().ToArray();
            var runs = new List<QueryRun>();
            for (long r = 0; r < b; r++)
                for (long i0 = 0, i1; i0 < t; i0 = i1)
                {
                    long firstKey = starts[r * t + i0];
                    for (i1 = i0 + 1; i1 < t && starts[r * t + i1] == firstKey; i1++) { }
                    runs.Add(new QueryRun(r, i0, i1, firstKey));
                }
            return new MaskShape(offset, false, runs.Count * MinSegment <= b * t ? runs : null);
        }
    }

    /// <summary>Causal self-attention over T new positions, q, k, v (B, H, T, D): in query blocks from <see cref="CausalBlocksFrom"/> positions, else one call.</summary>
    public static Tensor Causal(Tensor q, Tensor k, Tensor v)
        => InBlocks(q, q.shape[2]) ? CausalInBlocks(q, k, v) : nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, true);

    /// <summary>Rows of at least this many positions attend in query blocks (<see cref="CausalInBlocks"/>); shorter ones in one call.</summary>
    public const int CausalBlocksFrom = 512;

    /// <summary>On the CPU from <see cref="CausalBlocksFrom"/> positions: the 512-key blocks are libtorch's CPU kernel's; a GPU's skips masked blocks itself.</summary>
    static bool InBlocks(Tensor q, long t) => t >= CausalBlocksFrom && q.device.type == DeviceType.CPU;

    /// <summary>Queries per block in <see cref="CausalInBlocks"/>.</summary>
    public const int CausalBlock = 128;

    /// <summary>
    /// Causal attention over T positions (q, k, v all (B, H, T, D)) as T / 128 calls of scaled_dot_product_attention: the
    /// queries of block i against the keys up to the block's end only, with the block's own triangle masked. libtorch's CPU
    /// flash attention works in 512-key blocks, so at 512 positions its causal mode computes every query against every key
    /// and masks half of them; here only 5/8 of the pairs are computed (T = 512), and the forward and backward take ~0.8× the
    /// time (bench/README.md). Outputs and gradients are those of the single causal call up to float rounding (~3e-7;
    /// tests/R1Sharp.Model.Tests/CausalInBlocksTests.cs), memory is flash attention's, O(T). Used from
    /// <see cref="CausalBlocksFrom"/> positions: the pipeline's models train on rows of at most 256 and keep the single call.
    /// </summary>
    public static Tensor CausalInBlocks(Tensor q, Tensor k, Tensor v)
    {
        long t = q.shape[2];
        var blocks = new List<Tensor>();
        for (long start = 0; start < t; start += CausalBlock)
        {
            long n = Math.Min(CausalBlock, t - start), end = start + n;
            var visible = Visible(n, end, start, 1, q.device); // query start + r sees keys ≤ start + r
            blocks.Add(nn.functional.scaled_dot_product_attention(q.narrow(2, start, n), k.narrow(2, 0, end), v.narrow(2, 0, end), visible, 0.0, false));
        }
        return cat(blocks, 2);
    }
}

/// <summary>One layer; its attention and feed-forward come from the config (dense models: Attention and Mlp).</summary>
public sealed class DecoderLayer : nn.Module
{
    public nn.Module self_attn;            // Attention, or LatentAttention when config.Mla is set
    public nn.Module<Tensor, Tensor> mlp;  // Mlp, or SparseMoe on the layers config.Moe makes sparse
    public RmsNorm input_layernorm, post_attention_layernorm;

    public DecoderLayer(ModelConfig c, int index, ScalarType dtype, Device device) : base(nameof(DecoderLayer))
    {
        self_attn = c.Mla is null ? new Attention(c, dtype, device) : new LatentAttention(c, dtype, device);
        mlp = c.Moe is { } moe && moe.IsSparse(index) ? new SparseMoe(c, dtype, device) : new Mlp(c, dtype, device);
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        // add(…, One): a + b would make a new alpha = 1 Scalar each time (TorchSharpScalars.One)
        x = x.add(((ISelfAttention)self_attn).Forward(input_layernorm.forward(x), cos, sin, mask, cache, layer), TorchSharpScalars.One);
        return x.add(mlp.forward(post_attention_layernorm.forward(x)), TorchSharpScalars.One);
    }
}

/// <summary>The checkpoint's <c>model.*</c> part: embeddings, layers, final norm. Shared by every head.</summary>
public sealed class DecoderStack : nn.Module
{
    public TokenEmbedding embed_tokens;
    public ModuleList<DecoderLayer> layers;
    public RmsNorm norm;
    readonly float[] invFreq;
    readonly double ropeScaling;

    public DecoderStack(ModelConfig c, ScalarType dtype, Device device) : base(nameof(DecoderStack))
    {
        embed_tokens = new TokenEmbedding(c.VocabSize, c.HiddenSize, dtype, device);
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, c.NumLayers).Select(i => new DecoderLayer(c, i, dtype, device)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        invFreq = Rope.InverseFrequencies(c);
        ropeScaling = Rope.AttentionScaling(c);
        RegisterComponents();
    }

    /// <summary>
    /// Final hidden states (B, T, C) after the last norm.
    /// <paramref name="positions"/> (B, T) defaults to cache.Length + 0..T-1; <paramref name="mask"/> as in
    /// <see cref="Attention.Forward"/>; the cache, when given, receives the new keys/values and advances by T.
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null)
    {
        long b = ids.shape[0], t = ids.shape[1];
        int start = cache?.Length ?? 0;
        if (mask is null && start > 0 && t > 1)
            throw new ArgumentException("A multi-token forward against a non-empty cache needs an explicit mask.", nameof(mask));
        positions ??= arange(start, start + t, dtype: ScalarType.Int64, device: ids.device).unsqueeze(0).expand(b, t);
        var (cos, sin) = Rope.Tables(invFreq, positions, norm.weight.dtype, ropeScaling);
        if (mask is null && t == 1) mask = ones(b, 1, 1, start + 1, dtype: ScalarType.Bool, device: ids.device);

        var x = embed_tokens.forward(ids); // (B, T, C)
        for (int i = 0; i < layers.Count; i++)
            x = layers[i].Forward(x, cos, sin, mask, cache, i);
        cache?.Advance((int)t);
        return norm.forward(x);
    }
}

/// <summary>A model in Hugging Face layout: its config and its parameters under checkpoint names (for <see cref="Checkpoint.Save"/>).</summary>
public interface IPretrainedModel
{
    ModelConfig Config { get; }
    ScalarType DType { get; }
    IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true);
}

/// <summary>A causal language model: <c>model.*</c> plus <c>lm_head</c> (absent when tied to the embeddings).</summary>
public sealed class CausalLM : nn.Module, IPretrainedModel
{
    public DecoderStack model;
    public Dense? lm_head;

    public CausalLM(ModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CausalLM))
    {
        if (config.Head != ModelHead.CausalLM)
            throw new ArgumentException($"config is a {config.Head} model, not a causal LM (load it as a SequenceScorer)", nameof(config));
        device ??= CPU;
        Config = config;
        model = new DecoderStack(config, dtype, device);
        lm_head = config.TieWordEmbeddings ? null : new Dense(config.HiddenSize, config.VocabSize, false, dtype, device);
        RegisterComponents();
    }

    public ModelConfig Config { get; }
    /// <summary>The settings of the LoRA adapters attached to the linear layers (Lora.cs), or null.</summary>
    public LoraOptions? LoraSettings { get; internal set; }
    public ScalarType DType => model.norm.weight.dtype;
    public Device Device => model.norm.weight.device;

    /// <summary>Final hidden states (B, T, C) after the last norm (<see cref="DecoderStack.Forward"/>).</summary>
    public Tensor Hidden(Tensor ids, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null)
        => model.Forward(ids, positions, mask, cache);

    /// <summary>Float32 logits (B, T, V) from hidden states (B, T, C).</summary>
    public Tensor Logits(Tensor hidden)
        => (lm_head is null ? nn.functional.linear(hidden, model.embed_tokens.weight) : lm_head.forward(hidden)).to(ScalarType.Float32);

    /// <summary>Float32 logits (B, T', V) for the last <paramref name="lastTokens"/> positions (all when 0).</summary>
    public Tensor Forward(Tensor ids, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null, int lastTokens = 0)
    {
        var h = Hidden(ids, positions, mask, cache);
        if (lastTokens > 0 && lastTokens < h.shape[1]) h = h.narrow(1, h.shape[1] - lastTokens, lastTokens);
        return Logits(h);
    }

    /// <summary>A KV cache sized for this model.</summary>
    public KvCache NewCache(int batchSize, int capacity) => new(Config, batchSize, capacity, DType, Device);

    /// <summary>transformers' initialisation for training from scratch: N(0, initializer_range) weights, zero biases, unit norms.</summary>
    public void InitializeWeights(long seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed, CPU);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight") || name.EndsWith("layernorm.weight")) p.fill_(1.0);
            else if (name.EndsWith("e_score_correction_bias")) p.zero_();
            else if (name.EndsWith(".bias")) p.zero_();
            else p.copy_(normal(0.0, Config.InitializerRange, p.shape, dtype: ScalarType.Float32, generator: generator).to(p.dtype));
        }
    }
}
