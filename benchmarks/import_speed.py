"""Importing a TensorBoard log: the lab's whole `emergelab import` path against TensorBoard's
own reader alone.

The log: one event file of N scalars (default 1,000,000), two metrics of N/2 steps each
(val/acc jumps at 60% of training, train/loss falls), one scalar per event as
SummaryWriter.add_scalar writes them. Writing it takes a while (tensorboard's writer
computes its CRCs in pure Python); it is written once and reused across repeats.

- lab: read_source (framing, decoding, validation: NaN check, repeated steps) + plan_import
  (transition detection in every metric) + Store.write_run (Parquet, atomic rename);
- baseline: EventAccumulator(size_guidance={scalars: 0}).Reload() and Scalars(tag) of
  every tag into arrays, i.e. only getting the numbers out, with nothing checked or stored.

The target: a million points import in <= 10 s on 2 cores.

    python benchmarks/import_speed.py [--points 1000000] [--repeat 1] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads


def write_log(folder: Path, points: int) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    steps = points // 2
    s = np.arange(steps)
    rng = np.random.default_rng(0)
    acc = 1 / (1 + np.exp(-(s - 0.6 * steps) / (steps / 300))) + 0.02 * rng.standard_normal(steps)
    loss = np.exp(-s / (steps / 5)) + 0.02 * rng.standard_normal(steps)
    w = EventFileWriter(str(folder), max_queue_size=10_000, flush_secs=3600)
    Event, Summary, Value = event_pb2.Event, summary_pb2.Summary, summary_pb2.Summary.Value
    for i in range(steps):  # setup only: the writer has no batch API
        for tag, v in (("val/acc", acc[i]), ("train/loss", loss[i])):
            w.add_event(Event(wall_time=1.7e9 + i * 0.01, step=i,
                              summary=Summary(value=[Value(tag=tag, simple_value=float(v))])))  # fmt: skip
    w.close()


def lab(folder: Path, store_root: Path) -> tuple[float, dict, float]:
    from emergelab.lab.imports import plan_import, read_source
    from emergelab.lab.store import Store

    t0, c0 = time.perf_counter(), time.process_time()
    src = read_source(folder)
    runs = plan_import(src)
    st = Store(store_root)
    for r in runs:
        r.write(st, replace=True)
    return time.perf_counter() - t0, runs[0].summary, time.process_time() - c0


def baseline(folder: Path) -> tuple[float, int]:
    from tensorboard.backend.event_processing import event_accumulator as ea

    t0 = time.perf_counter()
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    n = 0
    for tag in acc.Tags()["scalars"]:
        ev = acc.Scalars(tag)
        steps = np.fromiter((e.step for e in ev), np.int64, len(ev))
        values = np.fromiter((e.value for e in ev), np.float64, len(ev))
        n += len(steps) + 0 * len(values)
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="scalars in the log")
    ap.add_argument("--repeat", type=int, default=1, help="imports per path (best is reported)")
    ap.add_argument("--quick", action="store_true", help="100,000 points")
    a = ap.parse_args()
    points = 100_000 if a.quick else a.points
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "log"
        t0 = time.perf_counter()
        write_log(log, points)
        print(f"wrote {points:,} scalars with tensorboard's writer in {time.perf_counter() - t0:.1f} s")
        runs = [lab(log, Path(d) / "store") for _ in range(a.repeat)]
        t_lab, summary, cpu = min(runs, key=lambda r: r[0])
        t_base, n = min(baseline(log) for _ in range(a.repeat))
    assert n == summary["points"] == points, (n, summary["points"], points)
    found = [f"{m} @ {t[0]['midpoint']:.0f}" for m, t in summary["transitions"].items() if isinstance(t, list) and t]
    print(f"lab import (read, check, detect, store): {t_lab:6.2f} s  ({points / t_lab:,.0f} points/s)  "
          f"cpu {cpu:.2f} s; transitions: {', '.join(found) or 'none'}")  # fmt: skip
    print(f"EventAccumulator read alone           : {t_base:6.2f} s  ({points / t_base:,.0f} points/s)")
    print(f"ratio baseline/lab: {t_base / t_lab:.2f}x")
    if points >= 1_000_000:  # detection costs about the same at any length (block means): no extrapolating
        print(f"target: a million points in <= 10 s: {'met' if t_lab <= 10 else 'MISSED'} ({t_lab:.1f} s)")
    print_result("import_speed", f"emergelab import vs EventAccumulator, {points:,} TensorBoard scalars",
                 t_lab, t_base, "s")  # fmt: skip


if __name__ == "__main__":
    main()
