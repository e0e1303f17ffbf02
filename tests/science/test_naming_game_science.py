"""The Metropolis-Hastings naming game (10 categories, 1,000 objects, 2-D views, 100 rounds:
the paper preset), on seeds 0-4, each metric the mean of the last 10 rounds (the signs are
samples, so one round is noisy), averaged over the seeds:

1. mh beats both controls in ARI against the true categories (mean of both agents);
2. mh agents share their signs: Cohen's kappa >= 0.5;
3. without communication kappa stays near 0: each agent names its categories with its own
   arbitrary signs.

Checked floor (SCIENCE.md B2, another implementation and data): mh ARI ~0.64, kappa ~0.74;
no_comm ARI ~0.36, kappa ~0.05; all_accept ARI ~0.28, kappa ~0.
Measured here (seeds 0-4, tail means): mh ARI 0.69, kappa 0.63, acceptance 0.76; no_comm ARI 0.62,
kappa -0.00; all_accept ARI 0.08, kappa 0.07.
"""

from __future__ import annotations

import functools

import numpy as np

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world

SEEDS = range(5)


@functools.lru_cache(maxsize=None)
def _mean(mode: str) -> dict[str, float]:
    w = get_world("naming_game")
    rows = []
    for seed in SEEDS:
        rec = Recorder(progress=False)
        w.run(w.make_config("paper", {"mode": mode, "seed": seed}), rec)
        s = rec.summary
        rows.append({"ari": (s["ari_a_tail"] + s["ari_b_tail"]) / 2, "kappa": s["kappa_tail"],
                     "acceptance": s["acceptance_tail"]})
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def test_mh_finds_better_categories_than_either_control():
    mh, alone, accept_all = _mean("mh"), _mean("no_comm"), _mean("all_accept")
    assert mh["ari"] > alone["ari"] + 0.05, (mh, alone)
    assert mh["ari"] > accept_all["ari"] + 0.2, (mh, accept_all)
    assert mh["ari"] > 0.64  # SCIENCE B2 checked floor


def test_mh_agents_share_signs_and_silent_agents_do_not():
    mh, alone = _mean("mh"), _mean("no_comm")
    assert mh["kappa"] >= 0.74, mh  # the issue asks >= 0.5; SCIENCE B2 checked floor 0.74
    assert abs(alone["kappa"]) < 0.1, alone
    assert 0.3 < mh["acceptance"] < 0.95 and alone["acceptance"] == 0.0
