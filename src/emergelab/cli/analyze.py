"""`emergelab analyze`: transitions and early-warning signals of a stored run, or of the
columns of your own CSV file (`--csv`), printed as a table, optionally stored or exported.

`--column a,b,c` (a comma list in one --column) analyzes those columns jointly: the Kendall tau
trend of the leading eigenvalue of their rolling covariance and of its share of the variance
(measures/ews_multi.py), with a block-bootstrap interval. Repeated `--column a --column b`
still analyzes each column on its own. A CSV column whose own name has a comma is taken as that
column.

`--tensorboard DIR`, `--mlflow PATH` and `--table FILE` (a W&B history export, or a long
step,name,value / wide step + metric columns table) analyze training logs directly, without
storing them (`emergelab import` stores them): every run of the log, the --metric series,
or by default every metric in which a transition is detected."""

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
    csv: Optional[str] = typer.Option(None, "--csv", help="Analyze a column of your own CSV file (or "
                                "TSV/Parquet/JSON/JSONL, by suffix) instead of a run."),
    tensorboard: Optional[str] = typer.Option(None, "--tensorboard", help="Analyze a TensorBoard log folder "
                                              "(or event file) instead of a run: every run in it."),
    mlflow: Optional[str] = typer.Option(None, "--mlflow", help="Analyze an MLflow mlruns/ folder (or one "
                                         "experiment or run in it) instead of a run."),
    table: Optional[str] = typer.Option(None, "--table", help="Analyze a log table instead of a run: a W&B "
                                        "history export, or long (step,name,value) or wide (step + metric "
                                        "columns) CSV/Parquet/JSON/JSONL."),
    column: List[str] = typer.Option([], "--column", "-c", help="With --csv: the column(s) to analyze, "
                                "each on its own; a comma list a,b,c analyzes them jointly (multivariate)."),
    time_col: Optional[str] = typer.Option(None, "--time", "-t", help="With --csv: the time/step column [default: row number]."),
    window: float = typer.Option(0.5, "--window", help="Rolling window, fraction of the pre-transition stretch."),
    detrend: str = typer.Option("gaussian", "--detrend", help="gaussian, lowess, linear, diff or none."),
    bandwidth: float = typer.Option(0.2, "--bandwidth", help="Gaussian detrending bandwidth in ksmooth/ewstools units: "
                                    "kernel quartiles at +-0.25 x bandwidth of the stretch (ends reflected)."),
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

    logs = {k: v for k, v in (("tensorboard", tensorboard), ("mlflow", mlflow), ("table", table)) if v is not None}
    if logs and sum(x is not None for x in (ref, csv, *logs.values())) > 1:
        raise UserError("give one source: a RUN id, --csv FILE, --tensorboard DIR, --mlflow PATH or --table FILE")
    if not logs and (ref is None) == (csv is None):
        raise UserError("give a RUN id or --csv FILE --column X (one of the two); for training logs "
                        "--tensorboard DIR, --mlflow PATH or --table FILE")  # fmt: skip
    if csv is None and (column or time_col):
        raise UserError("--column and --time go with --csv FILE; for a run or a log use --metric NAME")
    if out is not None:
        from emergelab.lab.store import check_export_path

        check_export_path(out)
    settings = EWSSettings(window=window, detrend=detrend, bandwidth=bandwidth, n_surrogates=surrogates,
                           null=null, seed=seed)  # fmt: skip
    check_settings(settings)
    multi = []
    if logs:
        (fmt, path), = logs.items()
        results, title = _analyze_log(path, fmt, metric, at, settings), path
    elif csv is not None:
        results, multi = _analyze_csv(csv, column, time_col, settings, out)
        title = csv
    else:
        from emergelab.lab.analyze import analyze_run

        st = _store(store)
        kind, rid = st.resolve(ref)
        if kind != "run":
            raise UserError(f"'{ref}' is a sweep: analyze its runs one by one (emergelab runs --sweep {rid})")
        if not metric and st.run_meta(rid)["world"] == "imported":
            metric = _imported_default(st, rid)
        results = analyze_run(st, rid, metric or None, at, settings, save=save)
        title = rid
    table = ews_table(results)
    if results:
        _print_ews(table, results, title)
    if multi:
        table = _print_multi(multi, title, settings)
    if out is not None:
        from emergelab.lab.store import export_frame

        export_frame(table, out)
        print(f"wrote {out}")
    if ref is not None and save:
        print(f"stored with the run; report: emergelab report {rid} -o report.html")


def _imported_default(st, rid) -> list[str]:
    """An imported run has no world to name its EWS pairs: its metrics with a transition."""
    trans = st.run_meta(rid)["summary"].get("transitions") or {}
    found = [m for m, ts in trans.items() if isinstance(ts, list) and ts]
    if not found:
        raise UserError(f"no transition was detected in any metric of imported run '{rid}': pass --metric NAME "
                        "to test a series anyway")  # fmt: skip
    return found


def _analyze_log(path, fmt, metrics, at, settings) -> list[dict]:
    """EWS of every run of a training log, read with the same readers as `emergelab import`."""
    import pandas as pd

    from emergelab.lab.analyze import run_ews
    from emergelab.lab.imports import detect, read_source

    src = read_source(path, fmt)  # validated in full: a NaN anywhere stops here
    known = {m for r in src.runs for m in r.metrics}
    for m in [*metrics, *([at] if at else [])]:
        if m not in known:
            raise UserError(f"no metric '{m}' in {path} (metrics: {', '.join(sorted(known)[:20])})")
    jobs = []
    for r in src.runs:
        names = [m for m in metrics if m in r.metrics]
        if not metrics:  # by default: the metrics in which the lab detects a transition
            names = [m for m, ts in detect(r).items() if isinstance(ts, list) and ts]
        if at and at not in r.metrics:
            names = []
        if names:
            jobs.append((r, names))
    if not jobs:
        raise UserError(f"no transition was detected in any metric of {path}: pass --metric NAME to test a "
                        "series anyway")  # fmt: skip
    results = []
    for r, names in jobs:
        want = [*names, *([at] if at else [])]
        series = {m: r.series(r.metrics.index(m)) for m in dict.fromkeys(want)}
        curves = pd.DataFrame({m: pd.Series(v, index=s) for m, (s, v) in series.items()})
        for res in run_ews(curves, [(m, at or m) for m in names], settings):
            if len(src.runs) > 1:  # say which run each row is about
                res["metric"], res["timing_metric"] = f"{r.name}: {res['metric']}", f"{r.name}: {res['timing_metric']}"
            results.append(res)
    for note in src.notes:
        _console().print(f"note: {note}", soft_wrap=True)
    return results


def _analyze_csv(path, columns, time_col, settings, out=None):
    import numpy as np
    import pandas as pd

    from emergelab.lab.tables import read_table
    from emergelab.measures.analysis import analyze_series

    if not columns:
        raise UserError("--csv needs --column NAME (the series to analyze)")
    df = read_table(path, "a table of series", fallback="csv")  # TSV/Parquet/JSON by suffix, else CSV
    # a comma list is a multivariate group, unless the file has a column of exactly that name
    groups = [[g.strip() for g in c.split(",")] for c in columns if "," in c and c not in df.columns]
    single = [c for c in columns if "," not in c or c in df.columns]
    for g in groups:
        if len(g) < 2 or "" in g or len(set(g)) < len(g):
            raise UserError(f"--column {','.join(g)}: a multivariate group needs two or more different "
                            f"column names, separated by commas (e.g. --column a,b,c)")  # fmt: skip
    if groups and (single or len(groups) > 1) and out is not None:
        raise UserError("--out writes one table: give either single columns or one comma group with it")
    for c in [*single, *(c for g in groups for c in g), *([time_col] if time_col else [])]:
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
    arrays = {c: numeric(c) for g in groups for c in g}  # every column checked before any analysis
    multi = [_analyze_group(steps, arrays, g, settings) for g in groups]
    return [analyze_series(steps, numeric(c), metric=c, settings=settings) for c in single], multi


def _analyze_group(steps, arrays, names, settings):
    """Leading eigenvalue (and explained share) of the columns' rolling covariance: tau and a
    stationary block-bootstrap 90% interval, blocks as long as the window (see ews_uncertainty)."""
    import numpy as np

    from emergelab.measures.ews_multi import MULTI_INDICATORS, multivariate_indicators
    from emergelab.measures.ews_uncertainty import kendall_ci

    if np.any(np.diff(steps) <= 0):
        raise UserError("the --time column must be strictly increasing; sort the file or drop repeated steps")
    X = np.column_stack([arrays[c] for c in names])
    ind = multivariate_indicators(X, window=settings.window, detrend=settings.detrend, columns=names,
                                  bandwidth=settings.bandwidth)  # fmt: skip
    w = int(settings.window * len(X) + 1e-9)  # the window in samples, as the measures round it
    rows = []
    for k in MULTI_INDICATORS:
        v = ind[k].to_numpy()
        n_ok = int(np.isfinite(v).sum())
        ci = kendall_ci(v, n_boot=max(100, min(1000, 2 * 10**7 // max(n_ok, 1))), block=min(max(w, 1), n_ok),
                        seed=settings.seed)  # fmt: skip
        rows.append({"columns": ",".join(names), "n_points": len(X), "window": w, "indicator": k,
                     "tau": ci["tau"], "ci_lo": ci["lo"], "ci_hi": ci["hi"]})  # fmt: skip
    return rows


def _print_multi(multi, title, settings):
    import pandas as pd
    from rich.table import Table

    table = pd.DataFrame([r for g in multi for r in g])
    t = Table(title=f"multivariate early-warning signals: {title} "
                    f"(whole series, {settings.detrend} detrending)")  # fmt: skip
    for col in ("columns", "points", "window", "indicator", "tau", "90% interval"):
        t.add_column(col)
    for r in table.itertuples(index=False):
        t.add_row(r.columns, str(r.n_points), str(r.window), r.indicator, _fmt(r.tau),
                  f"[{_fmt(r.ci_lo)}, {_fmt(r.ci_hi)}]")  # fmt: skip
    _console().print(t)
    _console().print("eig1: largest eigenvalue of the rolling covariance; "
                     "explained: its share of the variance")  # fmt: skip
    return table


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
