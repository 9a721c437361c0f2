#!/usr/bin/env python3
"""PyTorch eager reference for R1Sharp's speed benchmarks (not part of the product).

Reads a Qwen2-style checkpoint that R1Sharp saved (config.json + model.safetensors, float32) with a small
numpy safetensors reader, and times, in plain PyTorch eager on the CPU:
  decode: greedy decoding with a preallocated KV cache (the loop a PyTorch user would write);
  train:  one forward + backward of the causal-LM loss.
Prints one JSON object. Needs Debian's python3-torch (1.13: no scaled_dot_product_attention, so attention
is written out: softmax(q k^T / sqrt(d) + mask) v). Debian's python3-torch calls the system BLAS: install
libopenblas0-pthread, or it falls back to the reference BLAS and the comparison means nothing (the output's
gemm_gflops shows which one it got).

  /usr/bin/python3 bench/pytorch/reference.py decode CKPT --prompts prompts.json --new 128 --threads 2
  /usr/bin/python3 bench/pytorch/reference.py train CKPT --batch 8 --seq 512 --threads 2
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

    def forward(self, ids, pos, cache=None, start=0, mask=None):
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


if __name__ == "__main__":
    a = argparse.ArgumentParser()
    a.add_argument("mode", choices=["decode", "train"])
    a.add_argument("checkpoint")
    a.add_argument("--prompts", help="decode: JSON file with a list of equal-length prompts (token ids)")
    a.add_argument("--batch", type=int, default=8)
    a.add_argument("--new", type=int, default=128)
    a.add_argument("--seq", type=int, default=512)
    a.add_argument("--steps", type=int, default=2)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--threads", type=int, default=2)
    args = a.parse_args()
    torch.set_num_threads(args.threads)
    m = Model(args.checkpoint)
    r = decode(m, args.prompts, args.new) if args.mode == "decode" else train(m, args.batch, args.seq, args.steps, args.seed)
    r["torch"] = torch.__version__
    a, b = torch.randn(4096, 512), torch.randn(512, 1408)
    a @ b
    t0 = time.perf_counter()
    a @ b
    r["gemm_gflops"] = 2 * 4096 * 512 * 1408 / (time.perf_counter() - t0) / 1e9
    print(json.dumps(r))
