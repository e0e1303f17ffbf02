"""Metric rows/s through the recorder and the store, against a raw pyarrow Parquet write.

The lab path: `Recorder.log(step, **scalars)` once per step (as a world does), then
`Store.write_run` (long-format Parquet + JSON files + atomic rename). The baseline writes the
same long-format rows with one `pyarrow.parquet.write_table` call from ready-made arrays,
i.e. the cheapest possible way to get those rows on disk. The ratio is the lab's overhead.

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


def lab_path(root: Path, steps: int, names: list[str], values: np.ndarray, i: int) -> float:
    t0 = time.perf_counter()
    rec = Recorder(progress=False)
    for s in range(steps):
        rec.log(s, **dict(zip(names, values[s])))
    Store(root).write_run(f"bench-{i}", {"run_id": f"bench-{i}", "world": "bench", "config": {}}, rec, {})
    return time.perf_counter() - t0


def raw_path(root: Path, steps: int, names: list[str], values: np.ndarray, i: int) -> float:
    t0 = time.perf_counter()
    n = steps * len(names)
    table = pa.table({
        "run_id": pa.array([f"raw-{i}"] * n),
        "step": pa.array(np.repeat(np.arange(steps, dtype=np.int64), len(names))),
        "name": pa.array(names * steps),
        "value": pa.array(values.ravel()),
    })  # fmt: skip
    pq.write_table(table, root / f"raw-{i}.parquet", compression="zstd")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000, help="log calls per run")
    ap.add_argument("--metrics", type=int, default=10, help="scalars per log call")
    ap.add_argument("--repeat", type=int, default=3, help="runs per path (best is reported)")
    a = ap.parse_args()
    names = [f"ns/metric_{k}" for k in range(a.metrics)]
    values = np.random.default_rng(0).standard_normal((a.steps, a.metrics))
    rows = a.steps * a.metrics
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        lab = min(lab_path(root / "store", a.steps, names, values, i) for i in range(a.repeat))
        raw = min(raw_path(root, a.steps, names, values, i) for i in range(a.repeat))
    print(f"rows per run          : {rows:,} ({a.steps:,} log calls x {a.metrics} metrics)")
    print(f"recorder + store      : {rows / lab:>12,.0f} rows/s  ({lab * 1e3:.1f} ms)")
    print(f"raw pyarrow write     : {rows / raw:>12,.0f} rows/s  ({raw * 1e3:.1f} ms)")
    print(f"ratio lab/raw (speed) : {raw / lab:.2f}x  (1.0 = no overhead; the lab also buffers per-call)")
    print_result("store_ingest", f"recorder + store vs raw pyarrow, {rows:,} rows", lab * 1e3, raw * 1e3, "ms/run")


if __name__ == "__main__":
    main()
