"""Executors: run a list of RunSpecs serially or in a process pool.

Workers write their own run folders (atomically); the parent only collects summaries and
drives one progress bar. Runs already in the store are skipped, which is what makes a
sweep resumable. On Ctrl-C the pool is torn down: completed runs are in the store, the
interrupted ones only ever existed in the store's hidden staging folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable

from emergelab.errors import UserError
from emergelab.lab.sweep import RunSpec, execute

EXECUTORS = ("serial", "process")


@dataclass
class Outcome:
    done: dict[str, dict] = field(default_factory=dict)  # run_id -> summary (ran now)
    skipped: list[str] = field(default_factory=list)  # already in the store
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> error line


def _init_worker(threads: int) -> None:
    # one core per worker: oversubscribed BLAS threads make a pool slower than serial
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


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
              on_done: Callable[[str, dict], None] | None = None) -> Outcome:  # fmt: skip
    """Execute the specs not yet in `store`; returns what ran, what was skipped, what failed."""
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    progress = sys.stderr.isatty() if progress is None else progress
    out = Outcome()
    todo = []
    for s in specs:
        if not replace and store.has(s.run_id):
            out.skipped.append(s.run_id)
        elif s.run_id not in {t.run_id for t in todo}:
            todo.append(s)
    if not todo:
        return out
    store.clean_tmp()
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
