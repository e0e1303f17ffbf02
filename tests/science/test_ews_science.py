"""Early-warning signals on the critical-transition world: the charted and the uncharted
territory (Dakos, Boettiger et al.), on 20 seeds of the quick preset each.

1. fold: before a collapse through a fold, variance and lag-1 autocorrelation rise
   (Kendall tau > 0.5, surrogate p < 0.05) in at least 80% of seeds;
2. null: with the forcing held fixed, the same test fires in at most 15% of seeds (it is
   calibrated: ~5% expected);
3. noise: before a noise-induced jump, far from any bifurcation, the indicators do NOT flag
   the shift in most seeds: a shift without critical slowing down.

Settings: rolling window 50% of the stretch, the default Gaussian detrending (bandwidth 0.2 in
ksmooth / ewstools units, kernel sd 0.074 of the stretch, reflected edges), 100 AR(1)
surrogates. The stretch ends a little before the ground-truth transition (MARGIN), so the
collapse itself is never part of it.
Measured (seeds 0-19, quick): fold 19/20 flagged; null var 0/20, ac1 1/20; noise: 20/20 jumped,
18 left >= 100 points before the jump, 1/18 flagged. The same at bandwidth 0.1, 0.135, 0.27
(reflect); the old renormalised edges with a kernel sd of 20% of the stretch gave fold 14/20:
a wide kernel is biased at the start of a ramp, which inflates the early windows.
"""

from __future__ import annotations

import functools

import numpy as np

from emergelab.lab.recorder import Recorder
from emergelab.lab.registry import get_world
from emergelab.measures.ews import BANDWIDTH, early_warning

SEEDS = range(20)
EWS = dict(window=0.5, which=("var", "ac1"), detrend="gaussian", bandwidth=BANDWIDTH, edge="reflect", n_surrogates=100)
MARGIN = 0.02  # cut this fraction of the pre-transition stretch (at least 5 samples) before the truth
MIN_POINTS = 100  # a noise-induced jump earlier than this leaves too little to analyse


@functools.lru_cache(maxsize=None)
def _run(system: str, seed: int) -> tuple[np.ndarray, np.ndarray, int | None]:
    w = get_world("critical_transition")
    rec = Recorder(progress=False)
    w.run(w.make_config("quick", {"system": system, "seed": seed}), rec)
    steps, x = rec.series("state/x")
    return steps, x, rec.summary["transition_step"]


def _cut(step: int) -> int:
    return step - max(5, int(MARGIN * step))


def _flags(steps, x, until: int, seed: int) -> dict[str, tuple[float, float]]:
    """{indicator: (tau, p)} over the samples before `until`."""
    tests = early_warning(steps, x, until=until, seed=seed, **EWS)["tests"]
    return {row.indicator: (row.tau, row.p_value) for row in tests.itertuples()}


def test_fold_variance_and_ac1_rise_before_the_collapse():
    hits = []
    for seed in SEEDS:
        steps, x, step = _run("fold", seed)
        assert step is not None, f"seed {seed}: the fold run did not collapse"
        f = _flags(steps, x, _cut(step), seed)
        hits.append(all(f[k][0] > 0.5 and f[k][1] < 0.05 for k in ("var", "ac1")))
    assert sum(hits) >= 0.8 * len(hits), f"EWS flagged only {sum(hits)}/{len(hits)} fold collapses"


def test_null_false_alarms_are_rare():
    # the same length as the fold run's pre-transition stretch for that seed: a fair comparison
    p = {"var": [], "ac1": []}
    for seed in SEEDS:
        steps, x, step = _run("null", seed)
        assert step is None
        f = _flags(steps, x, _cut(_run("fold", seed)[2]), seed)
        for k in p:
            p[k].append(f[k][1])
    for k, ps in p.items():
        rate = np.mean(np.array(ps) < 0.05)
        assert rate <= 0.15, f"null: {k} rose significantly in {rate:.0%} of stationary runs"


def test_noise_induced_jumps_come_without_warning():
    jumped, flagged = [], []
    for seed in SEEDS:
        steps, x, step = _run("noise", seed)
        jumped.append(step is not None)
        if step is None or _cut(step) < MIN_POINTS:
            continue
        f = _flags(steps, x, _cut(step), seed)
        flagged.append(f["var"][1] < 0.05 and f["ac1"][1] < 0.05)
    assert sum(jumped) >= 0.8 * len(jumped), f"only {sum(jumped)}/{len(jumped)} noise runs jumped"
    assert len(flagged) >= 10, f"only {len(flagged)} jumps left >= {MIN_POINTS} points to analyse"
    assert sum(flagged) < 0.5 * len(flagged), f"EWS flagged {sum(flagged)}/{len(flagged)} noise-induced jumps"
