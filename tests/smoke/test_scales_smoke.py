"""The scales world runs its tiny preset in a fraction of a second, logs one value per scale
for every measure, keeps its three artefacts, and rejects bad configs with a UserError."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.recorder import Recorder
from emergelab.lab.sweep import run_world
from emergelab.lab.registry import get_world

DEFINITIONS = ("log2k", "bits", "attainable", "interval")
NAMES = {"scale/k", "scale/composite_defect", "scale/evenness_defect", "scale/arrangement_defect",
         "scale/interval_variety_defect", "scale/missing_fifths", "scale/named",
         *(f"scale/entropy_{d}" for d in DEFINITIONS)}


def _run(preset: str = "tiny", **overrides) -> Recorder:
    return run_world("scales", preset, **overrides)


def test_tiny_logs_every_measure_per_scale():
    rec = _run()
    s = rec.summary
    assert set(rec.names) == NAMES
    n = s["n_scales"]
    assert n == 927  # 12 tones, every gap <= 3
    for name in NAMES:
        steps, values = rec.series(name)
        assert steps.tolist() == list(range(n)) and np.isfinite(values).all(), name
    assert rec.series("scale/named")[1].sum() == s["n_named"] == 15
    assert set(s["named_outside_space"].split(",")) == {"hirajoshi", "in_sen"}  # a 4-semitone gap each
    for d in DEFINITIONS:
        assert {f"claim_holds_{d}", f"corridor_{d}_named_frac", f"corridor_{d}_base_rate",
                f"corridor_{d}_p_uniform", f"corridor_{d}_p_matched"} <= set(s)
        assert isinstance(s[f"claim_holds_{d}"], bool)
    assert isinstance(s["verdict"], str) and s["major_step_entropy"] == pytest.approx(0.3074, abs=1e-4)


def test_artefacts():
    rec = _run()
    a = rec.artefacts
    assert set(a) == {"scales", "named", "corridor"}
    scales, named, corridor = a["scales"], a["named"], a["corridor"]
    assert len(scales) == rec.summary["n_scales"] and scales.loc[0, "pcs"].startswith("0")
    assert {"pcs", "steps", "k", "composite_defect", "missing_fifths", "named"} <= set(scales.columns)
    assert (scales["named"] != "").sum() == 15
    major = named.set_index("name").loc["major"]
    assert major["pcs"] == "0 2 4 5 7 9 11" and major["steps"] == "2-2-1-2-2-2-1"
    assert 0 <= major["pct_entropy_log2k"] <= 1 and "in_corridor_interval" in named.columns
    assert len(corridor) == 4 * 5  # entropy definitions x defect measures
    assert corridor["base_rate"].between(0, 1).all()


def test_same_seed_same_result_and_options():
    a, b = _run(seed=3), _run(seed=3)
    assert a.summary == b.summary
    one = _run(entropies="interval", defect="evenness", named="major,blues")
    assert one.summary["n_named"] == 2 and "claim_holds_log2k" not in one.summary
    assert set(one.artefacts["corridor"]["entropy"]) == {"interval"}


def test_other_tone_counts_run_without_named_scales():
    rec = _run(n_tones=8, max_gap=3)
    s = rec.summary
    assert s["n_named"] == 0 and s["claim_holds_log2k"] is None and "not tested" in s["verdict"]
    assert "major_step_entropy" not in s and s["n_scales"] == len(rec.series("scale/k")[0])


@pytest.mark.parametrize("bad", [{"max_gap": 0}, {"max_gap": 13}, {"n_tones": 2}, {"corridor": "0.8,0.2"},
                                 {"corridor": "0.1,0.5,0.9"}, {"entropies": "shannon"}, {"entropies": ""},
                                 {"named": "majr"}, {"weights": "1,1"}, {"weights": "0,0,0"},
                                 {"defect": "holes"}, {"n_perm": 0}, {"alpha": 1.5}, {"gap": 4}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(UserError):
        get_world("scales").make_config("tiny", bad)
