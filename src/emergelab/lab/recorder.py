"""The recorder: what a world writes to while it runs.

A world calls `rec.log(step, **scalars)` as often as it likes, or, when it has many values at
once (a whole series, every step of a vectorised run), `rec.log_arrays(steps, **arrays)`.
Values are buffered per set of names: `log` appends the step and extends one flat list of
values, `log_arrays` keeps the arrays themselves (no Python object per value). Everything is
turned into one long-format Arrow table (step, name, value) only at the end, and the store
writes it as one Parquet file per run. Artefacts (arrays, dicts, frames, text) and a summary
dict are kept in memory too; the store writes everything at once when the run is complete.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np


class _Group:
    """The buffer of one set of names: array chunks (steps (n,), values (n, names)), then
    the steps and values logged one call at a time since the last chunk, the values in one
    flat list (turned into a chunk on read, or when arrays arrive: the logging order is kept)."""

    __slots__ = ("chunks", "steps", "values")

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.steps: list = []
        self.values: list = []

    def flush(self, width: int) -> None:
        if not self.steps:
            return
        st = np.asarray(self.steps, dtype=np.int64)
        try:
            vals = np.asarray(self.values, dtype=np.float64)
        except (TypeError, ValueError):  # e.g. 0-d tensors, 1-element arrays: convert one by one
            vals = np.array([float(v) for v in self.values], dtype=np.float64)
        self.chunks.append((st, vals.reshape(len(st), width)))  # (calls, names)
        self.steps, self.values = [], []


class Recorder:
    def __init__(self, progress: bool | None = None, desc: str = "") -> None:
        # progress=None: a bar only when stderr is a terminal (quiet in CI, logs, workers)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.desc = desc
        self.summary: dict[str, Any] = {}
        self.artefacts: dict[str, Any] = {}
        self._cols: dict[tuple[str, ...], _Group] = {}  # names -> their buffer
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] | None = None  # _columns(), until the next log
        self._bar: Any = None
        self._task: Any = None
        self._total: int | None = None
        # where LLM replies are cached across runs (<store>/llm-cache), set by the lab; None: in memory
        self.llm_cache_dir: str | None = None

    # -- logging -------------------------------------------------------------------------
    def log(self, step: int, **scalars: Any) -> None:
        """Record scalars at `step`, e.g. log(10, **{"train/loss": 0.3, "val/acc": 0.5})."""
        # Calls with the same set of names share one buffer: the step appended, the values
        # added to one flat list, converted to arrays in one go at the end.
        keys = tuple(scalars)
        group = self._cols.get(keys)
        if group is None:
            group = self._cols[keys] = _Group()
        group.steps.append(step)
        group.values.extend(scalars.values())
        self._arrays = None
        if self._bar is not None:
            self._bar.update(self._task, completed=min(int(step) + 1, self._total or int(step) + 1))

    def log_arrays(self, steps: Any, **arrays: Any) -> None:
        """Record many values at once: `steps` an int or n steps (1-D), each array a scalar or
        n values (one per step), e.g. log_arrays(np.arange(100), **{"a/x": x, "a/y": y}).
        The arrays are copied into one (n, names) float64 block: no Python object per value."""
        if not arrays:
            return
        st = np.asarray(steps, dtype=np.int64)
        if st.ndim > 1:
            raise ValueError(f"log_arrays: steps must be an int or 1-D, got shape {st.shape}")
        n = st.size if st.ndim else 1
        vals = np.empty((n, len(arrays)), dtype=np.float64)  # (n, names)
        for j, (name, v) in enumerate(arrays.items()):
            v = np.asarray(v, dtype=np.float64)
            if v.ndim > 1 or (v.ndim == 1 and v.size != n):
                raise ValueError(f"log_arrays('{name}'): {n} steps but {v.size} values")
            vals[:, j] = v
        keys = tuple(arrays)
        group = self._cols.get(keys)
        if group is None:
            group = self._cols[keys] = _Group()
        group.flush(len(keys))  # rows logged before these arrays stay before them
        group.chunks.append((st.reshape(n).copy(), vals))
        self._arrays = None
        if self._bar is not None and n:
            last = int(st.max())
            self._bar.update(self._task, completed=min(last + 1, self._total or last + 1))

    def log_many(self, name: str, steps: Any, values: Any) -> None:
        """Record a whole series at once (vectorised worlds that compute every step in arrays)."""
        steps = np.asarray(steps, dtype=np.int64).ravel()
        values = np.asarray(values, dtype=np.float64).ravel()
        if steps.shape != values.shape:
            raise ValueError(f"log_many('{name}'): {steps.size} steps but {values.size} values")
        self.log_arrays(steps, **{name: values})

    def summarize(self, **values: Any) -> None:
        """Add final scalars/strings to the run's summary."""
        for k, v in values.items():
            self.summary[k] = jsonable(v)

    def artefact(self, name: str, obj: Any) -> None:
        """Keep an artefact: ndarray -> .npy, dict/list -> .json, DataFrame -> .parquet,
        str -> .txt, bytes -> raw. `name` has no extension."""
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"artefact name {name!r} must be a plain file name")
        self.artefacts[name] = obj

    # -- progress ------------------------------------------------------------------------
    def set_total(self, total: int, desc: str | None = None) -> None:
        """Declare how many steps the run has, which starts a progress bar (if enabled)."""
        self._total = int(total)
        if not self.progress or self._bar is not None:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(desc or self.desc or "run", total=self._total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    # -- read back -----------------------------------------------------------------------
    def _columns(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{name: (steps, values)} with each name's rows in logging order. Built once per batch
        of logs (series, wide and to_arrow all read it) and handed out read-only."""
        if self._arrays is not None:
            return self._arrays
        parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for keys, group in self._cols.items():
            group.flush(len(keys))
            if len(group.chunks) > 1:  # merge, so that the next read starts from one block
                group.chunks[:] = [(np.concatenate([c[0] for c in group.chunks]),
                                    np.concatenate([c[1] for c in group.chunks]))]  # fmt: skip
            for st, vals in group.chunks:
                for j, k in enumerate(keys):
                    parts.setdefault(k, []).append((st, vals[:, j]))
        out = {}
        for k, ps in parts.items():
            st = np.concatenate([p[0] for p in ps]) if len(ps) > 1 else ps[0][0].copy()
            va = np.concatenate([p[1] for p in ps]) if len(ps) > 1 else ps[0][1].copy()
            if len(ps) > 1:  # interleave groups back into step order
                order = np.argsort(st, kind="stable")
                st, va = st[order], va[order]
            st.flags.writeable = va.flags.writeable = False
            out[k] = (st, va)
        self._arrays = out
        return out

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(k for keys in self._cols for k in keys))

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric logged so far."""
        cols = self._columns()
        if name not in cols:
            raise KeyError(f"no metric '{name}' was logged (logged: {', '.join(cols)})")
        return cols[name]

    def to_arrow(self, run_id: str):
        """The long-format table: run_id (dictionary), step int64, name (dictionary), value f64."""
        import pyarrow as pa

        cols = self._columns()
        names = list(cols)
        lengths = np.array([cols[n][0].size for n in names], dtype=np.int64)
        n = int(lengths.sum())
        steps = np.concatenate([cols[k][0] for k in names]) if names else np.empty(0, np.int64)
        values = np.concatenate([cols[k][1] for k in names]) if names else np.empty(0, np.float64)
        name_idx = np.repeat(np.arange(len(names), dtype=np.int32), lengths)
        return pa.table(
            {
                "run_id": pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(n, dtype=np.int32)), pa.array([run_id])
                ),
                "step": pa.array(steps),
                "name": pa.DictionaryArray.from_arrays(pa.array(name_idx), pa.array(names, pa.string())),
                "value": pa.array(values),
            }
        )

    def wide(self):
        """A pandas frame indexed by step with one column per metric (for summaries)."""
        import pandas as pd

        cols = {n: pd.Series(v, index=s).groupby(level=0).last() for n, (s, v) in self._columns().items()}
        return pd.DataFrame(cols).sort_index()


def jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v
