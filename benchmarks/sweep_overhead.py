"""Per-run overhead of the lab's executors on trivial runs, against joblib.

    .venv/bin/python benchmarks/sweep_overhead.py [--runs 40] [--jobs 2] [--repeats 2] [--steps 20] [--no-ray]

N runs of the toy world (tests/toyworld.py with `--steps` steps: a run does almost nothing
but analyse a few points and write its folder), each repeat into a fresh temporary store,
timed end to end:
  bare     sweep.execute(spec, root) in a plain loop in this process: the work itself
  serial   run_specs(executor="serial")
  process  run_specs(executor="process", jobs=J): a fresh spawn pool of J workers per sweep
  joblib   joblib.Parallel(n_jobs=J)(delayed(execute)(spec, root) for ...): the plain baseline,
           the same function writing the same runs; its reusable loky pool is shut down at
           the end of each sweep, so it starts and stops its workers per sweep too
  ray      run_specs(executor="ray", jobs=J) on a local Ray instance started and warmed up
           beforehand (its start-up is printed on its own: a Ray user starts a cluster once and
           sends it many sweeps); skipped when Ray or the executor is missing
Each contestant also sweeps J runs (one per worker), which tells its fixed start-up (worker
processes, imports) apart from its marginal wall time per extra run. Printed per contestant:
the sweep's wall time, ms/run (wall / N, start-up included), start-up, marginal ms/run and
overhead ms/run = marginal - bare ms/run / P (P = 1 for serial, J for the pools): what
scheduling, pickling and collecting add to each run. Timings are the best of --repeats. The
RESULT ratios are baseline ms/run / lab ms/run (wall / N): above 1 means the lab is faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the toy world lives in tests/: workers (spawned, loky, Ray) must be able to import it too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
os.environ["EMERGELAB_WORLDS"] = ",".join(filter(None, [os.environ.get("EMERGELAB_WORLDS"),
                                                        "tests.toyworld"]))  # fmt: skip
sys.path.insert(0, str(ROOT))

from _result import print_result  # noqa: E402  (benchmarks/_result.py: the RESULT line)

from emergelab.lab.executors import EXECUTORS, run_specs  # noqa: E402
from emergelab.lab.store import Store  # noqa: E402
from emergelab.lab.sweep import execute, plan  # noqa: E402


def timed_sweep(specs, fn) -> float:
    """Seconds for fn(specs, store) on a fresh store; checks that every run landed in it."""
    d = Path(tempfile.mkdtemp(prefix="emergelab-bench-"))
    try:
        store = Store(d / "store")
        t0 = time.perf_counter()
        fn(specs, store)
        t = time.perf_counter() - t0
        missing = [s.run_id for s in specs if not store.has(s.run_id)]
        assert not missing, f"{len(missing)} of {len(specs)} runs missing from the store"
        return t
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40, help="trivial runs per sweep")
    ap.add_argument("--jobs", type=int, default=2, help="workers of the pools")
    ap.add_argument("--repeats", type=int, default=2, help="sweeps per contestant and size; best counts")
    ap.add_argument("--steps", type=int, default=20, help="steps of each toy run (>= 10)")
    ap.add_argument("--no-ray", action="store_true", help="skip Ray even when it is installed")
    a = ap.parse_args()

    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    specs = plan("toy", None, {"steps": a.steps}, {}, a.runs)
    J, N = a.jobs, len(specs)
    if N <= J:
        raise SystemExit(f"--runs must exceed --jobs ({J}): a sweep of one run per worker tells "
                         "start-up apart from per-run cost")  # fmt: skip

    def joblib_sweep(specs, store):
        root = str(store.root)
        Parallel(n_jobs=J)(delayed(execute)(s, root) for s in specs)
        # workers started and stopped per sweep, as the process executor's pool is
        get_reusable_executor().shutdown(wait=True)

    contestants = {  # name: (parallelism, fn(specs, store))
        "bare": (1, lambda sp, st: [execute(s, str(st.root)) for s in sp]),
        "serial": (1, lambda sp, st: run_specs(sp, st, executor="serial", progress=False)),
        "process": (J, lambda sp, st: run_specs(sp, st, executor="process", jobs=J, progress=False)),
        "joblib": (J, joblib_sweep),
    }
    ray_note = None
    if a.no_ray:
        ray_note = "ray: skipped (--no-ray)"
    elif "ray" not in EXECUTORS:
        ray_note = "ray: skipped (this emergelab's run_specs has no ray executor)"
    elif importlib.util.find_spec("ray") is None:
        ray_note = "ray: skipped (ray is not installed: pip install 'emergelab[ray]')"
    else:
        contestants["ray"] = (J, lambda sp, st: run_specs(sp, st, executor="ray", jobs=J, progress=False))

    ray_start = None
    if "ray" in contestants:
        import logging

        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=J, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 object_store_memory=100 * 1024**2)  # fmt: skip (the least Ray accepts; runs are tiny)
        ray_start = time.perf_counter() - t0

    timed_sweep(specs[:1], contestants["bare"][1])  # first-call imports are not a run's cost
    if "ray" in contestants:  # the instance is warm: its workers have imported emergelab
        timed_sweep(specs[:J], contestants["ray"][1])
    sizes = (J, N)  # one run per worker (start-up + a run), then the whole sweep
    best = {(k, n): float("inf") for k in contestants for n in sizes}
    try:
        for _ in range(a.repeats):  # interleaved: a shared machine's noise spreads over everyone
            for k, (_, fn) in contestants.items():
                for n in sizes:
                    best[k, n] = min(best[k, n], timed_sweep(specs[:n], fn))
    finally:
        if "ray" in contestants:
            import ray

            ray.shutdown()

    per = {k: best[k, N] / N * 1e3 for k in contestants}  # ms per run, end to end
    work = per["bare"]
    print(f"{N} toy runs of {a.steps} steps, {J} workers for the pools, best of {a.repeats} "
          f"(the work: {work:.1f} ms/run in a bare loop)")  # fmt: skip
    print(f"{'executor':<9} {'sweep s':>8} {'ms/run':>8} {'start-up s':>11} {'marginal ms/run':>16} "
          f"{'overhead ms/run':>16} {'joblib/this':>12}")  # fmt: skip
    for k, (p, _) in contestants.items():
        marginal = (best[k, N] - best[k, J]) / (N - J) * 1e3  # wall per extra run
        startup = best[k, J] - J * marginal / 1e3
        print(f"{k:<9} {best[k, N]:8.2f} {per[k]:8.1f} {startup:11.2f} {marginal:16.1f} "
              f"{marginal - work / p:16.1f} {per['joblib'] / per[k]:11.2f}x")  # fmt: skip
    print("overhead = marginal wall per run - the bare work per run / parallelism (1, or the workers)")
    if ray_start is not None:
        print(f"ray: local instance started in {ray_start:.1f} s (not included above; its workers stay warm)")
    if ray_note:
        print(ray_note)
    results = [("process", "joblib", "process executor vs joblib Parallel"),
               ("process", "serial", "process executor vs serial executor"),
               ("ray", "joblib", "ray executor (warm local) vs joblib Parallel")]  # fmt: skip
    for lab, base, what in results:
        if lab in per:
            print_result(f"sweep_overhead/{lab}-{base}", what, round(per[lab], 3), round(per[base], 3), "ms/run")


if __name__ == "__main__":
    main()
