"""Find sudden jumps ("transitions") in a curve, and measure grokking delays.

detect_transitions(steps, values) works on any 1-D curve (accuracy jumps, loss drops,
noisy evaluations) and returns one `Transition` per sudden change of level:

1. Noise. sigma is estimated from the first differences with the MAD. That is robust,
   so a few large jumps don't inflate it. A change counts only if
   |height| >= floor = max(5 * sigma, min_height), and min_height defaults to 10% of
   the curve's range (max - min). Both conditions have to hold.
2. Candidates. The curve is smoothed (running median, then a running mean) and we look
   at its slope per sample *minus the median slope*. Subtracting the median slope means
   a steady linear drift has no "excess" slope, so a drift never becomes a candidate.
   Each bump of excess slope is grown outwards from its peak until the slope drops to
   5% of the peak or into the noise; that bump is one candidate region. We repeat this
   at a few smoothing widths, fine to coarse. Fine widths keep nearby steps apart, and
   coarse widths pull a wide, noisy transition out of the noise.
3. Shape. On the raw data in a window around each region (the window stops at the
   neighbouring regions) we fit the logistic y = lo + (hi - lo) / (1 + exp(-(t - t0)/w)).
   If the fit fails, is poor (R^2 < 0.5), or describes a step that is too sharp to
   resolve (its 10-90% rise fits between two samples), we use a change-point estimate
   instead: the levels are the medians on either side, and onset/midpoint/end are
   where the curve first crosses 10/50/90% of the change.
4. Acceptance. A candidate is kept only if it is significant (|height| >= floor), fully
   observed (onset and end lie inside the data), concentrated (the 10-90% width is at
   most half the series span, so a slow drift is never a transition), fits
   (R^2 >= 0.5), and doesn't overlap a transition we already kept.

sharpness is dimensionless: (span of the series) / (end - onset). A value of 1 means
the change takes the whole series; 20 means it takes 5% of it. With log_steps=True both
lengths are measured in log10(step), since that is the axis the curve was fitted on.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.signal import savgol_filter
from scipy.special import expit

from emergelab.lab.errors import UserError  # a ValueError the CLI prints as one line

MIN_POINTS = 8
NOISE_SIGMAS = 3.0
DEFAULT_REL_HEIGHT = 0.1  # ... and at least this fraction of the curve's range
MAX_WIDTH_FRAC = 0.5      # 10-90% width above this fraction of the span = a drift
MIN_R2 = 0.5
SUSTAIN_FRAC = 0.9        # first_crossing: share of later points that must stay above
LN9 = np.log(9.0)         # logistic: 10% -> 50% takes ln(9) * w


@dataclass(frozen=True)
class Transition:
    onset: float        # step where 10% of the change is done
    midpoint: float     # step where 50% is done
    end: float          # step where 90% is done
    height: float       # end_level - start_level: signed, negative for a drop
    sharpness: float    # (series span) / (end - onset), dimensionless
    start_level: float
    end_level: float
    method: str         # "logistic" or "changepoint"
    r2: float           # R^2 of that model over the window it was fitted on

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- input checks

def _as_1d(name, a):
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numeric; could not convert {type(a).__name__} "
                        f"to floats") from None
    if arr.ndim != 1:
        raise UserError(f"{name} must be 1-D, got shape {arr.shape}; pass a single "
                        f"column (a list, 1-D array or pandas Series)")
    return arr


def _validate(steps, named: dict, min_points: int):
    t = _as_1d("steps", steps)
    ys = {k: _as_1d(k, v) for k, v in named.items()}
    for k, v in ys.items():
        if len(v) != len(t):
            raise UserError(f"steps and {k} have different lengths ({len(t)} vs "
                            f"{len(v)}); pass exactly one value per step")
    if len(t) < min_points:
        raise UserError(f"series too short: need at least {min_points} points, "
                        f"got {len(t)}")
    for k, v in {"steps": t, **ys}.items():
        bad = ~np.isfinite(v)
        if bad.any():
            raise UserError(f"{k} contains {int(bad.sum())} NaN/inf value(s), first at "
                            f"index {int(np.argmax(bad))}; drop those points first, "
                            f"e.g. keep = np.isfinite({k})")
    if np.any(np.diff(t) <= 0):
        raise UserError("steps must be strictly increasing; sort the series or drop "
                        "duplicate steps")
    return t, *ys.values()


# ---------------------------------------------------------------- helpers

def _noise_sigma(y):
    # Differencing removes the slow signal. The MAD ignores the few big jumps.
    # Quantised curves can have MAD 0, so then we fall back to the mean deviation.
    d = np.diff(y)
    dev = np.abs(d - np.median(d))
    mad = np.median(dev)
    s = 1.4826 * mad if mad > 0 else 1.2533 * dev.mean()
    return s / np.sqrt(2.0)  # the difference of two iid noises has sd sqrt(2)*sigma


def _smooth(y, k):
    # Running median: kills isolated spikes and returns any monotone curve unchanged.
    # Savitzky-Golay of order 1: a running mean that is exact on straight lines, even
    # at the ends, so smoothing never bends a drift into a fake bump.
    k = min(k, len(y) - (1 - len(y) % 2))  # odd and <= n
    if k < 3:
        return y
    return savgol_filter(median_filter(y, size=k, mode="nearest"), k, 1, mode="interp")


def _regions(e, cap):
    """Bumps of excess slope as (a, b): diff indices a..b-1, i.e. samples a..b."""
    s_e = 1.4826 * np.median(np.abs(e))
    free = np.ones(len(e), bool)
    out = []
    for _ in range(cap):  # a handful of peaks, biggest first
        mag = np.where(free, np.abs(e), 0.0)
        i = int(np.argmax(mag))
        if mag[i] <= 3 * s_e or mag[i] == 0:
            break  # whatever is left is noise
        # Grow while the slope keeps its sign and stays above both 5% of the peak and
        # the noise.
        sgn = np.sign(e[i])
        ok = free & (sgn * e > max(0.05 * mag[i], 2 * s_e))
        stops = np.flatnonzero(~ok)
        j = np.searchsorted(stops, i)
        a = stops[j - 1] + 1 if j > 0 else 0
        b = stops[j] if j < len(stops) else len(e)
        free[a:b] = False
        out.append([a, b, sgn])
    out.sort()
    merged = []  # when noise cuts one bump in two, join the touching halves again
    for r in out:
        if merged and merged[-1][2] == r[2] and r[0] <= merged[-1][1] + 1:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [(a, b) for a, b, _ in merged]


def _logistic(u, lo, hi, t0, w):
    return lo + (hi - lo) * expit((u - t0) / w)


def _logistic_jac(u, lo, hi, t0, w):
    # The analytic Jacobian: several times faster than finite differences on long windows.
    z = (u - t0) / w
    s = expit(z)
    ds = (hi - lo) * s * (1 - s) / w
    return np.column_stack([1 - s, s, -ds, -ds * z])


def _r2(y, model):
    ss_tot = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - model) ** 2) / ss_tot) if ss_tot > 0 else 0.0


def _fit_logistic(xw, yw, lo0, hi0, t00, w00):
    """Least-squares logistic on the window; None when the fit fails."""
    # Rescale to [0, 1] in both axes so that one set of bounds and tolerances works
    # for any units.
    L, ys = xw[-1] - xw[0], (abs(hi0 - lo0) or 1.0)
    u, v = (xw - xw[0]) / L, (yw - lo0) / ys
    # Below a quarter of a sample spacing (10-90% width) the data can't tell widths
    # apart: the cost is flat and the optimiser would wander. So that is the floor on w.
    w_min = 0.25 * np.min(np.diff(u)) / (2 * LN9)
    p0 = [0.0, (hi0 - lo0) / ys, np.clip((t00 - xw[0]) / L, 0.01, 0.99),
          np.clip(w00 / L, 2 * w_min, 0.5)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (lo, hi, t0, w), _ = curve_fit(_logistic, u, v, p0=p0, jac=_logistic_jac,
                                           maxfev=100,  # good fits need < 30
                                           bounds=([-np.inf, -np.inf, 0, w_min],
                                                   [np.inf, np.inf, 1, 1]))
    except (RuntimeError, ValueError):
        return None
    lo, hi, t0, w = lo0 + lo * ys, lo0 + hi * ys, xw[0] + t0 * L, w * L
    return lo, hi, t0, w, _r2(yw, _logistic(xw, lo, hi, t0, w))


def _changepoint(xw, cw, yw, lo, hi):
    """onset/mid/end from 10/50/90% crossings of curve cw; None if not all observed."""
    f = (cw - lo) / (hi - lo)  # fraction of the change done; rises for drops too
    above = np.flatnonzero(f >= 0.5)
    if above.size == 0 or above[0] == 0:
        return None
    m = above[0]
    below = np.flatnonzero(f[:m] < 0.1)
    done = np.flatnonzero(f[m:] >= 0.9)
    if below.size == 0 or done.size == 0:
        return None
    i, j = below[-1], m + done[0]

    def cross(k, level):  # linear interpolation between samples k and k+1
        return xw[k] + (level - f[k]) / (f[k + 1] - f[k]) * (xw[k + 1] - xw[k])

    onset, mid, end = cross(i, 0.1), cross(m - 1, 0.5), cross(j - 1, 0.9)
    d = (end - onset) / 0.8  # the ramp model: lo -> hi linearly, 10% at onset
    model = np.interp(xw, [onset - 0.1 * d, end + 0.1 * d], [lo, hi])
    return onset, mid, end, _r2(yw, model)


def _measure(x, y, ys, w0, w1, a, b, sigma):
    """Fit one candidate region (samples a..b) in window [w0, w1).

    Returns (onset, mid, end, lo, hi, r2, method) in fitting units, or None."""
    xw, yw = x[w0:w1], y[w0:w1]
    # Levels: the medians of the flanks. A region that touches the window edge has no
    # observed plateau on that side, so we cannot claim to have seen it begin or end.
    if a - w0 < 3 or w1 - (b + 1) < 3:
        return None
    lo0, hi0 = float(np.median(y[w0:a])), float(np.median(y[b + 1:w1]))
    if hi0 == lo0:
        return None
    half = np.flatnonzero((ys[a:b + 1] - lo0) / (hi0 - lo0) >= 0.5)
    t00 = x[a + half[0]] if half.size else x[(a + b) // 2]
    fit = _fit_logistic(xw, yw, lo0, hi0, t00, (x[b] - x[a]) / 9.2)  # region ~ +-4.6w
    if fit is not None:
        lo, hi, t0, w, r2 = fit
        onset, end = t0 - LN9 * w, t0 + LN9 * w
        k = int(np.clip(np.searchsorted(xw, t0), 1, len(xw) - 1))
        resolved = end - onset >= xw[k] - xw[k - 1]
        if resolved and r2 >= MIN_R2:
            if xw[0] <= onset and end <= xw[-1]:
                return onset, t0, end, lo, hi, r2, "logistic"
            # A good fit that runs past the window is either a piece of a wider change
            # (a coarser scale will see all of it) or one whose start was never
            # observed (e.g. a loss that falls from step 0). Neither is measurable here.
            return None
    # Change-point fallback: measure crossings on the raw curve when the noise can't
    # fake a 10% crossing (a clean step stays sharp). Otherwise, on the smoothed curve.
    clean = 3 * sigma < 0.1 * abs(hi0 - lo0)
    cp = _changepoint(xw, yw if clean else ys[w0:w1], yw, lo0, hi0)
    if cp is None:
        return None
    return (*cp[:3], lo0, hi0, cp[3], "changepoint")


def _plateaus_hold(x, y, onset, end, tr, kept):
    """Does the curve sit at start_level just before onset and at end_level just after end?

    This rejects a piece of a long ramp: fitted in a small window it can look like a
    step, but outside that window the curve keeps moving. We look at twice as many
    samples as the change itself spans, on each side, and stop at any transition
    already kept.
    """
    i0, i1 = np.searchsorted(x, onset), np.searchsorted(x, end, side="right")
    n_ctx = max(5, 2 * (i1 - i0))
    left_stop = max([np.searchsorted(x, e_, side="right") for o, _, e_, _ in kept if e_ <= onset],
                    default=0)
    right_stop = min([np.searchsorted(x, o) for o, _, e_, _ in kept if o >= end],
                     default=len(x))
    sides = ((y[max(i0 - n_ctx, left_stop):i0], tr.start_level),
             (y[i1:min(i1 + n_ctx, right_stop)], tr.end_level))
    tol = 0.25 * abs(tr.height)
    # Fewer than 3 samples on a side can't tell a plateau from noise, so we don't judge it.
    return all(len(c) < 3 or abs(np.median(c) - level) <= tol for c, level in sides)


# ---------------------------------------------------------------- public API

def detect_transitions(steps, values, *, min_height: float | None = None,
                       max_transitions: int = 3, smooth: int | None = None,
                       log_steps: bool = False) -> list[Transition]:
    """Sudden changes of level in `values`, sorted by midpoint; [] if there are none.

    min_height: the smallest |height| that counts, in value units. The default is 10%
        of the curve's range. A noise floor of 5 robust sd's applies either way.
    smooth: the smoothing window in samples. The default (None) tries a few widths,
        from about n/200 up to n/8.
    log_steps: fit against log10(step), for curves that span decades. Steps are
        still reported in their original units.
    """
    t, y = _validate(steps, {"values": values}, MIN_POINTS)
    if max_transitions < 1:
        raise UserError(f"max_transitions must be >= 1, got {max_transitions}")
    if min_height is not None and not (np.isfinite(min_height) and min_height >= 0):
        raise UserError(f"min_height must be a finite number >= 0, got {min_height}")
    if smooth is not None and smooth < 1:
        raise UserError(f"smooth must be a window of >= 1 samples, got {smooth}")
    if log_steps and t[0] <= 0:
        raise UserError(f"log_steps=True needs positive steps, but the first is {t[0]:g}; "
                        f"drop steps <= 0 or use log_steps=False")
    x = np.log10(t) if log_steps else t
    n, span, rng = len(y), x[-1] - x[0], float(np.ptp(y))
    if rng == 0:
        return []
    sigma = _noise_sigma(y)
    rel = DEFAULT_REL_HEIGHT * rng if min_height is None else min_height
    floor = max(NOISE_SIGMAS * sigma, rel, 1e-9 * rng)  # 1e-9: ignore float round-off
    if smooth is not None:
        scales = [int(smooth) | 1]
    else:
        scales = [max(1, n // 200) | 1]
        while 4 * scales[-1] + 1 <= n // 8:
            scales.append(4 * scales[-1] + 1)
    cap = 4 * max_transitions + 8  # peaks examined per scale: bounds the work

    found = []  # (onset, mid, end, Transition) in fitting units, from every scale
    for k in scales:
        ys = _smooth(y, k)
        d = np.diff(ys)
        e = d - np.median(d)  # the excess slope over a steady drift
        regions = [r for r in _regions(e, cap) if abs(e[r[0]:r[1]].sum()) >= 0.5 * floor]
        for j, (a, b) in enumerate(regions):
            # Window: the region plus room for both plateaus, but not into the
            # neighbouring regions, which belong to other transitions.
            pad = 3 * (b - a) + k
            w0 = max(a - pad, regions[j - 1][1] if j > 0 else 0)
            w1 = min(b + 1 + pad, regions[j + 1][0] + 1 if j + 1 < len(regions) else n)
            m = _measure(x, y, ys, w0, w1, a, b, sigma)
            if m is None:
                continue
            onset, mid, end, lo, hi, r2, method = m
            if abs(hi - lo) < floor or r2 < MIN_R2 or end - onset > MAX_WIDTH_FRAC * span:
                continue
            unlog = (lambda v: float(10.0 ** v)) if log_steps else float
            found.append((onset, mid, end, Transition(
                onset=unlog(onset), midpoint=unlog(mid), end=unlog(end),
                height=float(hi - lo), sharpness=float(span / (end - onset)),
                start_level=float(lo), end_level=float(hi), method=method, r2=r2)))

    # The same change is usually seen at several scales. A fine scale can also see a
    # noisy change in pieces, and a coarse scale can blur two steps into one. The
    # best-fitting description is the right one, so we take the candidates by R^2 and
    # drop any that overlap one we already kept.
    kept = []
    for onset, mid, end, tr in sorted(found, key=lambda c: -c[3].r2):
        if any(o <= mid <= e_ or onset <= m_ <= end for o, m_, e_, _ in kept):
            continue
        if _plateaus_hold(x, y, onset, end, tr, kept):
            kept.append((onset, mid, end, tr))
    kept.sort(key=lambda c: -abs(c[3].height))
    return sorted((c[3] for c in kept[:max_transitions]), key=lambda tr: tr.midpoint)


def first_crossing(steps, values, threshold: float, *,
                   sustained: bool = True) -> float | None:
    """The step where `values` first reaches `threshold` (>=), or None if it never does.

    With sustained=True the crossing must hold: from that point on, at least 90% of the
    remaining points must be >= threshold. This way a lucky noisy spike doesn't count.
    For a quantity that should fall (a loss), pass -values and -threshold.
    """
    t, v = _validate(steps, {"values": values}, 1)
    if not np.isfinite(threshold):
        raise UserError(f"threshold must be a finite number, got {threshold}")
    above = v >= threshold
    ok = above
    if sustained:
        n_above_after = np.cumsum(above[::-1])[::-1]  # points >= threshold in v[i:]
        ok = above & (n_above_after >= SUSTAIN_FRAC * np.arange(len(v), 0, -1))
    idx = np.flatnonzero(ok)
    return float(t[idx[0]]) if idx.size else None


def grokking_delay(steps, train_acc, val_acc, *, threshold: float = 0.95,
                   train_threshold: float | None = None) -> float | None:
    """Steps between train accuracy reaching train_threshold and val accuracy
    reaching threshold. Both use a sustained first crossing. Returns None if either
    never gets there."""
    t, tr, va = _validate(steps, {"train_acc": train_acc, "val_acc": val_acc}, MIN_POINTS)
    t_train = first_crossing(t, tr, threshold if train_threshold is None else train_threshold)
    t_val = first_crossing(t, va, threshold)
    if t_train is None or t_val is None:
        return None
    return float(t_val - t_train)
