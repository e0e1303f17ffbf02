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
PER_WINDOW = {f"price/{k}" for k in ("trait", *gard.PRICE_TERMS, "reseeded", "alive")}


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
              "price_total", "price_residual_max", "events_per_generation", "compotype_silhouette",
              "price_between_positive_fraction", "price_reseeded", "price_alive_min"):
        assert k in s, k
    # both rules' counts and the lock flag among the eight numbers `emergelab run` prints per run
    scalars = [k for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)][:8]
    for k in ("n_compotypes_silhouette", "n_compotypes_threshold", "locked",
              "price_between_positive_fraction"):
        assert k in scalars, k
    rule = s["n_compotypes_silhouette"] if cfg.compotype_rule == "silhouette" else s["n_compotypes_threshold"]
    assert s["n_compotypes"] == rule and s["locked"] in (0, 1)
    assert (rec.series("price/alive")[1] == cfg.n_assemblies).all()
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


def test_paper_preset_is_the_authors_matlab_setting():
    w = get_world("gard")
    paper = w.make_config("paper")
    assert paper == w.make_config()  # the defaults are the paper's
    # tgs_parameters_v10.m / tgs_agard_v10.m / tgs_acluster.m / population_gard_nmin_v10.m
    assert (paper.seed_molecules, paper.generations, paper.compotype_rule, paper.reseed) == (50, 500, "silhouette", True)
    assert (paper.n_types, paper.n_max, paper.kf, paper.kb, paper.beta_mu, paper.beta_sigma) == \
        (100, 100, 0.01, 1e-4, -4.0, 4.0)
    assert (paper.max_compotypes, paper.threshold) == (10, 0.9)
    lab = w.make_config("lab")  # the lab's earlier choices, by name
    assert (lab.seed_molecules, lab.generations, lab.compotype_rule, lab.reseed) == (10, 2000, "threshold", False)
    for name in ("quick", "tiny"):  # small enough for 2 cores, on the paper's choices
        cfg = w.make_config(name)
        assert cfg.generations <= 500 and cfg.compotype_rule == "silhouette" and cfg.reseed


def test_labels_follow_the_chosen_rule():
    a, b = _run(compotype_rule="silhouette"), _run(compotype_rule="threshold")
    assert a.summary["n_compotypes"] == a.summary["n_compotypes_silhouette"]
    assert b.summary["n_compotypes"] == b.summary["n_compotypes_threshold"]
    for rec in (a, b):
        labels = rec.series("gard/compotype")[1]
        assert labels.max() + 1 == rec.summary["n_compotypes"]


def _dying_population(reseed_size: int, windows: int = 4):
    """8 small assemblies whose leaves nearly match their joins (kb = 0.8 kf, no catalysis):
    some lose every molecule within a window."""
    rng = np.random.default_rng(0)
    chem = gard.Chemistry(rng.lognormal(-20, 1, (20, 20)), kf=0.01, kb=0.008)
    u = gard.Uniforms(rng)
    pop = []
    for _ in range(8):
        types = rng.integers(20, size=3)
        pop.append(gard.Assembly(chem, types, np.zeros_like(types), 12))
        pop[-1].schedule(0.0, u())
    t, out = 0.0, []
    for _ in range(windows):
        t, inputs, reseeds = gard.price_window(chem, pop, t, 12, u, rng, reseed_size)
        out.append((inputs, reseeds, [a.N for a in pop], sum(a.N for a in pop)))
    return out


def test_reseeding_keeps_the_population_alive_and_out_of_the_pedigree():
    from emergelab.measures.price import price_equation

    out = _dying_population(reseed_size=3)
    assert sum(r for _, r, _, _ in out) > 0  # assemblies died and were replaced
    for inputs, _, sizes, total in out:
        assert len(sizes) == 8 and min(sizes) > 0  # every slot holds a live assembly
        w = inputs[2]
        assert w.sum() <= total  # reseeded molecules and their products are nobody's offspring
        assert abs(price_equation(*inputs).residual) < 1e-12
    dead = _dying_population(reseed_size=0)
    assert sum(r for _, r, _, _ in dead) == 0 and min(min(s) for _, _, s, _ in dead) == 0


@pytest.mark.parametrize("bad", [{"compotype_rule": "gap"}, {"max_compotypes": 0}, {"reseed": "maybe"},
                                 {"n_types": 1}, {"kf": 0}, {"kb": -1e-4}, {"beta_sigma": -1},
                                 {"n_max": 3}, {"seed_molecules": 0}, {"seed_molecules": 100},
                                 {"generations": 2}, {"threshold": 1.0}, {"n_assemblies": 1},
                                 {"price_windows": -1}, {"kf": "fast"}, {"catalysis": 1}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("gard").make_config("tiny", bad)
