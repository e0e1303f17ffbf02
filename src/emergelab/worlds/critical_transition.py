"""Critical transitions: a stochastic system driven slowly through a tipping point.

Effect: as a fold (saddle-node) bifurcation approaches, the system recovers ever more slowly
from small perturbations ("critical slowing down"), so its fluctuations grow (variance) and
become more persistent (lag-1 autocorrelation) before it collapses to the other state. These
are the early-warning signals (EWS) measured by `emergelab.measures.ews`.

Papers:
- C. Boettiger, N. Ross, A. Hastings (2013), "Early warning signals: The charted and
  uncharted territories" (Theoretical Ecology 6:255-264). Charted: a fold approached by slow
  forcing shows critical slowing down. Uncharted: shifts without it, and slowing down
  without a shift.
- R. M. May (1977), "Thresholds and breakpoints in ecosystems with a multiplicity of stable
  states" (Nature 269:471-477): the harvesting model used here,
      dx = [r x (1 - x/K) - h x^2 / (s^2 + x^2)] dt + sigma dW,   x clipped at 0,
  with additive noise as in the EWS literature. For r=1, K=10, s=1 it is bistable for
  1.787 < h < 2.604; the upper branch vanishes in a fold at h_c ~ 2.604 (computed below).

Systems (`system`):
- fold:  h ramps linearly from h_start to h_end over the run, through h_c. The collapse
         comes at ~72-82% of the run with the defaults (the ramp passes h_c at 78%, noise
         tips it a little early or the ghost of the fold delays it); indicators rise before it.
- null:  h held at h_start: stationary, no transition. Indicators must not rise (a
         calibration check: p < 0.05 in ~5% of seeds).
- noise: the uncharted territory. A tilted double well dx = (x - x^3 + c) dt + sigma dW
         with fixed c, far from its folds (|c| < 2/sqrt(27) ~ 0.385), and noise large
         enough to kick the state over the barrier (cf. Ditlevsen & Johnsen 2010, "Tipping
         points: early warning and wishful thinking"). Nothing slows down, so in the noise-
         induced case the indicators do NOT flag the shift in most seeds: a shift without
         critical slowing down. (May's model is not used here: its lower well is so shallow
         that noise strong enough to leave the upper one brings the state straight back.)
         Escapes are memoryless, so jump times are roughly exponential: some seeds jump
         early, a few not at all.
Measured (quick preset, seeds 0-19; window 0.5, Gaussian detrending with the default
bandwidth 0.2 in ksmooth / ewstools units (kernel sd 0.074 of the stretch) and reflected
edges, 100 AR(1) surrogates, the stretch ending 2% before the transition): var and ac1 both
rise with p < 0.05 before 19/20 fold collapses, in 0/20 (var) and 1/20 (ac1) null runs, and
before 1/18 noise-induced jumps; the same at bandwidth 0.1, 0.135 and 0.27. (With the
older renormalised edges a much wider kernel, 0.54 here, dropped the fold to 14/20: it is
biased where the ramp starts, which inflates the first windows and hides the rise.)

Logged once every `sample_every` integration steps, at step i = 0, 1, ... (sample index):
    state/x            the state
    forcing/h          the control parameter: harvest h (fold, null) or the tilt c (noise)
    truth/transitioned 0 before the ground-truth transition, 1 from it on
Ground truth: the first sample at which x is past the threshold between the basins and stays
past it for `persist` time units. The threshold is the unstable equilibrium at the current
h (the basin boundary), held at the fold's x_c once h > h_c (and at the lower fold's x for
h below the bistable range); for the double well it is the barrier top. null: never.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register


# Why these defaults (tuned so that EWS are detectable, see tests/science/test_ews_science.py):
# - h_start=2.0 lies inside the bistable range, so the recovery rate falls all along the run
#   (0.47 -> 0). Starting far from the fold (h=1) leaves the first half of the indicator
#   series flat, and the rolling-window trend test then misses the rise in most seeds.
# - A slow ramp (3,000 time units) and 2,001 samples 1.5 time units apart (~ one relaxation
#   time at h_start, lag-1 autocorrelation 0.5 -> 1): fewer samples cost detection power.
# - sigma=0.15 tips the state close to the fold, not long before it.
@dataclass(frozen=True)
class CriticalTransitionConfig:
    seed: int = param(0, "seeds the noise (numpy default_rng)")
    system: Literal["fold", "null", "noise"] = param(
        "fold", "fold: h ramps through the fold; null: h fixed at h_start; noise: noise-driven double well")
    r: float = param(1.0, "May: intrinsic growth rate")
    K: float = param(10.0, "May: carrying capacity (bistable only if K > sqrt(27) s)")
    s: float = param(1.0, "May: half-saturation constant of the harvest")
    h_start: float = param(2.0, "harvest rate at t=0 (fold); the fixed harvest rate (null)")
    h_end: float = param(2.77, "fold: harvest rate at t=t_max, past the fold h_c ~ 2.604 (reached at 78%)")
    sigma: float = param(0.15, "fold, null: additive noise amplitude (x is clipped at 0)")
    noise_c: float = param(-0.1, "noise: tilt c of the double well x - x^3 + c; c < 0 deepens the left well")
    noise_sigma: float = param(0.25, "noise: additive noise amplitude (mean escape ~1,000 time units)")
    dt: float = param(0.02, "Euler-Maruyama time step")
    t_max: float = param(3000.0, "length of the run in time units")
    sample_every: int = param(75, "log every k-th integration step (here: 2,001 samples, 1.5 apart)")
    x0: float | None = param(None, "initial state; None: upper equilibrium (fold, null), right well (noise)")
    persist: float = param(20.0, "ground truth: time units the state must stay past the threshold")

    def __post_init__(self) -> None:
        for k in ("r", "K", "s", "dt", "t_max", "persist"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k} must be > 0, got {getattr(self, k)}")
        for k in ("sigma", "noise_sigma", "h_start", "h_end"):
            if not getattr(self, k) >= 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")
        if self.sample_every < 1:
            raise ValueError(f"sample_every must be at least 1, got {self.sample_every}")
        n = round(self.t_max / self.dt)
        if n // self.sample_every < 10:
            raise ValueError(f"t_max / (dt * sample_every) = {n / self.sample_every:g} samples; need >= 10")
        if self.system != "noise":
            fold = may_folds(self.r, self.K, self.s)  # raises when the model has no fold
            if self.system == "fold" and not self.h_start < fold[1][1] < self.h_end:
                raise ValueError(f"fold: need h_start < h_c = {fold[1][1]:.4f} < h_end, "
                                 f"got h_start={self.h_start}, h_end={self.h_end}")
        if not abs(self.noise_c) < 2 / math.sqrt(27):
            raise ValueError(f"noise: |noise_c| must be < 2/sqrt(27) ~ 0.385 (bistable), got {self.noise_c}")
        if self.x0 is not None and not (math.isfinite(self.x0) and (self.system == "noise" or self.x0 >= 0)):
            raise ValueError(f"x0 must be finite (and >= 0 for May's model), got {self.x0}")


# -- equilibria --------------------------------------------------------------------------
def may_harvest(x, r: float, K: float, s: float):
    """The harvest h at which x > 0 is an equilibrium: r (1 - x/K)(s^2 + x^2) / x."""
    return r * (1 - x / K) * (s * s + x * x) / x


def may_folds(r: float, K: float, s: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """((x_1, h_1), (x_c, h_c)): the lower and upper fold of May's model.

    The equilibrium curve h(x) = r (1 - x/K)(s^2 + x^2)/x has its turning points where
    dh/dx = r (1 - 2x/K - s^2/x^2) = 0, i.e. at the positive roots of 2x^3/K - x^2 + s^2.
    """
    roots = np.roots([2.0 / K, -1.0, 0.0, s * s])
    xs = np.sort(roots[(np.abs(roots.imag) < 1e-9) & (roots.real > 0)].real)
    if len(xs) != 2:
        raise ValueError(f"May's model with K={K}, s={s} has no fold (bistable only if K > sqrt(27) s)")
    return tuple((float(x), float(may_harvest(x, r, K, s))) for x in xs)  # type: ignore[return-value]


def may_threshold(h, r: float, K: float, s: float) -> np.ndarray:
    """The basin boundary: the unstable equilibrium x_u(h), clamped to the folds' x outside
    the bistable range. h(x) increases on the middle branch, so x_u(h) is its inverse."""
    (x1, _), (xc, _) = may_folds(r, K, s)
    xg = np.linspace(x1, xc, 2001)
    return np.interp(h, may_harvest(xg, r, K, s), xg)  # np.interp clamps at both ends


def may_upper(h: float, r: float, K: float, s: float) -> float:
    """The upper stable equilibrium at harvest h (x > x_c, or the only one for h < h_1)."""
    roots = np.roots([-r / K, r, -(r * s * s / K + h), r * s * s])  # (s^2 + x^2) f(x) / x = 0
    real = roots[(np.abs(roots.imag) < 1e-9) & (roots.real > 0)].real
    return float(real.max())


def well_roots(c: float) -> np.ndarray:
    """Equilibria of x - x^3 + c, sorted: left well, barrier top, right well."""
    return np.sort(np.roots([-1.0, 0.0, 1.0, c]).real)


# -- run ---------------------------------------------------------------------------------
def run(cfg: CriticalTransitionConfig, rec) -> None:
    rng = np.random.default_rng(cfg.seed)
    n_steps = round(cfg.t_max / cfg.dt)
    k = cfg.sample_every
    n_points = n_steps // k + 1
    t = np.arange(n_points) * (k * cfg.dt)  # time of each logged sample
    rec.set_total(n_points)

    # Noise for every step, drawn at once: the loop below only reads it.
    sigma = cfg.noise_sigma if cfg.system == "noise" else cfg.sigma
    dW = (rng.standard_normal(n_steps) * (sigma * math.sqrt(cfg.dt))).tolist()
    r, K, s2, dt = cfg.r, cfg.K, cfg.s * cfg.s, cfg.dt
    if cfg.system == "noise":
        c = cfg.noise_c
        lo, barrier, hi = well_roots(c)
        h0 = h1 = c  # the control parameter is fixed: no forcing
        x = hi if cfg.x0 is None else cfg.x0
    else:
        # fold: h moves linearly from h0 to h1, a little every step; null: it stays at h_start
        h0, h1 = cfg.h_start, cfg.h_end if cfg.system == "fold" else cfg.h_start
        x = may_upper(cfg.h_start, cfg.r, cfg.K, cfg.s) if cfg.x0 is None else cfg.x0
    hs = (h0 + (h1 - h0) * np.arange(n_steps) / n_steps).tolist()  # h during each step

    # Euler-Maruyama. Each step needs the previous state, so time cannot be vectorised;
    # on Python floats (not numpy scalars) a step costs well under a microsecond.
    xs = np.empty(n_points)
    xs[0] = x
    for i in range(1, n_points):
        if cfg.system == "noise":
            for j in range((i - 1) * k, i * k):
                x += (x - x * x * x + c) * dt + dW[j]
        else:
            for j in range((i - 1) * k, i * k):
                x += (r * x * (1 - x / K) - hs[j] * x * x / (s2 + x * x)) * dt + dW[j]
                if x < 0.0:  # a population cannot go negative
                    x = 0.0
        xs[i] = x
    h_logged = h0 + (h1 - h0) * np.arange(n_points) * k / n_steps  # h at each sample

    # Ground truth: the first sample past the basin boundary that stays past it for `persist`.
    if cfg.system == "noise":
        past = xs < barrier
    else:
        past = xs < may_threshold(h_logged, cfg.r, cfg.K, cfg.s)
    need = max(1, math.ceil(cfg.persist / (k * cfg.dt)))  # samples
    run_len = np.convolve(past, np.ones(need, dtype=int), mode="valid")  # past-count per window
    starts = np.flatnonzero(run_len == need)
    step = int(starts[0]) if cfg.system != "null" and len(starts) else None
    truth = np.zeros(n_points)
    if step is not None:
        truth[step:] = 1.0

    steps = np.arange(n_points)
    rec.log_many("state/x", steps, xs)
    rec.log_many("forcing/h", steps, h_logged)
    rec.log_many("truth/transitioned", steps, truth)

    out: dict[str, Any] = {"system": cfg.system, "n_points": n_points, "sample_dt": k * cfg.dt,
                           "transition_step": step,
                           "transition_time": None if step is None else float(t[step]),
                           "h_at_transition": None if step is None else float(h_logged[step])}
    if cfg.system == "noise":
        out.update(bifurcation_h=None, barrier_x=float(barrier), well_x=(float(lo), float(hi)))
    else:
        (_, h_low), (xc, hc) = may_folds(cfg.r, cfg.K, cfg.s)
        out.update(bifurcation_h=hc, bifurcation_x=xc, lower_fold_h=h_low)
        if cfg.system == "fold":  # the sample at which the ramp passes the fold
            out["bifurcation_step"] = int(np.argmax(h_logged >= hc))
    rec.summarize(**out)


def summarize(curves) -> dict[str, Any]:
    """Ground-truth transition step (from truth/transitioned) and the step the lab's
    detector finds in state/x: the midpoint of its largest transition, or None."""
    from emergelab.measures.transitions import detect_transitions

    out: dict[str, Any] = {"transition_step": None, "detected_step": None}
    if "truth/transitioned" in curves:
        truth = curves["truth/transitioned"].dropna()
        hit = truth.index[truth.to_numpy() >= 0.5]
        out["transition_step"] = int(hit[0]) if len(hit) else None
    if "state/x" in curves:
        x = curves["state/x"].dropna()
        try:
            found = detect_transitions(x.index.to_numpy(), x.to_numpy(), censored=False)
        except ValueError:  # too short a series: no detection
            found = []
        if found:
            out["detected_step"] = max(found, key=lambda tr: abs(tr.height)).midpoint
    return out


register(World(
    name="critical_transition",
    paper="C. Boettiger, N. Ross, A. Hastings (2013), Early warning signals: The charted and uncharted "
          "territories; R. M. May (1977), Thresholds and breakpoints in ecosystems with a multiplicity of "
          "stable states",
    effect="critical slowing down: variance and autocorrelation rise before a fold collapse "
           "(and do not before a noise-induced jump)",
    config=CriticalTransitionConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"dt": 0.05, "sample_every": 30},  # the same 2,001 samples from a 2.5x coarser integrator
        "tiny": {"t_max": 400.0, "sample_every": 100},  # 201 points
        "null": {"system": "null"},
        "noise": {"system": "noise"},
    },
    watch=("state/x",),
    ews=(("state/x", "state/x"),),  # after every run: did var/AC1 of the state rise before it tipped?
    summarize=summarize,
    look_for="fold: state/x creeps down the upper branch with growing wobbles, then collapses near "
             "bifurcation_step (transition_step in the summary); `emergelab analyze RUN -m state/x` "
             "finds var and ac1 rising before it. null: no transition, no signal. "
             "noise: a jump out of the blue, with no rise before it.",
))
