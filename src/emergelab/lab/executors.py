"""Executors: run a list of RunSpecs serially, in a process pool or as Ray tasks.

Workers write their own run folders (atomically); the parent only collects summaries and
drives one progress bar (Ray workers that cannot see the store send their runs back to
the driver instead: see `ray_executor`). Runs already in the store are skipped, which is
what makes a sweep resumable. On Ctrl-C the workers are torn down: completed runs are in
the store, the interrupted ones only ever existed in the store's hidden staging folder.

`run_sweep` is the whole of `emergelab run|sweep` and `emergelab.sweep`: plan, record the
sweep, execute, and hand back what ran.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

from emergelab.errors import UserError
from emergelab.lab.sweep import RunSpec, execute

EXECUTORS = ("serial", "process", "ray")


@dataclass
class Outcome:
    done: dict[str, dict] = field(default_factory=dict)  # run_id -> summary (ran now)
    skipped: list[str] = field(default_factory=list)  # already in the store
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> error line


@dataclass
class SweepResult(Outcome):
    """What `run_sweep` ran: the Outcome, plus the plan, the store and the sweep's id."""

    specs: list[RunSpec] = field(default_factory=list)
    store: Any = None
    sweep_id: str | None = None  # None for a single run

    @property
    def run_ids(self) -> list[str]:
        return [s.run_id for s in self.specs]

    @property
    def ref(self) -> str:
        """The id to report on: the sweep's, or the single run's."""
        return self.sweep_id or self.specs[0].run_id

    def runs(self):
        """One row per completed run of this sweep (see `Store.runs`)."""
        return self.store.runs(run_ids=self.run_ids)

    def metrics(self, names=None):
        """Long frame (run_id, step, name, value) of this sweep's completed runs."""
        return self.store.metrics([r for r in self.run_ids if self.store.has(r)], names=names)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: `done` of `total` runs are complete in the store."""

    def __init__(self, done: int, total: int, root) -> None:
        super().__init__(f"interrupted: {done} of {total} runs complete in {root}")
        self.done, self.total, self.root = done, total, root


def check_executor(executor: str, jobs: int | None = None, address: str | None = None,
                   shared_fs: bool | None = None, chunk_size: int | None = None) -> None:  # fmt: skip
    """Reject bad executor options before anything runs or is written."""
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    if executor != "ray":
        fs = "--ray-shared-fs" if shared_fs else "--ray-no-shared-fs"
        for name, v in (("--address", address), (fs, shared_fs), ("--chunk-size", chunk_size)):
            if v is not None:
                raise UserError(f"{name} goes with the ray executor: add --executor ray, or drop {name}")
    if chunk_size is not None and chunk_size < 1:
        raise UserError(f"--chunk-size must be at least 1, got {chunk_size}")
    if executor == "ray":
        from emergelab.lab.ray_executor import import_ray

        import_ray()  # not installed: say how to install it now, not after planning


def _init_worker(threads: int) -> None:
    # one core per worker: oversubscribed BLAS threads make a pool slower than serial
    # the variable is enough for a torch imported later; importing torch here just to set it
    # cost seconds per spawned worker, even for worlds that never use torch
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _bar(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar.start()
    bar.add_task(desc, total=total)
    return bar


def run_specs(specs: list[RunSpec], store, executor: str = "process", jobs: int | None = None,
              progress: bool | None = None, replace: bool = False,
              on_done: Callable[[str, dict], None] | None = None, address: str | None = None,
              shared_fs: bool | None = None, chunk_size: int | None = None, out: Outcome | None = None) -> Outcome:  # fmt: skip
    """Execute the specs not yet in `store`; returns what ran, what was skipped, what failed.

    Ray only: `address` of a cluster (None: start a local instance of `jobs` CPUs, or use
    the one this process already initialised), `shared_fs` (None: each worker checks
    whether it sees the store), `chunk_size` (specs per task; None: ~4 tasks per CPU)."""
    check_executor(executor, jobs, address, shared_fs, chunk_size)
    progress = sys.stderr.isatty() if progress is None else progress
    out = Outcome() if out is None else out
    todo = []
    for s in specs:
        if not replace and store.has(s.run_id):
            out.skipped.append(s.run_id)
        elif s.run_id not in {t.run_id for t in todo}:
            todo.append(s)
    if not todo:
        return out
    store.clean_tmp()
    if executor == "ray":
        from emergelab.lab.ray_executor import run_ray

        return run_ray(todo, store, jobs, progress, replace, out, on_done, address, shared_fs, chunk_size)
    root = str(store.root)
    jobs = jobs or os.cpu_count() or 1
    if executor == "serial" or jobs == 1 or len(todo) == 1:
        # a single run shows its own step bar; several show one bar over runs
        single = len(todo) == 1
        bar = _bar(progress and not single, len(todo), f"{len(todo)} runs")
        try:
            for s in todo:
                try:
                    out.done[s.run_id] = execute(s, root, progress=progress and single, replace_existing=replace)
                    if on_done:
                        on_done(s.run_id, out.done[s.run_id])
                except (UserError, KeyboardInterrupt):
                    raise
                except Exception as e:  # one bad run must not lose the others
                    out.failed[s.run_id] = f"{type(e).__name__}: {e}"
                if bar:
                    bar.advance(0)
        finally:
            if bar:
                bar.stop()
        return out
    return _run_pool(todo, root, min(jobs, len(todo)), progress, replace, out, on_done)


def _run_pool(todo, root, jobs, progress, replace, out, on_done) -> Outcome:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, (os.cpu_count() or 1) // jobs)
    # spawn, not fork: forking a parent that may hold OpenMP/torch threads can deadlock
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                               initargs=(threads,))  # fmt: skip
    bar = _bar(progress, len(todo), f"{len(todo)} runs on {jobs} workers")
    try:
        pending = {pool.submit(execute, s, root, False, replace): s for s in todo}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                s = pending.pop(f)
                try:
                    out.done[s.run_id] = f.result()
                    if on_done:
                        on_done(s.run_id, out.done[s.run_id])
                except BrokenProcessPool:  # a worker was killed (OOM, signal) or called os._exit:
                    # the pool fails every unfinished run at once, and cannot say which one did it
                    out.failed[s.run_id] = ("not finished: a worker process died abruptly (killed, out of "
                                            "memory or os._exit); re-run the same command to resume")  # fmt: skip
                except Exception as e:
                    out.failed[s.run_id] = f"{type(e).__name__}: {e}"
                if bar:
                    bar.advance(0)
    except KeyboardInterrupt:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()  # their half-written runs stay in .tmp, invisible, cleaned next time
        raise
    finally:
        if bar:
            bar.stop()
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def run_sweep(world: str, preset: str | None = None, overrides: dict[str, Any] | None = None,
              grid: dict[str, list[Any]] | None = None, seeds: int | None = None, store=None,
              executor: str = "process", jobs: int | None = None, *, replace: bool = False,
              progress: bool | None = None, record: bool = True, address: str | None = None,
              shared_fs: bool | None = None, chunk_size: int | None = None,
              on_done: Callable[[str, dict], None] | None = None) -> SweepResult:  # fmt: skip
    """Plan world × grid × seeds (validating everything before any write), record the
    sweep in the store (when `record` or when it has several runs), run what is not done
    yet and return a SweepResult. `store`: a Store, a path, or None for the default.
    Ctrl-C raises SweepInterrupted (a KeyboardInterrupt) after the workers are stopped."""
    from emergelab.lab.store import Store, open_store
    from emergelab.lab.sweep import check_specs, plan, sweep_id

    check_executor(executor, jobs, address, shared_fs, chunk_size)
    overrides = dict(overrides or {})
    grid = dict(grid or {})
    specs = plan(world, preset, overrides, grid, seeds)
    store = store if isinstance(store, Store) else open_store(store)
    # the world's own checks (an LLM server is up, knows the model, gets a key) on the runs that
    # will run, before anything is written; runs already stored need nothing
    check_specs([s for s in specs if replace or not store.has(s.run_id)])
    res = SweepResult(specs=specs, store=store)
    session = nullcontext()
    if executor == "ray":  # connect before writing anything: a wrong --address leaves no trace
        from emergelab.lab.ray_executor import ray_session

        session = ray_session(address, jobs)
    try:
        with session:
            if record or len(specs) > 1:
                res.sweep_id = sweep_id(world, preset, overrides, grid, seeds)
                store.write_sweep(res.sweep_id, {
                    "sweep_id": res.sweep_id, "world": world, "preset": preset, "overrides": overrides,
                    "grid": grid, "seeds": seeds, "run_ids": res.run_ids,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})  # fmt: skip
            run_specs(specs, store, executor, jobs, progress, replace, on_done, address, shared_fs, chunk_size,
                      out=res)  # fmt: skip
    except KeyboardInterrupt:
        raise SweepInterrupted(sum(store.has(r) for r in res.run_ids), len(specs), store.root) from None
    return res
