"""Grokking itself, on the `quick` preset (Z59, Li_2 architecture, a few seconds on 2 cores):
train accuracy saturates first, validation accuracy follows much later; without weight
decay it never does; less training data means a longer delay (Li_2's scaling law)."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world


def _run(**overrides) -> Recorder:
    w = get_world("grokking")
    rec = Recorder(progress=False)
    w.run(w.make_config("quick", {"diag_every": 0, **overrides}), rec)
    return rec


def _first(rec: Recorder, name: str, threshold: float) -> int | None:
    steps, values = rec.series(name)
    hit = np.flatnonzero(values >= threshold)
    return int(steps[hit[0]]) if hit.size else None


def test_quick_preset_groks():
    rec = _run()
    train_fit, val_fit = _first(rec, "train/acc", 0.99), _first(rec, "val/acc", 0.95)
    assert train_fit is not None and val_fit is not None, rec.summary
    assert val_fit - train_fit >= 100, (train_fit, val_fit)
    steps, val = rec.series("val/acc")
    assert val[steps <= train_fit].max() < 0.2  # memorised first: val near chance at the fit
    fits = get_world("grokking").summarize(rec.wide())  # what the lab stores with each run
    assert fits["grokking_delay"] is not None and fits["grokking_delay"] >= 100


def test_no_weight_decay_no_grokking():
    rec = _run(weight_decay=0.0)
    assert _first(rec, "train/acc", 0.99) is not None  # it still memorises...
    assert rec.series("val/acc")[1].max() < 0.2  # ...but never generalises in the budget


@pytest.mark.slow
def test_sweep_less_data_longer_delay(tmp_path):
    """Li_2's scaling law through the lab: a process-pool sweep over train_fraction,
    delays read back from the store, as `emergelab sweep` would produce them."""
    from emergelab.lab.executors import run_specs
    from emergelab.lab.store import Store
    from emergelab.lab.sweep import plan

    store = Store(tmp_path / "store")
    specs = plan("grokking", "quick", {"diag_every": "0", "epochs": "1000"}, {"train_fraction": ["0.4", "0.5", "0.6"]})
    out = run_specs(specs, store, executor="process", jobs=2, progress=False)
    assert not out.failed, out.failed
    runs = store.runs().set_index("config.train_fraction")
    delays = runs["summary.grokking_delay"]
    assert delays.notna().all(), runs[["summary.train_fit_step", "summary.val_fit_step"]]
    assert delays[0.4] > delays[0.5] > delays[0.6], delays.to_dict()
