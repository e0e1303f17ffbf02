"""emergelab: a laboratory for emergence.

Reproduce, measure and forecast emergent phenomena in neural-network training, in
populations of agents and in self-organising systems.

    >>> import emergelab
    >>> store = emergelab.open_store("emergelab-runs")
    >>> store.runs()              # one row per run (config and summary flattened)
    >>> store.metrics(world="grokking", names=["val/acc"])   # long frame
    >>> rec = emergelab.run_world("grokking", "quick", weight_decay=0.0)   # in memory
    >>> rec.series("val/acc")
    >>> res = emergelab.sweep("grokking", "quick", grid={"train_fraction": [0.3, 0.5]}, seeds=2)
    >>> res.runs()                # the sweep's runs; also executor="ray", address="auto"
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["open_store", "run_world", "sweep", "__version__"]


def open_store(path: str | None = None):
    """Open (or create) a run store folder; see `emergelab.lab.store.Store`."""
    from emergelab.lab.store import open_store as _open

    return _open(path)


def run_world(world: str, preset: str | None = None, progress: bool = False, **overrides):
    """Run a world in memory and return its Recorder; see `emergelab.lab.sweep.run_world`."""
    from emergelab.lab.sweep import run_world as _run

    return _run(world, preset, progress, **overrides)


def sweep(world: str, preset: str | None = None, grid: dict | None = None, seeds: int | None = None,
          store=None, executor: str = "process", jobs: int | None = None, address: str | None = None, *,
          force: bool = False, progress: bool | None = None, shared_fs: bool | None = None,
          chunk_size: int | None = None, **overrides):  # fmt: skip
    """Run world × grid × seeds, store the runs and record the sweep, like `emergelab sweep`.

    `grid` maps config keys to lists of values ({"train_fraction": [0.3, 0.5]}); `seeds`
    derives that many seeds per grid point; `**overrides` set other config fields; `store`
    is a Store, a folder or None (the default store). Runs already in the store are skipped
    (`force=True` re-runs them). `executor`: "serial", "process" or "ray"; with "ray",
    `address` names a cluster ("auto", "HOST:6379"; None starts a local instance of `jobs`
    CPUs, or uses the Ray this process already initialised, e.g. with a runtime_env),
    `shared_fs` and `chunk_size` as in `emergelab.lab.ray_executor`.
    Returns a SweepResult: .done / .skipped / .failed, .sweep_id, .run_ids, .runs(), .metrics()."""
    from emergelab.lab.executors import run_sweep
    from emergelab.lab.sweep import parse_grid

    if isinstance(grid, (list, tuple)):  # CLI-style ["key=v1,v2", ...]
        grid = parse_grid(list(grid))
    grid = {k: list(v) if isinstance(v, (list, tuple, range)) else [v] for k, v in (grid or {}).items()}
    return run_sweep(world, preset, overrides, grid, seeds, store, executor, jobs, replace=force, progress=progress,
                     address=address, shared_fs=shared_fs, chunk_size=chunk_size)  # fmt: skip
