"""emergelab: a laboratory for emergence.

Reproduce, measure and forecast emergent phenomena in neural-network training, in
populations of agents and in self-organising systems.

    >>> import emergelab
    >>> store = emergelab.open_store("emergelab-runs")
    >>> store.runs()              # one row per run (config and summary flattened)
    >>> store.metrics(world="grokking", names=["val/acc"])   # long frame
    >>> rec = emergelab.run_world("grokking", "quick", weight_decay=0.0)   # in memory
    >>> rec.series("val/acc")
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["open_store", "run_world", "__version__"]


def open_store(path: str | None = None):
    """Open (or create) a run store folder; see `emergelab.lab.store.Store`."""
    from emergelab.lab.store import open_store as _open

    return _open(path)


def run_world(world: str, preset: str | None = None, progress: bool = False, **overrides):
    """Run a world in memory and return its Recorder; see `emergelab.lab.sweep.run_world`."""
    from emergelab.lab.sweep import run_world as _run

    return _run(world, preset, progress, **overrides)
