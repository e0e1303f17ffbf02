"""Hidden capabilities in concept space (Park et al. 2024), on the `quick` preset cut to 1,200
steps (about 6-15 s a run on 2 shared cores), seeds 0-4: the concept with the stronger signal
(colour, separation 3 vs 1.5) is learned first on the held-out class 11, and swapping the signals
swaps the order; over-prompting (11 -> 1.5 1.5) and the linear latent intervention generate the
held-out class before plain prompting does (hidden_gap > 0); plain prompting gets there in the end,
after a detour of its trajectory in concept space.

Measured margins (docs/worlds/concept_space.md): size - colour learning step 125-275 steps, hidden
gap (over-prompting) 75-150 steps, (steering) 75-150 steps, over seeds 0-4."""

from __future__ import annotations

import pytest

from emergelab.lab.sweep import run_world

pytestmark = pytest.mark.slow
STEPS = 1200
SEEDS = range(5)


@pytest.fixture(scope="module")
def runs():
    return {s: run_world("concept_space", "quick", seed=s, steps=STEPS).summary for s in SEEDS}


def test_the_stronger_concept_is_learned_first(runs):
    for s, r in runs.items():
        assert r["learn_step_colour"] is not None and r["learn_step_size"] is not None, (s, r)
        assert r["learn_step_size"] - r["learn_step_colour"] >= 50, (s, r)  # 2 evaluations at least
        assert r["first_learned"] == "colour"
        # (the training classes too: colour first)
        assert r["learn_step_train_colour"] < r["learn_step_train_size"], (s, r)


def test_swapping_the_signals_swaps_the_order():
    r = run_world("concept_space", "size-strong", seed=0, steps=STEPS).summary
    assert r["first_learned"] == "size", r
    assert r["learn_step_colour"] - r["learn_step_size"] >= 50, r


def test_over_prompting_and_steering_reveal_the_held_out_class_earlier(runs):
    for s, r in runs.items():
        assert r["learn_step_heldout"] is not None, (s, r)  # plain prompting gets there ...
        assert r["hidden_gap_over"] >= 50, (s, r)  # ... but over-prompting got there first
        assert r["hidden_gap_steer"] >= 50, (s, r)
        assert r["final_heldout_acc"] >= 0.85, (s, r)


def test_the_held_out_trajectory_turns(runs):
    # not a straight path from the start to 11: a detour (memorising training classes) then a turn
    for s, r in runs.items():
        assert r["turn_depth"] >= 0.1, (s, r)
        assert r["turn_step"] <= r["learn_step_heldout"], (s, r)
