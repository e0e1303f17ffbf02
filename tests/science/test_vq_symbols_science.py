"""Endogenous symbols ("AI Mother Tongue", 2025), on the `quick` preset cut to 600 steps (about
10-25 s a run on 2 shared cores): the code indices of the speaker's own VQ-VAE let a listener
pick the target far above the same listener given shuffled messages, and above a listener
trained with no message at all (chance); the speaker uses a minority of its codebook, a few codes
carrying most tokens (semantic compression), and the usage counts get a power-law fit."""

from __future__ import annotations

import math

import pytest

from emergelab.lab.sweep import run_world

pytestmark = pytest.mark.slow
STEPS = 600


def _final(rec, name: str) -> float:
    return float(rec.series(name)[1][-1])


def test_codes_of_its_own_vq_vae_carry_the_target():
    rec = run_world("vq_symbols", "quick", steps=STEPS)
    chance = rec.summary["chance"]  # 1 / 5
    assert rec.series("game/acc")[1][0] <= chance + 0.1  # untrained: nobody understands anybody
    assert _final(rec, "game/acc") >= 0.5, rec.summary
    assert _final(rec, "control/acc_shuffled") <= chance + 0.08, rec.summary  # someone else's message: chance
    assert _final(rec, "game/gap") >= 0.3, rec.summary
    # semantic compression: most of the 256 codes unused, the top 10% carry most tokens
    # (a uniform code would give top10_share ~ 0.1 and perplexity ~ 256)
    assert _final(rec, "codes/usage") <= 0.5, rec.summary
    assert _final(rec, "codes/top10_share") >= 0.5, rec.summary
    assert _final(rec, "codes/perplexity") <= 100, rec.summary
    assert rec.summary["final_codes_alpha"] > 1 and rec.summary["final_codes_xmin"] >= 1  # a fit was made
    assert math.isfinite(rec.summary["final_codes_llr_exp"])


def test_without_a_message_the_listener_stays_at_chance():
    rec = run_world("vq_symbols", "no-message", steps=STEPS)
    chance = rec.summary["chance"]
    assert abs(_final(rec, "game/acc") - chance) <= 0.06, rec.summary
    assert _final(rec, "game/gap") == 0.0  # nothing to shuffle
