"""Transition analysis: where are the transitions, and did early-warning signals precede them?

`analyze_series` joins the two instruments. It finds the transitions of a timing curve
(by default the series itself) with `detect_transitions`, then asks of the series over
the stretch *before each onset* whether its variance and lag-1 autocorrelation trended
upwards (critical slowing down), with the surrogate test of `ews.surrogate_test`.
With no transition it tests the whole series, which is how false alarms are counted:
a flag on a series that never tips is a false alarm (Boettiger, Ross & Hastings 2013, "Early
warning signals: The charted and uncharted territories").

Pure functions over arrays, so they serve a user's CSV as well as a stored run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from emergelab.errors import UserError
from emergelab.measures.ews import BANDWIDTH  # 0.2, in ksmooth units: ewstools' default too

MIN_EWS_POINTS = 20  # below this a rolling-window trend test has too few windows to mean much
ALPHA = 0.05


@dataclass(frozen=True)
class EWSSettings:
    window: float = 0.5
    """Rolling window as a fraction of the pre-transition stretch (SCIENCE C3: 50 %)."""
    detrend: str = "gaussian"
    """Detrending before the indicators: gaussian, lowess, linear, diff or none."""
    bandwidth: float = BANDWIDTH
    """Gaussian kernel bandwidth as a fraction of the stretch, in the units of ksmooth, R's
    earlywarnings and ewstools (kernel quartiles at +-0.25 bandwidth, sd = 0.37 bandwidth).
    Measured on critical_transition (quick, seeds 0-19, reflect edges, stretch before the
    detected onset): fold flagged 19/20 at 0.1, 19 at 0.135, 20 at 0.2, 19 at 0.27; null 0/20
    and noise <= 1/20 at each. 0.2 is ewstools' default, so the same number means the same
    kernel in both. (The old default, 0.1 in the old units sd = bandwidth * n, is 0.27 here.)"""
    sigma_points: float | None = None
    """The Gaussian kernel's sd in samples; replaces bandwidth when set."""
    edge: str = "reflect"
    """Gaussian edges: reflect (mirror the series, as ewstools) or renormalise."""
    robust_iters: int = 0
    """LOWESS robustness passes (statsmodels' and ewstools' default: 3)."""
    thin: Any = "auto"
    """Keep every k-th point of the stretch before testing: an int k >= 1, None (keep all), or
    "auto": when the detrended stretch's lag-1 autocorrelation r exceeds 0.9 (sampled much
    faster than it recovers), k = ceil(log 0.8 / log r), so that thinned points are ~0.8
    correlated, keeping at least 200 points. Measured on critical_transition (quick, 20 seeds,
    sample_every=1: lag-1 AC 0.976): fold flagged 20/20 either way, but noise-induced jumps
    3/20 without thinning and 1/20 with "auto" (null 0/20 and 1/20). At sample_every 3-30
    (AC 0.48-0.93) auto changes nothing measurable: fold 20/20, null and noise <= 1/20."""
    which: tuple[str, ...] = ("var", "ac1")
    """Indicators tested; a transition is 'flagged' when all of them rise significantly."""
    n_surrogates: int = 100
    """Surrogate series of the fitted null model."""
    null: str = "ar1"
    """Null model fitted to the detrended series: ar1 or arma."""
    seed: int = 0
    """Seeds the surrogates."""


def check_settings(s: EWSSettings) -> None:
    """Bad settings are the user's to fix before anything runs (not a per-stretch note)."""
    from emergelab.measures.ews import NULLS, _check_detrend, _choice, _names  # ews's checks and messages

    _check_detrend(s.detrend, s.edge, s.sigma_points, s.robust_iters)
    _choice("null model", s.null, NULLS)
    _names(s.which)
    if not 0 < s.window < 1:
        raise UserError(f"window must be a fraction in (0, 1), got {s.window}")
    if not 0 < s.bandwidth <= 1:
        raise UserError(f"bandwidth must be a fraction in (0, 1], got {s.bandwidth}")
    if not (s.thin is None or s.thin == "auto" or (isinstance(s.thin, int) and not isinstance(s.thin, bool)
                                                  and s.thin >= 1)):  # fmt: skip
        raise UserError(f"thin must be None, 'auto' or a whole number >= 1, got {s.thin!r}")
    if s.n_surrogates < 10:
        raise UserError(f"n_surrogates must be at least 10 for a meaningful p-value, got {s.n_surrogates}")


THIN_ABOVE, THIN_TARGET, THIN_MIN_POINTS = 0.9, 0.8, 200


def _thin_factor(v, s: EWSSettings) -> int:
    """Every how many points to keep (see EWSSettings.thin). Why: sampled far faster than its
    recovery time, a series has lag-1 autocorrelation near 1 all along; the AR(1) surrogates
    (phi clipped at 0.99) then fit poorly and the test loses its calibration."""
    if s.thin is None:
        return 1
    if s.thin != "auto":
        return int(s.thin)
    from emergelab.measures.ews import detrend

    r = detrend(v, s.detrend, bandwidth=s.bandwidth, edge=s.edge, sigma_points=s.sigma_points,
                robust_iters=s.robust_iters)  # fmt: skip
    r = r[np.isfinite(r)]
    r = r - r.mean()
    ac = float(r[1:] @ r[:-1] / (r @ r)) if r @ r > 0 else 0.0
    if ac <= THIN_ABOVE:
        return 1
    k = int(np.ceil(np.log(THIN_TARGET) / np.log(min(ac, 1 - 1e-9))))
    return max(1, min(k, len(v) // THIN_MIN_POINTS))


def analyze_series(steps, values, *, metric: str = "series", timing: tuple | None = None,
                   timing_metric: str | None = None, settings: EWSSettings = EWSSettings(),
                   margin: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """Transitions of `timing` (steps, values) — default: the series itself — and the EWS of
    `values` before each onset (minus `margin` steps), or over the whole series if none.

    Returns {"metric", "timing_metric", "transitions": [Transition dicts], "ews": [entry]}
    where each entry is {"transition": index or None, "transition_step", "until", "n_points",
    "thin" (every k-th of those points was tested), "tests": [{indicator, tau, p_value, ...}],
    "flagged", "error"}, and an "indicators" long frame (entry, step, indicator, value).
    """
    import pandas as pd

    from emergelab.measures.ews import early_warning
    from emergelab.measures.transitions import _as_1d, detect_transitions

    check_settings(settings)
    steps, values = _as_1d("steps", steps), _as_1d("values", values)
    if len(steps) != len(values):
        raise UserError(f"steps and values have different lengths ({len(steps)} vs {len(values)}); "
                        "pass exactly one value per step")  # fmt: skip
    t_steps, t_values = (steps, values) if timing is None else (_as_1d("timing steps", timing[0]),
                                                                 _as_1d("timing values", timing[1]))  # fmt: skip
    # validates: NaN/inf, length, step order; a change under way at the first point has no
    # stretch before it to test, so only changes seen from plateau to plateau are timed
    found = detect_transitions(t_steps, t_values, censored=False)
    if len(values) < MIN_EWS_POINTS:
        raise UserError(f"series '{metric}' too short for EWS: {len(values)} points, need at least "
                        f"{MIN_EWS_POINTS}; log more often or use a longer series")  # fmt: skip
    if np.ptp(values) == 0:
        raise UserError(f"series '{metric}' is constant: no fluctuations to measure; pick another series")
    stretches = [(i, tr.midpoint, tr.onset - margin) for i, tr in enumerate(found)] or [(None, None, None)]
    entries, frames = [], []
    for k, (idx, mid, until) in enumerate(stretches):
        entry: dict[str, Any] = {"transition": idx, "transition_step": mid, "until": until, "n_points": 0,
                                 "tests": [], "flagged": None, "error": None, "thin": 1}  # fmt: skip
        keep = steps < until if until is not None else np.ones(len(steps), bool)
        n = int(keep.sum())
        entry["n_points"] = n
        if n < MIN_EWS_POINTS:
            entry["error"] = (f"only {n} points before the transition (need {MIN_EWS_POINTS}): "
                              "log more often to test for early warnings")  # fmt: skip
            entries.append(entry)
            continue
        try:
            thin = _thin_factor(values[keep], settings)
            entry["thin"] = thin
            res = early_warning(steps[keep][::thin], values[keep][::thin], until=None, window=settings.window,
                                which=settings.which, detrend=settings.detrend, bandwidth=settings.bandwidth,
                                n_surrogates=settings.n_surrogates, null=settings.null, seed=settings.seed,
                                edge=settings.edge, sigma_points=settings.sigma_points,
                                robust_iters=settings.robust_iters)  # fmt: skip
        except UserError as e:  # e.g. a constant stretch: record it, keep analysing the rest
            entry["error"] = str(e)
            entries.append(entry)
            continue
        tests = res["tests"]
        entry["tests"] = [{k2: (v.item() if hasattr(v, "item") else v) for k2, v in r.items()}
                          for r in tests.to_dict("records")]  # fmt: skip
        entry["flagged"] = bool(((tests["p_value"] < ALPHA) & (tests["tau"] > 0)).all())
        entries.append(entry)
        ind = res["indicators"].melt(id_vars="step", var_name="indicator", value_name="value").dropna()
        ind.insert(0, "entry", k)
        frames.append(ind)
    cols = ["entry", "step", "indicator", "value"]
    indicators = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return {"metric": metric, "timing_metric": timing_metric or metric, "settings": asdict(settings),
            "transitions": [t.to_dict() for t in found], "ews": entries, "indicators": indicators}  # fmt: skip


def ews_table(results: list[dict]) -> "Any":
    """One row per (metric, transition, indicator): the table `emergelab analyze` prints."""
    import pandas as pd

    rows = []
    for r in results:
        for e in r["ews"]:
            base = {"metric": r["metric"], "at": r["timing_metric"],
                    "transition_step": e["transition_step"], "until": e["until"], "n_points": e["n_points"]}  # fmt: skip
            if e["error"] or not e["tests"]:
                rows.append({**base, "indicator": "—", "tau": np.nan, "p_value": np.nan, "flagged": None,
                             "note": e["error"] or ""})  # fmt: skip
            for t in e["tests"]:
                rows.append({**base, "indicator": t["indicator"], "tau": t["tau"], "p_value": t["p_value"],
                             "flagged": e["flagged"], "note": ""})  # fmt: skip
    return pd.DataFrame(rows, columns=["metric", "at", "transition_step", "until", "n_points", "indicator",
                                       "tau", "p_value", "flagged", "note"])  # fmt: skip
