// The decode step of a dense model, in SIMD without libtorch (Qwen2, Llama-3, Qwen3; float32 on the CPU).
//
// At batch 1 a decode step is ~60 matrix-vector products of a few hundred kilobytes each, and libtorch spends more time
// forking and joining its threads around each of its ~500 small operations than reading the weights (bench/README.md).
// Here a step is five parallel regions a layer on a spinning team (SpinTeam.cs); every projection runs in 4 × 4 register
// tiles, four weight rows against four rows of the batch (VectorKernels.cs), so each weight is read once per step. The
// same arithmetic as CausalLM.cs, in float32:
//
//   x = E[id]
//   each layer:  h = rmsnorm(x)·w₁;   q, k, v = W_q h + b_q, W_k h + b_k, W_v h + b_v   (Qwen3: q, k rms-normed per head)
//                q, k rotated at the row's position; k, v written at the cache's write column
//                a_head = Σ_j softmax_j(q·k_j / √D) v_j   over the row's valid columns j (kv head = head / groups)
//                x = x + W_o a + b_o;   h = rmsnorm(x)·w₂;   x = x + W_d (silu(W_g h + b_g) ⊙ (W_u h + b_u)) + b_d
//   logits = W_lm rmsnorm(x)·w        (W_lm = E when the embeddings are tied)
//
// Sums run in another order than libtorch's, so logits differ in the last bits (VectorDecoderTests bounds it). Anything this
// does not cover — LoRA adapters, latent attention, experts, other dtypes or devices, non-contiguous tensors, autograd on —
// makes Step return null before it changes anything, and the caller takes libtorch's path.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>One-token decode steps for small batches of a dense float32 model on the CPU, without libtorch's per-operation cost.</summary>
public sealed unsafe class VectorDecoder
{
    /// <summary>
    /// Up to how many rows a decode step of this model takes this path by default: the environment's
    /// <c>R1SHARP_VECTOR_DECODE_ROWS</c> when set (0 turns the path off), else as many as keep one layer's widest input
    /// (B × max(hidden, intermediate) floats) within 512 KB — the tiles sweep all rows for every four weight rows, so the rows
    /// must stay in the core's L2 cache: 93 rows for the 25m preset, 186 for 6m, fewer for wide models (bench/README.md,
    /// "Decode without libtorch").
    /// </summary>
    public int MaxRows { get; private init; }

    static int? RowsFromEnvironment =>
        int.TryParse(Environment.GetEnvironmentVariable("R1SHARP_VECTOR_DECODE_ROWS"), out int rows) && rows >= 0 ? rows : null;

    readonly CausalLM model;
    readonly ModelConfig c;
    readonly float[] invFreq;
    readonly float ropeScaling;
    readonly int heads, kvHeads, headDim, qWidth, kvWidth, qkvWidth;
    readonly SpinTeam team;
    readonly object stepping = new();
    float[] scratch = [];

    VectorDecoder(CausalLM model, SpinTeam team)
    {
        this.model = model;
        this.team = team;
        c = model.Config;
        invFreq = Rope.InverseFrequencies(c);
        ropeScaling = (float)Rope.AttentionScaling(c);
        (heads, kvHeads, headDim) = (c.NumHeads, c.NumKvHeads, c.HeadDim);
        (qWidth, kvWidth) = (heads * headDim, kvHeads * headDim);
        qkvWidth = qWidth + 2 * kvWidth;
    }

    /// <summary>A decoder for <paramref name="model"/>, or null when it is not a float32 CPU model of an architecture this path covers (not latent attention, not experts).</summary>
    /// <param name="team">The threads to run on (default: <see cref="SpinTeam.Shared"/>).</param>
    /// <param name="vectorBits">512, 256 or 128-bit vectors (default: the widest the processor runs natively).</param>
    public static VectorDecoder? For(CausalLM model, SpinTeam? team = null, int vectorBits = 0)
    {
        if (vectorBits is not (0 or 128 or 256 or 512)) throw new ArgumentOutOfRangeException(nameof(vectorBits), vectorBits, "128, 256 or 512");
        var c = model.Config;
        if (c.Mla is not null || c.Moe is not null || c.Architecture is not (Architecture.Qwen2 or Architecture.Llama or Architecture.Qwen3)
            || model.DType != ScalarType.Float32 || model.Device.type != TorchSharp.DeviceType.CPU)
            return null;
        return new VectorDecoder(model, team ?? SpinTeam.Shared)
        {
            VectorBits = vectorBits != 0 ? vectorBits : Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128,
            MaxRows = RowsFromEnvironment ?? Math.Max(8, 512 * 1024 / (4 * Math.Max(Math.Max(c.HiddenSize, c.IntermediateSize), c.NumHeads * c.HeadDim))),
        };
    }

    /// <summary>The vector width the kernels run at.</summary>
    public int VectorBits { get; private init; }

    struct Linear
    {
        public float* W, Bias;
        public int Out, In;
    }

    struct Layer
    {
        public float* Norm1, Norm2, QNorm, KNorm;
        public Linear Q, K, V, O, Gate, Up, Down;
    }

    /// <summary>
    /// Feeds one token per row and returns float32 logits (B, V), like <see cref="CausalLM.Forward"/> with a one-token step:
    /// the keys and values go into <paramref name="cache"/> at its write column, which then advances by one.
    /// Returns null, having changed nothing, when the model or the tensors are not ones this path covers, or when autograd
    /// is on (the logits of this path carry no gradient).
    /// </summary>
    /// <param name="ids">(B, 1) int64 tokens.</param>
    /// <param name="positions">(B,) int64 RoPE position of each row's token.</param>
    /// <param name="keyValid">(B, ≥ cache.Length + 1) bool: the columns each row may attend to.</param>
    public Tensor? Step(Tensor ids, Tensor positions, Tensor keyValid, KvCache cache)
    {
        int b = (int)ids.shape[0], s = cache.Length + 1, cap = cache.Capacity;
        if (is_grad_enabled() || cache.Length >= cap || keyValid.shape[0] != b || keyValid.shape[1] < s || cache.BatchSize != b || positions.numel() != b
            || !Plain(ids, ScalarType.Int64) || !Plain(positions, ScalarType.Int64) || !Plain(keyValid, ScalarType.Bool))
            return null;
        var layers = Bind();
        if (layers is null) return null;
        var keys = new nint[layers.Length];
        var values = new nint[layers.Length];
        for (int i = 0; i < layers.Length; i++)
        {
            var (k, v) = (cache.KeysOf(i), cache.ValuesOf(i));
            if (!Plain(k, ScalarType.Float32) || !Plain(v, ScalarType.Float32)) return null;
            (keys[i], values[i]) = (Data(k), Data(v));
        }
        var lmHead = model.lm_head?.weight ?? model.model.embed_tokens.weight;
        var embed = model.model.embed_tokens.weight;
        if (!Plain(lmHead, ScalarType.Float32) || !Plain(embed, ScalarType.Float32)) return null;

        var tokens = (long*)Data(ids);
        for (int r = 0; r < b; r++)
            if (tokens[r] < 0 || tokens[r] >= c.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), $"token {tokens[r]} outside the vocabulary of {c.VocabSize}");
        var logits = empty(b, c.VocabSize, dtype: ScalarType.Float32);
        var at = new Pointers(layers, keys, values, tokens, (long*)Data(positions), (bool*)Data(keyValid), keyValid.shape[1],
            (float*)Data(embed), (float*)Data(lmHead), (float*)Data(model.model.norm.weight), (float*)Data(logits));
        lock (stepping) // one step at a time: they share the scratch memory
        {
            if (VectorBits == 512) Decode<Simd512>(at, b, cache);
            else if (VectorBits == 256) Decode<Simd256>(at, b, cache);
            else Decode<Simd128>(at, b, cache);
        }
        cache.Advance(1);
        return logits;
    }

    /// <summary>Where one step reads and writes: weights, cache buffers, inputs, the logits.</summary>
    sealed class Pointers(Layer[] layers, nint[] keys, nint[] values, long* tokens, long* positions, bool* valid, long validStride,
        float* embedding, float* lmHead, float* finalNorm, float* logits)
    {
        public readonly Layer[] Layers = layers;
        public readonly nint[] Keys = keys, Values = values;
        public readonly long* Tokens = tokens, Positions = positions;
        public readonly bool* Valid = valid;
        public readonly long ValidStride = validStride;
        public readonly float* Embedding = embedding, LmHead = lmHead, FinalNorm = finalNorm, Logits = logits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Decode<T>(Pointers at, int b, KvCache cache) where T : struct, ISimd<T>
    {
        int s = cache.Length + 1, cap = cache.Capacity;
        int hidden = c.HiddenSize, inner = c.IntermediateSize, vocab = c.VocabSize;
        var layers = at.Layers;
        var tokens = at.Tokens;
        var pos = at.Positions;
        var valid = at.Valid;
        long validStride = at.ValidStride;

        // Scratch: x, h (B·C), qkv (B·(H + 2 H_kv)·D), attention output (B·H·D), MLP gate and up (B·I each), cos/sin (B·D), scores (threads·S).
        int xAt = 0, hAt = xAt + b * hidden, qkvAt = hAt + b * hidden, attAt = qkvAt + b * qkvWidth, actAt = attAt + b * qWidth,
            upAt = actAt + b * inner, ropeAt = upAt + b * inner, scoresAt = ropeAt + b * headDim, size = scoresAt + team.Threads * s;
        float* baseP = Scratch(size);
        float* x = baseP + xAt, h = baseP + hAt, qkv = baseP + qkvAt, att = baseP + attAt, act = baseP + actAt, up = baseP + upAt,
            rope = baseP + ropeAt, scores = baseP + scoresAt;
        float* output = at.Logits, embedding = at.Embedding;
        for (int r = 0; r < b; r++)
        {
            Buffer.MemoryCopy(embedding + tokens[r] * hidden, x + r * hidden, hidden * 4L, hidden * 4L);
            RopeTable(pos[r], rope + r * headDim);
        }
        float eps = (float)c.RmsNormEps, scale = 1f / MathF.Sqrt(headDim);
        int groups = heads / kvHeads, write = cache.Length;
        for (int i = 0; i < layers.Length; i++)
        {
            var l = layers[i];
            float* kCache = (float*)at.Keys[i], vCache = (float*)at.Values[i];
            RmsNorm<T>(x, l.Norm1, h, b, hidden, eps);
            team.Run(Blocks(l.Q.Out + l.K.Out + l.V.Out), (first, end, _) =>
            {
                MatMulPart<T>(l.Q, h, b, qkv, qkvWidth, first, end, 0, false);
                MatMulPart<T>(l.K, h, b, qkv + qWidth, qkvWidth, first, end, l.Q.Out, false);
                MatMulPart<T>(l.V, h, b, qkv + qWidth + kvWidth, qkvWidth, first, end, l.Q.Out + l.K.Out, false);
            });
            // One unit per row and kv head: its key norm and rotation, the cache write, then its group of query heads.
            team.Run(b * kvHeads, (first, end, thread) =>
            {
                for (int unit = first; unit < end; unit++)
                {
                    int r = unit / kvHeads, g = unit % kvHeads;
                    float* q = qkv + r * qkvWidth, k = q + qWidth + g * headDim, v = q + qWidth + kvWidth + g * headDim, table = rope + r * headDim;
                    if (l.KNorm != null) RmsNorm<T>(k, l.KNorm, k, 1, headDim, eps);
                    Rotate(k, table);
                    long kvAt = ((long)r * kvHeads + g) * cap * headDim, column = kvAt + (long)write * headDim;
                    Buffer.MemoryCopy(k, kCache + column, headDim * 4L, headDim * 4L);
                    Buffer.MemoryCopy(v, vCache + column, headDim * 4L, headDim * 4L);
                    for (int head = g * groups; head < (g + 1) * groups; head++)
                    {
                        float* qh = q + head * headDim;
                        if (l.QNorm != null) RmsNorm<T>(qh, l.QNorm, qh, 1, headDim, eps);
                        Rotate(qh, table);
                        Attend<T>(qh, kCache + kvAt, vCache + kvAt, valid + r * validStride, s, headDim, scale, scores + thread * s, att + r * qWidth + head * headDim);
                    }
                }
            });
            team.Run(Blocks(l.O.Out), (first, end, _) => MatMulPart<T>(l.O, att, b, x, hidden, first, end, 0, true));
            RmsNorm<T>(x, l.Norm2, h, b, hidden, eps);
            team.Run(Blocks(inner), (first, end, _) =>
            {
                MatMulPart<T>(l.Gate, h, b, act, inner, first, end, 0, false);
                MatMulPart<T>(l.Up, h, b, up, inner, first, end, 0, false);
                int from = first * 4, width = Math.Min(end * 4, inner) - from;
                for (int r = 0; r < b; r++) VectorKernels<T>.SiluMul(act + (long)r * inner + from, up + (long)r * inner + from, width);
            });
            team.Run(Blocks(hidden), (first, end, _) => MatMulPart<T>(l.Down, act, b, x, hidden, first, end, 0, true));
        }
        RmsNorm<T>(x, at.FinalNorm, h, b, hidden, eps);
        var lm = new Linear { W = at.LmHead, Out = vocab, In = hidden };
        team.Run(Blocks(vocab), (first, end, _) => MatMulPart<T>(lm, h, b, output, vocab, first, end, 0, false));
    }

    /// <summary>Work units of four output rows (the kernels' tile height).</summary>
    static int Blocks(int rows) => (rows + 3) / 4;

    /// <summary>Every layer's weights as raw pointers, or null when a weight is not a plain float32 CPU tensor or carries an adapter.</summary>
    Layer[]? Bind()
    {
        if (model.LoraSettings is not null || !Plain(model.model.norm.weight, ScalarType.Float32)) return null;
        var layers = new Layer[model.model.layers.Count];
        for (int i = 0; i < layers.Length; i++)
        {
            var layer = model.model.layers[i];
            if (layer.self_attn is not Attention a || layer.mlp is not Mlp m) return null;
            var l = new Layer();
            if (!Vector(layer.input_layernorm.weight, out l.Norm1) || !Vector(layer.post_attention_layernorm.weight, out l.Norm2)
                || !Bound(a.q_proj, out l.Q) || !Bound(a.k_proj, out l.K) || !Bound(a.v_proj, out l.V) || !Bound(a.o_proj, out l.O)
                || !Bound(m.gate_proj, out l.Gate) || !Bound(m.up_proj, out l.Up) || !Bound(m.down_proj, out l.Down))
                return null;
            if (a.q_norm is not null && (!Vector(a.q_norm.weight, out l.QNorm) || !Vector(a.k_norm!.weight, out l.KNorm))) return null;
            layers[i] = l;
        }
        return layers;

        static bool Vector(Tensor t, out float* p)
        {
            p = Plain(t, ScalarType.Float32) ? (float*)Data(t) : null;
            return p != null;
        }

        static bool Bound(Dense d, out Linear l)
        {
            l = new Linear { Out = (int)d.weight.shape[0], In = (int)d.weight.shape[1] };
            if (d.Adapter is not null || !Vector(d.weight, out l.W)) return false;
            return d.bias is null || Vector(d.bias, out l.Bias);
        }
    }

    static bool Plain(Tensor t, ScalarType dtype) => t.dtype == dtype && t.device_type == TorchSharp.DeviceType.CPU && t.is_contiguous();

    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    static IntPtr Data(Tensor t) => THSTensor_data(t.Handle);

    /// <summary>The step's scratch memory, grown as needed; on the pinned object heap, so its address stays put and it is freed with the decoder.</summary>
    float* Scratch(int floats)
    {
        if (scratch.Length < floats) scratch = GC.AllocateArray<float>(Math.Max(floats, scratch.Length * 2), pinned: true);
        return (float*)Marshal.UnsafeAddrOfPinnedArrayElement(scratch, 0);
    }

    /// <summary>cos and sin of position · inv_freq (D/2 each, times the attention scaling), as <see cref="Rope.Tables"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RopeTable(long position, float* table)
    {
        int half = headDim / 2;
        for (int i = 0; i < half; i++)
        {
            float f = position * invFreq[i];
            table[i] = MathF.Cos(f) * ropeScaling;
            table[half + i] = MathF.Sin(f) * ropeScaling;
        }
    }

    /// <summary>x ← x·cos + rotate_half(x)·sin, in place over one head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Rotate(float* x, float* table)
    {
        int half = headDim / 2;
        for (int i = 0; i < half; i++)
        {
            float a = x[i], b = x[half + i], cos = table[i], sin = table[half + i];
            x[i] = a * cos - b * sin;
            x[half + i] = b * cos + a * sin;
        }
    }

    /// <summary>y_r = w ⊙ x_r / sqrt(mean(x_r²) + ε) for each of <paramref name="rows"/> rows of width n (y may be x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RmsNorm<T>(float* x, float* w, float* y, int rows, int n, float eps) where T : struct, ISimd<T>
    {
        for (int r = 0; r < rows; r++, x += n, y += n)
        {
            float inv = 1f / MathF.Sqrt(VectorKernels<T>.Dot(x, x, n) / n + eps);
            for (int i = 0; i < n; i++) y[i] = w[i] * (x[i] * inv);
        }
    }

    /// <summary>
    /// The output rows of blocks [first, end) (four rows each) that fall in [offset, offset + l.Out), of y_r = W x_r + bias
    /// for every input row r (added to y when <paramref name="accumulate"/>: a residual connection).
    /// </summary>
    static void MatMulPart<T>(Linear l, float* x, int rows, float* y, int yStride, int first, int end, int offset, bool accumulate) where T : struct, ISimd<T>
    {
        int from = Math.Max(first * 4 - offset, 0), to = Math.Min(end * 4 - offset, l.Out);
        if (to > from) VectorKernels<T>.MatMul(l.W, l.Bias, l.In, x, rows, y, yStride, from, to, accumulate);
    }

    /// <summary>One head of one row: softmax(q·k_j·scale) over the valid columns j &lt; s, applied to the values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Attend<T>(float* q, float* keys, float* values, bool* valid, int s, int d, float scale, float* scores, float* output) where T : struct, ISimd<T>
    {
        VectorKernels<T>.RowDots(keys, q, s, d, scores);
        float max = float.NegativeInfinity;
        for (int j = 0; j < s; j++)
        {
            scores[j] = valid[j] ? scores[j] * scale : float.NegativeInfinity;
            max = MathF.Max(max, scores[j]);
        }
        float sum = VectorKernels<T>.ExpShifted(scores, s, max); // masked columns: exp(−∞) = 0
        VectorKernels<T>.WeightedSum(scores, values, s, d, output);
        float inv = 1f / sum;
        for (int i = 0; i < d; i++) output[i] *= inv;
    }
}
