"""The `hierarchical_contrastive` world's sweep analysis: the embedding geometry against the
amount of training data, hierarchical vs flat labels.

A sweep over `data` (e.g. `emergelab sweep hierarchical_contrastive -p quick -g
data=128,512,2048,8192 -g label_mode=hierarchical,flat -g seed=0,1`) gets a report section with,
per (label_mode, data), the mean ± sd over seeds of the final orthogonality (principal angle,
overlap), trait R^2, variant separation and species accuracy, and a figure of them against data.
Imported only when a report is built (pandas, matplotlib)."""

from __future__ import annotations

# (summary column, table heading, figure panel?)
_COLS = (("final_orth_angle_deg", "angle (deg)", True), ("final_orth_overlap", "overlap", False),
         ("final_trait_r2", "trait R²", True), ("final_variant_fdr", "variant FDR", True),
         ("final_variant_probe_acc", "variant probe", False), ("final_species_acc", "species acc", False))


def data_table(runs):
    """One row per (label_mode, data) of a frame of runs (the store's `config.*`, `summary.*`
    columns): runs, then mean and sd over runs of every _COLS metric."""
    import pandas as pd

    df = pd.DataFrame({"label_mode": runs["config.label_mode"].astype(str),
                       "data": runs["config.data"].astype(int)})
    for col, _, _ in _COLS:
        df[col] = pd.to_numeric(runs.get(f"summary.{col}"), errors="coerce")
    g = df.groupby(["label_mode", "data"], sort=True)
    out = g[[c for c, _, _ in _COLS]].agg(["mean", "std"])
    out.columns = [f"{c}_{s}" for c, s in out.columns]
    out["runs"] = g.size()
    return out.reset_index()


def _figure_of(df):
    from matplotlib.figure import Figure

    panels = [(c, h) for c, h, show in _COLS if show]
    fig = Figure(figsize=(9.0, 3.0), layout="constrained")
    for ax, (col, head) in zip(fig.subplots(1, len(panels)), panels):
        for mode, part in df.groupby("label_mode"):
            ax.errorbar(part.data, part[f"{col}_mean"], yerr=part[f"{col}_std"].fillna(0), marker="o",
                        capsize=2, label=mode)
        ax.set_xscale("log")
        ax.set_xlabel("training observations (data)")
        ax.set_title(head, fontsize=9)
        ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return fig


def sweep_section(store, runs, grid: dict) -> dict | None:
    """World.sweep_section: None unless the sweep varies data or label_mode."""
    from emergelab.report.html import _figure, _section, _table

    if not any(len(grid.get(k) or ()) >= 2 for k in ("data", "label_mode")) or not len(runs):
        return None
    if not {"config.data", "config.label_mode", "summary.final_orth_angle_deg"} <= set(runs.columns):
        return None
    df = data_table(runs)
    fmt = lambda m, s: f"{m:.3g}" + ("" if s != s else f" ± {s:.2g}")  # noqa: E731  (one run: no sd)
    rows = [[r["label_mode"], int(r["data"]), int(r["runs"]),
             *[fmt(r[f"{c}_mean"], r[f"{c}_std"]) for c, _, _ in _COLS]] for r in df.to_dict("records")]
    text = ("Final values per label mode and training-set size (mean ± sd over runs). angle: mean principal "
            "angle between the within-species (variant offset) subspace and the top between-species "
            "subspace (90 = orthogonal; a run's summary gives random_angle_deg for unrelated subspaces); "
            "overlap: share of the variant offsets inside the species subspace (random: random_overlap); "
            "trait R²: ridge probe of unseen traits from species mean embeddings, scored on held-out "
            "species; variant FDR and probe: how far apart life stages stay inside a species. BioCLIP 2's "
            "claim is that angle, trait R² and variant separation all rise with data.")
    fig = _figure(_figure_of(df), caption="Final geometry against training-set size, hierarchical vs flat "
                                          "labels (mean ± sd over seeds).")
    table = _table(["label_mode", "data", "runs", *[h for _, h, _ in _COLS]], rows,
                   caption="Per label mode and data size: final embedding geometry.")
    return _section("hier-data-scaling", "Embedding geometry against data", paragraphs=[text], figures=[fig],
                    tables=[table])
