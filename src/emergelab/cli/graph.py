"""`emergelab graph`: the network instruments on a user's graph file (edge-list CSV/TSV,
GraphML, GEXF) or on the graph a run stored (knowledge_graph): summary table, degree fit,
communities, hubs, bridges, motif significance profile. With a RUN the results are stored
with it (its report gains a Network section); with a FILE, `--report` writes a page.

All input is read and checked before anything is written: bad input leaves no file behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from emergelab.cli import ReportOpt, StoreOpt, _console, _fmt, app
from emergelab.errors import UserError


@app.command()
def graph(
    ref: str = typer.Argument(..., help="Graph file (.csv/.tsv edge list, .graphml, .gexf) or a run id "
                              "whose run stored a graph (e.g. knowledge_graph)."),
    directed: bool = typer.Option(False, "--directed", help="Read the edge list as directed (motifs: triad census)."),
    source: Optional[str] = typer.Option(None, "--source", help="Edge-list column of the source node [default: "
                                         "a column named source/from/src, else the first]."),
    target: Optional[str] = typer.Option(None, "--target", help="Edge-list column of the target node [default: "
                                         "target/to/dst, else the second]."),
    weight: Optional[str] = typer.Option(None, "--weight", help="Numeric edge weight column for communities "
                                         "[default: a column named weight, if any]."),
    motifs: int = typer.Option(3, "--motifs", help="Motif size: 3 or 4; 0 skips motifs."),
    n_random: int = typer.Option(100, "--random", help="Degree-preserving randomisations in the motif null."),
    boot: int = typer.Option(100, "--boot", help="Bootstrap samples of the power-law goodness of fit (0: skip)."),
    seed: int = typer.Option(0, "--seed", help="Seeds communities, randomisations and bootstraps."),
    report: Optional[str] = ReportOpt,
    save: bool = typer.Option(True, "--save/--no-save", help="With a RUN: store the results with it."),
    store: Optional[str] = StoreOpt,
):
    """Is this graph scale-free, what are its communities, hubs and bridges, and which motifs
    are over-represented against degree-preserving randomisations?"""
    from emergelab.lab.graphs import analyze_graph, read_graph, read_graph_run

    if motifs not in (0, 3, 4):
        raise UserError(f"--motifs must be 3, 4 or 0 (skip), got {motifs}")
    if n_random < 2 and motifs:
        raise UserError(f"--random must be >= 2 for a null spread, got {n_random}")
    if boot < 0:
        raise UserError(f"--boot must be >= 0, got {boot}")
    out = None
    if report is not None:
        out = Path(report)
        if out.is_dir() or not out.parent.is_dir():
            raise UserError(f"cannot write the report to {report}: give a file name in an existing folder")
    st = rid = None
    if Path(ref).exists() or Path(ref).suffix.lower() in (".csv", ".tsv", ".txt", ".graphml", ".gexf"):
        ug = read_graph(ref, directed, source, target, weight)
    else:
        from emergelab.cli import _store

        st = _store(store)
        kind, rid = st.resolve(ref)
        if kind != "run":
            raise UserError(f"'{ref}' is a sweep: give one of its runs (emergelab runs --sweep {rid})")
        if source or target or weight or directed:
            raise UserError("--source/--target/--weight/--directed go with a FILE: a run's graph says its own")
        ug = read_graph_run(st, rid)
    for n in ug.notes:
        print(f"note: {n}")
    res = analyze_graph(ug, seed=seed, n_boot=boot, motif_size=motifs, n_random=n_random)
    _print(res, rid or ref)
    if st is not None and save:
        from emergelab.lab.recorder import jsonable

        summary = dict(st.run_meta(rid)["summary"])
        summary["graph"] = res
        st.update_run(rid, jsonable(summary))
        print(f"stored with the run; report: emergelab report {rid} -o report.html")
    if out is not None:
        from emergelab.lab.store import atomic_write
        from emergelab.report.networks import graph_report

        page = graph_report(res, rid or Path(ref).name)
        atomic_write(out, lambda p: p.write_text(page, encoding="utf-8"))
        print(f"wrote {out}")


def _print(res: dict, title: str) -> None:
    from rich.table import Table

    from emergelab.report.networks import summary_rows

    t = Table(title=f"graph: {title}")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k, v in summary_rows(res):
        t.add_row(k, _fmt(v))
    con = _console()
    con.print(t)
    m = res.get("motifs")
    if m:
        z = [(n, v) for n, v in zip(m["names"], m["z"]) if v is not None and v == v]
        top = sorted(z, key=lambda p: -abs(p[1]))[:5]
        con.print("motifs, largest |z| against degree-preserving randomisations: "
                  + ", ".join(f"{n} z = {v:+.1f}" for n, v in top))
