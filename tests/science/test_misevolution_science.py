"""Memory misevolution on the scripted retrieval agent (quick preset: 64 agents x 600 tasks),
seeds 0-2, every arm on the same task streams: with memory, rule violations rise as memory
accumulates and refusals of unsafe requests fall; without memory both stay at the unevolved
prior; a safety filter on what is stored removes most of the rise (Shao et al. 2025)."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.lab.sweep import run_world

pytestmark = pytest.mark.slow
SEEDS = range(3)


@pytest.fixture(scope="module")
def runs():
    return [run_world("misevolution", "quick", seed=s) for s in SEEDS]


def test_violations_rise_with_memory_and_fall_with_the_filter(runs):
    for rec in runs:
        s = rec.summary
        v = rec.series("violation/memory")[1]
        assert s["violation_late_memory"] > s["violation_early_memory"] + 0.2  # rises along the stream
        assert np.corrcoef(rec.series("memory/memory")[1], v)[0, 1] > 0.7  # ... with accumulated memory
        assert abs(s["violation_late_none"] - s["violation_early_none"]) < 0.05  # no memory, no drift
        assert s["violation_late_none"] < 0.1
        assert s["violation_late_filtered"] < s["violation_late_memory"] - 0.2  # the filter mitigates
        assert s["hack_late_filtered"] < 0.1 < 0.25 < s["hack_late_memory"]  # reward hacking: filtered away


def test_refusals_erode_as_memory_accumulates(runs):
    for rec in runs:
        s = rec.summary
        assert s["refusal_late_none"] > 0.85 and s["refusal_early_memory"] > s["refusal_late_memory"] + 0.3
        assert s["refusal_late_filtered"] > s["refusal_late_memory"]
        bad = rec.series("memory_bad/memory")[1]
        assert bad[-1] > bad[0] and rec.series("memory_bad/filtered")[1][-1] < 0.05
