"""Forecast a larger model's full-set accuracy from a family frame, and back-test the forecast.

Three methods, all fitted on the family's models (see measures/scaling.py for the frame):
- "powerlaw" (the baseline): one law for the whole set, the COD law with no clustering,
  y(N) = g + (1 - g) exp(-a N^-b - c), i.e. a power law with a floor in the transformed space
  -log((y - g)/(1 - g)) = a N^-b + c. Interval: refits on item resamples (n_boot).
- "passuntil" (SCIENCE A7): per item PU = n_pass / n_samples, PU(N) = exp(-c N^-alpha) fitted
  per item and averaged (measures/passuntil.py). It predicts the mean sampling pass rate, which
  is the expected value of `correct` when `correct` is one sample. Interval: item resamples of
  the per-item predictions (item sampling only; the per-item fit error is not in it).
- "cod" (SCIENCE A8): clusters on difficulty, per-cluster laws, mapping (measures/cod.py).
  Difficulty features are the items' pass rates (n_pass / n_samples) when the frame has them,
  else the metric itself. No interval (it would need re-clustering per resample).

The metric is `correct` when present, else `score`; "passuntil" needs n_pass and n_samples.
Every item must be graded for every model (a complete grid).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line
from emergelab.measures.cod import cod_predict, fit_cluster_law
from emergelab.measures.passuntil import task_scaling_fit

PU_WINDOW = 4  # PassUntil forecasts: the per-item law is fitted on the largest 4 anchor sizes
from emergelab.measures.scaling import check_family

METHODS = ("cod", "passuntil", "powerlaw")


def _grid(df, col, size):
    """(sizes (n_sizes,), values (n_items, n_sizes)) of one column; sizes ascending."""
    m = df.pivot_table(index="item", columns=size, values=col, aggfunc="first")
    if m.isna().any().any():
        miss = int(m.isna().sum().sum())
        raise UserError(f"{miss} (model, item) pair(s) have no {col}; every item must be graded "
                        f"for every model: drop the partial items or models")
    return m.columns.to_numpy(dtype=float), m.to_numpy(dtype=float)


def _metric(df, metric):
    if metric is None:
        metric = next((c for c in ("correct", "score") if c in df.columns), None)
        if metric is None:
            raise UserError("the family has neither 'correct' nor 'score'; name the metric to "
                            "forecast with metric=...")
    elif metric not in df.columns:
        raise UserError(f"the family has no {metric!r} column")
    return metric


def _pass_rates(df, size):
    if not {"n_pass", "n_samples"} <= set(df.columns):
        return None
    sz, s = _grid(df, "n_pass", size)
    _, k = _grid(df, "n_samples", size)
    return s / k


def _interval(boot, level):
    boot = boot[np.isfinite(boot)]
    if len(boot) < 10:
        return None
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _forecast(df, target, method, size, metric, guess, n_boot, level, seed, cod_opts):
    """On a checked frame: predicted, interval, details."""
    sizes, acc = _grid(df, metric, size)
    rng = np.random.default_rng(seed)
    if method == "powerlaw":
        law = fit_cluster_law(sizes, acc.mean(0), guess)
        idx = rng.integers(0, len(acc), (n_boot, len(acc)))
        curves = acc[idx].mean(1)  # (n_boot, n_sizes): the whole-set curve of each item resample
        boot = np.array([fit_cluster_law(sizes, c, guess, start=law).predict(target) for c in curves])
        return float(law.predict(target)), _interval(boot, level), {
            "params": law.params, "rmse": law.rmse, "status": law.status}
    if method == "passuntil":
        pu = _pass_rates(df, size)
        if pu is None:
            raise UserError("method 'passuntil' needs n_pass and n_samples columns (repeated "
                            "sampling); use method='cod' or 'powerlaw'")
        # the law is fitted where it is used: on the PU_WINDOW sizes nearest the target. Over a whole
        # ladder log(-log PU) bends (accelerated emergence is concave in log N), and one line
        # through every size under-predicts the next model (scaling_family quick: 0.57 for an
        # actual 0.93 from all 12 smaller sizes; 0.94 from the last 4)
        fit = task_scaling_fit(sizes[-PU_WINDOW:], pu[:, -PU_WINDOW:])
        per_item = fit.predict_items([target])[:, 0]  # (n_items,)
        boot = per_item[rng.integers(0, len(per_item), (n_boot, len(per_item)))].mean(1)
        return float(per_item.mean()), _interval(boot, level), {
            "items_fitted": int(fit.fitted.sum()), "median_alpha": float(np.nanmedian(fit.alpha))}
    out = cod_predict(acc, sizes, target, features=_pass_rates(df, size), guess=guess, seed=seed, **cod_opts)
    keys = ("subset_predicted", "subset_share", "kept", "mapping", "radius", "min_size")
    details = {k: out[k] for k in keys}
    details["n_clusters"] = len(out["laws"])
    details["statuses"] = [law.status for law in out["laws"]]
    return out["predicted"], None, details


def forecast(df, target, *, method: str = "cod", size: str = "params", metric: str | None = None,
             guess: float = 0.0, n_boot: int = 100, level: float = 0.9, seed: int = 0,
             radius: float | None = None, min_size: int | None = None) -> dict:
    """Predict the full-set mean of `metric` for a model of size `target`.

    guess: chance accuracy g of the laws; radius, min_size: COD's clustering (cod.cod_predict's
    defaults when None). Returns {method, target, size, metric, predicted, interval ((lo, hi) or
    None), details}."""
    if method not in METHODS:
        raise UserError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise UserError(f"target must be a number (a model size), got {target!r}") from None
    if not (np.isfinite(target) and target > 0):
        raise UserError(f"target size must be finite and > 0, got {target}")
    df = check_family(df, size)
    metric = _metric(df, metric)
    opts = {"radius": radius, "min_size": min_size}
    pred, interval, details = _forecast(df, target, method, size, metric, guess, n_boot, level, seed, opts)
    return {"method": method, "target": target, "size": size,
            "metric": "pass_rate" if method == "passuntil" else metric,  # PassUntil forecasts sampling pass rates
            "predicted": pred, "interval": interval, "details": details}  # fmt: skip


def backtest(df, methods=METHODS, *, size: str = "params", metric: str | None = None,
             guess: float = 0.0, n_boot: int = 100, level: float = 0.9, seed: int = 0,
             radius: float | None = None, min_size: int | None = None) -> pd.DataFrame:
    """Leave-largest-out: fit each method on all but the largest model, predict it.

    Columns method, predicted, actual, abs_error, lo, hi, note (why a method could not run)."""
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise UserError(f"unknown method(s) {', '.join(map(str, bad))}; choose from {', '.join(METHODS)}")
    df = check_family(df, size)
    metric = _metric(df, metric)
    largest = df[size].max()
    if df[size].nunique() < 4:
        raise UserError("a leave-largest-out back-test needs at least 4 model sizes (3 to fit)")
    try:
        train = check_family(df[df[size] < largest], size)
    except UserError as e:  # e.g. every smaller model scores 0: say which frame was meant
        raise UserError(f"without the largest model: {e}") from None
    actual = float(df.loc[df[size] == largest, metric].mean())
    # PassUntil forecasts the pass rate under sampling, so it is scored against the largest
    # model's pass rate, not its greedy accuracy
    pu = _pass_rates(df, size)
    actual_pu = float(pu[:, -1].mean()) if pu is not None else np.nan  # (n_items, n_sizes)
    rows = []
    for m in methods:
        try:
            opts = {"radius": radius, "min_size": min_size}
            pred, iv, _ = _forecast(train, largest, m, size, metric, guess, n_boot, level, seed, opts)
            note = ""
        except UserError as e:  # one method unable to run does not stop the others
            pred, iv, note = np.nan, None, str(e)
        lo, hi = iv if iv is not None else (np.nan, np.nan)
        act = actual_pu if m == "passuntil" else actual
        rows.append({"method": m, "metric": "pass_rate" if m == "passuntil" else metric, "predicted": pred,
                     "actual": act, "abs_error": abs(pred - act), "lo": lo, "hi": hi, "note": note})  # fmt: skip
    return pd.DataFrame(rows)
