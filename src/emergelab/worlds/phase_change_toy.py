"""The toy model of the induction-head phase change: three factors that must align together.

Effect: gradient descent on a rank-one tensor factorisation sits on a long loss plateau,
then the loss drops abruptly. The product a⊗b⊗c can only move towards the target when all
three factors already point somewhat the right way, so from a small initialisation each
factor's gradient is the product of the other two small overlaps: nothing happens for a
long time, then everything happens at once. Pinning ("clamping") one factor to its target
turns the slow start into an exponential one (a much shorter plateau); pinning two leaves a
linear problem with no plateau at all. This is the paper's account of why the induction-head
circuit (previous-token head, induction head, ...) forms in one abrupt phase change and of
why clamping a subcircuit moves it earlier (see the induction_heads world for the network).

Paper: A. K. Singh, T. Moskovitz, F. Hill, S. C. Y. Chan, A. M. Saxe (2024), "What needs to
go right for an induction head? A mechanistic study of in-context learning circuits and
their formation" (ICML 2024): the toy model of the phase change, and clamping as pinning.

Model (SCIENCE A2): unit target vectors a*, b*, c* in R^d (seeded Gaussian directions),
T* = a*⊗b*⊗c*; learned factors a, b, c start small (each sigma * N(0, I_d) / sqrt(d), so
|x| ~ sigma). Loss
    L = ½ · mean over the d³ entries of (a⊗b⊗c − T*)².
Plain full-batch gradient descent, all three factors updated together:
    x ← x − lr · d³ · ∂L/∂x,   e.g.  ∂(d³L)/∂a = a |b|²|c|² − a* (b·b*)(c·c*).
The d³ makes `lr` the step on the summed loss ½‖a⊗b⊗c − T*‖² (without it the mean's 1/d³
would tie the step size to d); it is plain GD on L with step lr·d³. Everything is
analytic in O(d) per step: no d³ tensor is formed. Clamping (`clamp`, from `clamp_from`)
sets the named factors to their targets and keeps them there.

Why it plateaus: with overlaps u_x = x·x* and small norms, u_a' ≈ lr · u_b u_c (and
cyclically): a finite-time blow-up after ~1/(lr·u0) steps from u0 ~ sigma/sqrt(d). With a
clamped, u_b' ≈ lr · u_c and u_c' ≈ lr · u_b: exponential growth, ~ln(1/u0)/lr steps. With a
and b clamped, c' = lr · (c* − c): no plateau.

Logged every `log_every` steps (step 0 = the initialisation; clamps already applied):
    train/loss         L = ½ · mean((a⊗b⊗c − T*)²), exactly (a sum of non-negative terms,
                       no cancellation near 0)
    train/rel_loss     ‖a⊗b⊗c − T*‖² / ‖T*‖² = 2 d³ L: 1 at a ≈ b ≈ c ≈ 0, 0 when learnt
    progress/{a,b,c}   1 − cos²(x, x*), the paper's progress measure of each factor ("sub-
                       circuit"): ~1 − 1/d at a random start, 0 when aligned (the sign is
                       irrelevant: a⊗b⊗c is unchanged by flipping two signs)
    norm/{a,b,c}       |x|
Summary: phase_change_step / phase_change_height (the midpoint and height of the largest
drop of train/rel_loss found by measures.transitions.detect_transitions: None when there is
no plateau before the drop, as with two factors clamped), drop_step (sustained first
crossing of train/rel_loss <= 0.5: defined with or without a plateau), align_step (first
step at which every factor has cos² >= 0.5, sustained), final_* values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register

FACTORS = ("a", "b", "c")


@dataclass(frozen=True)
class PhaseChangeToyConfig:
    seed: int = param(0, "seeds the target directions and the initial factors (numpy default_rng)")
    d: int = param(32, "dimension of each factor vector")
    sigma: float = param(0.1, "initial norm of each learned factor (small: a long plateau)")
    lr: float = param(0.1, "gradient-descent step on the summed loss ½‖a⊗b⊗c − T*‖² (= lr·d³ on the mean)")
    steps: int = param(3000, "gradient-descent steps")
    log_every: int = param(1, "steps between logged points")
    clamp: tuple[str, ...] = param((), "factors pinned to their targets, e.g. a or a,b ('optogenetic' clamping)")
    clamp_from: int = param(0, "step from which the clamped factors are pinned (0: from the start)")

    def __post_init__(self) -> None:
        for k in ("d", "steps", "log_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.d < 2:
            raise ValueError(f"d must be >= 2 (in d = 1 there is nothing to align), got {self.d}")
        if not (np.isfinite(self.sigma) and self.sigma > 0 and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"sigma and lr must be finite and > 0, got sigma={self.sigma}, lr={self.lr}")
        if self.lr >= 2 / 3:
            raise ValueError(f"lr={self.lr} diverges: the largest curvature at the target is 3 (all three factors "
                             "scaled together), so gradient descent needs lr < 2/3")
        bad = [f for f in self.clamp if f not in FACTORS]
        if bad or len(set(self.clamp)) != len(self.clamp):
            raise ValueError(f"clamp must name distinct factors among a, b, c, got {self.clamp!r}")
        if self.clamp_from < 0:
            raise ValueError(f"clamp_from must be >= 0, got {self.clamp_from}")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def rel_loss(x: np.ndarray, target: np.ndarray) -> float:
    """‖x0⊗x1⊗x2 − t0⊗t1⊗t2‖² / ‖t0⊗t1⊗t2‖² for (3, d) factors and (3, d) unit targets.

    Split each x = alpha t + x_perp (alpha = x·t). The residual is (alpha_a alpha_b alpha_c − 1)
    t_a⊗t_b⊗t_c plus, for every non-empty set S of factors taken perpendicular, the term
    (prod over S of x_perp)⊗(prod over the rest of alpha t): all mutually orthogonal, so the
    squared norm is a sum of non-negative products: no cancellation when the loss is tiny.
    """
    alpha = (x * target).sum(1)  # (3,)
    (pa, pb, pc) = ((x - alpha[:, None] * target) ** 2).sum(1).tolist()  # |x_perp|^2
    (aa, ab, ac) = (alpha**2).tolist()
    # sum over the 7 subsets = prod(A + P) - prod(A), written without the subtraction
    perp = pa * (ab + pb) * (ac + pc) + aa * pb * (ac + pc) + aa * ab * pc
    return (float(alpha[0] * alpha[1] * alpha[2]) - 1.0) ** 2 + perp


def run(cfg: PhaseChangeToyConfig, rec) -> None:
    rng = np.random.default_rng(cfg.seed)
    target = _unit(rng.standard_normal((3, cfg.d)))  # (3, d) rows a*, b*, c*
    x = rng.standard_normal((3, cfg.d)) * (cfg.sigma / np.sqrt(cfg.d))  # (3, d) rows a, b, c
    pinned = np.array([f in cfg.clamp for f in FACTORS])  # (3,)
    free = (~pinned).astype(float)[:, None]  # (3, 1): 0 stops a pinned factor's updates

    n_log = cfg.steps // cfg.log_every + 1 + (cfg.steps % cfg.log_every != 0)
    logged = np.empty(n_log, dtype=np.int64)
    rel = np.empty(n_log)
    prog = np.empty((n_log, 3))
    norm = np.empty((n_log, 3))
    rec.set_total(cfg.steps)
    i = 0
    for step in range(cfg.steps + 1):
        if pinned.any() and step == cfg.clamp_from:
            x[pinned] = target[pinned]
            g_free = free
        elif step < cfg.clamp_from:
            g_free = 1.0
        else:
            g_free = free
        n2 = np.einsum("kd,kd->k", x, x)  # (3,) |x|^2
        u = np.einsum("kd,kd->k", x, target)  # (3,) x · x*
        if step % cfg.log_every == 0 or step == cfg.steps:
            logged[i], rel[i] = step, rel_loss(x, target)
            perp2 = np.einsum("kd,kd->k", *(2 * (x - u[:, None] * target,)))  # |x_perp|^2, exact near 0
            prog[i], norm[i] = perp2 / np.maximum(n2, 1e-300), np.sqrt(n2)  # 1 - cos^2 = |x_perp|^2 / |x|^2
            i += 1
        if step == cfg.steps:
            break
        # d³ ∂L/∂x_k = x_k prod_{j != k} |x_j|^2 − x*_k prod_{j != k} (x_j · x*_j), all k at once
        others_n2 = np.array([n2[1] * n2[2], n2[0] * n2[2], n2[0] * n2[1]])[:, None]  # (3, 1)
        others_u = np.array([u[1] * u[2], u[0] * u[2], u[0] * u[1]])[:, None]  # (3, 1)
        x = x - cfg.lr * g_free * (x * others_n2 - target * others_u)

    d3 = float(cfg.d) ** 3
    series = {"train/loss": rel / (2.0 * d3), "train/rel_loss": rel}  # ‖T*‖² = 1, so L = rel_loss / (2 d³)
    for k, f in enumerate(FACTORS):
        series[f"progress/{f}"], series[f"norm/{f}"] = prog[:, k], norm[:, k]
    rec.log_arrays(logged, **series)  # every series in one block, no Python float per value
    rec.summarize(**summarize(rec.wide()), steps=cfg.steps, clamp=",".join(cfg.clamp) or "none",
                  final_loss=float(rel[-1] / (2.0 * d3)), final_rel_loss=float(rel[-1]),
                  **{f"final_progress_{f}": float(prog[-1, k]) for k, f in enumerate(FACTORS)})


def summarize(curves) -> dict[str, Any]:
    """phase_change_step/height: the largest drop of train/rel_loss (detect_transitions),
    None without a plateau before it; drop_step: sustained first crossing of rel_loss <= 0.5;
    align_step: sustained first step with cos² >= 0.5 for every factor."""
    from emergelab.measures.transitions import detect_transitions, first_crossing

    out: dict[str, Any] = {"phase_change_step": None, "phase_change_height": None, "drop_step": None,
                           "align_step": None}
    if "train/rel_loss" in curves:
        c = curves["train/rel_loss"].dropna()
        t, v = c.index.to_numpy(), c.to_numpy()
        try:  # needs a minimum number of points; tiny runs simply get None
            drops = [tr for tr in detect_transitions(t, v, censored=False) if tr.height < 0]
        except ValueError:
            drops = []
        if drops:
            big = min(drops, key=lambda tr: tr.height)
            out["phase_change_step"], out["phase_change_height"] = big.midpoint, big.height
        if len(v):
            out["drop_step"] = first_crossing(t, -v, -0.5)
    cols = [f"progress/{f}" for f in FACTORS]
    if all(k in curves for k in cols):
        worst = curves[cols].dropna().max(axis=1)  # the least aligned factor: 1 − cos²
        if len(worst):
            out["align_step"] = first_crossing(worst.index.to_numpy(), -worst.to_numpy(), -0.5)
    return out


register(World(
    name="phase_change_toy",
    paper="A. K. Singh, T. Moskovitz, F. Hill, S. C. Y. Chan, A. M. Saxe (2024), What needs to go right for an "
          "induction head? A mechanistic study of in-context learning circuits and their formation (toy model)",
    effect="a plateau, then an abrupt drop: three factors of a rank-one tensor must align together; "
           "clamping one or two removes the plateau",
    config=PhaseChangeToyConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"d": 16, "sigma": 0.2, "steps": 1000},  # plateau of a few hundred steps
        "tiny": {"d": 8, "steps": 60, "log_every": 2},
        "clamp_a": {"clamp": ("a",)},
        "clamp_ab": {"clamp": ("a", "b")},
    },
    watch=("train/rel_loss",),
    summarize=summarize,
    look_for="train/rel_loss sits at 1 for hundreds of steps, then drops to 0 within a few dozen at "
             "phase_change_step while progress/a, b and c fall from ~1 to 0 together. clamp=a pins one "
             "factor: the drop comes an order of magnitude earlier (drop_step); clamp=a,b leaves no plateau "
             "at all (phase_change_step None, drop_step a few steps).",
))
