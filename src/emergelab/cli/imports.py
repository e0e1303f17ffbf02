"""`emergelab import SOURCE`: TensorBoard logs, MLflow runs, W&B exports and plain tables
into the store as runs of the pseudo world `imported`, with their transitions detected, so
runs/show/query/export/report/analyze work on them as on any run (lab/imports/)."""

from __future__ import annotations

from typing import Optional

import typer

from emergelab.cli import StoreOpt, _console, _styled, app


@app.command("import")
def import_(
    source: str = typer.Argument(..., help="A TensorBoard log folder or event file, an MLflow mlruns/ folder "
                                 "(or one experiment or run in it), or a .csv/.parquet/.json/.jsonl table "
                                 "(W&B history export, long step,name,value or wide step + metric columns)."),
    name: Optional[str] = typer.Option(None, "--name", help="Label of the imported runs "
                                       "[default: the source's file or folder name]."),
    fmt: Optional[str] = typer.Option(None, "--format", help="tensorboard, mlflow or table [default: detected]."),
    force: bool = typer.Option(False, "--force", help="Re-import and replace runs imported before from this source."),
    store: Optional[str] = StoreOpt,
):
    """Import training logs as runs (transitions detected); then `emergelab report RUN`."""
    from emergelab.lab.imports import plan_import, read_source
    from emergelab.lab.store import open_store

    src = read_source(source, fmt)  # reads and validates everything before the store is touched
    planned = plan_import(src, name)
    st = open_store(store)
    con = _console()
    done, skipped = [], []
    for r in planned:
        if st.has(r.run_id) and not force:
            skipped.append(r)
            continue
        r.write(st, replace=force)
        done.append(r)
    for note in src.notes:
        con.print(_styled(("note", "yellow"), f": {note}"), soft_wrap=True)
    if skipped:
        con.print(f"{len(skipped)} run(s) imported before from this source, skipped (use --force to replace): "
                  + ", ".join(r.run_id for r in skipped), soft_wrap=True)  # fmt: skip
    from rich.table import Table

    t = Table(title=f"imported from {src.path} ({src.format})")
    for col in ("run", "source run", "metrics", "points", "transitions"):
        t.add_column(col, no_wrap=col == "run")
    for r in done:
        trans = [f"{m} @ " + ", ".join(f"{x['midpoint']:.0f}" for x in ts)
                 for m, ts in r.summary["transitions"].items() if isinstance(ts, list) and ts]  # fmt: skip
        t.add_row(r.run_id, r.meta["config"]["name"], str(r.summary["metrics"]), str(r.summary["points"]),
                  "\n".join(trans[:8]) + (f"\n+{len(trans) - 8} more" if len(trans) > 8 else "") or "none")  # fmt: skip
    if done:
        con.print(t)
        con.print(f"report: emergelab report {done[0].run_id} -o report.html")
