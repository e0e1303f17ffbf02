"""Training steps per second of the lab transformer (emergelab.nn.transformer) with hook
points on, with them off, and a plain nanoGPT-style PyTorch model of the same size.

    PYTHONPATH=src .venv/bin/python benchmarks/transformer_step.py [--steps 20] [--rounds 3] [--device cpu]

Variants (same sizes, same data, Adam, next-token loss, one forward + backward + step each):
  lab-off     net(tokens)                         no hooks, no cache: the training default
  lab-cache   net(tokens, cache={})               every hook point recorded (detached)
  lab-hooks   cache + a pass-through hook on every attention pattern (the "clamping" path)
  plain       nn.Linear q/k/v/o + F.scaled_dot_product_attention, learned positions, no hooks
Ratios are steps/s of each variant over plain (above 1 = faster than plain).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.nn.transformer import Transformer, TransformerConfig


class PlainBlock(nn.Module):
    def __init__(self, D: int, H: int, M: int) -> None:
        super().__init__()
        self.H = H
        self.qkv, self.o = nn.Linear(D, 3 * D, bias=False), nn.Linear(D, D, bias=False)
        self.mlp = nn.Sequential(nn.Linear(D, M), nn.ReLU(), nn.Linear(M, D)) if M else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (t.view(B, T, self.H, -1).transpose(1, 2) for t in self.qkv(x).split(D, -1))  # (B, H, T, d)
        z = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d)
        x = x + self.o(z.transpose(1, 2).reshape(B, T, D))
        return x + self.mlp(x) if self.mlp is not None else x


class Plain(nn.Module):
    def __init__(self, V: int, T: int, D: int, H: int, M: int, L: int) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, D), nn.Parameter(torch.randn(T, D) * D ** -0.5)
        self.blocks = nn.Sequential(*(PlainBlock(D, H, M) for _ in range(L)))
        self.unembed = nn.Linear(D, V, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.unembed(self.blocks(self.tok(tokens) + self.pos[: tokens.shape[1]]))  # (B, T, V)


def steps_per_s(model, call, tokens, steps: int, device: str) -> float:
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    V = tokens.max().item() + 1

    def step():
        logits = call(model, tokens)  # (B, T, V)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1) % V)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per variant per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--ctx", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-mlp", type=int, default=512, help="0 = attention-only")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    dev = a.device
    torch.manual_seed(0)
    tokens = torch.randint(0, a.vocab, (a.batch, a.ctx), device=dev)  # (B, T)
    cfg = TransformerConfig(vocab=a.vocab, n_ctx=a.ctx, d_model=a.d_model, n_heads=a.heads,
                            d_mlp=a.d_mlp, n_layers=a.layers)
    lab = Transformer(cfg, generator=torch.Generator().manual_seed(0)).to(dev)
    plain = Plain(a.vocab, a.ctx, a.d_model, a.heads, a.d_mlp, a.layers).to(dev)
    passthrough = {f"blocks.{l}.attn.pattern": (lambda p: p * 1.0) for l in range(a.layers)}
    variants = {
        "lab-off": (lab, lambda m, x: m(x)),
        "lab-cache": (lab, lambda m, x: m(x, cache={})),
        "lab-hooks": (lab, lambda m, x: m(x, cache={}, hooks=passthrough)),
        "plain": (plain, lambda m, x: m(x)),
    }
    print(f"device={dev} B={a.batch} T={a.ctx} D={a.d_model} H={a.heads} M={a.d_mlp} L={a.layers} "
          f"steps={a.steps} threads={torch.get_num_threads()}")
    # round-robin, best of --rounds: a shared 2-core box drifts, and the first variant to run
    # would otherwise also pay for allocator and thread-pool warm-up
    rates = {k: 0.0 for k in variants}
    for _ in range(a.rounds):
        for k, (m, call) in variants.items():
            rates[k] = max(rates[k], steps_per_s(m, call, tokens, a.steps, dev))
    for k, r in rates.items():
        print(f"{k:10s} {r:8.1f} steps/s   vs plain x{r / rates['plain']:.2f}   vs lab-off x{r / rates['lab-off']:.2f}")
    for k in ("lab-off", "lab-cache", "lab-hooks"):
        print_result(f"transformer_step/{k}", f"transformer {k} vs plain nanoGPT-style", 1e3 / rates[k],
                     1e3 / rates["plain"], "ms/step")  # fmt: skip


if __name__ == "__main__":
    main()
