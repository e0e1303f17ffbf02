"""The 'Across scale' section of a run report: a model family's metrics against size, with
the stored forecasts and mirage verdicts (`emergelab forecast` / `emergelab mirage`).

Every metric the family has is drawn as its mean over items per model against size on a
log axis, side by side: a jump under exact match beside a smooth log-likelihood is the
mirage the paper warns about, and it has to be visible at a glance. Forecasts are drawn
as points (with intervals) at the size they predict, on the accuracy panel.
"""

from __future__ import annotations

from typing import Any

from emergelab.lab.families import OUTCOMES

_MAX_PANELS = 8
_COLORS = {"cod": "#d62728", "passuntil": "#2ca02c", "powerlaw": "#9467bd"}
_LABELS = {"correct": "accuracy (exact match)", "mc_correct": "multiple-choice grade", "score": "score",
           "logprob": "log-probability of target", "target_prob": "probability of target",
           "edit_distance": "edit distance (lower is better)", "brier": "Brier score (lower is better)",
           "n_pass": "pass rate (n_pass / n_samples)"}  # fmt: skip


def family_means(family, size: str = "params"):
    """Per model: size and the mean over items of each outcome (pass rate for n_pass)."""
    f = family.copy()
    if "n_pass" in f.columns and "n_samples" in f.columns:
        f["n_pass"] = f["n_pass"] / f["n_samples"].where(f["n_samples"] > 0)
    cols = [c for c in OUTCOMES if c in f.columns]
    return f.groupby(["model", size], as_index=False)[cols].mean().sort_values(size)


def scale_figure(means, size: str = "params", forecast: dict | None = None):
    """One panel per metric against size (log x); forecasts marked on the accuracy panel."""
    from matplotlib.figure import Figure

    cols = [c for c in OUTCOMES if c in means.columns and means[c].notna().any()][:_MAX_PANELS]
    ncol = 2 if len(cols) > 1 else 1
    nrow = -(-len(cols) // ncol)
    fig = Figure(figsize=(8.0, 2.6 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    acc = next((c for c in ("correct", "score", "mc_correct") if c in cols), None)
    for ax, c in zip(axes, cols):
        d = means[[size, c]].dropna()
        ax.plot(d[size], d[c], "o-", color="#1f77b4", lw=1.2, ms=4)
        ax.set_xscale("log")
        ax.set_title(_LABELS.get(c, c), fontsize=9, loc="left")
        if c == acc and forecast:
            _mark_forecasts(ax, forecast)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(cols):]:
        ax.set_visible(False)
    for ax in axes[max(0, len(cols) - ncol):len(cols)]:
        ax.set_xlabel(size)
    return fig


def _mark_forecasts(ax, forecast: dict) -> None:
    x = forecast.get("target")
    for k, r in enumerate(forecast.get("rows", [])):
        y = r.get("predicted")
        if x is None or y is None:
            continue
        lo, hi = r.get("lo"), r.get("hi")
        err = [[y - lo], [hi - y]] if lo is not None and hi is not None else None
        # methods side by side, a few percent apart in size, so equal predictions stay visible
        ax.errorbar([x * 1.12 ** (k + 1)], [y], yerr=err, fmt="s", ms=5, capsize=3, color=_COLORS.get(r.get("method"), "#ff7f0e"),
                    label=f"{r.get('method')} forecast")  # fmt: skip
    ax.legend(loc="best", fontsize=7, frameon=False)


def mirage_view(rows: list[dict]):
    """Mirage results, one readable column per idea (the stored table keeps every score)."""
    import pandas as pd

    out = []
    for r in rows:
        parts = [p for p in str(r.get("partners") or "").split(",") if p]
        sharp = [f"{p} {r[f'sharpness_{p}']:.3g}" for p in parts if r.get(f"sharpness_{p}") is not None]
        out.append({"metric": r.get("metric"), "verdict": r.get("verdict"), "sharpness": r.get("sharpness"),
                    "partners' sharpness": ", ".join(sharp) or ", ".join(parts), "items": r.get("n_items")})  # fmt: skip
    return pd.DataFrame(out)


def _rows_table(rows: list[dict]):
    from emergelab.report.html import _table

    # per-size curves (lists) are drawn, not tabled
    cols = [k for k in dict.fromkeys(k for r in rows for k in r)
            if not any(isinstance(r.get(k), (list, tuple, dict)) for r in rows)]  # fmt: skip
    return _table(cols, [[r.get(c) for c in cols] for r in rows])


def run_section(store, run_id: str, summary: dict) -> dict[str, Any] | None:
    """The run report's 'Across scale' section, or None when the run has neither a stored
    family nor forecast/mirage results."""
    from emergelab.errors import UserError
    from emergelab.report.html import _figure, _section

    fc, mi = summary.get("forecast"), summary.get("mirage")
    family = None
    try:
        from emergelab.lab.families import read_family_run

        family = read_family_run(store, run_id, (fc or mi or {}).get("size", "params"))
    except (UserError, OSError):  # no family artefact (or an unusable one): tables still stand
        family = None
    if family is None and not fc and not mi:
        return None
    size = (fc or mi or {}).get("size", "params")
    paragraphs, figs, tables, notes = [], [], [], []
    if family is not None:
        means = family_means(family, size)
        figs.append(_figure(scale_figure(means, size, fc), caption=f"mean over {family['item'].nunique()} items "
                            f"per model, {means['model'].nunique()} models"))  # fmt: skip
    if fc:
        what = "Leave-largest-out back-test" if fc.get("backtest") else "Forecast"
        paragraphs.append(f"{what} at {size} = {fc.get('target'):.3g}: each method fitted on the smaller "
                          "models only; abs_error is |predicted − actual| where the family has that size.")  # fmt: skip
        tables.append(_rows_table(fc.get("rows", [])))
    if mi:
        view = mirage_view(mi.get("rows", []))
        for r in view.to_dict("records"):
            partners = r["partners' sharpness"]
            if r.get("verdict"):
                paragraphs.append(f"{r['metric']}: {r['verdict']} (sharpness {r['sharpness']:.3g}; "
                                  f"partners: {partners}).")  # fmt: skip
        tables.append(_rows_table(view.to_dict("records")))
        notes.append("Emergence score: the sharpest step between adjacent sizes relative to the typical step. "
                     "A jump under a discontinuous metric that is smooth under its continuous partner is "
                     "flagged as a metric artefact (a mirage).")  # fmt: skip
    return _section("scaling", "Across scale", paragraphs=paragraphs, figures=figs, tables=tables, notes=notes)
