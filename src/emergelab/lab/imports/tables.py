"""Tables of training logs: CSV, Parquet, JSON or JSONL, long or wide, W&B exports.

- long: columns step, name, value (optionally run_id or run, wall_time): one row a point;
- wide: a step column (step, Step, global_step, or W&B's _step) and one column per metric.
  W&B's `run.history()` (pandas -> CSV/JSON) is wide with _step, _runtime, _timestamp:
  _timestamp is kept as the wall time, other `_`-columns are W&B's own and skipped. The
  W&B UI's panel export names columns `<run> - <metric>` (plus `__MIN`/`__MAX` bands, skipped):
  those become one run per `<run>`.
In a wide table an empty cell means "not logged at that step" (W&B logs metrics at
different steps, leaving gaps), so it is skipped; in a long table every row is a point, and
a NaN there is an error like anywhere else. Columns that are not numbers (W&B media, text)
are skipped with a note.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from emergelab.errors import UserError

LOG_FORMATS = ("csv", "tsv", "parquet", "jsonl", "json")  # keys of emergelab.lab.tables.FORMATS
_STEP_COLS = ("step", "_step", "Step", "global_step")
_WALL_COLS = ("wall_time", "_timestamp", "timestamp")
_UI_COL = re.compile(r"^(.+) - (.+)$")


def read_frame(path: Path):
    """The log table as a DataFrame, through the lab's one table reader (exact floats, one-line errors)."""
    from emergelab.lab.tables import read_table

    return read_table(path, "a training-log table", LOG_FORMATS,
                      also="a TensorBoard log folder or an MLflow mlruns/ folder")


def _numeric(df, col, path, allow_gaps: bool):
    """The column as float64 (NaN for gaps), or None when it is not numeric at all."""
    import pandas as pd

    vals = pd.to_numeric(df[col], errors="coerce")
    bad = vals.isna() & df[col].notna()
    if bad.any():
        if allow_gaps:
            return None
        raise UserError(f"column '{col}' of {path} has non-numeric values (first at row {int(bad.argmax()) + 1}): "
                        "clean the file")  # fmt: skip
    return vals.to_numpy(np.float64)


def _steps(df, col, path):
    vals = _numeric(df, col, path, allow_gaps=False)
    if np.isnan(vals).any() or np.any(vals != np.round(vals)):
        raise UserError(f"step column '{col}' of {path} must hold whole numbers in every row: fill or fix it")
    return vals.astype(np.int64)


def read_log_table(path: Path) -> tuple[list[tuple[str, dict]], list[str]]:
    """[(run name, columns step/name/value[/wall_time])], notes."""
    df = read_frame(path)
    df.columns = [str(c) for c in df.columns]
    if not len(df):
        raise UserError(f"{path} has no rows: export some history first")
    if {"step", "name", "value"} <= set(df.columns):
        return _long(df, path), []
    step_col = next((c for c in _STEP_COLS if c in df.columns), None)
    if step_col is None:
        raise UserError(f"{path} has neither step,name,value columns (long form) nor a step column "
                        f"({', '.join(_STEP_COLS)}; wide form): columns are {', '.join(df.columns[:12])}")  # fmt: skip
    return _wide(df, path, step_col)


def _long(df, path) -> list[tuple[str, dict]]:
    run_col = next((c for c in ("run_id", "run") if c in df.columns), None)
    wall_col = next((c for c in _WALL_COLS if c in df.columns), None)
    steps = _steps(df, "step", path)
    values = _numeric(df, "value", path, allow_gaps=False)
    if df["name"].isna().any():
        raise UserError(f"column 'name' of {path} is empty in row {int(df['name'].isna().argmax()) + 1}: fill it")
    names = df["name"].astype(str).to_numpy(object)
    wall = _numeric(df, wall_col, path, allow_gaps=False) if wall_col else None
    runs = df[run_col].astype(str).to_numpy(object) if run_col else np.full(len(df), "", dtype=object)
    out = []
    for run in dict.fromkeys(runs):  # runs in order of first appearance
        m = runs == run
        cols = {"step": steps[m], "name": names[m], "value": values[m]}
        if wall is not None:
            cols["wall_time"] = wall[m]
        out.append((run, cols))
    return out


def _wide(df, path, step_col) -> tuple[list[tuple[str, dict]], list[str]]:
    notes: list[str] = []
    steps = _steps(df, step_col, path)
    wall_col = next((c for c in _WALL_COLS if c in df.columns and c != step_col), None)
    wall = _numeric(df, wall_col, path, allow_gaps=True) if wall_col else None
    metrics = [c for c in df.columns if c not in (step_col, wall_col) and not c.startswith("_")]
    bands = [c for c in metrics if c.endswith(("__MIN", "__MAX"))]
    metrics = [c for c in metrics if c not in bands]
    if bands:
        notes.append(f"{len(bands)} __MIN/__MAX band column(s) of the W&B panel export skipped")
    numeric, skipped = {}, []
    for c in metrics:
        v = _numeric(df, c, path, allow_gaps=True)
        (skipped.append(c) if v is None else numeric.__setitem__(c, v))
    if skipped:
        notes.append(f"{len(skipped)} non-numeric column(s) skipped: {', '.join(skipped[:5])}"
                     + (", ..." if len(skipped) > 5 else ""))  # fmt: skip
    if not numeric:
        raise UserError(f"{path} has a step column but no numeric metric columns: nothing to import")
    # the W&B UI's export: every metric column is '<run> - <metric>' -> one run per <run>
    ui = all(_UI_COL.match(c) for c in numeric) and len(numeric) > 0
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in numeric:
        run, metric = _UI_COL.match(c).groups() if ui else ("", c)
        groups.setdefault(run, []).append((metric, c))
    out = []
    for run, cols in groups.items():
        parts = []
        for metric, c in cols:
            v = numeric[c]
            keep = ~np.isnan(v)  # a gap: that metric was not logged at that step
            parts.append((metric, steps[keep], v[keep], None if wall is None else wall[keep]))
        counts = [len(p[1]) for p in parts]
        cols_out = {"step": np.concatenate([p[1] for p in parts]),
                    "name": np.repeat(np.array([p[0] for p in parts], dtype=object), counts),
                    "value": np.concatenate([p[2] for p in parts])}  # fmt: skip
        if wall is not None:
            cols_out["wall_time"] = np.concatenate([p[3] for p in parts])
        if len(cols_out["value"]):
            out.append((run, cols_out))
    if not out:
        raise UserError(f"every metric cell of {path} is empty: nothing to import")
    return out, notes
