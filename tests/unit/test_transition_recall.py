"""detect_transitions against labelled curve families (benchmarks/transition_recall.py).

A seeded subsample of each family, so this runs in seconds; the benchmark runs the full
table. Targets (issue 14): recall >= 0.95 on jumps whose 10-90 % span lies inside the data,
>= 0.9 of changes under way at the first (last) point reported with the censored flag, and
>= 0.9 of the curves of every no-transition family quiet.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from emergelab.measures.transitions import detect_transitions

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "transition_recall.py"
_spec = importlib.util.spec_from_file_location("transition_recall", BENCH)
recall = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = recall
_spec.loader.exec_module(recall)

PER_FAMILY = 40  # a fixed seeded subsample: the first 40 curves of each family's stream
# Random walks are the one family short of its target in this subsample: 7 of the first 40
# (mostly walks of 16-60 points, where a walk's biggest move looks just like a noisy step)
# raise an alarm, against 0.92 quiet over the benchmark's 150. The bar here is what this
# subsample gives, so that any loss shows.
BAR = {**{f: recall.TARGETS[recall.kind(f)] for f in recall.FAMILIES}, "quiet-random-walk": 0.8}


@pytest.fixture(scope="module")
def rows():
    return {r["family"]: r for r in recall.evaluate(PER_FAMILY, seed=0)}


@pytest.mark.parametrize("family", list(recall.FAMILIES))
def test_family_meets_target(rows, family):
    r = rows[family]
    kind = recall.kind(family)
    got = r["quiet"] if kind == "quiet" else r["recall"]
    assert got >= BAR[family], recall.table([r])
    if kind != "quiet":
        assert r["precision"] >= 0.9, recall.table([r])  # found where it is, not elsewhere


def test_world_curves(rows):
    # the quick runs' watched curves, labelled by eye (tests/data/transition_curves/LABELS.csv)
    r = rows["world"]
    assert r["curves"] >= 12 and r["quiet"] == 1.0, recall.table([r])
    assert r["recall"] >= 0.85, recall.table([r])  # 7 of 8; the miss is noted in LABELS.csv


def test_families_are_what_they_claim():
    # the generators themselves: a jump's 10-90 % span lies inside its data; a rise from the
    # first point is already under way there; a quiet decay is slow
    rng = np.random.default_rng(1)
    for _ in range(50):
        x, y, (sign, mid, width, _) = recall.jump_logistic(rng)
        assert x[0] <= mid - width / 2 and mid + width / 2 <= x[-1]
        x, y, (sign, mid, width, cens) = recall.rise_first(rng)
        assert cens == "left" and sign == 1 and x[0] < mid
        x, y, truth = recall.quiet_exp(rng)
        assert truth is None


def test_score_counts_only_a_change_of_the_right_sign_place_and_flag():
    t = np.arange(200.0)
    y = (t >= 100).astype(float)
    assert recall.score(t, y, (1.0, 99.5, 1.0, None)) == (True, True)
    assert recall.score(t, y, (-1.0, 99.5, 1.0, None)) == (True, False)
    assert recall.score(t, y, (1.0, 150.0, 1.0, None)) == (True, False)
    assert recall.score(t, y, (1.0, 99.5, 1.0, "left")) == (True, False)
    assert recall.score(t, np.zeros(200), None) == (False, True)
    assert [tr.midpoint for tr in detect_transitions(t, y)] == [pytest.approx(99.5, abs=0.5)]
