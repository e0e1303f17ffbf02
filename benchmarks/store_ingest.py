"""Metric rows/s through the recorder and the store, against plain pyarrow Parquet writes.

Lab paths (each ends with `Store.write_run`: long-format Parquet + JSON files + atomic rename):
  lab-log     `Recorder.log(step, **scalars)` once per step, as a training world does
  lab-arrays  `Recorder.log_arrays(steps, **columns)` once, as a vectorised world does
Baselines (each writes the same long-format rows, run_id, step, name, value, with pyarrow):
  fair        a plain loop that appends each step's values to Python lists, then builds
              the table and writes it: the same per-step work as lab-log, no lab code
  bare        one `pyarrow.parquet.write_table` from ready-made arrays: the cheapest way to
              get those rows on disk (what lab-arrays is compared with)
Timing: the paths take turns (lab-log, fair, lab-arrays, bare, lab-log, ...) and the best of
--repeat counts, as wall time and as CPU time (time.process_time: on a shared machine it
leaves out the time spent waiting for a core). The RESULT lines carry CPU time.

    python benchmarks/store_ingest.py [--steps 20000] [--metrics 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.lab.recorder import Recorder
from emergelab.lab.store import Store


def _meta(run_id: str) -> dict:
    return {"run_id": run_id, "world": "bench", "config": {}}


def lab_log(root: Path, names: list[str], values: np.ndarray, i: int) -> None:
    rec = Recorder(progress=False)
    for s, row in enumerate(values.tolist()):  # python floats, as a world's metrics are
        rec.log(s, **dict(zip(names, row)))
    Store(root).write_run(f"log-{i}", _meta(f"log-{i}"), rec, {})


def lab_arrays(root: Path, names: list[str], values: np.ndarray, i: int) -> None:
    rec = Recorder(progress=False)
    rec.log_arrays(np.arange(len(values)), **{n: values[:, j] for j, n in enumerate(names)})
    Store(root).write_run(f"arr-{i}", _meta(f"arr-{i}"), rec, {})


def _table(run_id: str, steps: np.ndarray, names: list[str], values: np.ndarray):
    n = values.size
    return pa.table({
        "run_id": pa.array([run_id] * n),
        "step": pa.array(np.repeat(steps, len(names))),
        "name": pa.array(names * len(steps)),
        "value": pa.array(values.ravel()),
    })  # fmt: skip


def fair(root: Path, names: list[str], values: np.ndarray, i: int) -> None:
    steps, rows = [], []
    for s, row in enumerate(values.tolist()):
        vals = dict(zip(names, row))  # what the loop has at each step
        steps.append(s)
        rows.append(list(vals.values()))
    table = _table(f"fair-{i}", np.asarray(steps, dtype=np.int64), names, np.asarray(rows, dtype=np.float64))
    pq.write_table(table, root / f"fair-{i}.parquet", compression="zstd")


def bare(root: Path, names: list[str], values: np.ndarray, i: int) -> None:
    table = _table(f"raw-{i}", np.arange(len(values), dtype=np.int64), names, values)
    pq.write_table(table, root / f"raw-{i}.parquet", compression="zstd")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000, help="log calls per run")
    ap.add_argument("--metrics", type=int, default=10, help="scalars per log call")
    ap.add_argument("--repeat", type=int, default=3, help="runs per path (best is reported)")
    a = ap.parse_args()
    names = [f"ns/metric_{k}" for k in range(a.metrics)]
    values = np.random.default_rng(0).standard_normal((a.steps, a.metrics))
    rows = a.steps * a.metrics
    paths = {"lab-log": lab_log, "fair": fair, "lab-arrays": lab_arrays, "bare": bare}
    best = {k: (float("inf"), float("inf")) for k in paths}
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for i in range(a.repeat + 1):  # round 0 warms up (imports, first allocations)
            for k, f in paths.items():
                w0, c0 = time.perf_counter(), time.process_time()
                f(root / "store" if k.startswith("lab") else root, names, values, i)
                w, c = time.perf_counter() - w0, time.process_time() - c0
                if i:
                    best[k] = (min(best[k][0], w), min(best[k][1], c))
    print(f"rows per run: {rows:,} ({a.steps:,} steps x {a.metrics} metrics), best of {a.repeat}, "
          "RESULT lines in CPU time")
    for k, (w, c) in best.items():
        print(f"  {k:11s} wall {w * 1e3:7.1f} ms  cpu {c * 1e3:7.1f} ms  {rows / c:>12,.0f} rows/s (cpu)")
    cpu = {k: v[1] * 1e3 for k, v in best.items()}
    print(f"  lab-log/fair {cpu['fair'] / cpu['lab-log']:.2f}x  lab-log/bare {cpu['bare'] / cpu['lab-log']:.2f}x  "
          f"lab-arrays/bare {cpu['bare'] / cpu['lab-arrays']:.2f}x  (speed, above 1 = the lab is faster)")
    what = f"{rows:,} rows"
    print_result("store_ingest/log/fair", f"Recorder.log per step + store vs plain loop + pyarrow, {what}",
                 cpu["lab-log"], cpu["fair"], "ms/run (cpu)")  # fmt: skip
    print_result("store_ingest/log/bare", f"Recorder.log per step + store vs raw pyarrow write, {what}",
                 cpu["lab-log"], cpu["bare"], "ms/run (cpu)")  # fmt: skip
    print_result("store_ingest/arrays/bare", f"Recorder.log_arrays + store vs raw pyarrow write, {what}",
                 cpu["lab-arrays"], cpu["bare"], "ms/run (cpu)")  # fmt: skip


if __name__ == "__main__":
    main()
