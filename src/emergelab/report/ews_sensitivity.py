"""Heat map of an early-warning trend over the analyst's choices: Kendall tau (or its p-value)
for each rolling window x detrending bandwidth, from measures.ews_uncertainty.sensitivity.

Dakos et al. (PLoS ONE 7, 2012) recommend showing this grid: a warning that holds in one
corner only is a choice of settings, not a finding.
"""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError


def sensitivity_figure(frame, value="tau", title=None):
    """Figure: one cell per (window, bandwidth) of `frame` (columns window, bandwidth, value),
    coloured by `value` and labelled with it. tau uses a diverging scale fixed at [-1, 1], so
    figures compare; p_value a sequential one on [0, 1] with small p dark."""
    from matplotlib.figure import Figure

    need = {"window", "bandwidth", value}
    missing = sorted(need - set(getattr(frame, "columns", [])))
    if missing:
        raise UserError(f"frame lacks column(s) {', '.join(missing)}: pass the output of "
                        f"ews_uncertainty.sensitivity (with n_surrogates > 0 for p_value)")  # fmt: skip
    if len(frame) == 0:
        raise UserError("frame is empty: nothing to plot")
    grid = frame.pivot_table(index="window", columns="bandwidth", values=value, aggfunc="mean")
    Z = grid.to_numpy(float)
    fig = Figure(figsize=(1.2 + 0.9 * Z.shape[1], 1.0 + 0.6 * Z.shape[0]), layout="constrained")
    ax = fig.subplots()
    if value == "tau":
        cmap, lim = "RdBu_r", (-1.0, 1.0)
    else:
        cmap, lim = "viridis", (0.0, 1.0) if value == "p_value" else (np.nanmin(Z), np.nanmax(Z))
    im = ax.imshow(Z, cmap=cmap, vmin=lim[0], vmax=lim[1], origin="lower", aspect="auto")
    ax.set_xticks(range(Z.shape[1]), [f"{b:g}" for b in grid.columns])
    ax.set_yticks(range(Z.shape[0]), [f"{w:g}" for w in grid.index])
    ax.set_xlabel("detrending bandwidth")
    ax.set_ylabel("rolling window")
    mid = (lim[0] + lim[1]) / 2
    for (i, j), v in np.ndenumerate(Z):  # label each cell; light text on the dark ends of the scale
        if np.isfinite(v):
            far = abs(v - mid) > 0.6 * (lim[1] - lim[0]) / 2
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if far else "black")
    fig.colorbar(im, ax=ax, label={"tau": "Kendall τ", "p_value": "p-value"}.get(value, value))
    ax.set_title(title or f"{value} over window × bandwidth")
    return fig
