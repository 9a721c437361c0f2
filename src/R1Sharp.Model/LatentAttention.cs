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
// KV cache: the COMPRESSED latent is cached, as DeepSeek-V2/V3 serve it: per token and layer the normalised latent
// kv_a_layernorm(c) (kv_lora_rank) and the rotated shared key rope(kr) (qk_rope_head_dim), one copy for all heads — for
// dsv3-1m 32 + 16 floats against 4 heads × (48 + 32) expanded (6.7× smaller). A prefill (several new tokens) expands the
// cached prefix through kv_b_proj and runs the ordinary attention, exactly as without a cache. A decode step (one new
// token) never expands the prefix: kv_b_proj's weight W (H, nope + v, rank) splits into W_UK (H, nope, rank) and
// W_UV (H, v, rank), and with the latent ĉ_s of every cached position s
//   q_nope · k_nope_s = q_nope · (W_UK ĉ_s) = (q_nope W_UK) · ĉ_s          (W_UK absorbed into the query)
//   Σ_s a_s v_s = Σ_s a_s W_UV ĉ_s = W_UV (Σ_s a_s ĉ_s)                     (W_UV applied once, after the weighted sum)
// so the scores are (q_nope W_UK)·ĉ_s + rope(q_rope)·rope(kr)_s over rank + rope dims and the output is W_UV times the
// attention-weighted latent. When kv_b_proj carries a LoRA adapter the step expands the prefix instead (the absorbed
// form multiplies the bare weight).
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
        if (m.RopeInterleave) { qRot = Deinterleave(qRot); kRot = Deinterleave(kRot); }
        qRot = Rope.Apply(qRot, cos, sin);
        kRot = Rope.Apply(kRot, cos, sin);                                                     // (B, 1, T, rope)
        Tensor y;
        if (cache is null)
            y = Expanded(qPass, qRot, kv_a_layernorm.forward(latent), kRot, mask);
        else
        {
            var (cached, cachedRot) = cache.Append(layer, kv_a_layernorm.forward(latent).unsqueeze(1), kRot); // (B, 1, S, rank), (B, 1, S, rope)
            y = t == 1 && kv_b_proj.Adapter is null
                ? Absorbed(qPass, qRot, cached, cachedRot, mask)
                : Expanded(qPass, qRot, cached.squeeze(1), cachedRot, mask);
        }
        return o_proj.forward(y.transpose(1, 2).reshape(b, t, heads * m.VHeadDim));
    }

    /// <summary>
    /// Attention over S positions with per-head keys and values expanded from the normalised latent <paramref name="normed"/>
    /// (B, S, rank) through kv_b_proj; <paramref name="kRot"/> (B, 1, S, rope) is the rotated shared key. Returns (B, H, T, v).
    /// </summary>
    Tensor Expanded(Tensor qPass, Tensor qRot, Tensor normed, Tensor kRot, Tensor? mask)
    {
        long b = normed.shape[0], s = normed.shape[1];
        int nope = m.QkNopeHeadDim;
        var kv = kv_b_proj.forward(normed).view(b, s, heads, nope + m.VHeadDim).transpose(1, 2);  // (B, H, S, nope + v)
        var kPass = kv.narrow(-1, 0, nope);
        var v = kv.narrow(-1, nope, m.VHeadDim).contiguous();
        // scaled_dot_product_attention divides by √(nope+rope); fold the (YaRN-corrected) scale into q instead.
        var query = cat([qPass, qRot], -1) * (scale * Math.Sqrt(m.QkHeadDim));
        var key = cat([kPass, kRot.expand(b, heads, s, m.QkRopeHeadDim)], -1);
        return mask is null
            ? nn.functional.scaled_dot_product_attention(query, key, v, null, 0.0, true)
            : nn.functional.scaled_dot_product_attention(query, key, v, mask, 0.0, false);      // (B, H, T, v_head_dim)
    }

    /// <summary>
    /// One decode step in the absorbed form (top of this file) over the cached latents <paramref name="latents"/>
    /// (B, 1, S, rank) and rotated keys <paramref name="kRot"/> (B, 1, S, rope); <paramref name="mask"/> (B, 1, T, S) or null.
    /// </summary>
    Tensor Absorbed(Tensor qPass, Tensor qRot, Tensor latents, Tensor kRot, Tensor? mask)
    {
        var w = kv_b_proj.weight.view(heads, m.QkNopeHeadDim + m.VHeadDim, m.KvLoraRank);
        var wUk = w.narrow(1, 0, m.QkNopeHeadDim);                                           // (H, nope, rank)
        var wUv = w.narrow(1, m.QkNopeHeadDim, m.VHeadDim);                                  // (H, v, rank)
        var qLatent = qPass.matmul(wUk);                                                     // (B, H, T, rank)
        var scores = (qLatent.matmul(latents.transpose(-1, -2)) + qRot.matmul(kRot.transpose(-1, -2))).to(ScalarType.Float32) * scale;
        if (mask is not null) scores = scores.masked_fill(mask.logical_not(), double.NegativeInfinity);    // null: one new token sees every cached one
        var weights = nn.functional.softmax(scores, -1).to(latents.dtype);                  // (B, H, T, S)
        return weights.matmul(latents).matmul(wUv.transpose(1, 2));                          // (B, H, T, rank) → (B, H, T, v)
    }
}
