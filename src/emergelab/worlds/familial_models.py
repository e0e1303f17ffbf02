"""Familial models: a family of different-sized models with aligned hidden features, early exit
by confidence and collaboration between sizes; accuracy against compute per query, alone and
together (AI Flow's device-edge-cloud cascade, in small).

Paper: "AI Flow: Perspectives, Scenarios, and Approaches" (2025; 12 authors, TeleAI, China
Telecom): familial models are "a series of different-sized models with aligned hidden features,
enabling effective collaboration"; the claim is that connected models achieve more than any one
of them.

The task (_family_data.py): 4-way classification of a Gaussian input z (input_dim) whose item
kind k (a one-hot in the input) sets the label rule: two bits, each the parity of the signs of
orders[k] random projections; order 1 is linearly separable, higher orders need more units.
The family (_family_nets.py): MLP members of strictly increasing `widths` and `depths` hidden
layers, an exit head (Linear to 4 logits) after every hidden layer. Member m's last hidden state
can be sent to the shared feature space (P_m: width -> feature_dim) and member m + 1 reads it
(Q_{m+1}: feature_dim -> width, ReLU) into its layer e = min(depth_m, depth_{m+1} - 1) and
continues from there instead of recomputing layers 1..e.
Training (fresh batches every step, both families from the same initial weights and batches):
every member learns from all its exit heads; the aligned family also learns the hand-off (the
cross-entropy of the continued exits, handoff_weight) and aligns the handed-off features with the
receiver's own hidden state at layer e (normalised MSE, align_weight). The control family
(control=true) is the same members trained independently; its escalation either recomputes from
the input or goes through a post-hoc linear stitch (least squares from the sender's last hidden
state to the receiver's layer e, fitted on n_fit training items): the unaligned mapping.

Inference at a confidence threshold t: a query leaves at the first exit whose max softmax is
>= t; a member that is not confident at its last exit escalates to the next member; the last one
answers. Compute per query: multiply-adds (MACs) of the dense layers it passed (_family_nets).
Methods: member{m} alone (early exit swept over `thresholds`, plus the full depth without early
exit), family (hand-off cascade), family_recompute (escalation recomputes), control_stitch,
control_recompute. The frontier of a method (_family_frontier.py): its best accuracy within a
compute budget; area: its mean over log10 compute between the cheapest point and the largest
member's full compute, chance (0.25) where nothing fits.

Logged during training (step = optimiser step): train/loss, train/own, train/handoff,
train/align, control/loss; member{m}/acc (last head), handoff{m}/acc (member m continuing from the
chain's hand-off, m >= 1), control_member{m}/acc, control_handoff{m}/acc (through a stitch, at the
end only). After training, frontier/<method> with step = MACs per query (a series over compute).
Artefact `curves`: every method's (threshold, macs, acc, share reaching the last exit).
Summary (`summary` below): macs_member{m}, acc_member{m}, acc_control_member{m},
acc_member{m}_order{o}; area_<method>; <collaboration>_acc_at_member{m} (its frontier within member
m's full compute), family_gain_at_member{m}, dominance_family_over_*; <collaboration>_max_gain_over_
best_member and _macs_at_max_gain; handoff_acc_member{m} vs stitch_handoff_acc_member{m}.

Measured (docs/worlds/familial_models.md, seeds 0-2 of `quick`): early exit gives the largest member
its accuracy at ~20-28 % of its compute; the cascade that recomputes beats every single member
within the same compute only in a middle band (by up to 0.02-0.03), not at low budgets nor at the
largest member's compute; the feature hand-off loses the hardest items (a member continuing from
a smaller one's features is capped by that member's width), aligned or stitched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register

CHANCE = 0.25  # 4 classes, balanced by construction (two parity bits)
_THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)


# Measured on 2 shared CPU cores, torch on 1 thread: see docs/worlds/familial_models.md.
@dataclass(frozen=True)
class FamilialModelsConfig:
    seed: int = param(0, "seeds the task's projections, the weights, the training draws, the evaluation set")
    input_dim: int = param(10, "dimension of the Gaussian input z (the item kind's one-hot is appended)")
    orders: tuple[int, ...] = param((1, 2, 3), "parity order of each item kind (1: linearly separable)")
    widths: tuple[int, ...] = param((8, 32, 128), "hidden width of each member, strictly increasing")
    depths: tuple[int, ...] = param((2, 3, 4), "hidden layers of each member (an exit head after each)")
    entry: int = param(0, "receiver layer a hand-off writes (capped at its depth - 1); 0: the sender's depth")
    feature_dim: int = param(32, "dimension of the shared feature space of the hand-off")
    align_weight: float = param(1.0, "weight of the feature-alignment loss (aligned family)")
    handoff_weight: float = param(1.0, "weight of the hand-off path's cross-entropy (aligned family)")
    control: bool = param(True, "also train the control: the same members trained independently")
    lr: float = param(3e-3, "Adam learning rate")
    batch_size: int = param(256, "items per training step (fresh every step)")
    steps: int = param(4000, "optimiser steps per family")
    log_every: int = param(500, "steps between evaluations")
    n_eval: int = param(8192, "items in the fixed evaluation set")
    n_fit: int = param(4096, "training items the control's linear stitches are fitted on")
    thresholds: tuple[float, ...] = param(_THRESHOLDS, "confidence thresholds swept, each in (0, 1]")
    device: str = param("auto", "auto (CUDA when available), cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        if self.entry < 0:
            raise ValueError(f"entry must be >= 0 (0: the sender's depth), got {self.entry}")
        for k in ("input_dim", "feature_dim", "batch_size", "steps", "log_every", "n_eval", "n_fit"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if len(self.widths) < 2:
            raise ValueError(f"the family needs at least 2 members (widths, e.g. 8,32,128), got "
                             f"{','.join(map(str, self.widths)) or 'none'}")
        if any(w < 1 for w in self.widths) or any(b <= a for a, b in zip(self.widths, self.widths[1:])):
            raise ValueError(f"widths must be positive and strictly increasing (small to large), got "
                             f"{','.join(map(str, self.widths))}")
        if len(self.depths) != len(self.widths) or any(d < 1 for d in self.depths):
            raise ValueError(f"give one depth >= 1 per member: {len(self.widths)} widths but depths "
                             f"{','.join(map(str, self.depths)) or 'none'}")
        if not self.orders or any(o < 1 for o in self.orders) or 2 * max(self.orders) > self.input_dim:
            raise ValueError(f"orders must be >= 1 with 2 * max(orders) <= input_dim ({self.input_dim}), got "
                             f"{','.join(map(str, self.orders)) or 'none'}")
        if not self.thresholds or any(not 0 < t <= 1 for t in self.thresholds):
            got = ",".join(map(str, self.thresholds)) or "none"
            raise ValueError(f"thresholds must each be in (0, 1], got {got}")
        if not (self.lr > 0 and self.align_weight >= 0 and self.handoff_weight >= 0):
            raise ValueError("lr must be > 0 and align_weight, handoff_weight >= 0")
        check_device(self.device, auto=True)


def run(cfg: FamilialModelsConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(1):  # MLPs of <= a few hundred units: more threads only fight other runs
        _run(cfg, rec)


def _run(cfg: FamilialModelsConfig, rec) -> None:
    import copy

    import torch

    from emergelab.nn import resolve_device
    from emergelab.worlds._family_data import N_CLASSES, draw, rules
    from emergelab.worlds._family_eval import handoff_accuracy, kind_accuracy, routes, sweep
    from emergelab.worlds._family_nets import build, fit_stitches, train

    device = resolve_device(cfg.device)
    proj = rules(cfg)
    egen = torch.Generator().manual_seed(cfg.seed + 10_007)  # the evaluation set: its own stream
    ex, ey, ekind = (t.to(device) for t in draw(cfg.n_eval, cfg, proj, egen))
    d_in = ex.shape[1]
    aligned = build(cfg, d_in, N_CLASSES, device)
    families = {"": aligned}
    if cfg.control:
        families["control_"] = copy.deepcopy(aligned)  # the same initial weights
    rec.set_total(cfg.steps * len(families))

    for prefix, fam in families.items():
        gen = torch.Generator().manual_seed(cfg.seed)  # the same batches for both families

        def data(step, gen=gen):
            x, y, _ = draw(cfg.batch_size, cfg, proj, gen)
            return x.to(device), y.to(device)

        def log(step, losses, prefix=prefix, fam=fam):
            vals = {}
            with torch.no_grad():
                for i, m in enumerate(fam):
                    acc = (m.logits(m.hidden(ex))[-1].argmax(1) == ey).float().mean().item()
                    vals[f"{prefix}member{i}/acc"] = acc
                if not prefix:
                    for i, a in enumerate(handoff_accuracy(fam, ex, ey), 1):
                        vals[f"handoff{i}/acc"] = a
            if prefix:
                vals["control/loss"] = losses["loss"].item()
            else:
                vals.update({f"train/{k}": v.item() for k, v in losses.items()})
            rec.log(step, **vals)

        train(cfg, fam, data, log, aligned=not prefix)

    # the operating points of every method, on the fixed evaluation set
    curves: dict[str, dict[str, list[float]]] = {}
    stitches = None
    if cfg.control:
        fgen = torch.Generator().manual_seed(cfg.seed + 20_011)
        stitches = fit_stitches(families["control_"], draw(cfg.n_fit, cfg, proj, fgen)[0].to(device))
        hs = handoff_accuracy(families["control_"], ex, ey, stitches)
        rec.log(cfg.steps, **{f"control_handoff{i}/acc": a for i, a in enumerate(hs, 1)})
    for prefix, fam in families.items():
        for name, (logits, costs) in routes(cfg, fam, ex, N_CLASSES, stitches if prefix else None).items():
            # the control's cascades: control_recompute, control_stitch
            key = prefix + (name.removeprefix("family_") if prefix else name)
            if prefix and name == "family":
                continue  # the control's own P/Q were never trained: no hand-off through them
            ts = cfg.thresholds if len(costs) > 1 else (1.0,)  # one exit: no threshold to sweep
            macs, acc, last = sweep(logits, costs, ey, ts)
            curves[key] = {"threshold": list(ts),
                           "macs": macs.tolist(), "acc": acc.tolist(), "share_last": last.tolist()}
    kinds = kind_accuracy(aligned, ex, ey, ekind, len(cfg.orders))
    out = summary(cfg, curves, kinds)
    # can a member use what it is handed? its last head after the chain, aligned vs stitched
    out.update({f"handoff_acc_member{i}": a for i, a in enumerate(handoff_accuracy(aligned, ex, ey), 1)})
    if stitches is not None:
        out.update({f"stitch_handoff_acc_member{i}": a for i, a in enumerate(hs, 1)})
    _log_frontiers(rec, cfg, curves)
    rec.artefact("curves", curves)
    rec.summarize(**out, device=str(device))


def _points(curves, *names) -> tuple[np.ndarray, np.ndarray]:
    """All operating points of the named methods, pooled: (macs, acc)."""
    return (np.concatenate([curves[n]["macs"] for n in names]),
            np.concatenate([curves[n]["acc"] for n in names]))


def methods(cfg, curves) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{method: pooled points}: member{m} (early exit and full depth), best_member (every single
    member of either family: the strongest one-model baseline), family, family_recompute,
    control_stitch, control_recompute."""
    n = len(cfg.widths)
    out = {f"member{m}": _points(curves, f"member{m}_exit", f"member{m}_full") for m in range(n)}
    singles = [f"{p}member{m}_{k}" for p in ("", "control_") for m in range(n) for k in ("exit", "full")]
    out["best_member"] = _points(curves, *[s for s in singles if s in curves])
    for name in ("family", "family_recompute", "control_stitch", "control_recompute"):
        if name in curves:
            out[name] = _points(curves, name)
    return out


def summary(cfg, curves, kinds) -> dict[str, Any]:
    """The run's verdicts from the methods' points (see the module docstring and the docs)."""
    from emergelab.worlds._family_frontier import acc_at, area, dominance

    n = len(cfg.widths)
    meth = methods(cfg, curves)
    full = [(curves[f"member{m}_full"]["macs"][0], curves[f"member{m}_full"]["acc"][0]) for m in range(n)]
    lo, hi = min(float(np.min(c)) for c, _ in meth.values()), full[-1][0]
    out: dict[str, Any] = {"chance": CHANCE, "macs_lo": lo, "macs_hi": hi}
    for m, (c, a) in enumerate(full):
        out[f"macs_member{m}"], out[f"acc_member{m}"] = c, a
        if f"control_member{m}_full" in curves:
            out[f"acc_control_member{m}"] = curves[f"control_member{m}_full"]["acc"][0]
        for k, o in enumerate(cfg.orders):
            out[f"acc_member{m}_order{o}"] = float(kinds[m, k])
    for name, (c, a) in meth.items():
        out[f"area_{name}"] = area(c, a, lo, hi, floor=CHANCE)
    fc, fa = meth["family"]
    gains = []
    for m, (c, a) in enumerate(full):
        for name in ("family", "family_recompute", "control_stitch", "control_recompute"):
            if name in meth:  # each collaborating method within member m's compute
                out[f"{name}_acc_at_member{m}"] = float(acc_at(*meth[name], c, floor=CHANCE))
        gains.append(out[f"family_acc_at_member{m}"] - a)
        out[f"family_gain_at_member{m}"] = gains[-1]
        out[f"dominance_family_over_member{m}"] = dominance(fc, fa, *meth[f"member{m}"])
    out["family_beats_every_member_at_its_compute"] = bool(min(gains) > 0)
    bc, ba = meth["best_member"]
    for name in ("family", "family_recompute", "control_stitch", "control_recompute"):
        if name in meth:  # where, if anywhere, the collaboration beats every single member
            c, a = meth[name]
            gain = a - acc_at(bc, ba, c, floor=CHANCE)  # (T,) vs the best member within each point's MACs
            out[f"{name}_max_gain_over_best_member"] = float(gain.max())
            out[f"{name}_macs_at_max_gain"] = float(c[np.argmax(gain)])
    out["dominance_family_over_best_member"] = dominance(fc, fa, *meth["best_member"])
    out["family_area_gain_over_best_member"] = out["area_family"] - out["area_best_member"]
    out["family_max_acc"] = float(np.max(fa))
    out["family_macs_at_max_acc"] = float(fc[np.argmax(fa)])
    if "control_stitch" in meth:
        out["align_area_gain_over_stitch"] = out["area_family"] - out["area_control_stitch"]
        out["align_area_gain_over_recompute"] = out["area_family"] - out["area_control_recompute"]
    return out


def _log_frontiers(rec, cfg, curves) -> None:
    """frontier/<method>: the frontier's accuracy at each of its points, step = MACs per query."""
    from emergelab.worlds._family_frontier import frontier

    meth = methods(cfg, curves)
    meth.pop("best_member")
    for name, (c, a) in meth.items():
        fc, fa = frontier(c, a)
        steps, keep = np.round(fc).astype(np.int64), np.r_[np.diff(np.round(fc)) > 0, True]
        rec.log_many(f"frontier/{name}", steps[keep], fa[keep])


_QUICK = {"steps": 2000, "n_eval": 4096}

register(World(
    name="familial_models",
    paper="AI Flow: Perspectives, Scenarios, and Approaches (2025, TeleAI): familial models",
    effect="a family of different-sized models with aligned hidden features, early exit by confidence and "
           "hand-off between sizes: accuracy against compute per query, alone and collaborating",
    config=FamilialModelsConfig,
    run=run,
    presets={
        "paper": {},
        "quick": _QUICK,  # 70-75 s on 2 busy cores (3.5 min with two other runs beside it)
        # the hand-off learned from its cross-entropy alone, without the alignment loss
        "no-align": {**_QUICK, "align_weight": 0.0},
        "tiny": {"input_dim": 6, "orders": (1, 2), "widths": (4, 8), "depths": (1, 2), "feature_dim": 4,
                 "steps": 30, "log_every": 10, "batch_size": 32, "n_eval": 256, "n_fit": 128,
                 "thresholds": (0.5, 0.9, 1.0)},
    },
    watch=(),  # the result is a frontier over compute, not a transition in training time
    look_for="frontier/* (x = MACs per query): frontier/family (the cascade handing features up) and "
             "frontier/family_recompute (escalation recomputes) against frontier/member* (each member alone, "
             "early exit swept); summary: *_acc_at_member{m} vs acc_member{m}, area_* vs area_best_member, "
             "*_max_gain_over_best_member (the recompute cascade wins in a middle band, the hand-off "
             "nowhere); "
             "aligned vs unaligned: handoff_acc_member{m} vs stitch_handoff_acc_member{m}, area_control_*.",
))
