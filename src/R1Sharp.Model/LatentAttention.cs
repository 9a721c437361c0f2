// Multi-head latent attention (MLA), DeepSeek-V3's self-attention, as transformers' modeling_deepseek_v3.py computes it.
// H heads; each query/key head has a "nope" part (qk_nope_head_dim, no position) and a rotary part (qk_rope_head_dim);
// values have v_head_dim. For hidden states x (B, T, C):
//
//   q        = q_b_proj(q_a_layernorm(q_a_proj(x)))  when q_lora_rank is set, else q_proj(x)      → (B, H, T, nope + rope)
//   [c, kr]  = kv_a_proj_with_mqa(x)        c: the compressed latent (kv_lora_rank), kr: ONE rotary key shared by all heads
//   [kn, v]  = kv_b_proj(kv_a_layernorm(c)) → per head k_nope (nope) and v (v_head_dim)
//   q = [q_nope, rope(q_rope)],  k = [k_nope, rope(kr) repeated over the H heads]
//   y = o_proj(softmax(q·kᵀ · scale + causal mask) · v),  scale = (nope + rope)^-½ · m²,
//       m = 0.1 · mscale_all_dim · ln(factor) + 1 under YaRN rope_scaling with mscale_all_dim (else m = 1)
//
// rope() is the usual rotate-half RoPE on the rotary dims; with rope_interleave = true the checkpoint stores the rotary
// dims as interleaved pairs (x0, x1, x2, x3, …), so they are first reordered to (x0, x2, …, x1, x3, …) — for q and for
// the shared key alike, so q·k is unchanged by the reordering. q_a_layernorm and kv_a_layernorm use ε = 1e-6 (transformers
// builds them with the default ε, not rms_norm_eps).
//
// KV cache: this implementation caches the EXPANDED per-head keys (B, H, S, nope + rope) and values (B, H, S, v_head_dim)
// in the ordinary KvCache, exactly what transformers' cache holds. Caching the compressed latent instead
// (kv_lora_rank + rope per token, shared by all heads — MLA's point at DeepSeek-V3's size) needs either re-expanding the
// whole prefix through kv_b_proj at every step or "absorbing" kv_b_proj into the query and the output projection, a
// different attention kernel; at R1Sharp's model sizes the expanded cache is small and the attention path stays the
// same as for every other family, so the latent cache is left for later (docs/architecture.md).
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>The latent-attention fields of config.json (DeepseekV3Config).</summary>
/// <param name="QLoraRank">q_lora_rank: null for a plain q_proj.</param>
/// <param name="KvLoraRank">kv_lora_rank: the width of the compressed key/value latent.</param>
/// <param name="QkNopeHeadDim">qk_nope_head_dim.</param>
/// <param name="QkRopeHeadDim">qk_rope_head_dim (also the config's head_dim: the rotary tables' width).</param>
/// <param name="VHeadDim">v_head_dim.</param>
/// <param name="RopeInterleave">rope_interleave.</param>
public sealed record LatentAttentionSettings(int? QLoraRank, int KvLoraRank, int QkNopeHeadDim, int QkRopeHeadDim, int VHeadDim, bool RopeInterleave)
{
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    public void WriteTo(System.Text.Json.Nodes.JsonObject json)
    {
        json["q_lora_rank"] = QLoraRank;
        json["kv_lora_rank"] = KvLoraRank;
        json["qk_nope_head_dim"] = QkNopeHeadDim;
        json["qk_rope_head_dim"] = QkRopeHeadDim;
        json["v_head_dim"] = VHeadDim;
        json["rope_interleave"] = RopeInterleave;
    }

    /// <summary>Parameters of one layer's attention (norm weights included).</summary>
    public long ParameterCount(long hidden, long heads, bool bias)
    {
        checked
        {
            long q = QLoraRank is { } r ? hidden * r + (bias ? r : 0) + r + r * heads * QkHeadDim : hidden * heads * QkHeadDim;
            long kv = hidden * (KvLoraRank + QkRopeHeadDim) + (bias ? KvLoraRank + QkRopeHeadDim : 0) + KvLoraRank
                      + KvLoraRank * heads * (QkNopeHeadDim + VHeadDim);
            long o = heads * VHeadDim * hidden + (bias ? hidden : 0);
            return q + kv + o;
        }
    }
}

/// <summary>Multi-head latent attention (<c>self_attn</c> of a DeepSeek-V3 layer).</summary>
public sealed class LatentAttention : nn.Module, ISelfAttention
{
    public Dense? q_proj, q_a_proj, q_b_proj;
    public RmsNorm? q_a_layernorm;
    public Dense kv_a_proj_with_mqa, kv_b_proj, o_proj;
    public RmsNorm kv_a_layernorm;
    readonly LatentAttentionSettings m;
    readonly int heads;
    readonly double scale;

    public LatentAttention(ModelConfig c, ScalarType dtype, Device device) : base(nameof(LatentAttention))
    {
        m = c.Mla ?? throw new ArgumentException("not a latent-attention config", nameof(c));
        heads = c.NumHeads;
        if (m.QLoraRank is { } rank)
        {
            q_a_proj = new Dense(c.HiddenSize, rank, c.AttentionBias, dtype, device);
            q_a_layernorm = new RmsNorm(rank, 1e-6, dtype, device);
            q_b_proj = new Dense(rank, heads * m.QkHeadDim, false, dtype, device);
        }
        else q_proj = new Dense(c.HiddenSize, heads * m.QkHeadDim, false, dtype, device);
        kv_a_proj_with_mqa = new Dense(c.HiddenSize, m.KvLoraRank + m.QkRopeHeadDim, c.AttentionBias, dtype, device);
        kv_a_layernorm = new RmsNorm(m.KvLoraRank, 1e-6, dtype, device);
        kv_b_proj = new Dense(m.KvLoraRank, heads * (m.QkNopeHeadDim + m.VHeadDim), false, dtype, device);
        o_proj = new Dense(heads * m.VHeadDim, c.HiddenSize, c.AttentionBias, dtype, device);
        scale = Math.Pow(m.QkHeadDim, -0.5);
        if (c.Yarn is { MscaleAllDim: { } all } y && all != 0)
        {
            double mscale = YarnRopeScaling.GetMscale(y.Factor, all);
            scale *= mscale * mscale;
        }
        RegisterComponents();
    }

    /// <summary>(x0, x1, x2, x3, …) → (x0, x2, …, x1, x3, …) over the last dimension.</summary>
    static Tensor Deinterleave(Tensor x)
    {
        long d = x.shape[^1];
        var shape = x.shape;
        return x.view([.. shape[..^1], d / 2, 2]).transpose(-1, -2).reshape(shape);
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        long b = x.shape[0], t = x.shape[1];
        int nope = m.QkNopeHeadDim, rope = m.QkRopeHeadDim;
        var qAll = q_proj is not null ? q_proj.forward(x) : q_b_proj!.forward(q_a_layernorm!.forward(q_a_proj!.forward(x)));
        var q = qAll.view(b, t, heads, m.QkHeadDim).transpose(1, 2);                          // (B, H, T, nope+rope)
        var qPass = q.narrow(-1, 0, nope);
        var qRot = q.narrow(-1, nope, rope);

        var compressed = kv_a_proj_with_mqa.forward(x);                                       // (B, T, rank+rope)
        var latent = compressed.narrow(-1, 0, m.KvLoraRank);
        var kRot = compressed.narrow(-1, m.KvLoraRank, rope).view(b, 1, t, rope);            // one key for all heads
        var kv = kv_b_proj.forward(kv_a_layernorm.forward(latent)).view(b, t, heads, nope + m.VHeadDim).transpose(1, 2);
        var kPass = kv.narrow(-1, 0, nope);
        var v = kv.narrow(-1, nope, m.VHeadDim);

        if (m.RopeInterleave) { qRot = Deinterleave(qRot); kRot = Deinterleave(kRot); }
        qRot = Rope.Apply(qRot, cos, sin);
        kRot = Rope.Apply(kRot, cos, sin).expand(b, heads, t, rope);
        // scaled_dot_product_attention divides by √(nope+rope); fold the (YaRN-corrected) scale into q instead.
        var query = cat([qPass, qRot], -1) * (scale * Math.Sqrt(m.QkHeadDim));
        var key = cat([kPass, kRot], -1);
        if (cache is not null) (key, v) = cache.Append(layer, key, v.contiguous());

        var y = mask is null
            ? nn.functional.scaled_dot_product_attention(query, key, v, null, 0.0, true)
            : nn.functional.scaled_dot_product_attention(query, key, v, mask, 0.0, false);    // (B, H, T, v_head_dim)
        return o_proj.forward(y.transpose(1, 2).reshape(b, t, heads * m.VHeadDim));
    }
}
