"""`emergelab analyze`: transitions and early-warning signals of a stored run, or of the
columns of your own CSV file (`--csv`), printed as a table, optionally stored or exported."""

from __future__ import annotations

from typing import List, Optional

import typer

from emergelab.cli import StoreOpt, _console, _fmt, _store, _styled, app
from emergelab.errors import UserError


@app.command()
def analyze(
    ref: Optional[str] = typer.Argument(None, help="Run id (or unique prefix); or use --csv."),
    metric: List[str] = typer.Option([], "--metric", "-m", help="Series to test for early warnings (repeatable) "
                                     "[default: the world's pairs, e.g. val/loss before val/acc's jump]."),
    at: Optional[str] = typer.Option(None, "--at", help="Time the transitions by this metric instead of by each --metric."),
    csv: Optional[str] = typer.Option(None, "--csv", help="Analyze a column of your own CSV file instead of a run."),
    column: List[str] = typer.Option([], "--column", "-c", help="With --csv: the column(s) to analyze."),
    time_col: Optional[str] = typer.Option(None, "--time", "-t", help="With --csv: the time/step column [default: row number]."),
    window: float = typer.Option(0.5, "--window", help="Rolling window, fraction of the pre-transition stretch."),
    detrend: str = typer.Option("gaussian", "--detrend", help="gaussian, lowess, linear, diff or none."),
    bandwidth: float = typer.Option(0.1, "--bandwidth", help="Gaussian detrending bandwidth (fraction of the stretch)."),
    surrogates: int = typer.Option(100, "--surrogates", help="Surrogate series for the significance test."),
    null: str = typer.Option("ar1", "--null", help="Null model of the surrogates: ar1 or arma."),
    seed: int = typer.Option(0, "--seed", help="Seeds the surrogates."),
    save: bool = typer.Option(True, "--save/--no-save", help="Store the results with the run (shown in its report)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Also write the table to .csv, .parquet or .json."),
    store: Optional[str] = StoreOpt,
):
    """Where are the transitions, and did early-warning signals (rising variance and lag-1
    autocorrelation, tested against AR(1) surrogates) precede them?"""
    from emergelab.measures.analysis import EWSSettings, check_settings, ews_table

    if (ref is None) == (csv is None):
        raise UserError("give a RUN id or --csv FILE --column X (one of the two)")
    if csv is None and (column or time_col):
        raise UserError("--column and --time go with --csv FILE; for a run use --metric NAME")
    if out is not None:
        from emergelab.lab.store import check_export_path

        check_export_path(out)
    settings = EWSSettings(window=window, detrend=detrend, bandwidth=bandwidth, n_surrogates=surrogates,
                           null=null, seed=seed)  # fmt: skip
    check_settings(settings)
    if csv is not None:
        results = _analyze_csv(csv, column, time_col, settings)
        title = csv
    else:
        from emergelab.lab.analyze import analyze_run

        st = _store(store)
        kind, rid = st.resolve(ref)
        if kind != "run":
            raise UserError(f"'{ref}' is a sweep: analyze its runs one by one (emergelab runs --sweep {rid})")
        results = analyze_run(st, rid, metric or None, at, settings, save=save)
        title = rid
    table = ews_table(results)
    _print_ews(table, results, title)
    if out is not None:
        from emergelab.lab.store import export_frame

        export_frame(table, out)
        print(f"wrote {out}")
    if csv is None and save:
        print(f"stored with the run; report: emergelab report {rid} -o report.html")


def _analyze_csv(path, columns, time_col, settings):
    import numpy as np
    import pandas as pd

    from emergelab.measures.analysis import analyze_series

    if not columns:
        raise UserError("--csv needs --column NAME (the series to analyze)")
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise UserError(f"cannot read {path} as CSV ({str(e).splitlines()[0]}): check the file") from None
    except OSError as e:  # a folder, no permission...
        raise UserError(f"cannot read {path} ({e.strerror or e}): give a CSV file") from None
    for c in [*columns, *([time_col] if time_col else [])]:
        if c not in df.columns:
            raise UserError(f"no column '{c}' in {path} (columns: {', '.join(map(str, df.columns))})")

    def numeric(c):  # the column as finite floats, or one line naming the first bad row
        vals = pd.to_numeric(df[c], errors="coerce")
        bad = vals.isna() & df[c].notna()
        if bad.any():
            raise UserError(f"column '{c}' has non-numeric values (first at row {int(bad.idxmax()) + 2}): clean the file")
        vals = vals.to_numpy(float)
        bad = ~np.isfinite(vals)
        if bad.any():
            raise UserError(f"column '{c}' has {int(bad.sum())} empty, NaN or inf value(s), the first at row "
                            f"{int(np.argmax(bad)) + 2} of {path}: drop or fill them first")  # fmt: skip
        return vals

    steps = numeric(time_col) if time_col else np.arange(len(df), dtype=float)
    return [analyze_series(steps, numeric(c), metric=c, settings=settings) for c in columns]


def _print_ews(table, results, title) -> None:
    from rich.table import Table

    con = _console()
    for r in results:
        if not r["transitions"]:
            con.print(f"{r['metric']}: no transition in {r['timing_metric']}: whole series tested "
                      "(a flag here would be a false alarm)")  # fmt: skip
    t = Table(title=f"early-warning signals: {title}")
    for col in ("metric", "at", "transition", "before", "points", "indicator", "tau", "p", "flag"):
        t.add_column(col)
    for row in table.itertuples(index=False):
        flag = {True: _styled(("warning", "green")), False: "none", None: "—"}[row.flagged]
        t.add_row(row.metric, row.at, _fmt(row.transition_step), _fmt(row.until), str(row.n_points),
                  row.indicator, _fmt(row.tau), _fmt(row.p_value), flag if not row.note else row.note)  # fmt: skip
    con.print(t)
