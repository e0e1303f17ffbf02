"""Train the bifurcation classifier of emergelab.measures.ews_classifier and write its weights.

After Bury et al. (2021), "Deep learning for early warning signals of tipping points" (PNAS 118,
e2106140118), at small scale: a library of simulated normal forms (fold, transcritical, Hopf,
null; see emergelab.measures._bifurcation_library), a CNN-LSTM trained with Adam on the
cross-entropy, the epoch with the best validation accuracy kept (as their checkpointing), and its
confusion matrix on a held-out library simulated from its own seeds printed and stored with the
weights (`ews_classifier.model_info()`).

Reproducible by seed: the three libraries and torch's initialisation and shuffling all derive
from numpy.random.SeedSequence(--seed); torch runs on --threads CPU threads (default 1, so the
float sums, and thus the weights, come out the same on a rerun).

    nice -n 10 .venv/bin/python scripts/train_bifurcation_classifier.py            # ships the weights
    .venv/bin/python scripts/train_bifurcation_classifier.py --evaluate-only       # re-check them
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emergelab.measures import _bifurcation_library as lib
from emergelab.measures import ews_classifier as ec

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/emergelab/measures/weights" / ec.WEIGHTS


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0, help="root seed of libraries, init and shuffling")
    p.add_argument("--per-class", type=int, default=4000, help="training series per class")
    p.add_argument("--val-per-class", type=int, default=250, help="validation series per class")
    p.add_argument("--test-per-class", type=int, default=500, help="held-out series per class")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine-decayed to 0)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights file (.npz)")
    p.add_argument("--evaluate-only", action="store_true",
                   help="skip training: print the held-out confusion of the weights at --out")
    return p.parse_args(argv)


def library(n_per_class, seed):
    d = lib.simulate(n_per_class, seed)
    return torch.from_numpy(ec.prepare(d["X"], d["lengths"])), torch.from_numpy(d["labels"]), d


def evaluate(model, X, y, batch=512):
    """(accuracy, predictions (B,), mean cross-entropy) with dropout off."""
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(X[s : s + batch]) for s in range(0, len(X), batch)])
    model.train()
    pred = logits.argmax(1)
    loss = float(torch.nn.functional.cross_entropy(logits, y))
    return float((pred == y).float().mean()), pred.numpy(), loss


def lab_world_check(model, seeds=range(10)) -> str:
    """Out of the library: the lab's critical_transition world (May's harvesting model, quick
    preset), the stretch before each fold collapse (cut 2% early, as the EWS science test) and the
    same span of the null run. Returns the two rows of a confusion matrix as text."""
    from emergelab.lab.recorder import Recorder
    from emergelab.lab.registry import get_world

    w = get_world("critical_transition")
    rows = []
    for system in ("fold", "null"):
        counts = np.zeros(len(ec.CLASSES), int)
        for seed in seeds:
            rec = Recorder(progress=False)
            w.run(w.make_config("quick", {"system": "fold", "seed": seed}), rec)
            step = rec.summary["transition_step"]
            cut = step - max(5, int(0.02 * step))
            if system == "null":
                rec = Recorder(progress=False)
                w.run(w.make_config("quick", {"system": "null", "seed": seed}), rec)
            x = rec.series("state/x")[1][:cut][-ec.INPUT_LEN :]
            X = np.zeros((1, ec.INPUT_LEN))
            X[0, -len(x) :] = x
            counts[ec.predict_proba(X, np.array([len(x)]), model=model)[0].argmax()] += 1
        rows.append(f"  May's model, {system:5s} ({len(seeds)} seeds): "
                    + ", ".join(f"{c} {n}" for c, n in zip(ec.CLASSES, counts)))
    head = "out of library, the lab's critical_transition world (last 500 points before the cut):"
    return "\n".join([head, *rows])


def main(argv=None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    ss_train, ss_val, ss_test, ss_torch = np.random.SeedSequence(args.seed).spawn(4)
    t0 = time.time()
    Xte, yte, _ = library(args.test_per_class, ss_test)
    if args.evaluate_only:
        model, meta = ec.load_model(str(args.out))
        acc, pred, _ = evaluate(model, Xte, yte)
        m = lib.confusion(yte.numpy(), pred)
        print(f"weights {args.out} (trained with seed {meta['seed']}); held-out library seed {args.seed}")
        print(lib.format_confusion(m))
        print(lab_world_check(model))
        return 0

    Xtr, ytr, _ = library(args.per_class, ss_train)
    Xva, yva, _ = library(args.val_per_class, ss_val)
    print(f"libraries: {len(Xtr)} train, {len(Xva)} validation, {len(Xte)} held-out series "
          f"({time.time() - t0:.1f} s)", flush=True)

    torch.manual_seed(int(ss_torch.generate_state(1)[0]))
    gen = torch.Generator().manual_seed(int(ss_torch.generate_state(2)[1]))
    model = ec.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(Xtr) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    best = (-1.0, 0, None)  # (validation accuracy, epoch, state_dict)
    t1 = time.time()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(Xtr), generator=gen)
        total = 0.0
        for s in range(0, len(Xtr), args.batch):
            i = order[s : s + args.batch]
            loss = torch.nn.functional.cross_entropy(model(Xtr[i]), ytr[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(i)
        acc, _, vloss = evaluate(model, Xva, yva)
        if acc > best[0]:
            best = (acc, epoch, copy.deepcopy(model.state_dict()))
        print(f"epoch {epoch:3d}  train loss {total / len(Xtr):.4f}  val loss {vloss:.4f}  "
              f"val acc {acc:.3f}  "
              f"({time.time() - t1:.0f} s)", flush=True)
    train_s = time.time() - t1

    model.load_state_dict(best[2])
    acc, pred, _ = evaluate(model, Xte, yte)
    m = lib.confusion(yte.numpy(), pred)
    print(f"\nbest epoch {best[1]} (validation accuracy {best[0]:.3f}); training {train_s:.0f} s wall, "
          f"{time.process_time():.0f} s CPU in all")
    print(lib.format_confusion(m))
    print(lab_world_check(model))
    meta = {"classes": list(ec.CLASSES), "input_len": ec.INPUT_LEN, "min_len": ec.MIN_LEN, "sigma": ec.SIGMA,
            "arch": ec.ARCH, "seed": args.seed, "per_class": args.per_class, "n_train": len(Xtr),
            "n_val": len(Xva), "n_test": len(Xte), "epochs": args.epochs, "best_epoch": best[1],
            "batch": args.batch, "lr": args.lr, "val_accuracy": best[0], "test_accuracy": acc,
            "test_confusion": m.tolist(), "train_seconds": round(train_s, 1), "torch": torch.__version__,
            "command": " ".join(["scripts/train_bifurcation_classifier.py", *(argv or sys.argv[1:])])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ec.save_weights(model, args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
