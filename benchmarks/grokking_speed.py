"""Epochs per second of the grokking world (all logging and diagnostics on, through a
Recorder) against plain hand-written PyTorch loops of the same Li_2 model, same process.

    PYTHONPATH=src .venv/bin/python benchmarks/grokking_speed.py [--epochs 400] [--group Z59]
    PYTHONPATH=src .venv/bin/python benchmarks/grokking_speed.py --preset paper --epochs 100 --threads 1 --clock cpu
        (the ms/epoch that docs/worlds/grokking.md states for the paper preset: CPU time on
        one thread, which contention on a shared machine does not inflate)

Plain loops, two kernels for the first layer:
  onehot  the textbook version: concatenated one-hot inputs through a matmul
  ebag    the world's own kernel (embedding_bag for the one-hot product)
each in two versions:
  fair    the same work as the world: at the world's cadence (every log_every epochs, and at
          every diag_every) a validation forward under no_grad, the same five metrics (train and
          val loss and accuracy, weight norm), read with .item() into a list, and at every
          diag_every the same li2/* and fourier/* diagnostics (the world's own functions: the
          math is the same, the loop around it is the plain one's)
  bare    training only, nothing evaluated or logged (one sync at the end)
The ratios world/fair-* are what the lab costs over a hand-written loop doing the same;
world/bare-* include the evaluation itself. Ratios above 1 mean the world is faster.
The contestants take turns (world, fair-onehot, fair-ebag, bare-onehot, bare-ebag, world, ...)
and the best of --repeats counts.
"""

from __future__ import annotations

import argparse
import math
import time

# CPU time by default on CPU (this process's CPU seconds: contention on a shared machine does
# not inflate it; with --threads 1 it equals the wall time of an idle core), wall time on CUDA
CLOCK = time.process_time

from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads


def plain_loop(cfg, epochs: int, kind: str, device: str, fair: bool) -> float:
    """Seconds for `epochs` full-batch updates of the li2 model (+ the world's metrics if fair)."""
    import torch
    import torch.nn.functional as F

    from emergelab.worlds._groups import parse_group
    from emergelab.worlds.grokking import _fourier_measures, _li2_diagnostics

    g = parse_group(cfg.group)
    N, K = g.order, cfg.hidden
    gen = torch.Generator().manual_seed(cfg.seed)
    table = torch.tensor(g.table).reshape(-1)  # (N*N,)
    perm = torch.randperm(N * N, generator=gen)
    n_tr = round(cfg.train_fraction * N * N)
    tr, va = perm[:n_tr], perm[n_tr:]
    W = ((torch.rand(2 * N, K, generator=gen) * 2 - 1) / math.sqrt(2 * N)).requires_grad_()  # (2N, K)
    V = ((torch.rand(K, N, generator=gen) * 2 - 1) / math.sqrt(K)).requires_grad_()  # (K, N)
    W, V = (p.detach().to(device).requires_grad_() for p in (W, V))
    table, tr, va = table.to(device), tr.to(device), va.to(device)
    pair = torch.arange(N * N, device=device)
    a, b = pair // N, pair % N

    def inputs(rows):  # one-hot rows (n, 2N) or embedding_bag indices (n, 2)
        if kind == "onehot":
            return torch.cat([F.one_hot(a[rows], N), F.one_hot(b[rows], N)], dim=1).float()
        return torch.stack([a[rows], N + b[rows]], dim=1)

    x_tr, x_va, x_all = inputs(tr), inputs(va), inputs(pair)
    y_tr, y_va = table[tr], table[va]

    def model(x):  # -> logits (n, N), hidden (n, K)
        h = torch.square(x @ W if kind == "onehot" else F.embedding_bag(x, W, mode="sum"))
        return h @ V, h

    opt = torch.optim.Adam([W, V], lr=cfg.lr, weight_decay=cfg.weight_decay, betas=tuple(cfg.betas))
    history = []
    t0 = CLOCK()
    for epoch in range(epochs + 1):
        logits, h = model(x_tr)
        loss = F.cross_entropy(logits, y_tr)
        last = epoch == epochs
        if fair:
            diag = cfg.diag_every > 0 and (epoch % cfg.diag_every == 0 or last)
            if epoch % cfg.log_every == 0 or last or diag:
                with torch.no_grad():
                    lv = model(x_va)[0]
                    row = {"train/loss": loss.item(), "train/acc": (logits.argmax(1) == y_tr).float().mean().item(),
                           "val/loss": F.cross_entropy(lv, y_va).item(),
                           "val/acc": (lv.argmax(1) == y_va).float().mean().item(),
                           "weight/norm": (W.square().sum() + V.square().sum()).sqrt().item()}
                    if diag:
                        row.update({k: v.item() for k, v in _li2_diagnostics(h, V, y_tr, N).items()})
                        if g.is_cyclic:
                            embed = torch.cat([W[:N], W[N:]], dim=1)  # (N, 2K)
                            fm, _ = _fourier_measures(model(x_all)[0], embed, table, tr, F.cross_entropy,
                                                      cfg.key_freqs)  # fmt: skip
                            row.update({k: v.item() for k, v in fm.items()})
                history.append((epoch, row))
        if last:
            break
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
    ap.add_argument("--clock", choices=("wall", "cpu"), default=None,
                    help="wall: elapsed seconds; cpu: this process's CPU seconds, all threads summed "
                         "(default: cpu on CPU, wall on CUDA)")
    args = ap.parse_args()

    import torch

    global CLOCK
    clock = args.clock or ("wall" if args.device.startswith("cuda") else "cpu")
    CLOCK = time.process_time if clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)

    from emergelab.lab.registry import get_world

    over = {"epochs": args.epochs, "model": "li2", "device": args.device}
    if args.group:
        over["group"] = args.group
    cfg = get_world("grokking").make_config(args.preset, over)
    if cfg.loss != "ce" or cfg.activation != "square" or cfg.optimizer != "adam" or cfg.warmup_steps:
        raise SystemExit("the plain loops use cross-entropy, x^2, Adam and no warm-up; pick a preset that does")
    runs = {"world": lambda e: world_run(cfg if e == cfg.epochs else get_world("grokking").make_config(
        args.preset, {**over, "epochs": e}))}  # fmt: skip
    for fair in (True, False):
        for kind in ("onehot", "ebag"):
            runs[f"{'fair' if fair else 'bare'}-{kind}"] = (
                lambda e, kind=kind, fair=fair: plain_loop(cfg, e, kind, args.device, fair))
    for f in runs.values():  # first calls: imports, allocator, thread pool
        f(5)
    # interleaved repeats, best of each: a shared machine's noise only ever slows a run down
    best = {k: float("inf") for k in runs}
    for _ in range(args.repeats):
        for k, f in runs.items():
            best[k] = min(best[k], f(cfg.epochs))
    ms = {k: 1e3 * t / cfg.epochs for k, t in best.items()}
    print(f"grokking li2 {cfg.group} K={cfg.hidden} train_fraction={cfg.train_fraction} epochs={cfg.epochs} "
          f"log_every={cfg.log_every} diag_every={cfg.diag_every} threads={torch.get_num_threads()} "
          f"device={args.device} clock={clock} best of {args.repeats}")
    for k, v in ms.items():
        print(f"  {k:12s} {1e3 / v:8.1f} epochs/s {v:7.2f} ms/epoch" +
              ("" if k == "world" else f"   ratio world/{k} {v / ms['world']:.2f}"))
    unit = "ms/epoch" + (" (cpu)" if clock == "cpu" else "")
    for k in ("fair-onehot", "fair-ebag", "bare-onehot", "bare-ebag"):  # one machine-readable line per ratio
        kind, what = k.split("-")[1], "same metrics, same cadence" if k.startswith("fair") else "no evaluation"
        print_result(f"grokking_speed/{k}", f"grokking world vs plain {kind} loop ({what})", ms["world"],
                     ms[k], unit)  # fmt: skip


if __name__ == "__main__":
    main()
