"""world_model, tiny preset: it logs every model's ranking and fidelity at each refit, keeps its
artefacts and summary consistent with the curves, runs with a second life as the held-out set,
and rejects bad configs with one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.lab.registry import get_world
from emergelab.lab.sweep import run_world
from emergelab.worlds.world_model import MODELS


@pytest.mark.parametrize("held_out", ["scenarios", "life"])
def test_tiny_logs_every_model(held_out):
    rec = run_world("world_model", "tiny", eval=held_out)
    cfg = get_world("world_model").make_config("tiny")
    steps = list(range(cfg.log_every, cfg.explore_steps + 1, cfg.log_every))
    for m in MODELS:
        for name in (f"rank/{m}_acc", f"rank/{m}_mrr", f"fidelity/{m}_edit", f"fidelity/{m}_abs_err", f"nll/{m}"):
            s, v = rec.series(name)
            assert s.tolist() == steps and np.all(np.isfinite(v)), name
        acc, mrr = rec.series(f"rank/{m}_acc")[1], rec.series(f"rank/{m}_mrr")[1]
        assert np.all((acc >= 0) & (acc <= mrr) & (mrr <= 1)), m  # rank 1 counts 1 in both
        assert np.all((rec.series(f"fidelity/{m}_edit")[1] >= 0) & (rec.series(f"fidelity/{m}_edit")[1] <= 6))
    for m in ("random", "unfitted", "oracle"):  # fixed models: the same numbers at every refit
        assert len(set(rec.series(f"rank/{m}_acc")[1])) == 1
    assert 0 <= rec.series("fit/law_auc")[1].min() <= rec.series("fit/law_auc")[1].max() <= 1
    laws, life = rec.artefacts["laws"], rec.artefacts["life"]
    assert set(laws.kind) == {"true", "wrong", "noise"} and (laws.weight >= 0).all()
    assert len(life) == cfg.explore_steps and (laws.active_in_life <= cfg.explore_steps).all()
    assert rec.summary["poe_acc"] == rec.series("rank/poe_acc")[1][-1]
    assert rec.summary["explore_steps"] == cfg.explore_steps


def test_bad_config_is_one_clear_line():
    with pytest.raises(UserError, match="explore_steps must be at least 1"):
        run_world("world_model", "tiny", explore_steps=0)
    with pytest.raises(UserError, match="unknown key"):
        run_world("world_model", "tiny", explore=10)
