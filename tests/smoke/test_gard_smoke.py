"""The GARD world runs its tiny preset in a fraction of a second, logs what it promises, keeps
its assemblies honest (sizes, splits), is deterministic given its seed, and rejects bad configs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.sweep import run_world
from emergelab.lab.registry import get_world
from emergelab.worlds import gard

PER_GENERATION = {"gard/similarity", "gard/events", "gard/time", "gard/richness", "gard/non_drift",
                  "gard/compotype"}
PER_WINDOW = {f"price/{k}" for k in ("trait", *gard.PRICE_TERMS)}


def _run(preset: str = "tiny", **overrides) -> Recorder:
    return run_world("gard", preset, **overrides)


def test_tiny_logs_everything():
    rec = _run()
    cfg = get_world("gard").make_config("tiny")
    G = cfg.generations
    assert set(rec.names) == PER_GENERATION | PER_WINDOW
    steps, h = rec.series("gard/similarity")
    assert steps.tolist() == list(range(1, G)) and np.all((h >= 0) & (h <= 1 + 1e-12))
    for name in PER_GENERATION - {"gard/similarity"}:
        steps, v = rec.series(name)
        assert steps.tolist() == list(range(G)) and np.all(np.isfinite(v)), name
    assert (rec.series("gard/events")[1] >= cfg.n_max // 2).all()  # at least n_max/2 joins each
    assert (rec.series("gard/time")[1] > 0).all()
    for name in PER_WINDOW:
        assert rec.series(name)[0].tolist() == list(range(cfg.price_windows)), name
    C = rec.artefacts["compositions"]
    assert C.shape == (G, cfg.n_types) and (C.sum(axis=1) == cfg.n_max).all()  # composition at the split
    price = rec.artefacts["price"]
    assert isinstance(price, pd.DataFrame) and len(price) == cfg.price_windows
    s = rec.summary
    for k in ("mean_similarity", "non_drift_fraction", "n_compotypes", "price_between", "price_within",
              "price_total", "price_residual_max", "events_per_generation"):
        assert k in s, k
    assert s["price_residual_max"] <= 1e-12
    assert get_world("gard").summarize(rec.wide())["mean_similarity"] == pytest.approx(s["mean_similarity"])


def test_no_price_population_when_windows_is_zero():
    rec = _run(price_windows=0)
    assert not any(n.startswith("price/") for n in rec.names) and "price_between" not in rec.summary


def test_lineage_keeps_the_assembly_between_half_and_full():
    rng = np.random.default_rng(0)
    chem = gard.Chemistry(rng.lognormal(-4, 4, (20, 20)), kf=0.01, kb=1e-4)
    n0 = np.bincount(rng.integers(20, size=5), minlength=20)
    out = list(gard.lineage(chem, n0, 10, 30, rng))
    assert len(out) == 10
    for comp, ev, t in out:
        assert comp.sum() == 30 and (comp >= 0).all() and ev >= 15 and t > 0


def test_same_seed_same_run_other_seed_other_run():
    a, b, c = (_run(seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.artefacts["compositions"], b.artefacts["compositions"])
    assert a.summary == b.summary
    assert not np.array_equal(a.artefacts["compositions"], c.artefacts["compositions"])


@pytest.mark.parametrize("bad", [{"n_types": 1}, {"kf": 0}, {"kb": -1e-4}, {"beta_sigma": -1},
                                 {"n_max": 3}, {"seed_molecules": 0}, {"seed_molecules": 100},
                                 {"generations": 2}, {"threshold": 1.0}, {"n_assemblies": 1},
                                 {"price_windows": -1}, {"kf": "fast"}, {"catalysis": 1}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("gard").make_config("tiny", bad)
