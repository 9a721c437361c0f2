#!/usr/bin/env python3
"""PyTorch eager reference for R1Sharp's speed benchmarks (not part of the product).

Reads a Qwen2-style checkpoint that R1Sharp saved (config.json + model.safetensors, float32) with a small
numpy safetensors reader, and times, in plain PyTorch eager on the CPU:
  decode: greedy decoding with a preallocated KV cache (the loop a PyTorch user would write);
  train:  one forward + backward of the causal-LM loss;
  grpo:   one GRPO step as a minimal PyTorch trainer writes it: sample G completions per prompt with a KV cache
          (temperature 1, no top-p, no EOS stop: every completion has exactly --new tokens), then recompute the
          completion log-probs with grad in micro-batches, clipped surrogate (mu = 1, so pi_old = detach(pi)),
          dapo aggregation (sum over tokens / the step's token count), beta = 0, backward, clip_grad_norm_(1.0),
          AdamW. Advantages are group-normalised from the rewards file: (r - mean) / (std + 1e-4), std with N - 1.
Prints one JSON object. Needs Debian's python3-torch (1.13: no scaled_dot_product_attention, so attention
is written out: softmax(q k^T / sqrt(d) + mask) v). Debian's python3-torch calls the system BLAS: install
libopenblas0-pthread, or it falls back to the reference BLAS and the comparison means nothing (the output's
gemm_gflops shows which one it got).

  /usr/bin/python3 bench/pytorch/reference.py decode CKPT --prompts prompts.json --new 128 --threads 2
  /usr/bin/python3 bench/pytorch/reference.py train CKPT --batch 8 --seq 512 --threads 2
  /usr/bin/python3 bench/pytorch/reference.py grpo CKPT --prompts prompts.json --rewards rewards.json --group 8 --new 128 \
      [--completions c.json] --threads 2
"""
import argparse, json, math, struct, time
import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", "the reference reads float32 checkpoints"
        b, end = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:end], dtype=np.float32).copy().reshape(e["shape"]))
    return out


class Model:
    def __init__(self, ckpt):
        self.c = json.load(open(f"{ckpt}/config.json"))
        self.w = load_safetensors(f"{ckpt}/model.safetensors")
        c = self.c
        self.L, self.H, self.Hkv = c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"]
        self.D = c.get("head_dim") or c["hidden_size"] // self.H
        self.eps = c["rms_norm_eps"]
        self.inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.D, 2).float() / self.D))

    def p(self, name):
        return self.w[name]

    def params(self):
        return list(self.w.values())

    def norm(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, pos):  # x (B, H, T, D), pos (B, T)
        f = pos.float()[..., None] * self.inv_freq
        emb = torch.cat([f, f], -1)[:, None]
        cos, sin = emb.cos(), emb.sin()
        h = self.D // 2
        return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin

    def forward(self, ids, pos, cache=None, start=0, mask=None, keep=None):
        B, T = ids.shape
        x = self.p("model.embed_tokens.weight")[ids]
        rep = self.H // self.Hkv
        for i in range(self.L):
            pre = f"model.layers.{i}."
            h = self.norm(x, self.p(pre + "input_layernorm.weight"))
            q = F.linear(h, self.p(pre + "self_attn.q_proj.weight"), self.p(pre + "self_attn.q_proj.bias")).view(B, T, self.H, self.D).transpose(1, 2)
            k = F.linear(h, self.p(pre + "self_attn.k_proj.weight"), self.p(pre + "self_attn.k_proj.bias")).view(B, T, self.Hkv, self.D).transpose(1, 2)
            v = F.linear(h, self.p(pre + "self_attn.v_proj.weight"), self.p(pre + "self_attn.v_proj.bias")).view(B, T, self.Hkv, self.D).transpose(1, 2)
            q, k = self.rope(q, pos), self.rope(k, pos)
            if cache is not None:
                cache[i][0][:, :, start:start + T] = k
                cache[i][1][:, :, start:start + T] = v
                k, v = cache[i][0][:, :, :start + T], cache[i][1][:, :, :start + T]
            k = k.repeat_interleave(rep, 1)
            v = v.repeat_interleave(rep, 1)
            att = q @ k.transpose(-1, -2) / math.sqrt(self.D)
            if mask is not None:
                att = att + mask
            y = att.softmax(-1) @ v
            x = x + F.linear(y.transpose(1, 2).reshape(B, T, -1), self.p(pre + "self_attn.o_proj.weight"))
            h = self.norm(x, self.p(pre + "post_attention_layernorm.weight"))
            g = F.linear(h, self.p(pre + "mlp.gate_proj.weight"))
            u = F.linear(h, self.p(pre + "mlp.up_proj.weight"))
            x = x + F.linear(F.silu(g) * u, self.p(pre + "mlp.down_proj.weight"))
        if keep is not None:  # the head only where logits are needed (transformers' logits_to_keep)
            x = x[:, keep]
        x = self.norm(x, self.p("model.norm.weight"))
        head = self.w.get("lm_head.weight", self.p("model.embed_tokens.weight"))
        return F.linear(x, head)


def causal(T, S, start):
    m = torch.full((T, S), float("-inf"))
    return torch.triu(m, diagonal=start + 1)


def decode(model, prompts_file, new):
    ids = torch.tensor(json.load(open(prompts_file)))
    batch, prompt = ids.shape
    cap = prompt + new
    with torch.no_grad():
        cache = [(torch.zeros(batch, model.Hkv, cap, model.D), torch.zeros(batch, model.Hkv, cap, model.D)) for _ in range(model.L)]
        t0 = time.perf_counter()
        pos = torch.arange(prompt)[None].expand(batch, prompt)
        logits = model.forward(ids, pos, cache, 0, causal(prompt, prompt, 0))
        nxt = logits[:, -1].argmax(-1)
        out = [nxt]
        for s in range(new - 1):
            p = prompt + s
            logits = model.forward(nxt[:, None], torch.full((batch, 1), p), cache, p)
            nxt = logits[:, -1].argmax(-1)
            out.append(nxt)
        dt = time.perf_counter() - t0
    tokens = torch.stack(out, 1)
    return {"seconds": dt, "tokens_per_second": batch * new / dt, "tokens": tokens.tolist()}


def train(model, batch, seq, steps, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, model.c["vocab_size"], (batch, seq + 1), generator=g)
    for p in model.params():
        p.requires_grad_(True)
    pos = torch.arange(seq)[None].expand(batch, seq)
    mask = causal(seq, seq, 0)
    times = []
    for _ in range(steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        logits = model.forward(ids[:, :-1], pos, mask=mask)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        for p in model.params():
            p.grad = None
        times.append(time.perf_counter() - t0)
    return {"seconds_per_step": min(times[1:]), "loss": loss.item()}


def sample(model, prompts, group, new, seed):
    """G completions per prompt of exactly `new` tokens at temperature 1: (B*G, new) ids and their log-probs."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.tensor(prompts)
    batch, prompt = ids.shape
    rows, cap = batch * group, prompt + new
    with torch.no_grad():
        pos = torch.arange(prompt)[None].expand(batch, prompt)
        cache = [(torch.zeros(batch, model.Hkv, cap, model.D), torch.zeros(batch, model.Hkv, cap, model.D)) for _ in range(model.L)]
        logits = model.forward(ids, pos, cache, 0, causal(prompt, prompt, 0), keep=slice(-1, None))[:, -1]
        expand = torch.arange(batch).repeat_interleave(group)  # prefill each prompt once, copy its cache rows G times
        cache = [(k[expand], v[expand]) for k, v in cache]
        logits = logits[expand]
        out, lps = [], []
        for s in range(new):
            logp = logits.log_softmax(-1)
            nxt = torch.multinomial(logits.softmax(-1), 1, generator=g)  # (rows, 1)
            out.append(nxt[:, 0])
            lps.append(logp.gather(-1, nxt)[:, 0])
            if s == new - 1:
                break
            p = prompt + s
            logits = model.forward(nxt, torch.full((rows, 1), p), cache, p)[:, -1]
    return torch.stack(out, 1), torch.stack(lps, 1)


def grpo_update(model, opt, prompts, completions, rewards, group, micro, eps=0.2, max_norm=1.0):
    """One optimiser step on the samples; returns (loss, grad norm before clipping, entropy)."""
    prompt_ids = torch.tensor(prompts).repeat_interleave(group, 0)        # (B, Lp)
    comp = torch.as_tensor(completions)                                   # (B, Lc)
    ids = torch.cat([prompt_ids, comp], 1)
    B, Lp, Lc = ids.shape[0], prompt_ids.shape[1], comp.shape[1]
    r = torch.tensor(rewards, dtype=torch.float64).view(-1, group)
    adv = ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)).view(-1).float()
    mask = torch.ones(B, Lc)                                              # no EOS, no padding: every token counts
    total = mask.sum()
    T = Lp + Lc
    pos = torch.arange(T)[None]
    att_mask = causal(T, T, 0)
    loss_sum, ent, clipped = 0.0, 0.0, 0.0
    for s in range(0, B, micro):
        e = min(B, s + micro)
        logits = model.forward(ids[s:e], pos.expand(e - s, T), mask=att_mask, keep=slice(Lp - 1, T - 1))  # (b, Lc, V)
        logp = logits.gather(-1, comp[s:e, :, None])[..., 0] - logits.logsumexp(-1)
        ratio = (logp - logp.detach()).exp()
        a = adv[s:e, None]
        per_token = -torch.min(ratio * a, ratio.clamp(1 - eps, 1 + eps) * a)
        loss = (per_token * mask[s:e]).sum() / total                      # dapo: token-level over the whole step
        loss.backward()
        with torch.no_grad():                                             # the metrics a GRPO trainer logs
            lsm = logits.log_softmax(-1)
            ent += (-(lsm.exp() * lsm).sum(-1) * mask[s:e]).sum().item()
            low = (ratio < 1 - eps) & (a < 0)
            high = (ratio > 1 + eps) & (a > 0)
            clipped += ((low | high).float() * mask[s:e]).sum().item()
            loss_sum += loss.item()
    norm = torch.nn.utils.clip_grad_norm_(model.params(), max_norm).item()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss_sum, norm, ent / total.item()


def grpo(model, prompts_file, rewards_file, completions_file, group, new, micro, seed):
    prompts = json.load(open(prompts_file))
    rewards = json.load(open(rewards_file))
    for p in model.params():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(model.params(), lr=1e-6, weight_decay=0.0)
    # warm-up: a tiny step at learning rate 0 (weights unchanged), then a fresh optimiser state
    for gr in opt.param_groups:
        gr["lr"] = 0.0
    c, _ = sample(model, prompts[:2], 2, 4, seed)
    grpo_update(model, opt, prompts[:2], c, [0.0, 1.0, 1.0, 0.0], 2, micro)
    opt.state.clear()
    for gr in opt.param_groups:
        gr["lr"] = 1e-6
    t0 = time.perf_counter()
    completions, logps = sample(model, prompts, group, new, seed)
    t1 = time.perf_counter()
    if completions_file:  # update on the given completions (R1Sharp's), to compare the gradient norm on identical inputs
        completions = json.load(open(completions_file))
    loss, norm, entropy = grpo_update(model, opt, prompts, completions, rewards, group, micro)
    t2 = time.perf_counter()
    return {"generation_seconds": t1 - t0, "update_seconds": t2 - t1, "seconds": t2 - t0, "loss": loss,
            "grad_norm": norm, "entropy": entropy, "mean_logprob": logps.mean().item()}


if __name__ == "__main__":
    a = argparse.ArgumentParser()
    a.add_argument("mode", choices=["decode", "train", "grpo"])
    a.add_argument("checkpoint")
    a.add_argument("--prompts", help="decode: JSON file with a list of equal-length prompts (token ids)")
    a.add_argument("--rewards", help="grpo: JSON list of B*G rewards, each group contiguous")
    a.add_argument("--completions", help="grpo: JSON list of B*G completions to update on instead of the sampled ones")
    a.add_argument("--group", type=int, default=8)
    a.add_argument("--micro-batch", type=int, default=32)
    a.add_argument("--batch", type=int, default=8)
    a.add_argument("--new", type=int, default=128)
    a.add_argument("--seq", type=int, default=512)
    a.add_argument("--steps", type=int, default=2)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--threads", type=int, default=2)
    args = a.parse_args()
    torch.set_num_threads(args.threads)
    m = Model(args.checkpoint)
    if args.mode == "decode":
        r = decode(m, args.prompts, args.new)
    elif args.mode == "train":
        r = train(m, args.batch, args.seq, args.steps, args.seed)
    else:
        r = grpo(m, args.prompts, args.rewards, args.completions, args.group, args.new, args.micro_batch, args.seed)
    r["torch"] = torch.__version__
    a, b = torch.randn(4096, 512), torch.randn(512, 1408)
    a @ b
    t0 = time.perf_counter()
    a @ b
    r["gemm_gflops"] = 2 * 4096 * 512 * 1408 / (time.perf_counter() - t0) / 1e9
    print(json.dumps(r))
