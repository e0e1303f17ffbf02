"""Grokking's sweep section: the critical train fraction per group order and its scaling law.

A sweep of the grokking world over `group` (e.g. Z31, Z59, Z97) x `train_fraction` says, for
each group order M, the smallest fraction of the M^2 pairs from which the network still
generalises within the run's epochs; Li_2 predicts a critical size n_c = f_c M^2 ∝ M log M.
The estimate and the law fits are emergelab.measures.critical's; this module only turns the
store's frame of runs into its input and the result into a report section and a figure.
The leading underscore keeps the registry from importing it as a world of its own.
"""

from __future__ import annotations

from typing import Any

from emergelab.measures.critical import (FREE, LAWS, SUCCESS_THRESHOLD, bracket_wins, critical_fractions,
                                         fit_critical_laws, predict_n_c)  # fmt: skip

_AXES = ("group", "train_fraction")
_MAX_FIGS = 4  # one figure per combination of the other swept settings, at most this many
# what "generalised" means (final val acc at least): the first is the report's main answer
# (the figure; measures.critical says why 1/2); the second, "fully generalised", checks that
# the winning law does not hang on that choice
THRESHOLDS = (SUCCESS_THRESHOLD, 0.95)


def runs_to_critical_input(runs) -> Any:
    """The store's frame of runs -> critical_fractions' input: modulus (the group's order),
    train_fraction, seed, val_acc (final validation accuracy). Runs without a final
    accuracy (none logged) are dropped."""
    import pandas as pd

    from emergelab.worlds._groups import parse_group

    ok = runs["summary.final_val_acc"].notna() if "summary.final_val_acc" in runs else pd.Series(False, runs.index)
    r = runs[ok]
    return pd.DataFrame({
        "modulus": [parse_group(str(g)).order for g in r["config.group"]],
        "train_fraction": pd.to_numeric(r["config.train_fraction"]).to_numpy(),
        "seed": r["seed"].to_numpy() if "seed" in r else 0,
        "val_acc": pd.to_numeric(r["summary.final_val_acc"]).to_numpy(),
    })


def critical_figure(table, fits, title: str = ""):
    """Figure: critical fraction against M (log-log) with its bracket, and each fitted law
    as f_c(M) = n_c(M) / M^2; the best one-parameter law solid, the others dashed.
    table: critical_fractions' frame; fits: fit_critical_laws' frame (may be empty)."""
    import matplotlib
    import numpy as np

    from emergelab.report.figures import _STYLE, _log_axis, _new_figure

    fig, ax = _new_figure((6.5, 3.8))
    with matplotlib.rc_context(_STYLE):
        m = table["modulus"].to_numpy(float)
        ok = table["status"].eq("ok").to_numpy()
        fc = table["critical_fraction"].to_numpy(float)
        err = np.vstack([fc - table["lower"].to_numpy(float), table["upper"].to_numpy(float) - fc])
        ax.errorbar(m[ok], fc[ok], yerr=err[:, ok], fmt="o", color="black", capsize=3, zorder=3,
                    label="critical fraction (bracket)")  # fmt: skip
        # outside the grid only a bound is known: a triangle pointing where f_c lies
        above, below = table["status"].eq("above grid").to_numpy(), table["status"].eq("below grid").to_numpy()
        if above.any():
            ax.plot(m[above], table["lower"][above], "^", color="#d62728", label="above the grid (f_c > mark)")
        if below.any():
            ax.plot(m[below], table["upper"][below], "v", color="#2ca02c", label="below the grid (f_c < mark)")
        grid = np.geomspace(m.min() / 1.15, m.max() * 1.15, 100)
        colors = {"M log M": "#1f77b4", "M": "#ff7f0e", "M^1.5": "#9467bd", "M^2": "#8c564b", FREE: "#7f7f7f"}
        for f in fits.to_dict("records"):
            y = predict_n_c(f["law"], f["c"], f["a"], grid) / grid**2
            label = f"n_c ∝ M^{f['a']:.2f}" if f["law"] == FREE else f"n_c ∝ {f['law']}"
            ls = "-" if f["best"] else ":" if f["law"] == FREE else "--"  # the free law: a reference, not a rival
            ax.plot(grid, y, ls=ls, lw=2.0 if f["best"] else 1.1, color=colors.get(f["law"]),
                    label=f"{label} (rms {f['rms_log_error']:.1%})")  # fmt: skip
        ys = np.concatenate([fc[ok], table["lower"].dropna(), table["upper"].dropna()])
        _log_axis(ax, "x", m.min(), m.max())
        _log_axis(ax, "y", float(np.nanmin(ys)), float(np.nanmax(ys)))
        ax.set_xlabel("M (group order)")
        ax.set_ylabel("critical train fraction")
        if title:
            ax.set_title(title, loc="left")
        ax.legend(loc="best")
    return fig


def _end(v: float) -> str:
    return "—" if v != v else f"{v:.3g}"  # NaN: that side of the bracket is off the grid


def _verdict(fits, wins) -> str:
    best = fits[fits["best"]].iloc[0]
    others = ", ".join(f"{r['law']} {r['rms_log_error']:.0%}" for r in fits.to_dict("records")
                       if r["law"] != best["law"] and r["law"] != FREE)  # fmt: skip
    free = fits[fits["law"] == FREE].iloc[0]
    return (f"Best one-parameter law: n_c = {best['c']:.3g}·{best['law']} (rms relative error "
            f"{best['rms_log_error']:.0%}; the others: {others}). A free power law gives n_c ∝ "
            f"M^{free['a']:.2f} (Li_2's M log M acts like M^{fits.set_index('law').loc['M log M', 'exponent']:.2f} "
            f"over this range)." + (
                "" if wins is None else
                f" With each f_c moved to either end of its bracket, {best['law']} stays best in "
                f"{wins.set_index('law').loc[best['law'], 'win_share']:.0%} of the combinations and the free exponent "
                f"spans {wins['a_lo'].min():.2f}–{wins['a_hi'].max():.2f}."))  # fmt: skip


def sweep_section(store, runs, grid: dict) -> dict | None:
    """World.sweep_section: the critical fraction per group order and the law fits, or None
    when the sweep does not vary both `group` and `train_fraction`."""
    import numpy as np

    from emergelab.errors import UserError
    from emergelab.report.html import _figure, _section, _table

    if not all(len(grid.get(k) or ()) >= 2 for k in _AXES) or not len(runs):
        return None
    if not all(f"config.{k}" in runs.columns for k in _AXES):
        return None
    others = [k for k in grid if k not in _AXES and f"config.{k}" in runs.columns]
    # as text: a swept list-valued field (betas) is unhashable as it comes from the store
    groups = (runs.groupby([runs[f"config.{k}"].astype(str) for k in others], sort=False) if others
              else [((), runs)])  # fmt: skip
    paragraphs = [
        "Per group order M, the critical train fraction f_c is where the share of seeds that "
        f"generalised (final validation accuracy ≥ {SUCCESS_THRESHOLD}) crosses 1/2, interpolated in "
        "log fraction between the bracketing grid points (their geometric midpoint when outcomes are "
        "all-or-none). Li_2 predicts a critical number of training pairs n_c = f_c·M² ∝ M log M; "
        f"it is fitted against n_c ∝ {', '.join(k for k in LAWS if k != 'M log M')} and a free M^a. "
        f"The same is repeated with 'generalised' meaning final validation accuracy ≥ {THRESHOLDS[1]}: "
        "a law that wins under both definitions does not hang on the threshold."
    ]
    tables, figs, notes = [], [], []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{k}={v}" for k, v in zip(others, key))
        data = runs_to_critical_input(g)
        if not len(data):
            continue
        crit_rows, fit_rows, winners = [], [], []
        for th in THRESHOLDS:
            table = critical_fractions(data, threshold=th)
            crit_rows += [[th, int(r["modulus"]), r["critical_fraction"], f"{_end(r['lower'])} – {_end(r['upper'])}",
                           r["n_c"], r["n_c"] / (r["modulus"] * np.log(r["modulus"])), r["runs"], r["status"]]
                          for r in table.to_dict("records")]  # fmt: skip
            where = ", ".join(filter(None, [label, f"val acc ≥ {th}"]))
            try:
                fits = fit_critical_laws(table["modulus"], table["n_c"])
            except UserError as e:  # fewer than two moduli bracketed: the table still stands
                notes.append(f"{where}: no law fitted: {e}")
                fits = None
            if fits is not None:
                try:
                    wins = bracket_wins(table)
                except UserError:  # too many moduli to try every corner: the fits still stand
                    wins = None
                share = dict.fromkeys(fits["law"], "") if wins is None else {
                    r["law"]: f"{r['win_share']:.0%}" if r["law"] != FREE else f"a {r['a_lo']:.2f}–{r['a_hi']:.2f}"
                    for r in wins.to_dict("records")}  # fmt: skip
                paragraphs.append(f"{where}: {_verdict(fits, wins)}")
                winners.append(fits.loc[fits["best"], "law"].iloc[0])
                fit_rows += [[th, r["law"] if r["law"] != FREE else f"M^a (a = {r['a']:.3f})", r["c"], r["exponent"],
                              f"{r['rms_log_error']:.1%}", f"{r['max_rel_error']:.1%}", share[r["law"]], r["best"]]
                             for r in fits.to_dict("records")]  # fmt: skip
            if th == THRESHOLDS[0] and len(figs) < _MAX_FIGS and table["status"].eq("ok").any():
                import pandas as pd

                empty = pd.DataFrame(columns=["law"])
                figs.append(_figure(critical_figure(table, fits if fits is not None else empty, title=where),
                                    caption="Critical train fraction against M with the fitted laws "
                                            "(f_c = n_c / M²; error bars: the bracketing grid points)."))  # fmt: skip
            if (table["inversions"] > 0).any():
                notes.append(f"{where}: some fractions below the bracket generalised in most seeds "
                             "(inversions): the estimate uses the highest failing fraction.")  # fmt: skip
        if len(set(winners)) > 1:
            paragraphs.append(f"{label + ': ' if label else ''}the two definitions of 'generalised' pick different "
                              f"laws ({' vs '.join(winners)}): the law hangs on the threshold; the free exponents "
                              "above say how far apart they are.")  # fmt: skip
        suffix = f" — {label}" if label else ""
        tables.append(_table(["val acc ≥", "M", "critical fraction", "bracket", "n_c = f_c·M²", "n_c / (M ln M)",
                              "runs", "status"], crit_rows, caption=f"Critical train fraction per M{suffix}"))  # fmt: skip
        if fit_rows:
            tables.append(_table(["val acc ≥", "law", "c", "exponent", "rms rel. error", "max rel. error",
                                  "best at bracket ends", "best"], fit_rows,
                                 caption=f"n_c = c·g(M), least squares in log n_c; exponent: local d log n_c / d log M "
                                         f"at the geometric mean of M; best at bracket ends: share of the "
                                         f"combinations of bracket ends where the law wins{suffix}"))  # fmt: skip
    epochs = sorted(set(runs["config.epochs"])) if "config.epochs" in runs else []
    notes.append(f"The critical fraction depends on the epoch budget (here {', '.join(map(str, epochs))} epochs): "
                 "a run that would generalise later counts as failed.")  # fmt: skip
    return _section("critical", "Critical data size (Li_2's M log M law)", paragraphs=paragraphs,
                    figures=figs, tables=tables, notes=notes)  # fmt: skip
