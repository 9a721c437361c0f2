#!/usr/bin/env python3
"""Independent PyTorch reference for the two mixture-of-experts families R1Sharp reads (not part of the product).

Follows transformers' modeling_qwen3_moe.py (Qwen3MoeForCausalLM) and modeling_deepseek_v3.py (DeepseekV3ForCausalLM)
operation by operation, eager attention, float32, on a plain dict of tensors named as transformers names them; and
writes the tiny random checkpoints of tests/fixtures/hf-tiny/{qwen3-moe-tiny, deepseek-v3-tiny, deepseek-v3-tiny-plain}
(config.json, safetensors in the exact Hugging Face layout, case.json with reference logits and a greedy continuation).

  /usr/bin/python3 bench/pytorch/reference_moe.py fixtures tests/fixtures/hf-tiny

Needs Debian's python3-torch (1.13) and python3-numpy; transformers itself is not used (nor needed).
"""
import json, math, os, struct, sys
import numpy as np
import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- shared pieces (as transformers writes them)
def rms_norm(x, w, eps):
    dtype = x.dtype
    x = x.to(torch.float32)
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return w * x.to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def default_inv_freq(theta, dim):
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def yarn_get_mscale(scale=1, mscale=1):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_inv_freq(cfg, dim):
    """_compute_yarn_parameters: (inv_freq, attention_factor)."""
    rs = cfg["rope_scaling"]
    base = cfg["rope_theta"]
    factor = rs.get("factor") or cfg["max_position_embeddings"] / rs["original_max_position_embeddings"]
    attention_factor = rs.get("attention_factor")
    mscale, mscale_all_dim = rs.get("mscale"), rs.get("mscale_all_dim")
    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = yarn_get_mscale(factor)
    beta_fast = rs.get("beta_fast") or 32
    beta_slow = rs.get("beta_slow") or 1

    def correction_dim(rot):
        return (dim * math.log(rs["original_max_position_embeddings"] / (rot * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if rs.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
    extra, inter = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    keep = 1 - ramp
    return inter * (1 - keep) + extra * keep, attention_factor


def rope_tables(inv_freq, scaling, positions):  # positions (B, T) -> cos, sin (B, T, D)
    freqs = positions[:, :, None].float() * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * scaling, emb.sin() * scaling


def eager_attention(q, k, v, scaling, T):  # (B, H, T, D): causal, no cache
    w = torch.matmul(q, k.transpose(2, 3)) * scaling
    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    w = F.softmax(w + mask, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(w, v).transpose(1, 2).contiguous()


def swiglu(x, W, pre):
    return F.linear(F.silu(F.linear(x, W[pre + "gate_proj.weight"])) * F.linear(x, W[pre + "up_proj.weight"]), W[pre + "down_proj.weight"])


# ---------------------------------------------------------------- Qwen3-MoE
def qwen3_moe_forward(cfg, W, ids):
    B, T = ids.shape
    H, Hkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    cos, sin = rope_tables(default_inv_freq(cfg["rope_theta"], D), 1.0, torch.arange(T)[None].expand(B, T))
    cos, sin = cos[:, None], sin[:, None]
    x = F.embedding(ids, W["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = rms_norm(F.linear(h, W[p + "self_attn.q_proj.weight"]).view(B, T, -1, D), W[p + "self_attn.q_norm.weight"], eps).transpose(1, 2)
        k = rms_norm(F.linear(h, W[p + "self_attn.k_proj.weight"]).view(B, T, -1, D), W[p + "self_attn.k_norm.weight"], eps).transpose(1, 2)
        v = F.linear(h, W[p + "self_attn.v_proj.weight"]).view(B, T, -1, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = H // Hkv
        k = k[:, :, None].expand(B, Hkv, rep, T, D).reshape(B, H, T, D)
        v = v[:, :, None].expand(B, Hkv, rep, T, D).reshape(B, H, T, D)
        y = eager_attention(q, k, v, D ** -0.5, T).reshape(B, T, -1)
        x = x + F.linear(y, W[p + "self_attn.o_proj.weight"])
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        sparse = i not in cfg["mlp_only_layers"] and cfg["num_experts"] > 0 and (i + 1) % cfg["decoder_sparse_step"] == 0
        x = x + (qwen3_sparse_block(cfg, W, p + "mlp.", h) if sparse else swiglu(h, W, p + "mlp."))
    x = rms_norm(x, W["model.norm.weight"], eps)
    return F.linear(x, W["lm_head.weight"])


ROUTING_GAPS = []  # the smallest margin of every top-k decision, so that the fixture avoids near-ties


def record_gap(values, k):  # values (N, E): margin between the k-th and (k+1)-th largest
    s = values.sort(dim=-1, descending=True).values
    if k < s.shape[-1]:
        ROUTING_GAPS.append((s[:, k - 1] - s[:, k]).min().item())


def qwen3_sparse_block(cfg, W, p, h):
    B, T, C = h.shape
    E, K = cfg["num_experts"], cfg["num_experts_per_tok"]
    h = h.view(-1, C)
    router_logits = F.linear(h, W[p + "gate.weight"])
    routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
    record_gap(routing_weights, K)
    routing_weights, selected = torch.topk(routing_weights, K, dim=-1)
    if cfg["norm_topk_prob"]:
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
    routing_weights = routing_weights.to(h.dtype)
    out = torch.zeros(B * T, C, dtype=h.dtype)
    expert_mask = F.one_hot(selected, num_classes=E).permute(2, 1, 0)
    for e in range(E):
        idx, top_x = torch.where(expert_mask[e])
        if top_x.numel() == 0:
            continue
        cur = swiglu(h[top_x], W, p + f"experts.{e}.") * routing_weights[top_x, idx, None]
        out.index_add_(0, top_x, cur.to(h.dtype))
    return out.view(B, T, C)


# ---------------------------------------------------------------- DeepSeek-V3
def deepseek_v3_forward(cfg, W, ids):
    B, T = ids.shape
    H = cfg["num_attention_heads"]
    nope, rope, vd, qlr, kvr = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["q_lora_rank"], cfg["kv_lora_rank"]
    qk = nope + rope
    eps = cfg["rms_norm_eps"]
    rs = cfg.get("rope_scaling")
    if rs is not None and rs.get("rope_type", rs.get("type")) == "yarn":
        inv_freq, att_factor = yarn_inv_freq(cfg, rope)  # head_dim = qk_rope_head_dim
    else:
        inv_freq, att_factor = default_inv_freq(cfg["rope_theta"], rope), 1.0
    cos, sin = rope_tables(inv_freq, att_factor, torch.arange(T)[None].expand(B, T))
    cos, sin = cos[:, None], sin[:, None]
    scaling = qk ** (-0.5)
    if rs is not None:
        mad = rs.get("mscale_all_dim", 0)
        if mad:
            m = yarn_get_mscale(rs["factor"], mad)
            scaling = scaling * m * m
    x = F.embedding(ids, W["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        if qlr is None:
            q = F.linear(h, W[a + "q_proj.weight"])
        else:
            q = F.linear(rms_norm(F.linear(h, W[a + "q_a_proj.weight"]), W[a + "q_a_layernorm.weight"], 1e-6), W[a + "q_b_proj.weight"])
        q = q.view(B, T, -1, qk).transpose(1, 2)
        q_pass, q_rot = torch.split(q, [nope, rope], dim=-1)
        ckv = F.linear(h, W[a + "kv_a_proj_with_mqa.weight"])
        k_pass, k_rot = torch.split(ckv, [kvr, rope], dim=-1)
        k_pass = F.linear(rms_norm(k_pass, W[a + "kv_a_layernorm.weight"], 1e-6), W[a + "kv_b_proj.weight"]).view(B, T, -1, nope + vd).transpose(1, 2)
        k_pass, v = torch.split(k_pass, [nope, vd], dim=-1)
        k_rot = k_rot.view(B, 1, T, rope)
        if cfg["rope_interleave"]:
            b_, h_, s_, d_ = q_rot.shape
            q_rot = q_rot.reshape(b_, h_, s_, d_ // 2, 2).transpose(4, 3).reshape(b_, h_, s_, d_)
            b_, h_, s_, d_ = k_rot.shape
            k_rot = k_rot.reshape(b_, h_, s_, d_ // 2, 2).transpose(4, 3).reshape(b_, h_, s_, d_)
        q_rot = q_rot * cos + rotate_half(q_rot) * sin
        k_rot = k_rot * cos + rotate_half(k_rot) * sin
        k_rot = k_rot.expand(*k_pass.shape[:-1], -1)
        query = torch.cat((q_pass, q_rot), dim=-1)
        key = torch.cat((k_pass, k_rot), dim=-1)
        y = eager_attention(query, key, v, scaling, T).reshape(B, T, -1)
        x = x + F.linear(y, W[a + "o_proj.weight"])
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        if i >= cfg["first_k_dense_replace"]:
            x = x + deepseek_moe(cfg, W, p + "mlp.", h)
        else:
            x = x + swiglu(h, W, p + "mlp.")
    x = rms_norm(x, W["model.norm.weight"], eps)
    return F.linear(x, W["lm_head.weight"])


def deepseek_moe(cfg, W, p, h):
    B, T, C = h.shape
    E, K, G, TG = cfg["n_routed_experts"], cfg["num_experts_per_tok"], cfg["n_group"], cfg["topk_group"]
    hs = h.view(-1, C)
    # DeepseekV3TopkRouter.forward
    scores = F.linear(hs.type(torch.float32), W[p + "gate.weight"].type(torch.float32)).sigmoid()
    choice = scores.view(-1, E) + W[p + "gate.e_score_correction_bias"].unsqueeze(0)
    group_scores = choice.view(-1, G, E // G).topk(2, dim=-1)[0].sum(dim=-1)
    record_gap(group_scores, TG)
    group_idx = torch.topk(group_scores, k=TG, dim=-1, sorted=False)[1]
    group_mask = torch.zeros_like(group_scores)
    group_mask.scatter_(1, group_idx, 1)
    score_mask = group_mask.unsqueeze(-1).expand(-1, G, E // G).reshape(-1, E)
    choice = choice.masked_fill(~score_mask.bool(), 0.0)
    record_gap(choice, K)
    topk_idx = torch.topk(choice, k=K, dim=-1, sorted=False)[1]
    topk_w = scores.gather(1, topk_idx)
    if cfg["norm_topk_prob"]:
        topk_w /= topk_w.sum(dim=-1, keepdim=True) + 1e-20
    topk_w = topk_w * cfg["routed_scaling_factor"]
    # DeepseekV3MoE.moe
    out = torch.zeros_like(hs, dtype=topk_w.dtype)
    expert_mask = F.one_hot(topk_idx, num_classes=E).permute(2, 0, 1)
    for e in range(E):
        tok, wi = torch.where(expert_mask[e])
        if tok.numel() > 0:
            out.index_add_(0, tok, swiglu(hs[tok], W, p + f"experts.{e}.") * topk_w[tok, wi].unsqueeze(-1))
    out = out.type(hs.dtype).view(B, T, C)
    if cfg["n_shared_experts"]:
        out = out + swiglu(h, W, p + "shared_experts.")
    return out


# ---------------------------------------------------------------- checkpoints
def save_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        b = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def weights(cfg, family, g):
    W = {}
    C, V = cfg["hidden_size"], cfg["vocab_size"]

    def lin(name, o, i, std=0.08):
        W[name] = torch.randn(o, i, generator=g) * std

    def norm(name, d):
        W[name] = 1.0 + 0.1 * torch.randn(d, generator=g)

    def mlp(pre, inner):
        lin(pre + "gate_proj.weight", inner, C)
        lin(pre + "up_proj.weight", inner, C)
        lin(pre + "down_proj.weight", C, inner)

    W["model.embed_tokens.weight"] = torch.randn(V, C, generator=g) * 0.5
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        if family == "qwen3_moe":
            H, Hkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
            lin(a + "q_proj.weight", H * D, C)
            lin(a + "k_proj.weight", Hkv * D, C)
            lin(a + "v_proj.weight", Hkv * D, C)
            lin(a + "o_proj.weight", C, H * D)
            norm(a + "q_norm.weight", D)
            norm(a + "k_norm.weight", D)
            sparse = i not in cfg["mlp_only_layers"] and (i + 1) % cfg["decoder_sparse_step"] == 0
            if sparse:
                lin(p + "mlp.gate.weight", cfg["num_experts"], C, std=0.6)
                for e in range(cfg["num_experts"]):
                    mlp(p + f"mlp.experts.{e}.", cfg["moe_intermediate_size"])
            else:
                mlp(p + "mlp.", cfg["intermediate_size"])
        else:
            H, nope, rope, vd = cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
            if cfg["q_lora_rank"] is None:
                lin(a + "q_proj.weight", H * (nope + rope), C)
            else:
                lin(a + "q_a_proj.weight", cfg["q_lora_rank"], C)
                norm(a + "q_a_layernorm.weight", cfg["q_lora_rank"])
                lin(a + "q_b_proj.weight", H * (nope + rope), cfg["q_lora_rank"])
            lin(a + "kv_a_proj_with_mqa.weight", cfg["kv_lora_rank"] + rope, C)
            norm(a + "kv_a_layernorm.weight", cfg["kv_lora_rank"])
            lin(a + "kv_b_proj.weight", H * (nope + vd), cfg["kv_lora_rank"])
            lin(a + "o_proj.weight", C, H * vd)
            if i >= cfg["first_k_dense_replace"]:
                lin(p + "mlp.gate.weight", cfg["n_routed_experts"], C, std=0.6)
                W[p + "mlp.gate.e_score_correction_bias"] = 0.3 * torch.randn(cfg["n_routed_experts"], generator=g)
                for e in range(cfg["n_routed_experts"]):
                    mlp(p + f"mlp.experts.{e}.", cfg["moe_intermediate_size"])
                if cfg["n_shared_experts"]:
                    mlp(p + "mlp.shared_experts.", cfg["moe_intermediate_size"] * cfg["n_shared_experts"])
            else:
                mlp(p + "mlp.", cfg["intermediate_size"])
        norm(p + "input_layernorm.weight", C)
        norm(p + "post_attention_layernorm.weight", C)
    norm("model.norm.weight", C)
    W["lm_head.weight"] = torch.randn(V, C, generator=g) * 0.1
    return W


QWEN3_MOE = {
    "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "vocab_size": 320, "hidden_size": 64,
    "intermediate_size": 160, "moe_intermediate_size": 48, "num_hidden_layers": 6, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 32, "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "hidden_act": "silu",
    "rope_theta": 1000000.0, "rope_scaling": None, "attention_bias": False, "attention_dropout": 0.0,
    "num_experts": 8, "num_experts_per_tok": 2, "norm_topk_prob": True, "decoder_sparse_step": 2, "mlp_only_layers": [3],
    "router_aux_loss_coef": 0.001, "output_router_logits": False, "use_sliding_window": False, "sliding_window": None,
    "max_window_layers": 6, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "initializer_range": 0.02,
    "use_cache": True, "torch_dtype": "float32",
}

DEEPSEEK_V3 = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "vocab_size": 320, "hidden_size": 64,
    "intermediate_size": 128, "moe_intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4,
    "num_key_value_heads": 4, "n_shared_experts": 1, "n_routed_experts": 8, "routed_scaling_factor": 2.5,
    "kv_lora_rank": 32, "q_lora_rank": 48, "qk_rope_head_dim": 8, "v_head_dim": 24, "qk_nope_head_dim": 16,
    "n_group": 4, "topk_group": 2, "num_experts_per_tok": 3, "first_k_dense_replace": 1, "norm_topk_prob": True,
    "hidden_act": "silu", "max_position_embeddings": 256, "initializer_range": 0.02, "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0, "rope_interleave": True,
    "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "beta_fast": 32,
                     "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.8},
    "attention_bias": False, "attention_dropout": 0.0, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 1,
    "use_cache": True, "torch_dtype": "float32",
}

# The other branches: q_proj instead of the q LoRA, no interleave, no rope scaling, one group, no renormalisation.
DEEPSEEK_V3_PLAIN = dict(DEEPSEEK_V3, q_lora_rank=None, rope_interleave=False, rope_scaling=None, n_group=1, topk_group=1,
                         norm_topk_prob=False, routed_scaling_factor=1.0, num_experts_per_tok=2, n_routed_experts=4,
                         num_hidden_layers=2)


def make_fixture(out_dir, cfg, family, seed, shards):
    forward = qwen3_moe_forward if family == "qwen3_moe" else deepseek_v3_forward
    for attempt in range(50):  # redraw until no routing decision is within 1e-3 of a tie
        g = torch.Generator().manual_seed(seed + attempt)
        W = weights(cfg, family, g)
        ids = torch.randint(3, cfg["vocab_size"], (2, 9), generator=g)
        ROUTING_GAPS.clear()
        with torch.no_grad():
            logits = forward(cfg, W, ids)
            seq = ids[0].tolist()
            for _ in range(12):
                seq.append(int(forward(cfg, W, torch.tensor([seq]))[0, -1].argmax()))
            top2 = None
        if min(ROUTING_GAPS) > 1e-3:
            break
    else:
        raise SystemExit(f"{out_dir}: no seed without near-tied routing")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    names = list(W)
    if shards == 1:
        save_safetensors(os.path.join(out_dir, "model.safetensors"), W)
    else:
        half = len(names) // 2
        parts = [names[:half], names[half:]]
        weight_map = {}
        for n, part in enumerate(parts):
            file = f"model-{n + 1:05d}-of-{len(parts):05d}.safetensors"
            save_safetensors(os.path.join(out_dir, file), {k: W[k] for k in part})
            weight_map.update({k: file for k in part})
        total = sum(t.numel() * 4 for t in W.values())
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
            f.write("\n")
    case = {
        "input_ids": ids.tolist(),
        "logits": [[[round(float(v), 7) for v in pos] for pos in row] for row in logits],
        "greedy_prompt": ids[0].tolist(),
        "greedy_continuation": seq[9:],
        "tolerance": {"float32": 1e-4},
        "min_routing_margin": min(ROUTING_GAPS),
        "seed": seed + attempt,
    }
    with open(os.path.join(out_dir, "case.json"), "w") as f:
        json.dump(case, f, separators=(",", ":"))
        f.write("\n")
    print(out_dir, "seed", seed + attempt, "min routing margin", min(ROUTING_GAPS), "continuation", seq[9:])


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "fixtures":
        raise SystemExit(__doc__)
    torch.set_num_threads(1)
    root = sys.argv[2]
    make_fixture(os.path.join(root, "qwen3-moe-tiny"), QWEN3_MOE, "qwen3_moe", 1000, shards=1)
    make_fixture(os.path.join(root, "deepseek-v3-tiny"), DEEPSEEK_V3, "deepseek_v3", 2000, shards=2)
    make_fixture(os.path.join(root, "deepseek-v3-tiny-plain"), DEEPSEEK_V3_PLAIN, "deepseek_v3", 3000, shards=1)
