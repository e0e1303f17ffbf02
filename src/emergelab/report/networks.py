"""The 'Network' section of a report: a graph's degree distribution with its power-law fit,
community sizes and motif significance profile (`emergelab graph`, the knowledge_graph
world). Figures are functions of the stored results (lab/graphs.py analyze_graph), so a
stored run and a user's file are drawn the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


def degree_figure(res: dict):
    """Complementary cdf P(K >= k) of the degrees on log-log axes, with the fitted power law
    over its tail (scaled to the tail's share, as Clauset et al. draw it)."""
    from matplotlib.figure import Figure

    k = np.asarray(res["degree_hist"]["degree"], dtype=float)
    c = np.asarray(res["degree_hist"]["count"], dtype=float)
    ccdf = np.cumsum(c[::-1])[::-1] / c.sum()
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.loglog(k, ccdf, "o", ms=3, color="#1f77b4", label="degrees")
    fit = res.get("degree_fit")
    if fit:
        a, xmin = fit["alpha"], fit["xmin"]
        kk = k[k >= xmin]
        share = ccdf[np.searchsorted(k, xmin)]
        ax.loglog(kk, share * special.zeta(a, kk) / special.zeta(a, xmin), "-", color="#d62728",
                  label=f"power law α = {a:.2f} ± {fit['alpha_se']:.2f}, k ≥ {xmin}")
    ax.set_xlabel("degree k")
    ax.set_ylabel("P(K ≥ k)")
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def communities_figure(res: dict, top: int = 30):
    from matplotlib.figure import Figure

    sizes = res["community_sizes"][:top]
    fig = Figure(figsize=(5.0, 3.0), layout="constrained")
    ax = fig.subplots()
    ax.bar(np.arange(1, len(sizes) + 1), sizes, color="#2ca02c")
    ax.set_xlabel("community (largest first)")
    ax.set_ylabel("nodes")
    ax.set_title(f"modularity Q = {res['modularity']:.3f}", fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def motif_figure(res: dict):
    """The normalised significance profile z_i / ||z|| per motif class (Milo et al. 2004)."""
    from matplotlib.figure import Figure

    m = res["motifs"]
    sp = np.array([np.nan if v is None else v for v in m["sp"]], dtype=float)
    names = [str(n) for n in m["names"]]
    keep = np.isfinite(sp)
    fig = Figure(figsize=(max(5.0, 0.3 * keep.sum()), 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(keep.sum())
    ax.bar(x, sp[keep], color=np.where(sp[keep] > 0, "#d62728", "#1f77b4"))
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(x, [n for n, k in zip(names, keep) if k], rotation=90, fontsize=7)
    ax.set_ylabel("significance profile")
    ax.set_title(f"against {m['n_random']} degree-preserving randomisations", fontsize=9, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def summary_rows(res: dict) -> list[list]:
    fit = res.get("degree_fit") or {}
    pl = res.get("path_length") or {}
    rows = [["nodes", res["nodes"]], ["edges", res["edges"]], ["directed", res["directed"]],
            ["degree exponent α", fit.get("alpha")], ["α standard error", fit.get("alpha_se")],
            ["xmin (tail size)", f"{fit.get('xmin')} ({fit.get('n_tail')})" if fit else None],
            ["goodness of fit p (bootstrap)", fit.get("gof_p")],
            ["vs lognormal", fit.get("preferred")], ["vs exponential", fit.get("preferred_exp")],
            ["modularity", res["modularity"]], ["communities", len(res["community_sizes"])],
            ["bridges", res["n_bridges"]], ["sole links between communities", res["n_community_bridges"]],
            ["transitivity", res["transitivity"]], ["mean local clustering", res["mean_local_clustering"]],
            ["mean shortest path", pl.get("mean")],
            ["its standard error", pl.get("se") if not pl.get("exact") else "exact (all pairs)"],
            ["largest k-core", res["kcore_max"]]]  # fmt: skip
    return rows


def section(res: dict) -> dict[str, Any]:
    from emergelab.report.html import _figure, _section, _table

    figs = [_figure(degree_figure(res), caption="Degree distribution with the maximum-likelihood power "
                    "law over its tail (xmin by KS distance).")]  # fmt: skip
    figs.append(_figure(communities_figure(res), caption="Community sizes (Leiden, modularity)."))
    if res.get("motifs"):
        figs.append(_figure(motif_figure(res), caption="Motif significance profile: red = over-represented "
                            "against degree-preserving randomisations. 030T is the feed-forward loop."))  # fmt: skip
    tables = [_table(["measure", "value"], summary_rows(res)),
              _table(["hub (betweenness)", "betweenness"], [[h, b] for h, b in res["hubs"]])]
    return _section("network", "Network", figures=figs, tables=tables, notes=res.get("notes", []))


def run_section(store, run_id: str, summary: dict) -> dict[str, Any] | None:
    """The run report's 'Network' section, when `emergelab graph RUN` stored results."""
    res = summary.get("graph")
    return section(res) if isinstance(res, dict) and "degree_hist" in res else None


def graph_report(res: dict, title: str) -> str:
    """A standalone HTML report of a user's graph file."""
    from emergelab.report.html import _render

    sub = f"{res['nodes']:,} nodes, {res['edges']:,} edges{' (directed)' if res['directed'] else ''}"
    return _render(f"Graph {title}", sub, [section(res)])
