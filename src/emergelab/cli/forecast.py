"""`emergelab forecast` and `emergelab mirage`: a model family's results (a tidy file, an
lm-eval --log_samples folder, or a stored run with a `family` artefact) through the
scaling instruments, printed as a table and, for a run, stored with it like `analyze`.

All input is read and checked before anything is written: bad input leaves no file behind.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import List, Optional

import typer

from emergelab.cli import StoreOpt, _console, _fmt, app
from emergelab.errors import UserError

METHODS = ("cod", "passuntil", "powerlaw")
SizeOpt = typer.Option("params", "--size", help="Scale axis: params or compute.")
SizesOpt = typer.Option(None, "--sizes", help="Model sizes when the file lacks them: "
                        "a=1.2e8,b=160m,... or a CSV of model, params [default: parsed from names like pythia-160m].")
SaveOpt = typer.Option(True, "--save/--no-save", help="With a RUN: store the results with it (shown in its report).")
OutOpt = typer.Option(None, "--out", "-o", help="Also write the table to .csv, .parquet or .json.")
TaskOpt = typer.Option([], "--task", help="Only this task (repeatable): an lm-eval task, or a value of the file's "
                       "task column [default: all; outcomes that only some tasks have are dropped].")
EvalsOpt = typer.Option(None, "--evals", help="FILE holds saved per-item scores of an evaluation protocol: "
                        "altprag or mars (see emergelab.lab.evals_io).")


def _instrument(module: str, name: str):
    """A function of the scaling instruments, or one line saying it is missing."""
    import importlib

    try:
        fn = getattr(importlib.import_module(f"emergelab.measures.{module}"), name)
    except (ImportError, AttributeError):
        raise UserError(f"this emergelab has no emergelab.measures.{module}.{name}: update emergelab") from None
    return fn


def _call(fn, *args, **kw):
    """Call fn with the keyword arguments it accepts (size= only where it takes one)."""
    params = inspect.signature(fn).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        kw = {k: v for k, v in kw.items() if k in params}
    return fn(*args, **kw)


def load(ref: str, store_opt, sizes: Optional[str], size: str, tasks=(), evals: Optional[str] = None):
    """(family frame, store or None, run id or None) of FILE|FOLDER|RUN."""
    from emergelab.lab.families import parse_sizes, read_family, read_family_run
    from emergelab.lab.store import store_path

    if size not in ("params", "compute"):
        raise UserError(f"unknown --size '{size}': choose params or compute")
    if evals:  # ALTPRAG / MARS scores of a model family -> the same family frame
        from emergelab.lab.evals_io import read_eval_family

        return read_eval_family(ref, evals, parse_sizes(sizes), size, list(tasks) or None), None, None
    if Path(ref).exists():
        return read_family(ref, parse_sizes(sizes), size, list(tasks) or None), None, None
    if Path(ref).suffix.lower() in (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json") or "/" in ref:
        raise UserError(f"no such file or folder: {ref}")  # a path, not a run id: don't send them to the store
    root = store_path(store_opt)
    if not root.is_dir():
        raise UserError(f"no such file or folder '{ref}' (and no store at {root} to look for a run): check the path")
    from emergelab.cli import _store

    st = _store(store_opt)
    kind, rid = st.resolve(ref)
    if kind != "run":
        raise UserError(f"'{ref}' is a sweep: give one of its runs (emergelab runs --sweep {rid})")
    if sizes or tasks:
        raise UserError("--sizes and --task go with a FILE or folder: a run's family is one task with its sizes")
    return read_family_run(st, rid, size), st, rid


def _notes(df) -> None:
    for n in df.attrs.get("notes", []):  # what the reader left out; after the checks, so bad input prints nothing
        print(f"note: {n}")


def _check_out(out: Optional[str]) -> None:
    if out is not None:
        from emergelab.lab.store import check_export_path

        check_export_path(out)


def _table(df, title: str) -> None:
    from rich.table import Table

    # per-size curves (lists) are for the stored result and the report, not for a terminal table
    cols = [c for c in df.columns if not df[c].map(lambda v: isinstance(v, (list, tuple, dict))).any()]
    t = Table(title=title)
    for c in cols:
        t.add_column(str(c))
    for row in df[cols].itertuples(index=False):
        t.add_row(*["—" if isinstance(v, float) and math.isnan(v) else _fmt(v.item() if hasattr(v, "item") else v)
                    for v in row])  # fmt: skip
    _console().print(t)


def _store_result(st, rid: str, key: str, compact, frame) -> None:
    from emergelab.lab.recorder import jsonable

    summary = {k: v for k, v in st.run_meta(rid)["summary"].items() if k != key}
    summary[key] = compact
    st.update_run(rid, jsonable(summary), {key: frame})
    print(f"stored with the run; report: emergelab report {rid} -o report.html")


def _predict(df, target: float, methods, size: str, boot: dict):
    """Fit on the models smaller than `target`, predict it; actual where the family has it."""
    import numpy as np
    import pandas as pd

    known = df[size].unique()
    near = known[np.argmin(np.abs(np.log(known / target)))]
    if abs(math.log(near / target)) < math.log(1.02):  # "-t 4.1e8" means the 405M model in the family
        target = float(near)
    train = df[df[size] < target]
    if train[size].nunique() < 3:
        raise UserError(f"only {train[size].nunique()} model size(s) below --target-size {target:g}: "
                        "fitting needs at least 3 smaller sizes")  # fmt: skip
    fc = _instrument("forecast", "forecast")
    at = df[df[size] == target]
    rows, errors = [], []
    for m in methods:
        try:
            r = _call(fc, train, target, method=m, size=size, **boot)
        except UserError as e:  # one method unusable on this family (e.g. no pass counts)
            if len(methods) == 1:
                raise
            errors.append(e)
            rows.append({"method": m, "predicted": math.nan, "metric": None, "lo": math.nan, "hi": math.nan,
                         "note": str(e)})  # fmt: skip
            continue
        lo, hi = r.get("interval") or (math.nan, math.nan)
        rows.append({"method": m, "predicted": float(r["predicted"]), "metric": r.get("metric"), "lo": lo,
                     "hi": hi, "note": ""})  # fmt: skip
    if len(errors) == len(methods):
        raise errors[0]
    t = pd.DataFrame(rows)
    # the actual: the family's mean of the metric each method predicted (PassUntil: the pass rate
    # under sampling), where it has the target size
    default = next((m for m in t["metric"] if m), "correct")

    def actual_of(metric):
        metric = metric or default
        if metric == "pass_rate" and len(at) and {"n_pass", "n_samples"} <= set(at.columns):
            return float((at["n_pass"] / at["n_samples"]).mean())
        return float(at[metric].mean()) if len(at) and metric in at.columns else math.nan

    t.insert(2, "actual", [actual_of(m) for m in t["metric"]])
    t.insert(3, "abs_error", (t["predicted"] - t["actual"]).abs())
    return t.drop(columns="metric")[["method", "predicted", "actual", "abs_error", "lo", "hi", "note"]], target


@app.command()
def forecast(
    ref: str = typer.Argument(..., help="A family file (.csv/.parquet/.jsonl), an lm-eval --log_samples folder, or a RUN id."),
    target_size: Optional[str] = typer.Option(None, "--target-size", "-t", help="Size to predict, e.g. 6.9e9 or 7b "
                                              "[default: leave the largest model out and predict it]."),
    n_boot: Optional[int] = typer.Option(None, "--boot", help="Resamples for the intervals [default: the method's]."),
    method: str = typer.Option("all", "--method", "-m", help="cod, passuntil, powerlaw or all (side by side)."),
    size: str = SizeOpt,
    sizes: Optional[str] = SizesOpt,
    task: List[str] = TaskOpt,
    evals: Optional[str] = EvalsOpt,
    save: bool = SaveOpt,
    out: Optional[str] = OutOpt,
    store: Optional[str] = StoreOpt,
):
    """Predict a larger model's accuracy from the smaller ones: COD clusters, PassUntil and the
    whole-set power law side by side, with their errors where the answer is known."""
    from emergelab.lab.families import parse_number

    if method != "all" and method not in METHODS:
        raise UserError(f"unknown --method '{method}': choose cod, passuntil, powerlaw or all")
    methods = METHODS if method == "all" else (method,)
    target = parse_number(target_size, "--target-size") if target_size is not None else None
    if n_boot is not None and n_boot < 0:
        raise UserError(f"--boot must be 0 or more, got {n_boot}")
    boot = {} if n_boot is None else {"n_boot": n_boot}
    _check_out(out)
    df, st, rid = load(ref, store, sizes, size, task, evals)
    if target is None:
        if df[size].nunique() < 4:
            raise UserError(f"a leave-largest-out back-test needs at least 4 model sizes, {ref} has "
                            f"{df[size].nunique()}: give --target-size N to forecast a larger model")  # fmt: skip
        table = _call(_instrument("forecast", "backtest"), df, methods=methods, size=size, **boot)
        largest = df[size].max()
        title = f"leave-largest-out back-test ({size} = {largest:.3g}): {rid or ref}"
    else:
        table, target = _predict(df, target, methods, size, boot)
        title = f"forecast at {size} = {target:.3g}: {rid or ref}"
    if "note" in table.columns and not table["note"].fillna("").astype(bool).any():
        table = table.drop(columns="note")  # every method ran: no empty column
    _table(table, title)
    _notes(df)
    if out is not None:
        from emergelab.lab.store import export_frame

        export_frame(table, out)
        print(f"wrote {out}")
    if st is not None and save:
        compact = {"size": size, "target": target if target is not None else float(df[size].max()),
                   "backtest": target is None, "rows": table.to_dict("records")}  # fmt: skip
        _store_result(st, rid, "forecast", compact, table)


@app.command()
def mirage(
    ref: str = typer.Argument(..., help="A family file (.csv/.parquet/.jsonl), an lm-eval --log_samples folder, or a RUN id."),
    size: str = SizeOpt,
    sizes: Optional[str] = SizesOpt,
    task: List[str] = TaskOpt,
    evals: Optional[str] = EvalsOpt,
    save: bool = SaveOpt,
    out: Optional[str] = OutOpt,
    store: Optional[str] = StoreOpt,
):
    """Is the jump real? Each discontinuous metric (exact match, MC grade) beside its
    continuous partner (edit distance, log-likelihood, Brier): emergence scores and verdicts."""
    _check_out(out)
    df, st, rid = load(ref, store, sizes, size, task, evals)
    try:
        table = _call(_instrument("scaling", "mirage_check"), df, size=size)
    except UserError as e:
        if "task" in df.columns and df["task"].nunique() > 1:  # mixing tasks left only their common outcome
            raise UserError(f"{e} (tasks mixed keep only the outcome they share: pick one with --task NAME)") from None
        raise
    from emergelab.report.scaling import mirage_view

    _table(mirage_view(table.to_dict("records")), f"metric pairs across scale: {rid or ref}")
    _notes(df)
    if out is not None:
        from emergelab.lab.store import export_frame

        export_frame(table, out)
        print(f"wrote {out}")
    if st is not None and save:
        _store_result(st, rid, "mirage", {"size": size, "rows": table.to_dict("records")}, table)
