"""Epochs per second of the grokking world (all logging and diagnostics on, through a
Recorder) against plain hand-written PyTorch loops of the same Li_2 model, same process.

    PYTHONPATH=src .venv/bin/python benchmarks/grokking_speed.py [--epochs 400] [--group Z59]
    PYTHONPATH=src .venv/bin/python benchmarks/grokking_speed.py --preset paper --epochs 100 --threads 1 --clock cpu
        (the ms/epoch that docs/worlds/grokking.md states for the paper preset: CPU time on
        one thread, which contention on a shared machine does not inflate)

Two plain loops, neither logging anything:
  plain-onehot  the textbook version: concatenated one-hot inputs through nn.Linear layers
  plain-ebag    the world's own kernels (embedding_bag for the one-hot product): the ratio
                world/plain-ebag is the cost of logging and diagnostics alone
Ratios above 1 mean the world is faster.
"""

from __future__ import annotations

import argparse
import math
import time

# wall time by default; --clock cpu counts this process's CPU seconds instead, which a
# shared, oversubscribed machine cannot inflate (with --threads 1 it equals the wall time
# of an idle core)
CLOCK = time.perf_counter

from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads


def plain_loop(cfg, epochs: int, kind: str, device: str) -> float:
    """Seconds for `epochs` full-batch updates of the li2 model, no logging, no syncs."""
    import torch
    import torch.nn.functional as F

    from emergelab.worlds._groups import parse_group

    g = parse_group(cfg.group)
    N, K = g.order, cfg.hidden
    gen = torch.Generator().manual_seed(cfg.seed)
    perm = torch.randperm(N * N, generator=gen)[: round(cfg.train_fraction * N * N)]
    a, b, y = perm // N, perm % N, torch.tensor(g.table).reshape(-1)[perm]
    W = ((torch.rand(2 * N, K, generator=gen) * 2 - 1) / math.sqrt(2 * N)).requires_grad_()  # (2N, K)
    V = ((torch.rand(K, N, generator=gen) * 2 - 1) / math.sqrt(K)).requires_grad_()  # (K, N)
    W, V = (p.detach().to(device).requires_grad_() for p in (W, V))
    a, b, y = a.to(device), b.to(device), y.to(device)
    x = torch.cat([F.one_hot(a, N), F.one_hot(b, N)], dim=1).float()  # (n, 2N), only for onehot
    idx = torch.stack([a, N + b], dim=1)  # (n, 2)
    opt = torch.optim.Adam([W, V], lr=cfg.lr, weight_decay=cfg.weight_decay, betas=tuple(cfg.betas))
    t0 = CLOCK()
    for _ in range(epochs):
        h = x @ W if kind == "onehot" else F.embedding_bag(idx, W, mode="sum")  # (n, K)
        loss = F.cross_entropy(torch.square(h) @ V, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    loss.item()  # one sync at the end (what an honest CUDA timing needs)
    return CLOCK() - t0


def world_run(cfg) -> float:
    from emergelab.lab.recorder import Recorder
    from emergelab.lab.registry import get_world

    rec = Recorder(progress=False)
    t0 = CLOCK()
    get_world("grokking").run(cfg, rec)
    return CLOCK() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=400, help="updates per timed run")
    ap.add_argument("--group", default=None, help="group spec (default: the preset's)")
    ap.add_argument("--preset", default="quick", help="grokking preset giving the sizes (li2 model)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (both sides use it)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per contestant; the fastest counts")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's, one per core)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall: elapsed seconds; cpu: this process's CPU seconds (all threads summed)")
    args = ap.parse_args()

    import torch

    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)

    from emergelab.lab.registry import get_world

    over = {"epochs": args.epochs, "model": "li2", "device": args.device}
    if args.group:
        over["group"] = args.group
    cfg = get_world("grokking").make_config(args.preset, over)
    if cfg.loss != "ce":
        raise SystemExit("the plain loops use cross-entropy; pick a preset with loss=ce")
    warm = get_world("grokking").make_config(args.preset, {**over, "epochs": 5})
    world_run(warm), plain_loop(cfg, 5, "onehot", args.device), plain_loop(cfg, 5, "ebag", args.device)  # first calls

    # interleaved repeats, best of each: a shared machine's noise only ever slows a run down
    t_world = t_onehot = t_ebag = float("inf")
    for _ in range(args.repeats):
        t_world = min(t_world, world_run(cfg))
        t_onehot = min(t_onehot, plain_loop(cfg, cfg.epochs, "onehot", args.device))
        t_ebag = min(t_ebag, plain_loop(cfg, cfg.epochs, "ebag", args.device))
    rate = {k: cfg.epochs / t for k, t in (("world", t_world), ("plain-onehot", t_onehot), ("plain-ebag", t_ebag))}
    print(f"grokking li2 {cfg.group} K={cfg.hidden} train_fraction={cfg.train_fraction} epochs={cfg.epochs} "
          f"log_every={cfg.log_every} diag_every={cfg.diag_every} threads={torch.get_num_threads()} "
          f"device={args.device} clock={args.clock} best of {args.repeats}")
    for k, r in rate.items():
        print(f"  {k:<13} {r:8.1f} epochs/s {1e3 / r:7.1f} ms/epoch")
    print(f"  ratio world/plain-onehot {rate['world'] / rate['plain-onehot']:.2f}")
    print(f"  ratio world/plain-ebag   {rate['world'] / rate['plain-ebag']:.2f}")
    for base in ("plain-onehot", "plain-ebag"):  # one machine-readable line per ratio (benchmarks/run_all.py)
        print_result(f"grokking_speed/{base}", f"grokking world vs {base} loop", 1e3 / rate["world"],
                     1e3 / rate[base], "ms/epoch")  # fmt: skip


if __name__ == "__main__":
    main()
