"""Your training logs as runs of the store: TensorBoard, MLflow, W&B exports, plain tables.

    read_source(path)  -> Source: the runs of a log, validated, each a long frame
    long_frame(source) -> the store's long format (run_id = the source's run name, step,
                          name, value, wall_time when the source has it)
    plan_import(...)   -> ImportedRun per run: store run id, config, summary (with the
                          transitions the lab detects in every metric), metrics table
    ImportedRun.write(store) writes it with the store's own atomic `write_run`.

Imported runs belong to the pseudo world `imported`: no World is registered under that
name (there is nothing to run), and every reader of the store (runs, show, query, export,
report, analyze) works from config.json/summary.json/metrics.parquet alone, so they treat
an imported run like any other. Its config records the source path, format and run name.

Rules for every format, checked before anything is written: a NaN or infinite value is an
error naming the metric (drop those points at the source); a metric logged twice at one
step (a job resumed from a checkpoint) keeps the value logged last, and a note says so.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emergelab.errors import UserError
from emergelab.lab.tables import format_of

WORLD = "imported"
FORMATS = ("tensorboard", "mlflow", "table")
DETECT_MAX_POINTS = 20_000  # longer curves are block-averaged to this many points for detection


@dataclass
class SourceRun:
    name: str  # the source's run name ('' for the only run of a single file)
    steps: np.ndarray  # int64, sorted by (metric, step), one row per (metric, step)
    codes: np.ndarray  # int32 index into `metrics`
    metrics: list[str]
    values: np.ndarray  # float64
    wall_time: np.ndarray | None  # float64 seconds since the epoch, when the source has it
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the MLflow run id

    def series(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(self.codes, [k, k + 1])
        return self.steps[lo:hi], self.values[lo:hi]


@dataclass
class Source:
    path: Path
    format: str
    runs: list[SourceRun]
    notes: list[str]


def detect_format(path: Path) -> str:
    from emergelab.lab.imports import mlflow, tables, tensorboard

    if not path.exists():
        raise UserError(f"no such file or folder: {path}")
    if path.is_file():
        if tensorboard.is_event_file(path):
            return "tensorboard"
        if format_of(path, tables.LOG_FORMATS):
            return "table"
        raise UserError(f"cannot tell the format of {path.name}: give an events.out.tfevents.* file, a .csv, "
                        ".parquet, .json or .jsonl table, or a folder (TensorBoard logs or mlruns/)")  # fmt: skip
    if mlflow.looks_like_mlflow(path):
        return "mlflow"
    if any(f.is_file() for f in path.rglob("*tfevents*")):
        return "tensorboard"
    raise UserError(f"{path} holds neither TensorBoard event files nor MLflow runs: point at the log_dir of "
                    "your SummaryWriter or at your mlruns/ folder")  # fmt: skip


def read_source(path, fmt: str | None = None) -> Source:
    """Read and validate every run of a log; raises UserError before anything is written."""
    from emergelab.lab.imports import mlflow, tables, tensorboard

    path = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"unknown format '{fmt}': choose {', '.join(FORMATS)} (or leave it out to detect it)")
    if not path.exists():
        raise UserError(f"no such file or folder: {path}")
    fmt = fmt or detect_format(path)
    reader = {"tensorboard": tensorboard.read_tensorboard, "mlflow": mlflow.read_mlflow,
              "table": tables.read_log_table}[fmt]  # fmt: skip
    if fmt == "table" and not path.is_file():
        raise UserError(f"{path} is a folder: a table is a .csv, .parquet, .json or .jsonl file")
    raw, notes = reader(path)
    runs = [_clean(name, cols, notes) for name, cols in raw]
    return Source(path, fmt, runs, notes)


def _clean(run: str, cols: dict, notes: list[str]) -> SourceRun:
    """Sort by (metric, step), reject non-finite values, keep the last of duplicate steps;
    all in array ops (a million points take a few tenths of a second)."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(cols["name"], dtype=object), sort=True)
    metrics = [str(u) for u in uniques]
    steps, values = np.asarray(cols["step"], np.int64), np.asarray(cols["value"], np.float64)
    wall = cols.get("wall_time")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        where = f" of run '{run}'" if run else ""
        raise UserError(f"metric '{metrics[codes[i]]}'{where} has {int(bad.sum())} NaN or infinite value(s), "
                        f"the first at step {steps[i]}: drop those points from the log, then import it")  # fmt: skip
    # stable sort by (metric, step): among equal steps the order of logging is kept, so the
    # last row of each run of equal keys is the value logged last
    order = np.lexsort((steps, codes))
    codes, steps, values = codes[order].astype(np.int32), steps[order], values[order]
    wall = None if wall is None else np.asarray(wall, np.float64)[order]
    last = np.ones(len(steps), bool)
    last[:-1] = (codes[1:] != codes[:-1]) | (steps[1:] != steps[:-1])
    if not last.all():
        dup = np.bincount(codes[~last], minlength=len(metrics))
        said = ", ".join(f"{metrics[k]} ({dup[k]})" for k in np.flatnonzero(dup)[:5])
        notes.append(f"{'run ' + repr(run) + ': ' if run else ''}{int(dup.sum())} repeated step(s) (a resumed "
                     f"job?) kept the value logged last: {said}")  # fmt: skip
        codes, steps, values = codes[last], steps[last], values[last]
        wall = None if wall is None else wall[last]
    extra = {k: v for k, v in cols.items() if k not in ("step", "name", "value", "wall_time")}
    return SourceRun(run, steps, codes, metrics, values, wall, extra)


def long_frame(source: Source):
    """The store's long format of every run: run_id (the source's run name), step, name,
    value, and wall_time when the source has it."""
    import pandas as pd

    frames = []
    for r in source.runs:
        f = pd.DataFrame({"run_id": r.name, "step": r.steps,
                          "name": pd.Categorical.from_codes(r.codes, r.metrics), "value": r.values})  # fmt: skip
        if r.wall_time is not None:
            f["wall_time"] = r.wall_time
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _detect_one(steps, values) -> list[dict] | dict:
    """The lab's transition detector on one curve; curves longer than DETECT_MAX_POINTS are
    block-averaged first (the detector's cost grows with length, and a transition that
    emerges over training spans many blocks), so its steps are resolved to one block."""
    from emergelab.measures.transitions import detect_transitions

    n = len(values)
    if n > DETECT_MAX_POINTS:
        b = -(-n // DETECT_MAX_POINTS)
        m = n // b
        steps = steps[: m * b].reshape(m, b).mean(axis=1)
        values = values[: m * b].reshape(m, b).mean(axis=1)
    try:
        return [t.to_dict() for t in detect_transitions(steps, values)]
    except ValueError as e:  # too short a curve: said in the summary, as for any run
        return {"error": str(e)}


def detect(run: SourceRun) -> dict[str, Any]:
    """{metric: transitions} for every metric: an imported run watches all of them."""
    return {m: _detect_one(*run.series(k)) for k, m in enumerate(run.metrics)}


@dataclass
class ImportedRun:
    run_id: str
    meta: dict[str, Any]
    summary: dict[str, Any]
    source_run: SourceRun
    artefacts: dict[str, Any] = field(default_factory=dict)

    def to_arrow(self, run_id: str):
        """The long table Store.write_run writes (it quacks like a Recorder), plus wall_time."""
        import pyarrow as pa

        r = self.source_run
        n = len(r.values)
        cols = {
            "run_id": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([run_id])),
            "step": pa.array(r.steps),
            "name": pa.DictionaryArray.from_arrays(pa.array(r.codes), pa.array(r.metrics, pa.string())),
            "value": pa.array(r.values),
        }
        if r.wall_time is not None:
            cols["wall_time"] = pa.array(r.wall_time)
        return pa.table(cols)

    def write(self, store, replace: bool = False) -> Path:
        return store.write_run(self.run_id, self.meta, self, self.summary, replace=replace)


def run_id_for(source: Source, run: SourceRun, name: str | None) -> str:
    """Stable per (source path, run, --name): importing the same log again finds the same run."""
    key = "\0".join([str(source.path.resolve()), source.format, run.name, name or ""])
    return f"{WORLD}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def plan_import(source: Source, name: str | None = None) -> list[ImportedRun]:
    """One ImportedRun per source run, transitions detected; writes nothing."""
    from emergelab.lab.recorder import jsonable
    from emergelab.lab.store import provenance

    label = name or source.path.resolve().name
    out = []
    for r in source.runs:
        t0 = time.perf_counter()
        trans = detect(r)
        rid = run_id_for(source, r, name)
        config = {"source": str(source.path.resolve()), "format": source.format,
                  "run": r.name, "name": f"{label}/{r.name}" if r.name else label,
                  **{k: v for k, v in r.extra.items() if isinstance(v, (str, int, float))}}  # fmt: skip
        meta = {"run_id": rid, "world": WORLD, "preset": None, "seed": None, "overrides": {},
                "config_hash": rid.rsplit("-", 1)[-1], "config": config, **provenance()}  # fmt: skip
        summary: dict[str, Any] = {"metrics": len(r.metrics), "points": int(len(r.values)),
                                   "last_step": int(r.steps.max()), "transitions": trans}  # fmt: skip
        if r.wall_time is not None and np.isfinite(r.wall_time).any():
            summary["source_wall_s"] = float(np.nanmax(r.wall_time) - np.nanmin(r.wall_time))
        if source.notes:
            summary["import_notes"] = list(source.notes)
        summary["wall_s"] = round(time.perf_counter() - t0, 3)
        out.append(ImportedRun(rid, meta, jsonable(summary), r))
    return out
