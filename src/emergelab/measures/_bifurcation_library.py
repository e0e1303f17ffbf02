"""Training library for the bifurcation classifier: noisy normal forms driven towards a tipping point.

After T. M. Bury, R. I. Sujith, I. Pavithran, M. Scheffer, T. M. Lenton, M. Anand, C. T. Bauch
(2021), "Deep learning for early warning signals of tipping points", PNAS 118(39): e2106140118.
Bury et al. drew random two-variable polynomial systems, located their bifurcations by numerical
continuation (AUTO) and simulated them with additive noise while ramping the bifurcation parameter
linearly up to the bifurcation; the null series hold the parameter fixed. At small scale the lab
simulates the normal forms themselves, which is what every such system reduces to near its
bifurcation, with random time scales, noise levels, frequencies and lengths:

    fold           dx = k (u - x^2) dt + s dW                 stable x* = sqrt(u), rate 2k sqrt(u)
    transcritical  dx = k (u x - x^2) dt + s dW               stable x* = u,       rate k u
    hopf           dz = [k (-u + c |z|^2) z + i w z] dt + s dW  z = x + i y, c = -1 (supercritical)
                                                                or +1 (subcritical), rate k u
    null           one of the three above with u held fixed (no bifurcation ahead)

The distance to the bifurcation u falls linearly from 1 to 0 over the simulated stretch, which
ends at the bifurcation as in Bury et al.; each series then stops a random distance u in
[0, GAP] short of it (real records end some time before the transition). Time is in samples:
one observation per unit time, `SUB` Euler-Maruyama steps between observations (the Hopf
rotation is applied exactly, so a fast oscillation gains no spurious energy from the Euler
step). The observed variable is x, with a random sign (a user's system may tip up or down).

Pre-transition stretch: noise may tip a fold, a transcritical or a subcritical Hopf before the
bifurcation. A series has tipped once it is well past the unstable equilibrium (x < -0.5, or
|z| > 1.5, where the flow runs away); it is then cut at the last sample at which it was still on
the stable side of the unstable equilibrium (x > -sqrt(u), x > 0, |z| < sqrt(u)). Each series then
keeps its last L samples, L uniform in [MIN_LEN, N] (Bury et al. padded up to 90% of each series
away), and series whose stretch is shorter than MIN_LEN are dropped.
"""

from __future__ import annotations

import math

import numpy as np

from emergelab.measures.ews_classifier import CLASSES, INPUT_LEN, MIN_LEN

SUB = 10            # Euler-Maruyama steps per sample: rates k <= 1 per sample keep k dt <= 0.1
BURN = 50           # samples at u = 1 before the recorded stretch, on top of a stationary start
RATE = (0.02, 1.0)  # recovery rate per sample at u = 1, log-uniform: lag-1 AC from 0.37 to 0.98
NOISE = (0.01, 0.1)  # stationary sd at u = 1 over the distance to the basin edge, log-uniform
OMEGA = (0.05, 1.5)  # Hopf angular frequency per sample (periods of 4 to 125 samples), log-uniform
NULL_U = (0.1, 1.0)  # the null's fixed distance to the bifurcation, uniform
GAP = 0.25          # a series stops up to this distance u short of the bifurcation, uniform
RUNAWAY_X, RUNAWAY_R = -0.5, 1.5  # past these the flow runs away: the series has tipped
MODELS = ("fold", "transcritical", "hopf")


def _loguniform(rng, lo_hi, n):
    lo, hi = lo_hi
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n))


def simulate(n_per_class: int, seed, length: int = INPUT_LEN) -> dict[str, np.ndarray]:
    """Simulate n_per_class series of each class in CLASSES (before dropping those that tipped too
    early). Returns right-aligned raw series X (B, length) (NaN to the left of each series), their
    lengths (B,), labels (B,) (indices into CLASSES) and per-series parameters (B,) each.
    seed: anything numpy.random.default_rng takes (an int or a SeedSequence)."""
    rng = np.random.default_rng(seed)
    n_cls = len(CLASSES)
    label = np.repeat(np.arange(n_cls), n_per_class)  # (B,)
    B = len(label)
    null = label == CLASSES.index("null")
    # the model behind each series: its own class, or any of the three for a null
    model = np.where(null, rng.integers(0, len(MODELS), B), label)  # (B,) index into MODELS
    fold, trans, hopf = (model == i for i in range(3))
    sub_hopf = hopf & (rng.random(B) < 0.5)  # subcritical Hopf: the unstable cycle can be escaped
    rate = _loguniform(rng, RATE, B)  # recovery rate at u = 1
    k = np.where(fold, rate / 2, rate)  # fold: rate = 2 k sqrt(u)
    dist = np.where(fold, 2.0, 1.0)  # stable point to basin edge at u = 1 (fold: 1 to -1)
    sd0 = _loguniform(rng, NOISE, B) * dist
    sigma = sd0 * np.sqrt(2 * rate)  # OU: stationary sd = sigma / sqrt(2 rate)
    omega = np.where(hopf, _loguniform(rng, OMEGA, B), 0.0)
    u_fixed = rng.uniform(*NULL_U, B)
    sign = rng.choice([-1.0, 1.0], B)
    want = rng.integers(MIN_LEN, length + 1, B)  # target length of the kept stretch
    # Data stop before the transition, not at the bifurcation itself: a random gap of samples
    # (u up to GAP) is left off the end, as Bury et al.'s right-padded classifiers saw.
    gap = np.floor(rng.uniform(0, GAP, B) * (length - 1)).astype(int)

    # u at each sample (S,) per series: burn-in at u0, then a linear fall to 0 at the last sample
    S = BURN + length
    ramp = np.concatenate([np.ones(BURN), np.linspace(1.0, 0.0, length)])  # (S,)
    u0 = np.where(null, u_fixed, 1.0)  # (B,)

    def equilibrium(u):  # the stable state at distance u, per series
        return np.where(fold, np.sqrt(u), np.where(trans, u, 0.0))

    # A stationary start (the linearised OU law at u0), so no variance builds up from zero and
    # a null shows no trend of its own making.
    rate0 = np.where(fold, 2 * k * np.sqrt(u0), k * u0)
    sd_start = sigma / np.sqrt(2 * rate0)
    x = equilibrium(u0) + sd_start * rng.standard_normal(B)
    y = np.where(hopf, sd_start * rng.standard_normal(B), 0.0)
    cubic = np.where(sub_hopf, 1.0, -1.0)
    dt = 1.0 / SUB
    cos_w, sin_w = np.cos(omega * dt), np.sin(omega * dt)
    noise_scale = sigma * math.sqrt(dt)
    tipped = np.zeros(B, bool)
    tip_at = np.full(B, S)  # the sample during which the state passed the runaway threshold
    safe = np.zeros((B, S), bool)  # on the stable side of the unstable equilibrium at each sample
    xs = np.empty((B, S))  # (B, S) observed x

    # Euler-Maruyama over time only; all B series advance together as arrays.
    for t in range(S):
        u = np.where(null, u0, ramp[t])  # (B,)
        for _ in range(SUB):
            r2 = x * x + y * y
            radial = k * (-u + cubic * r2)  # Hopf: the amplitude equation's growth rate
            dx = np.where(fold, k * (u - x * x), np.where(trans, k * (u * x - x * x), radial * x))
            dy = np.where(hopf, radial * y, 0.0)
            nx = x + dx * dt + noise_scale * rng.standard_normal(B)
            ny = y + dy * dt + np.where(hopf, noise_scale * rng.standard_normal(B), 0.0)
            nx, ny = np.where(hopf, cos_w * nx - sin_w * ny, nx), np.where(hopf, sin_w * nx + cos_w * ny, ny)
            x, y = np.where(tipped, x, nx), np.where(tipped, y, ny)  # a tipped series stays frozen
            # checked every step, so a runaway is frozen before it can overflow
            now = ~tipped & np.where(hopf, sub_hopf & (x * x + y * y > RUNAWAY_R**2), x < RUNAWAY_X)
            tip_at[now] = t
            tipped |= now
        xs[:, t] = x
        r = np.sqrt(x * x + y * y)
        safe[:, t] = np.where(fold, x > -np.sqrt(u), np.where(trans, x > 0, ~sub_hopf | (r < np.sqrt(u))))

    # The stretch ends at the last safe sample before tipping (or at the bifurcation).
    idx = np.where(safe, np.arange(S), -1)
    last_safe = np.maximum.accumulate(idx, axis=1)  # (B, S): last safe sample up to each t
    end = np.where(tipped, last_safe[np.arange(B), np.maximum(tip_at - 1, 0)] + 1, S)  # exclusive
    end = np.minimum(end, S - gap)
    start = np.maximum(end - want, BURN)  # never into the burn-in
    n = end - start
    keep = n >= MIN_LEN
    # right-align: column j of the output holds sample end - length + j
    cols = end[:, None] - length + np.arange(length)  # (B, length)
    X = np.take_along_axis(xs, np.clip(cols, 0, S - 1), axis=1) * sign[:, None]
    X[cols < start[:, None]] = np.nan
    out = {"X": X, "lengths": n, "labels": label, "model": model, "rate": rate, "noise": sd0 / dist,
           "omega": omega, "subcritical": sub_hopf, "tipped_early": tipped}
    return {key: v[keep] for key, v in out.items()}


def confusion(labels, preds, n_classes: int = len(CLASSES)) -> np.ndarray:
    """Confusion matrix (n_classes, n_classes): rows = true class, columns = predicted."""
    m = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(m, (np.asarray(labels), np.asarray(preds)), 1)
    return m


def format_confusion(m: np.ndarray) -> str:
    """The matrix as text, rows = true class, with per-class recall and overall accuracy."""
    w = max(len(c) for c in CLASSES) + 2
    lines = ["true \\ pred".ljust(w + 2) + "".join(c[:w].rjust(w) for c in CLASSES) + "   recall"]
    for i, c in enumerate(CLASSES):
        rec = m[i, i] / max(m[i].sum(), 1)
        lines.append(c.ljust(w + 2) + "".join(str(v).rjust(w) for v in m[i]) + f"   {rec:.3f}")
    lines.append(f"accuracy {np.trace(m) / max(m.sum(), 1):.3f} over {m.sum()} held-out series")
    return "\n".join(lines)
