"""The `concept_space` world's sweep analysis: learning steps against concept signal.

A sweep over colour_sep / size_sep (e.g. `emergelab sweep concept_space -p quick -g
size_sep=1,1.5,2,3,4.5 -n 3`) gets a report section with, per setting, the median step each
concept of the held-out class is learned, how often the stronger concept came first, and the
hidden-capability gaps; and a figure of the learning steps against the signal ratio. Imported
only when a report is built (pandas, matplotlib)."""

from __future__ import annotations

_AXES = ("colour_sep", "size_sep")
_NUM = ("learn_step_colour", "learn_step_size", "hidden_gap_over", "hidden_gap_steer")


def order_table(runs):
    """One row per (colour_sep, size_sep) of a frame of runs (the store's columns `config.*`,
    `summary.*`): runs, median learn steps, stronger-first share, median hidden gaps."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({k: runs[f"config.{k}"].astype(float) for k in _AXES})
    for k in _NUM:
        df[k] = pd.to_numeric(runs[f"summary.{k}"], errors="coerce")  # None (never learned) -> NaN
    first = runs["summary.first_learned"].astype(str)
    stronger = np.select([df.colour_sep > df.size_sep, df.size_sep > df.colour_sep], ["colour", "size"], "")
    # NaN where the signals are equal: there is no stronger concept to come first
    df["stronger_first"] = np.where(stronger == "", np.nan, (first == stronger).astype(float))
    df["gap_positive"] = (df.hidden_gap_over > 0).astype(float)  # NaN gap (never learned) counts as no
    g = df.groupby(list(_AXES), sort=True)
    out = g[[*_NUM, "stronger_first", "gap_positive"]].agg(
        {**dict.fromkeys(_NUM, "median"), "stronger_first": "mean", "gap_positive": "mean"})
    out["runs"] = g.size()
    return out.reset_index()


def _figure_of(df):
    from emergelab.report.figures import _new_figure

    fig, ax = _new_figure()
    df = df.assign(ratio=df.size_sep / df.colour_sep).sort_values("ratio")
    for name, marker in (("colour", "o"), ("size", "s")):
        ax.plot(df.ratio, df[f"learn_step_{name}"], marker=marker, label=f"{name} learned (median)")
    ax.set_xscale("log")
    ax.set_xlabel("size_sep / colour_sep (relative concept signal of size)")
    ax.set_ylabel("step (held-out class)")
    ax.legend()
    return fig


def sweep_section(store, runs, grid: dict) -> dict | None:
    """World.sweep_section: None unless the sweep varies a concept signal."""
    from emergelab.report.html import _figure, _section, _table

    if not any(len(grid.get(k) or ()) >= 2 for k in _AXES) or not len(runs):
        return None
    if not all(f"config.{k}" in runs.columns for k in _AXES) or "summary.first_learned" not in runs.columns:
        return None
    df = order_table(runs)
    pct = lambda v: "" if v != v else f"{v:.0%}"  # noqa: E731  (NaN: equal signals)
    rows = [[r.colour_sep, r.size_sep, int(r.runs), r.learn_step_colour, r.learn_step_size,
             pct(r.stronger_first), r.hidden_gap_over, r.hidden_gap_steer, pct(r.gap_positive)]
            for r in df.itertuples()]
    uneven = df[df.stronger_first.notna()]  # settings where one signal is stronger
    text = (f"Where the two signals differ, the stronger concept of the held-out class was learned first in "
            f"{(uneven.stronger_first * uneven.runs).sum():.0f} of {uneven.runs.sum():.0f} runs. "
            if len(uneven) else "")
    text += ("Hidden capability: over-prompting generated the held-out class (both concepts above the "
             f"threshold) before plain prompting in {(df.gap_positive * df.runs).sum():.0f} of "
             f"{df.runs.sum():.0f} runs (a run where either never got there counts as no).")
    fig = _figure(_figure_of(df), caption="Median step at which each concept of the held-out class is "
                                          "learned, against the relative signal.")
    table = _table(["colour_sep", "size_sep", "runs", "colour learned", "size learned", "stronger first",
                    "gap (over-prompt)", "gap (steer)", "gap > 0"], rows,
                   caption="Per setting: median learning steps of the held-out class, share of runs where "
                           "the stronger concept came first, median hidden gaps.")
    return _section("concept-signal", "Concept signal and learning order", paragraphs=[text], figures=[fig],
                    tables=[table])
