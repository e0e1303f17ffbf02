"""What the massive-activation probe (measures.activations.resid_hooks) adds to a training step.

    .venv/bin/python benchmarks/activation_probe.py [--rounds 7] [--steps 10] [--threads 1]

The model and batch are the massive_activations world's quick preset (pre-LN GELU transformer,
d_model 64, 4 layers, 64 bytes x 16 windows, AdamW). Two comparisons, CPU time
(time.process_time: on a shared machine wall time mostly measures the neighbours), variants
interleaved round by round, best of the rounds:
  every-step  a training step (forward + backward + AdamW) with the probe's hooks on every
              layer's resid_post (max|h| and median|h| computed in place, no cache) vs the
              same step without hooks: the probe's worst case, recording every step
  world       how the world uses it: one no-grad validation forward with the hooks every
              `--log-every` steps vs without, amortised over those steps and added to a step
Ratios are plain / with-probe (1.0 = free; >= 0.91 meets "the probe adds <= 10 %").
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.measures.activations import resid_hooks
from emergelab.nn import torch_threads
from emergelab.nn.transformer import Transformer, TransformerConfig


def cpu_per_call(f, n: int) -> float:
    t0 = time.process_time()
    for _ in range(n):
        f()
    return (time.process_time() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the best round counts")
    ap.add_argument("--steps", type=int, default=10, help="calls per variant per round")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--log-every", type=int, default=20, help="the world's steps between probe readings")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    with torch_threads(args.threads):
        g = torch.Generator().manual_seed(0)
        L, V, T = args.layers, 257, args.seq_len
        net = Transformer(TransformerConfig(vocab=V, n_ctx=T, d_model=args.d_model, n_heads=4, d_mlp=4 * args.d_model,
                                            n_layers=L, layernorm=True, act="gelu"), generator=g)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        x = torch.randint(0, V, (args.batch, T + 1), generator=g)  # (B, T+1)
        out: dict = {}
        hooks = resid_hooks(L, out)

        def step(h):
            logits = net(x[:, :-1], hooks=h)  # (B, T, V)
            loss = F.cross_entropy(logits.reshape(-1, V), x[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def val(h):
            with torch.no_grad():
                net(x[:, :-1], hooks=h)

        for _ in range(3):  # warm-up (allocator, first-call overheads)
            step(None), step(hooks), val(None), val(hooks)
        best = {"plain": 1e9, "probe": 1e9, "val": 1e9, "val_probe": 1e9}
        for _ in range(args.rounds):
            best["plain"] = min(best["plain"], cpu_per_call(lambda: step(None), args.steps))
            best["probe"] = min(best["probe"], cpu_per_call(lambda: step(hooks), args.steps))
            best["val"] = min(best["val"], cpu_per_call(lambda: val(None), args.steps))
            best["val_probe"] = min(best["val_probe"], cpu_per_call(lambda: val(hooks), args.steps))
        assert sorted(out) == list(range(L)), "the hooks recorded every layer"

    ms = {k: 1e3 * v for k, v in best.items()}
    amortised = ms["plain"] + max(ms["val_probe"] - ms["val"], 0.0) / args.log_every
    print(f"model: d_model {args.d_model}, {L} layers, batch {args.batch} x {T}; torch threads {args.threads}; "
          f"best of {args.rounds} rounds x {args.steps} calls, CPU ms")
    print(f"  training step      plain {ms['plain']:.2f}   with probe {ms['probe']:.2f}   "
          f"(+{100 * (ms['probe'] / ms['plain'] - 1):.1f} %)")
    print(f"  validation forward plain {ms['val']:.2f}   with probe {ms['val_probe']:.2f}   "
          f"-> +{ms['val_probe'] - ms['val']:.2f} ms every {args.log_every} steps "
          f"(+{100 * (amortised / ms['plain'] - 1):.2f} % per step)")
    print_result("activation_probe/every-step", "training step with the probe's hooks on every layer vs without",
                 ms["probe"], ms["plain"], "ms (CPU)")
    print_result("activation_probe/world", f"training step + the probe on the validation forward every "
                 f"{args.log_every} steps vs without", amortised, ms["plain"], "ms (CPU)")


if __name__ == "__main__":
    main()
