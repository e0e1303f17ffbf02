"""Find sudden changes of level ("transitions") in a curve, and measure grokking delays.

detect_transitions(steps, values) works on any 1-D curve (accuracy jumps, loss drops,
noisy evaluations). It returns one Transition per sudden change (recall and false alarms
on labelled families: benchmarks/transition_recall.py):

1. Noise. sigma is a robust estimate (MAD) from the first differences, so a few big jumps
   don't inflate it. A change counts only if |height| >= floor = max(3 * sigma,
   min_height), and min_height defaults to 10% of the curve's range (max - min).
2. Candidates. We smooth the curve (a running median, then a running mean) and take its
   slope per sample minus the median slope. A steady linear drift therefore has no excess
   slope and never becomes a candidate. Each bump of excess slope is grown out from its
   peak until the slope falls below 5% of the peak or into the noise. We do this at a
   few smoothing widths, from fine to coarse. Fine widths keep nearby steps apart, and
   coarse widths pull wide, noisy changes out of the noise.
3. Shape. We fit y = lo + (hi - lo) / (1 + exp(-(t - t0) / w)) to the raw data in a
   window around each bump (the window stops at neighbouring bumps, or at the edge of
   the data, where a bump may begin at the first sample). If the fit fails,
   is poor (R^2 < 0.5), or gives a step too sharp to resolve (10-90% in less than one
   sample spacing), we fall back to a change-point estimate. Its levels are the medians
   on either side, and onset/midpoint/end are where the curve crosses 10/50/90% of the
   change.
4. Acceptance. A candidate is kept only if all of these hold:
   - it is significant (|height| >= floor);
   - it beats the curve's own wandering: |height| exceeds the step the curve makes by
     chance over as many samples elsewhere (a random-walk null, see _walk_null.py), so
     random walks and AR(1) wobbles are not changes however large their range;
   - it is concentrated (10-90% width <= half the span, so a slow drift is not a
     transition; <= 35% for a censored change, which has a plateau on one side only);
   - it fits (R^2 >= 0.5);
   - the curve really is flat at start_level before it and at end_level after it
     (this rejects pieces of a long ramp; a censored change's level must also last to
     the next change or the edge of the data, which rejects power-law decays);
   - it doesn't overlap a candidate that fits better. The same change is seen at
     several scales, and the best-fitting description wins.
5. Censoring. With censored=True, a change already under way at the first point (fewer
   than 2 samples before its onset, or the curve there still moving at >= 25% of its peak
   rate) is reported with censored="left", and one still under way at the last point with
   "right"; by default both are left out. Its
   levels and onset/midpoint/end describe the part that was seen: from the level at the
   first point (left), or to the level at the last (right). Most learning curves rise or
   fall from their first logged point; the flag says the start level is unobserved.

sharpness is dimensionless: (span of the series) / (end - onset), where onset and end
are the 10% and 90% points. 1 means the change takes the whole series; 20 means it takes
5% of it. With log_steps=True both lengths are in log10(step), the axis of the fit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.optimize import least_squares
from scipy.special import expit

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line
from emergelab.measures._walk_null import walk_scale

MIN_POINTS = 8
NOISE_SIGMAS = 3.0         # a change must be at least this many noise sd's tall...
DEFAULT_REL_HEIGHT = 0.1   # ...and, unless min_height is given, 10% of the range
MAX_WIDTH_FRAC = 0.5       # a 10-90% width beyond half the span is a drift
# A censored change has a plateau on one side only, so its concentration is all that tells
# it from a slow decay: its observed 10-90% part must take at most 35% of the span.
MAX_CENSORED_FRAC = 0.35
FAR_TOL = 0.15            # ...and the level it reaches must last: within 15% of its height
EDGE_SAMPLES = 2           # fewer samples than this before onset (after end): censored
UNDER_WAY = 0.25           # ...or changing at this share of its peak rate at the edge
MIN_R2 = 0.5               # below this, a model explains too little to trust
SUSTAIN_FRAC = 0.9         # first_crossing: share of later points that must stay above
LN9 = np.log(9.0)          # logistic: going from 10% to 50% takes ln(9) * w


@dataclass(frozen=True)
class Transition:
    onset: float        # step where 10% of the change is done
    midpoint: float     # step where 50% is done
    end: float          # step where 90% is done
    height: float       # end_level - start_level: signed, negative for a drop
    sharpness: float    # (series span) / (end - onset): dimensionless, larger = sharper
    start_level: float
    end_level: float
    method: str         # "logistic" or "changepoint"
    r2: float           # R^2 of that model over the window it was fitted on
    # "left": the change was already under way at the first point (fewer than 2 samples
    # before onset), "right": still under way at the last; "" when fully observed. A
    # censored change is measured on its observed part: start_level (left) or end_level
    # (right) is the level at the edge of the data, and onset/midpoint/end are the 10/50/90%
    # points of that observed change.
    censored: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ input checks

def _as_1d(name, a):
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be numeric; could not turn {type(a).__name__} "
                        f"into floats") from None
    if arr.ndim != 1:
        raise UserError(f"{name} must be 1-D, got shape {arr.shape}; pass one column "
                        f"(a list, 1-D array or pandas Series)")
    return arr


def _validate(steps, named: dict, min_points: int):
    t, ys = _as_1d("steps", steps), {k: _as_1d(k, v) for k, v in named.items()}
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
            raise UserError(f"{k} contains {int(bad.sum())} NaN/inf value(s), the first "
                            f"at index {int(np.argmax(bad))}; drop those points first, "
                            f"e.g. keep = np.isfinite({k})")
    if np.any(np.diff(t) <= 0):
        raise UserError("steps must be strictly increasing; sort the series or drop "
                        "duplicate steps")
    return t, *ys.values()


# ------------------------------------------------------------------ pieces

def _noise_sigma(y):
    # Differencing removes the slow signal, and the MAD ignores the few big jumps.
    # Quantised curves can have a MAD of 0; for those we fall back to the mean deviation.
    dev = np.abs(np.diff(y) - np.median(np.diff(y)))
    mad = np.median(dev)
    s = 1.4826 * mad if mad > 0 else 1.2533 * dev.mean()
    return s / np.sqrt(2.0)  # a difference of two iid noises has sd sqrt(2) * sigma


def _smooth(y, k):
    # The running median removes isolated spikes and leaves any monotone curve exactly
    # as it was. Savitzky-Golay of order 1 is a running mean that stays exact on
    # straight lines, even at the ends, so smoothing can't bend a drift into a bump.
    k = min(k, len(y) - (1 - len(y) % 2))  # odd and <= n
    if k < 3:
        return y
    return _running_mean(median_filter(y, size=k, mode="nearest"), k)


def _running_mean(y, k):
    # Savitzky-Golay of order 1 written out (scipy.signal costs ~1 s to import): a centred
    # mean inside, and at each end the least-squares line through the first/last k points.
    h = k // 2
    c = np.concatenate(([0.0], np.cumsum(y)))
    out = np.empty_like(y, dtype=float)
    out[h : len(y) - h] = (c[k:] - c[:-k]) / k
    t = np.arange(k, dtype=float)
    for sl, idx in ((slice(0, k), slice(0, h)), (slice(len(y) - k, len(y)), slice(len(y) - h, len(y)))):
        slope, icpt = np.polyfit(t, y[sl], 1)
        out[idx] = icpt + slope * t[: h] if idx.start == 0 else icpt + slope * t[k - h :]
    return out


def _bumps(e, cap):
    """Bumps of excess slope e as (a, b), meaning samples a..b; found biggest first."""
    s_e = 1.4826 * np.median(np.abs(e))
    free = np.ones(len(e), bool)
    out = []
    for it in range(cap):
        mag = np.where(free, np.abs(e), 0.0)
        i = int(np.argmax(mag))
        # Stop once the peaks are down in the noise. The biggest bump is always tried,
        # though, because on a short series the change itself inflates s_e.
        if mag[i] == 0 or (it > 0 and mag[i] <= 3 * s_e):
            break
        # Grow while the slope keeps its sign and stays above 5% of the peak and the noise.
        ok = free & (np.sign(e[i]) * e > max(0.05 * mag[i], 2 * s_e))
        stops = np.flatnonzero(~ok)
        j = np.searchsorted(stops, i)
        a, b = (stops[j - 1] + 1 if j > 0 else 0), (stops[j] if j < len(stops) else len(e))
        free[a:b] = False
        out.append((a, b))  # diffs a..b-1 join samples a..b
    return sorted(out)


def _logistic(u, lo, hi, t0, w):
    return lo + (hi - lo) * expit((u - t0) / w)


def _r2(y, model):
    ss_tot = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - model) ** 2) / ss_tot) if ss_tot > 0 else 0.0


def _fit_logistic(xw, yw, lo0, hi0, t00, w00):
    """Least-squares logistic on one window: (lo, hi, t0, w, r2), or None if it fails."""
    # Scale both axes to ~[0, 1] so that the same tolerances work in any units. We fit
    # log(w), which keeps w > 0 without bounds. The unbounded Levenberg-Marquardt
    # solver costs several times less than a bounded one.
    L, sy = xw[-1] - xw[0], (abs(hi0 - lo0) or 1.0)
    u, v = (xw - xw[0]) / L, (yw - lo0) / sy
    width = lambda lw: np.exp(np.clip(lw, -25.0, 5.0))  # a sharp step sends w -> 0

    def residual(p):
        return _logistic(u, p[0], p[1], p[2], width(p[3])) - v

    def jac(p):  # analytic, far cheaper than finite differences on long windows
        z = (u - p[2]) / width(p[3])
        s = expit(z)
        ds = (p[1] - p[0]) * s * (1 - s)
        return np.column_stack([1 - s, s, -ds / width(p[3]), -ds * z])

    p0 = [0.0, (hi0 - lo0) / sy, (t00 - xw[0]) / L, np.log(max(w00 / L, 1e-6))]
    res = least_squares(residual, p0, jac=jac, method="lm", max_nfev=200)  # good: < 30
    if res.status <= 0 or not np.all(np.isfinite(res.x)):
        return None
    lo, hi = lo0 + res.x[0] * sy, lo0 + res.x[1] * sy
    t0, w = xw[0] + res.x[2] * L, width(res.x[3]) * L
    return lo, hi, t0, w, _r2(yw, _logistic(xw, lo, hi, t0, w))


def _changepoint(xw, cw, yw, lo, hi):
    """onset/mid/end at the 10/50/90% crossings of curve cw, plus R^2; None if unseen."""
    f = (cw - lo) / (hi - lo)  # the fraction of the change done; rises for drops too
    above = np.flatnonzero(f >= 0.5)
    if above.size == 0 or above[0] == 0:
        return None
    m = above[0]
    below, done = np.flatnonzero(f[:m] < 0.1), np.flatnonzero(f[m:] >= 0.9)
    if below.size == 0 or done.size == 0:
        return None
    cross = lambda k, lev: xw[k] + (lev - f[k]) / (f[k + 1] - f[k]) * (xw[k + 1] - xw[k])
    onset, mid, end = cross(below[-1], 0.1), cross(m - 1, 0.5), cross(m + done[0] - 1, 0.9)
    d = (end - onset) / 0.8  # the model: a straight ramp from lo to hi through those points
    return onset, mid, end, _r2(yw, np.interp(xw, [onset - d / 10, end + d / 10], [lo, hi]))


def _censoring(x, onset, end, under_way=(False, False)):
    """"left" when the change was under way at the first point: fewer than EDGE_SAMPLES
    samples lie before onset, or (under_way[0]) the curve already climbs there at least
    UNDER_WAY of its peak rate; "right" likewise at the last point; "both" or ""."""
    left = under_way[0] or np.searchsorted(x, onset) < EDGE_SAMPLES
    right = under_way[1] or len(x) - np.searchsorted(x, end, side="right") < EDGE_SAMPLES
    return "both" if left and right else "left" if left else "right" if right else ""


def _under_way(ys, a, b, w0, w1):
    """(at the first point, at the last point): is the smoothed curve there still changing
    at >= UNDER_WAY of the bump's peak rate? A decay that is fastest at the first point
    (power law, exponential) never showed the level it started from, even if its 10%
    point falls a few samples in."""
    d = np.abs(np.diff(ys[a:b + 1]))
    if d.size == 0 or d.max() == 0:
        return False, False
    return (a == w0 == 0 and d[0] >= UNDER_WAY * d.max(),
            b + 1 == w1 == len(ys) and d[-1] >= UNDER_WAY * d.max())


def _measure(x, y, ys, w0, w1, a, b, sigma):
    """Measure the bump at samples a..b in window [w0, w1): (onset, mid, end, lo, hi,
    r2, method, censored, model) in fitting units, or None if no change can be measured.
    model is the fitted change over the whole series (flat outside it)."""
    n = len(x)
    left_open, right_open = a - w0 < 2, w1 - (b + 1) < 2
    # A bump pressed against a neighbouring bump is a piece of another change. One pressed
    # against the edge of the data is kept: the fit below says whether its onset (end) was
    # seen. The bump itself runs ~a width past the 10/90% points, so "no sample beside the
    # bump" does not mean "no sample before the onset".
    if (left_open and w0 > 0) or (right_open and w1 < n):
        return None
    xw, yw = x[w0:w1], y[w0:w1]
    lo0 = float(y[w0]) if left_open else float(np.median(y[w0:a]))  # an open side: its edge
    hi0 = float(y[w1 - 1]) if right_open else float(np.median(y[b + 1:w1]))
    if hi0 == lo0:
        return None
    half = np.flatnonzero((ys[a:b + 1] - lo0) / (hi0 - lo0) >= 0.5)
    t00 = x[a + half[0]] if half.size else x[(a + b) // 2]
    fit = _fit_logistic(xw, yw, lo0, hi0, t00, (x[b] - x[a]) / 9.2)  # bump ~ t0 +- 4.6w
    if fit is not None:
        lo, hi, t0, w, r2 = fit
        onset, end = t0 - LN9 * w, t0 + LN9 * w
        k = int(np.clip(np.searchsorted(xw, t0), 1, len(xw) - 1))
        if end - onset >= xw[k] - xw[k - 1] and r2 >= MIN_R2:  # resolved and good
            # A good fit that runs past a window cut short by a neighbouring bump is a
            # piece of a wider change, which a coarser scale sees whole.
            if (onset < xw[0] and w0 > 0) or (end > xw[-1] and w1 < n):
                return None
            cens = _censoring(x, onset, end, _under_way(ys, a, b, w0, w1))
            if cens == "both":
                return None  # no level seen on either side: a drift, not a change
            # A censored change is measured on what was seen: from the model's level at
            # the first (last) point, so nothing rests on an extrapolated plateau. (An
            # exponential approach is fitted by a logistic's tail: q0 may be 0.9 or more.)
            q0 = float(expit((x[0] - t0) / w)) if cens == "left" else 0.0
            q1 = float(expit((x[-1] - t0) / w)) if cens == "right" else 1.0
            q = q0 + np.array([0.1, 0.5, 0.9]) * (q1 - q0)
            onset, mid, end = t0 + w * np.log(q / (1 - q))
            return (onset, mid, end, lo + (hi - lo) * q0, lo + (hi - lo) * q1, r2, "logistic", cens,
                    _logistic(x, lo, hi, t0, w))
    if left_open and right_open:
        return None
    # The change-point fallback. We read crossings off the raw curve when noise can't
    # fake a 10% crossing, so a clean step stays sharp. Otherwise we use the smoothed one.
    clean = 3 * sigma < 0.1 * abs(hi0 - lo0)
    cw = yw.copy() if clean else ys[w0:w1].copy()
    # An open side's level is its edge sample; the smoothed curve there is a line fitted
    # through the change itself, which would hide a change that starts at the first point.
    cw[0], cw[-1] = (lo0 if left_open else cw[0]), (hi0 if right_open else cw[-1])
    cp = _changepoint(xw, cw, yw, lo0, hi0)
    if cp is None:
        return None
    cens = _censoring(x, cp[0], cp[2], _under_way(ys, a, b, w0, w1))
    if cens == "both":
        return None
    d = (cp[2] - cp[0]) / 0.8  # the straight ramp of _changepoint, over the whole series
    ramp = np.interp(x, [cp[0] - d / 10, cp[2] + d / 10], [lo0, hi0])
    return (*cp[:3], lo0, hi0, cp[3], "changepoint", cens, ramp)


def _plateaus_hold(x, y, c, kept, sigma):
    """Does the curve sit at start_level just before onset, and at end_level after end?

    This rejects a piece of a long ramp, which can look like a step inside a small
    window. We look at twice as many samples as the change spans (at least enough to
    pin a median well inside the tolerance), but never past a transition already kept.
    """
    onset, end, tr = c[0], c[2], c[3]
    tol = 0.25 * abs(tr.height)
    i0, i1 = np.searchsorted(x, onset), np.searchsorted(x, end, side="right")
    n_ctx = int(max(10, 2 * (i1 - i0), np.ceil((5 * sigma / tol) ** 2)))
    prev = max((k for k in kept if k[2] <= onset), key=lambda k: k[2], default=None)
    nxt = min((k for k in kept if k[0] >= end), key=lambda k: k[0], default=None)
    lo_stop = np.searchsorted(x, prev[2], side="right") if prev else 0
    hi_stop = np.searchsorted(x, nxt[0]) if nxt else len(x)
    for ctx, level, neighbour in ((y[max(i0 - n_ctx, lo_stop):i0], tr.start_level,
                                   prev and prev[3].end_level),
                                  (y[i1:min(i1 + n_ctx, hi_stop)], tr.end_level,
                                   nxt and nxt[3].start_level)):
        if len(ctx) >= 3 and abs(np.median(ctx) - level) > tol:
            return False
        if len(ctx) < 3 and neighbour is not None and abs(neighbour - level) > tol:
            return False  # pressed against a kept transition: the levels must agree
    if tr.censored:
        # With one side unseen, only a lasting level tells a change from a slow decay
        # (a power law keeps falling long after any "end"): the far third of the stretch
        # up to the next kept change, or the edge of the data, must still sit there.
        seen = y[i1:hi_stop] if tr.censored == "left" else y[lo_stop:i0][::-1]
        level = tr.end_level if tr.censored == "left" else tr.start_level
        far = seen[2 * len(seen) // 3:]
        if len(far) >= 3 and abs(np.median(far) - level) > FAR_TOL * abs(tr.height):
            return False
    return True  # (fewer than 3 samples at the very edge of the data: nothing to judge)


# ------------------------------------------------------------------ public API

def detect_transitions(steps, values, *, min_height: float | None = None,
                       max_transitions: int = 3, smooth: int | None = None,
                       log_steps: bool = False, censored: bool = True) -> list[Transition]:
    """Sudden changes of level in `values`, sorted by midpoint; [] if there are none.
    censored: also report changes already under way at the first point, or still under way
        at the last, flagged censored="left"/"right" (most learning curves rise or fall from
        their first logged step). On by default: a change is reported, not dropped, when its
        onset or end was not observed; censored=False keeps only changes seen from plateau to
        plateau (or filter on `t.censored`, as the worlds' summaries of a phase change after a
        plateau do).

    min_height: the smallest |height| that counts, in value units. It defaults to 10% of
        the curve's range. The noise floor (3 robust sd's) applies either way.
    max_transitions: keep at most this many (the tallest).
    smooth: the smoothing window in samples. The default tries widths from ~n/200 up to n/3.
    log_steps: fit against log10(step), for curves that span decades. Steps are still
        reported in their original units.
    The noise floor assumes roughly independent noise. Slow wobbles taller than
    min_height look like real changes and will be reported; raise min_height to skip them.
    """
    t, y = _validate(steps, {"values": values}, MIN_POINTS)
    if max_transitions < 1:
        raise UserError(f"max_transitions must be >= 1, got {max_transitions}")
    if min_height is not None and not (np.isfinite(min_height) and min_height >= 0):
        raise UserError(f"min_height must be a finite number >= 0, got {min_height}")
    if smooth is not None and smooth < 1:
        raise UserError(f"smooth must be a window of >= 1 samples, got {smooth}")
    if log_steps and t[0] <= 0:
        raise UserError(f"log_steps=True needs positive steps but the first is {t[0]:g}; "
                        f"drop steps <= 0 or use log_steps=False")
    x = np.log10(t) if log_steps else t
    unlog = (lambda v: float(10.0 ** v)) if log_steps else float
    n, span, rng = len(y), x[-1] - x[0], float(np.ptp(y))
    if rng == 0:
        return []
    sigma = _noise_sigma(y)
    rel = DEFAULT_REL_HEIGHT * rng if min_height is None else min_height
    floor = max(NOISE_SIGMAS * sigma, rel, 1e-9 * rng)  # 1e-9: ignore float round-off
    scales = [int(smooth) | 1] if smooth is not None else [max(1, n // 200) | 1]
    # Widths grow 4x up to a third of the series: a short noisy curve needs a wide
    # smoothing to pull a change that spans a third of it out of the noise. On a short
    # series, where fits are cheap, 3x: 1, 3, 9 rather than 1, 5 on 30 points.
    grow = (lambda k: 3 * k) if n < 200 else (lambda k: 4 * k + 1)  # odd stays odd
    while smooth is None and grow(scales[-1]) <= n // 3:
        scales.append(grow(scales[-1]))

    found = []  # (onset, mid, end, Transition), onset/mid/end in fitting units
    for k in scales:
        ys = _smooth(y, k)
        e = np.diff(ys) - np.median(np.diff(ys))  # excess slope over a steady drift
        bumps = [(a, b) for a, b in _bumps(e, 4 * max_transitions + 8)
                 if abs(e[a:b].sum()) >= 0.5 * floor]  # cheap pre-screen before fitting
        for j, (a, b) in enumerate(bumps):
            # Leave room for both plateaus, but stop at the neighbouring bumps, which
            # belong to other changes.
            pad = 3 * (b - a) + k
            w0 = max(a - pad, bumps[j - 1][1] if j > 0 else 0)
            w1 = min(b + 1 + pad, bumps[j + 1][0] + 1 if j + 1 < len(bumps) else n)
            m = _measure(x, y, ys, w0, w1, a, b, sigma)
            if m is None:
                continue
            onset, mid, end, lo, hi, r2, method, cens, model = m
            if cens and not censored:
                continue
            widest = (MAX_CENSORED_FRAC if cens else MAX_WIDTH_FRAC) * span
            if abs(hi - lo) < floor or r2 < MIN_R2 or end - onset > widest:
                continue
            if abs(hi - lo) < walk_scale(x, y, model, onset, end):
                continue  # no taller than the curve's own wandering over as many samples
            found.append((onset, mid, end, Transition(
                onset=unlog(onset), midpoint=unlog(mid), end=unlog(end),
                height=float(hi - lo), sharpness=float(span / (end - onset)),
                start_level=float(lo), end_level=float(hi), method=method, r2=r2,
                censored=cens)))

    # One change is usually found at several scales. A fine scale can also see a noisy
    # change in pieces, and a coarse one can blur two steps into one. So we go through
    # the candidates best fit first and keep the ones that don't overlap a kept one.
    kept = []
    # Fully observed changes go first: a censored one is judged on the level it reaches,
    # which ends where the next kept change begins.
    for c in sorted(found, key=lambda c: (bool(c[3].censored), -c[3].r2)):
        if any(o <= c[1] <= e_ or c[0] <= m_ <= c[2] for o, m_, e_, _ in kept):
            continue
        if _plateaus_hold(x, y, c, kept, sigma):
            kept.append(c)
    kept.sort(key=lambda c: -abs(c[3].height))
    return sorted((c[3] for c in kept[:max_transitions]), key=lambda tr: tr.midpoint)


def first_crossing(steps, values, threshold: float, *,
                   sustained: bool = True) -> float | None:
    """The step where `values` first reaches `threshold` (>=), or None if it never does.

    With sustained=True the crossing has to hold: from that point on, at least 90% of the
    remaining points must be >= threshold. A lucky noisy spike then doesn't count.
    For a quantity that should fall (a loss), pass -values and -threshold.
    """
    t, v = _validate(steps, {"values": values}, 1)
    if not np.isfinite(threshold):
        raise UserError(f"threshold must be a finite number, got {threshold}")
    ok = v >= threshold
    if sustained:
        n_after = np.cumsum(ok[::-1])[::-1]  # how many of v[i:] are >= threshold
        ok = ok & (n_after >= SUSTAIN_FRAC * np.arange(len(v), 0, -1))
    idx = np.flatnonzero(ok)
    return float(t[idx[0]]) if idx.size else None


def grokking_delay(steps, train_acc, val_acc, *, threshold: float = 0.95,
                   train_threshold: float | None = None) -> float | None:
    """Steps from train_acc reaching train_threshold (default: threshold) to val_acc
    reaching threshold, both as sustained first crossings. None if either never does."""
    t, tr, va = _validate(steps, {"train_acc": train_acc, "val_acc": val_acc}, MIN_POINTS)
    tt = threshold if train_threshold is None else train_threshold
    t_train = first_crossing(t, tr, tt)
    t_val = first_crossing(t, va, threshold)
    return None if t_train is None or t_val is None else float(t_val - t_train)
