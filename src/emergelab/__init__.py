"""emergelab: a laboratory for emergence.

Reproduce, measure and forecast emergent phenomena in neural-network training, in
populations of agents and in self-organising systems.

    >>> import emergelab
    >>> store = emergelab.open_store("emergelab-runs")
    >>> store.runs()              # one row per run (config and summary flattened)
    >>> store.metrics(world="grokking", names=["val/acc"])   # long frame
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["open_store", "__version__"]


def open_store(path: str | None = None):
    """Open (or create) a run store folder; see `emergelab.lab.store.Store`."""
    from emergelab.lab.store import open_store as _open

    return _open(path)
