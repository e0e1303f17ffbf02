"""Training steps per second of the lab transformer (emergelab.nn.transformer) with hook
points off, with a cache, with hooks, against plain nanoGPT-style PyTorch models of the same size.

    PYTHONPATH=src .venv/bin/python benchmarks/transformer_step.py [--steps 2] [--rounds 40] [--device cpu]

Variants (same sizes, same data, Adam, next-token loss, one forward + backward + step each):
  lab-off        net(tokens)                     no hooks, no cache: the training default
  lab-cache      net(tokens, cache={})           every hook point recorded (detached)
  lab-hooks      cache + a pass-through hook on every attention pattern (the "clamping" path)
  plain          nanoGPT-style: nn.Linear q/k/v/o + F.scaled_dot_product_attention (is_causal),
                 learned positions, no hooks: the bare baseline of every lab variant
  plain-explicit the same with nanoGPT's non-flash attention (q kᵀ/sqrt(d), causal mask, softmax,
                 pattern @ v) keeping each layer's pattern in a dict: what a plain loop must do to
                 read or clamp attention patterns, so the fair baseline of lab-cache and lab-hooks
Timing: the variants take turns (round-robin, --rounds rounds of --steps steps each: short
rounds, so that every variant sees the same moments of a shared machine's load) and the best
round counts; on CPU the RESULT lines carry CPU time (time.process_time: waiting for a core
on a shared machine is left out), on CUDA wall time after a synchronize. Ratios are lab speed
over baseline speed (above 1 = the lab is faster).
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.nn.transformer import Transformer, TransformerConfig


class PlainBlock(nn.Module):
    def __init__(self, D: int, H: int, M: int, T: int, explicit: bool) -> None:
        super().__init__()
        self.H, self.explicit = H, explicit
        self.qkv, self.o = nn.Linear(D, 3 * D, bias=False), nn.Linear(D, D, bias=False)
        self.mlp = nn.Sequential(nn.Linear(D, M), nn.ReLU(), nn.Linear(M, D)) if M else None
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T), persistent=False)
        self.patterns: list = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (t.view(B, T, self.H, -1).transpose(1, 2) for t in self.qkv(x).split(D, -1))  # (B, H, T, d)
        if self.explicit:  # nanoGPT's fallback when flash attention is unavailable
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, H, T, T)
            att = F.softmax(att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf")), dim=-1)
            self.patterns.append(att.detach())
            z = att @ v  # (B, H, T, d)
        else:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d)
        x = x + self.o(z.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp(x) if self.mlp is not None else x


class Plain(nn.Module):
    def __init__(self, V: int, T: int, D: int, H: int, M: int, L: int, explicit: bool = False) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, D), nn.Parameter(torch.randn(T, D) * D ** -0.5)
        self.blocks = nn.Sequential(*(PlainBlock(D, H, M, T, explicit) for _ in range(L)))
        self.unembed = nn.Linear(D, V, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        for b in self.blocks:
            b.patterns.clear()
        return self.unembed(self.blocks(self.tok(tokens) + self.pos[: tokens.shape[1]]))  # (B, T, V)


def make_step(model, call, tokens):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    V = int(tokens.max()) + 1

    def step():
        logits = call(model, tokens)  # (B, T, V)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1) % V)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def timed(step, steps: int, device: str) -> tuple[float, float]:
    """(wall, cpu) seconds per step over `steps` steps."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - w0) / steps, (time.process_time() - c0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2, help="timed steps per variant per round")
    ap.add_argument("--rounds", type=int, default=40, help="rounds of all variants in turn; the best counts")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-mlp", type=int, default=512, help="0 = attention-only")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    dev = a.device
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tokens = torch.randint(0, a.vocab, (a.batch, a.ctx), device=dev)  # (B, T)
    cfg = TransformerConfig(vocab=a.vocab, n_ctx=a.ctx, d_model=a.d_model, n_heads=a.heads,
                            d_mlp=a.d_mlp, n_layers=a.layers)
    lab = Transformer(cfg, generator=torch.Generator().manual_seed(0)).to(dev)
    plain = Plain(a.vocab, a.ctx, a.d_model, a.heads, a.d_mlp, a.layers).to(dev)
    explicit = Plain(a.vocab, a.ctx, a.d_model, a.heads, a.d_mlp, a.layers, explicit=True).to(dev)
    passthrough = {f"blocks.{l}.attn.pattern": (lambda p: p * 1.0) for l in range(a.layers)}
    steps = {
        "lab-off": make_step(lab, lambda m, x: m(x), tokens),
        "lab-cache": make_step(lab, lambda m, x: m(x, cache={}), tokens),
        "lab-hooks": make_step(lab, lambda m, x: m(x, cache={}, hooks=passthrough), tokens),
        "plain": make_step(plain, lambda m, x: m(x), tokens),
        "plain-explicit": make_step(explicit, lambda m, x: m(x), tokens),
    }
    for step in steps.values():  # warm-up: allocator, thread pool, first-call dispatch
        for _ in range(3):
            step()
    clock = 0 if dev.startswith("cuda") else 1  # index into (wall, cpu)
    print(f"device={dev} B={a.batch} T={a.ctx} D={a.d_model} H={a.heads} M={a.d_mlp} L={a.layers} "
          f"steps={a.steps} rounds={a.rounds} threads={torch.get_num_threads()} "
          f"clock={'wall' if clock == 0 else 'cpu'} (best round of each)")
    # round-robin, best of --rounds: a shared machine's noise only ever slows a round down
    best = {k: (math.inf, math.inf) for k in steps}
    for _ in range(a.rounds):
        for k, step in steps.items():
            w, c = timed(step, a.steps, dev)
            best[k] = (min(best[k][0], w), min(best[k][1], c))
    t = {k: v[clock] for k, v in best.items()}
    for k, v in best.items():
        print(f"{k:15s} wall {v[0] * 1e3:7.2f} ms/step  cpu {v[1] * 1e3:7.2f} ms/step   "
              f"vs plain x{t['plain'] / t[k]:.2f}   vs plain-explicit x{t['plain-explicit'] / t[k]:.2f}")
    unit = "ms/step" + ("" if clock == 0 else " (cpu)")
    print_result("transformer_step/lab-off", "transformer, hooks off vs plain nanoGPT-style (bare = fair)",
                 1e3 * t["lab-off"], 1e3 * t["plain"], unit)  # fmt: skip
    for k in ("lab-cache", "lab-hooks"):
        print_result(f"transformer_step/{k}/fair", f"transformer {k} vs nanoGPT-style explicit attention, "
                     "patterns kept", 1e3 * t[k], 1e3 * t["plain-explicit"], unit)  # fmt: skip
        print_result(f"transformer_step/{k}/bare", f"transformer {k} vs plain nanoGPT-style (SDPA)",
                     1e3 * t[k], 1e3 * t["plain"], unit)  # fmt: skip


if __name__ == "__main__":
    main()
