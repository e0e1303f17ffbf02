"""Figures: plain functions from a data frame to a matplotlib Figure.

They build `matplotlib.figure.Figure` objects directly instead of going through pyplot:
no global figure registry to leak, no GUI backend to pick (PNG output renders with Agg),
and nothing changes for a user who imports this module into a notebook. matplotlib is
imported inside the functions so that `import emergelab.report` stays instant.
"""

from __future__ import annotations

import io
import re
import sys
from typing import Any

# Accuracy-like metrics live in [0, 1]; chance level of a 127-way task is already two
# decades below 1, so "positive and spans 2 decades" alone would wrongly log-scale them.
_BOUNDED_KINDS = {"acc", "accuracy", "frac", "fraction", "prob", "rate"}
_STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "none",  # SVG text stays text: smaller, selectable, uses the page font
}


def _new_figure(figsize=(7.0, 3.6)):
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.subplots()
    return fig, ax


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _log_axis(ax, which: str, lo: float, hi: float) -> None:
    """Log scale with plain-text labels (10³ rather than mathtext, which is both slower to
    lay out and heavier in SVG); minor ticks get labels only when there is no full decade."""
    import math

    from matplotlib.ticker import FuncFormatter, NullFormatter

    def label(v, _pos=None):
        if v <= 0:
            return ""
        e = math.log10(v)
        return f"10{str(round(e)).translate(_SUPERSCRIPT)}" if abs(e - round(e)) < 1e-9 else f"{v:g}"

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(FuncFormatter(label))
    few = hi / lo < 10 if lo > 0 else False
    axis.set_minor_formatter(FuncFormatter(label) if few else NullFormatter())


def _kind(name: str) -> str:
    return name.rsplit("/", 1)[-1].lower()


def _wants_log(values, names: list[str]) -> bool:
    """Log y for positive series that span more than two decades, except accuracies."""
    import numpy as np

    if names and all(_kind(n) in _BOUNDED_KINDS for n in names):
        return False
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 1 and bool((v > 0).all()) and v.max() / v.min() > 100.0


def curves_figure(curves, names: list[str], transitions: dict[str, list[dict]] | None = None,
                  title: str = "", logy: bool | None = None):  # fmt: skip
    """Several metrics of one run against step, with detected transitions marked.

    curves: wide frame, index = step, one column per metric (as `Store.curves` returns).
    transitions: {metric: [ {onset, midpoint, end, ...}, ... ]} (an {"error": ...} entry or
    a missing metric is skipped). Each transition gets a shaded onset–end span and a dashed
    line at its midpoint, in the colour of its curve. logy=None picks log y automatically.
    """
    import matplotlib
    import numpy as np

    fig, ax = _new_figure()
    names = [n for n in names if n in getattr(curves, "columns", [])]
    transitions = transitions or {}
    with matplotlib.rc_context(_STYLE):
        if not names:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="0.5")
        colours = matplotlib.colormaps["tab10"].colors
        plotted = []
        marked = False
        for i, name in enumerate(names):
            s = curves[name].dropna()  # metrics logged at different steps leave NaN gaps
            c = colours[i % len(colours)]
            ax.plot(s.index.to_numpy(), s.to_numpy(), color=c, lw=1.6, label=name)
            plotted.append(s.to_numpy())
            found = transitions.get(name)
            if not isinstance(found, list):
                continue
            for t in found:
                on, mid, end = t.get("onset"), t.get("midpoint"), t.get("end")
                if on is not None and end is not None:
                    ax.axvspan(on, end, color=c, alpha=0.12, lw=0)
                if mid is not None:
                    ax.axvline(mid, color=c, ls="--", lw=1.0, alpha=0.9)
                    marked = True
        values = np.concatenate(plotted) if plotted else np.array([])
        if logy if logy is not None else _wants_log(values, names):
            pos = values[np.isfinite(values) & (values > 0)]
            _log_axis(ax, "y", pos.min() if pos.size else 0.0, pos.max() if pos.size else 0.0)
        if marked:  # one legend entry explains all the markings
            ax.plot([], [], color="0.4", ls="--", lw=1.0, label="transition (midpoint, onset–end)")
        ax.set_xlabel("step")
        ax.set_title(title, loc="left")
        if names:
            ax.legend(loc="best")
    return fig


def _column(frame, name: str, prefix: str) -> str:
    """Accept 'train_fraction' as well as 'config.train_fraction'."""
    if name in frame.columns:
        return name
    if prefix + name in frame.columns:
        return prefix + name
    from emergelab.errors import UserError

    have = ", ".join(c for c in map(str, frame.columns) if c.startswith(prefix)) or "none"
    raise UserError(f"no column '{name}' or '{prefix}{name}' in the runs frame; {prefix}* columns: {have}")


def _missing_phrase(metric: str) -> str:
    # A missing delay or step means the event never happened within the run.
    m = metric.lower()
    if "grok" in m:
        return "never grokked"
    if m.endswith(("_step", "_delay", "_time")):
        return "never reached it"
    return f"have no {metric}"


def sweep_figure(runs, param: str, metric: str):
    """A summary metric against a swept parameter, with the spread over seeds.

    runs: one row per run (as `Store.runs` returns). Each run is a faint dot; the mean ±
    std over runs with the same parameter value is a line with error bars. A numeric
    parameter that is positive and spans more than a decade gets log x; anything that is
    not numeric is treated as categories. Runs without a value (None/NaN, e.g. a delay of a
    run that never grokked) are drawn as crosses along the top and counted in the title.
    """
    import matplotlib
    import numpy as np
    import pandas as pd
    from matplotlib.transforms import blended_transform_factory

    pcol, mcol = _column(runs, param, "config."), _column(runs, metric, "summary.")
    pname, mname = pcol.removeprefix("config."), mcol.removeprefix("summary.")
    raw = runs[pcol]
    num = pd.to_numeric(raw, errors="coerce")
    categorical = bool(num.isna().any() and raw.notna().any()) or raw.dtype == bool
    y = pd.to_numeric(runs[mcol], errors="coerce").astype(float)
    if categorical:
        cats = list(dict.fromkeys(raw.astype(str)))  # first-seen order = the grid's order
        x = raw.astype(str).map({c: i for i, c in enumerate(cats)}).astype(float)
    else:
        x = num.astype(float)
    fig, ax = _new_figure()
    with matplotlib.rc_context(_STYLE):
        ok = y.notna() & x.notna()
        # a little jitter keeps seeds at the same x (and often the same y) distinguishable
        rng = np.random.default_rng(0)
        jit = rng.uniform(-0.08, 0.08, len(x)) if categorical else np.zeros(len(x))
        xs = x.to_numpy() + jit
        ax.scatter(xs[ok], y[ok], s=14, color="C0", alpha=0.35, lw=0, label="run")
        g = pd.DataFrame({"x": x[ok], "y": y[ok]}).groupby("x")["y"]
        stats = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0)}).sort_index()
        if len(stats):
            # categories have no order to connect: markers and bars only
            ax.errorbar(stats.index.to_numpy(), stats["mean"], yerr=stats["std"].fillna(0), color="C0",
                        lw=1.8, ls="none" if categorical else "-", marker="o", ms=5, capsize=3,
                        label="mean ± std over seeds")  # fmt: skip
        miss = y.isna() & x.notna()
        if categorical:
            ax.set_xticks(range(len(cats)), cats)
            ax.set_xlim(-0.5, len(cats) - 0.5)
        else:
            xv = x.dropna()
            if len(xv) and (xv > 0).all() and xv.max() / xv.min() > 10:
                _log_axis(ax, "x", xv.min(), xv.max())
        yv = y.dropna()
        if len(yv) > 1 and (yv > 0).all() and yv.max() / yv.min() > 100:
            _log_axis(ax, "y", yv.min(), yv.max())
        if miss.any():
            # crosses along the top, in headroom added above the data so they hide nothing
            lo, hi = ax.get_ylim()
            if ok.any():
                log = ax.get_yscale() == "log"
                ax.set_ylim(lo, hi * (hi / lo) ** 0.15 if log else hi + 0.15 * (hi - lo))
            top = blended_transform_factory(ax.transData, ax.transAxes)
            ax.plot(xs[miss], np.full(int(miss.sum()), 0.95), "x", color="C3", ms=6, mew=1.5,
                    transform=top, clip_on=False, label=f"no {mname}")  # fmt: skip
        if not ok.any():
            ax.text(0.5, 0.5, f"no run has a value of {mname}", ha="center", va="center",
                    transform=ax.transAxes, color="0.5")  # fmt: skip
        title = f"{mname} vs {pname}"
        n, k = len(runs), int(y.isna().sum())
        if k:
            title += f" — {k} of {n} runs {_missing_phrase(mname)}"
        ax.set_title(title, loc="left")
        ax.set_xlabel(pname)
        ax.set_ylabel(mname)
        if ok.any() or miss.any():
            ax.legend(loc="best")
    return fig


def to_svg(fig: Any) -> str:
    """The figure as SVG text to inline in HTML (no XML header or doctype); closes it."""
    import matplotlib

    buf = io.StringIO()
    try:
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            # no metadata: its RDF block carries URLs and a date that changes every render
            no_meta = {"Date": None, "Creator": None, "Format": None, "Type": None}
            fig.savefig(buf, format="svg", metadata=no_meta)
    finally:
        if "matplotlib.pyplot" in sys.modules:  # a pyplot-made figure would otherwise leak
            sys.modules["matplotlib.pyplot"].close(fig)
    svg = buf.getvalue()
    svg = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"^\s*<!DOCTYPE[^>]*>\s*", "", svg)
    # matplotlib names every group (figure_1, axes_1, ...): several inline SVGs would repeat
    # those ids in one page. Keep only the ids something refers to (clip paths, markers).
    # Only inside tags: text (a title, a legend entry) may itself contain ' id="..."', and
    # matplotlib escapes < and > in text and attributes, so a tag is exactly a <...> run.
    used = set(re.findall(r"#([\w.-]+)", svg))
    ids = re.compile(r'\s+id="([^"]*)"')

    def unused_ids_out(tag: re.Match) -> str:
        return ids.sub(lambda m: m.group(0) if m.group(1) in used else "", tag.group(0))

    svg = re.sub(r"<[^<>]*>", unused_ids_out, svg)
    return svg.strip()
