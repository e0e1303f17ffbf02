"""The early-warning sections of run and sweep reports.

Run: for each analysed (metric, transition), the series with the tested pre-transition
stretch shaded and the transition marked, above the indicator curves over that stretch,
each titled with its Kendall τ and surrogate p-value. Sweep: how often warnings preceded
a transition (detection rate) and how often they fired with none (false-alarm rate), per
grid point — the paper's point is that both can go wrong.
"""

from __future__ import annotations

from typing import Any

_MAX_EWS_FIGS = 4


def ews_figure(series, indicators, entry: dict, metric: str):
    """Figure: `series` (index step, the metric) with the tested stretch and the transition,
    then one panel per indicator of `indicators` (long: step, indicator, value)."""
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(indicators["indicator"]))
    fig = Figure(figsize=(8.0, 2.0 + 1.5 * len(names)), layout="constrained")
    axes = fig.subplots(1 + len(names), 1, sharex=True, squeeze=False)[:, 0]
    ax = axes[0]
    ax.plot(series.index, series.to_numpy(), color="#1f77b4", lw=1.2)
    until, mid = entry.get("until"), entry.get("transition_step")
    lo = series.index.min()
    ax.axvspan(lo, until if until is not None else series.index.max(), color="#2ca02c", alpha=0.08,
               label="tested stretch")  # fmt: skip
    if mid is not None:
        ax.axvline(mid, color="#d62728", ls="--", lw=1.0, label="transition (midpoint)")
    ax.set_ylabel(metric)
    ax.legend(loc="best", fontsize=8, frameon=False)
    tests = {t["indicator"]: t for t in entry.get("tests", [])}
    for ax, name in zip(axes[1:], names):
        d = indicators[indicators["indicator"] == name]
        ax.plot(d["step"], d["value"], color="#ff7f0e", lw=1.2)
        t = tests.get(name)
        label = f"{name}: τ = {t['tau']:.2f}, p = {t['p_value']:.3f}" if t else name
        ax.set_title(label, fontsize=9, loc="left")
        if mid is not None:
            ax.axvline(mid, color="#d62728", ls="--", lw=1.0)
    axes[-1].set_xlabel("step")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def _verdict(entry: dict, metric: str, timing: str) -> str:
    if entry.get("error"):
        return f"{metric}: {entry['error']}."
    where = (f"before the transition of {timing} at step {entry['transition_step']:.0f} (tested up to "
             f"{entry['until']:.0f}, {entry['n_points']} points)" if entry.get("transition_step") is not None
             else f"over the whole series ({entry['n_points']} points; {timing} has no transition)")  # fmt: skip
    rising = [t["indicator"] for t in entry["tests"] if t["p_value"] < 0.05 and t["tau"] > 0]
    if entry.get("flagged"):
        tail = "" if entry.get("transition_step") is not None else " — a false alarm, since nothing tipped"
        return f"{metric} {where}: {', '.join(rising)} rose significantly (p < 0.05): an early warning{tail}."
    if rising:
        return f"{metric} {where}: only {', '.join(rising)} rose significantly: no clear early warning."
    return f"{metric} {where}: variance and autocorrelation did not rise significantly: no early warning."


def _sensitivity_figures(store, run_id: str) -> list:
    """Heat maps of the stored window x bandwidth grid, one per tested stretch (at most 2)."""
    from emergelab.report.ews_sensitivity import sensitivity_figure
    from emergelab.report.html import _figure

    try:
        import pandas as pd

        sens = pd.read_parquet(store.artefact_path(run_id, "ews_sensitivity"))
    except Exception:  # an older run, or none stored: the section stands without it
        return []
    figs = []
    for (metric, entry, ind), g in list(sens.groupby(["metric", "entry", "indicator"], sort=False))[:2]:
        figs.append(_figure(sensitivity_figure(g, title=f"{metric}: {ind} trend"),
                            caption=f"{metric}: Kendall τ of {ind} over rolling window × detrending bandwidth "
                                    "(ksmooth units) on the tested stretch. A warning that holds in one corner "
                                    "only is a choice of settings, not a finding."))  # fmt: skip
    return figs


def run_section(store, run_id: str, summary: dict, curves) -> dict[str, Any] | None:
    """The run report's 'Early warnings' section, or None when the run was not analysed."""
    from emergelab.report.html import _figure, _section, _table

    results = summary.get("ews")
    if not results:
        return None
    try:
        import pandas as pd

        ind = pd.read_parquet(store.artefact_path(run_id, "ews_indicators"))
    except Exception:  # no indicator curves stored: the verdicts and table still stand
        ind = None
    paragraphs, figs, rows = [], [], []
    for r in results:
        metric, timing = r["metric"], r.get("timing_metric", r["metric"])
        for k, e in enumerate(r["ews"]):
            paragraphs.append(_verdict(e, metric, timing))
            for t in e.get("tests", []):
                rows.append([metric, timing, e.get("transition_step"), e.get("until"), e.get("n_points"),
                             t["indicator"], t["tau"], t["p_value"], t.get("null_q95")])  # fmt: skip
            if ind is None or metric not in curves or len(figs) >= _MAX_EWS_FIGS:
                continue
            d = ind[(ind["metric"] == metric) & (ind["entry"] == k)]
            if len(d):
                figs.append(_figure(ews_figure(curves[metric].dropna(), d, e, metric),
                                    caption=f"{metric}: indicators over the tested stretch"))  # fmt: skip
    figs += _sensitivity_figures(store, run_id)
    cols = ["metric", "timed by", "transition", "tested until", "points", "indicator", "Kendall τ", "p", "null τ q95"]
    s = r.get("settings", {})
    note = (f"Detrending {s.get('detrend')} (bandwidth {s.get('bandwidth')}), rolling window {s.get('window')} of "
            f"the stretch, {s.get('n_surrogates')} {s.get('null')} surrogates; one-sided p for a rising trend.")  # fmt: skip
    return _section("ews", "Early warnings", paragraphs=paragraphs, figures=figs,
                    tables=[_table(cols, rows)] if rows else [], notes=[note] if s else [])  # fmt: skip


def sweep_section(runs, grid: dict) -> dict[str, Any] | None:
    """Detection and false-alarm rates of early warnings across the sweep's runs."""

    from emergelab.report.html import _section, _table

    if "summary.ews_flagged" not in runs.columns or not len(runs):
        return None
    keys = [f"config.{k}" for k in grid if f"config.{k}" in runs.columns]
    groups = runs.groupby(keys, dropna=False) if keys else [((), runs)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        trans = g["summary.ews_transition"].fillna(False).astype(bool)
        flag = g["summary.ews_flagged"].astype("boolean")
        with_t, without_t = flag[trans].dropna(), flag[~trans].dropna()
        rows.append([*key, len(g), int(trans.sum()),
                     f"{with_t.mean():.0%} ({int(with_t.sum())}/{len(with_t)})" if len(with_t) else "—",
                     f"{without_t.mean():.0%} ({int(without_t.sum())}/{len(without_t)})" if len(without_t) else "—"])  # fmt: skip
    cols = [*grid, "runs", "with a transition", "detection rate", "false-alarm rate"]
    para = ("Detection rate: share of runs with a transition whose early-warning indicators all rose "
            "significantly before it. False-alarm rate: share of runs without a transition where they "
            "rose anyway. Runs whose stretch was too short to test are left out of both.")  # fmt: skip
    return _section("ews", "Early warnings across runs", paragraphs=[para], tables=[_table(cols, rows)])

