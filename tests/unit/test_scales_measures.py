"""Scale measures against hand-computed values (major, chromatic, whole-tone, pentatonic),
and the enumeration against a brute-force count."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import hypergeom

from emergelab.errors import UserError
from emergelab.measures import scales as M

MAJOR = M.scale_from_pcs((0, 2, 4, 5, 7, 9, 11))
CHROMATIC = M.scale_from_pcs(range(12))
WHOLE_TONE = M.scale_from_pcs((0, 2, 4, 6, 8, 10))
PENTATONIC = M.scale_from_pcs((0, 2, 4, 7, 9))
HARMONIC_MINOR = M.scale_from_pcs((0, 2, 3, 5, 7, 8, 11))


def H(*counts):  # Shannon entropy in bits of a count vector
    p = np.array(counts) / sum(counts)
    return float(-(p * np.log2(p)).sum())


def brute_count(n: int, max_gap: int) -> int:
    """Scales with the root and every circular gap <= max_gap, by listing subsets in Python."""
    count = 0
    for rest in itertools.product((0, 1), repeat=n - 1):
        pcs = [0] + [i + 1 for i, x in enumerate(rest) if x]
        gaps = [b - a for a, b in zip(pcs, pcs[1:] + [n])]
        count += max(gaps) <= max_gap
    return count


def test_exactly_1490_scales_all_with_root_and_small_gaps():
    S = M.enumerate_scales(12, 4)
    assert S.shape == (1490, 12) and S.dtype == bool
    assert S[:, 0].all() and len(np.unique(S, axis=0)) == 1490
    assert (M.largest_gap(S) <= 4).all()
    assert np.bincount(S.sum(axis=1)).tolist() == [0, 0, 0, 1, 31, 155, 336, 413, 322, 165, 55, 11, 1]


@pytest.mark.parametrize("n", range(2, 10))
def test_enumeration_matches_brute_force(n):
    for g in range(1, n + 1):
        assert len(M.enumerate_scales(n, g)) == brute_count(n, g), (n, g)
    assert len(M.enumerate_scales(n, n)) == 2 ** (n - 1)  # no constraint: every subset with the root


def test_steps_and_step_counts():
    assert M.steps(MAJOR).tolist() == [2, 2, 1, 2, 2, 2, 1]
    assert M.steps(PENTATONIC).tolist() == [2, 2, 3, 2, 3]
    assert M.step_counts(MAJOR)[:4].tolist() == [0, 2, 5, 0]
    both = M.steps(np.stack([MAJOR, HARMONIC_MINOR]))
    assert both.tolist() == [[2, 2, 1, 2, 2, 2, 1], [2, 1, 2, 2, 1, 3, 1]]
    assert M.largest_gap(HARMONIC_MINOR) == 3 and M.largest_gap(M.scale_from_pcs((0,))) == 12
    with pytest.raises(UserError):
        M.steps(np.stack([MAJOR, PENTATONIC]))  # mixed sizes


def test_step_entropy_hand_values():
    # major: steps {2: 5, 1: 2}: 0.863 bits / log2 7 = 0.307 (SCIENCE C4)
    assert M.step_entropy(MAJOR, "bits") == pytest.approx(H(5, 2)) == pytest.approx(0.863121, abs=1e-6)
    assert M.step_entropy(MAJOR) == pytest.approx(H(5, 2) / math.log2(7)) == pytest.approx(0.307450, abs=1e-6)
    assert M.step_entropy(PENTATONIC) == pytest.approx(H(3, 2) / math.log2(5))
    for s in (CHROMATIC, WHOLE_TONE):
        assert M.step_entropy(s) == 0.0 and M.step_entropy(s, "bits") == 0.0
    # attainable: the richest 7-step set with steps <= 4 is {1: 3, 2: 3, 3: 1} (1.449 bits)
    assert M.step_entropy(MAJOR, "attainable", max_gap=4) == pytest.approx(H(5, 2) / H(3, 3, 1))
    assert M.step_entropy(CHROMATIC, "attainable", max_gap=4) == 0.0  # 12 unit steps: nothing else possible


def test_attainable_entropy_reaches_one_in_every_size():
    S = M.enumerate_scales(12, 4)
    k, e = S.sum(axis=1), M.entropy(S, "attainable", max_gap=4)
    assert e.min() >= 0 and e.max() <= 1 + 1e-12
    for kk in np.unique(k):
        bits = M.step_entropy(S[k == kk], "bits")
        assert e[k == kk].max() == pytest.approx(1.0 if bits.max() > 0 else 0.0), kk


def test_interval_class_vector_and_entropy():
    assert M.interval_class_vector(MAJOR).tolist() == [2, 5, 4, 3, 6, 1]
    assert M.interval_class_vector(CHROMATIC).tolist() == [12, 12, 12, 12, 12, 6]
    assert M.interval_class_vector(WHOLE_TONE).tolist() == [0, 6, 0, 6, 0, 3]
    S = M.enumerate_scales()
    k = S.sum(axis=1)
    assert (M.interval_class_vector(S).sum(axis=1) == k * (k - 1) // 2).all()  # every pair once
    assert M.entropy(WHOLE_TONE, "interval") == pytest.approx(H(6, 6, 3) / math.log2(6))
    assert M.entropy(MAJOR, "interval") == pytest.approx(H(2, 5, 4, 3, 6, 1) / math.log2(6))


def test_evenness_defect_hand_values():
    # major: steps 2 x5, 1 x2, mean 12/7, variance 22/7 - (12/7)^2 = 10/49
    assert M.evenness_defect(MAJOR, "mean") == pytest.approx(math.sqrt(10) / 12)
    # most uneven 7 steps <= 4: 4,3,1,1,1,1,1 (variance 66/49); with no limit 6,1,...,1 (150/49)
    assert M.evenness_defect(MAJOR, "max", max_gap=4) == pytest.approx(math.sqrt(10 / 66))
    assert M.evenness_defect(MAJOR) == pytest.approx(math.sqrt(10 / 150))
    # pentatonic: variance 0.24; most uneven 5 steps <= 4: 4,4,2,1,1 (variance 1.84)
    assert M.evenness_defect(PENTATONIC, max_gap=4) == pytest.approx(math.sqrt(0.24 / 1.84))
    for s in (CHROMATIC, WHOLE_TONE):
        assert M.evenness_defect(s) == 0.0 and M.evenness_defect(s, "mean") == 0.0
    S = M.enumerate_scales()
    ev, k = M.evenness_defect(S, max_gap=4), S.sum(axis=1)
    for kk in range(3, 13):  # the most uneven scale of each size reaches 1 (sizes 3, 12: one scale, 0)
        assert ev[k == kk].max() == pytest.approx(0.0 if kk in (3, 12) else 1.0), kk


def test_arrangement_defect():
    for s in (MAJOR, PENTATONIC, WHOLE_TONE, CHROMATIC):  # all mirror-symmetric
        assert M.arrangement_defect(s) == 0.0
    # steps 1,2,3 (n=6): reversed 3,2,1; best rotation 2,1,3 or 1,3,2: dot 13 of |g|^2 = 14
    assert M.arrangement_defect(M.scale_from_pcs((0, 1, 3), n=6)) == pytest.approx(1 / 14)
    # harmonic minor 2,1,2,2,1,3,1 (|g|^2 = 24) is chiral; check against a plain loop
    g = [2, 1, 2, 2, 1, 3, 1]
    best = max(sum(a * b for a, b in zip(g, (g[::-1] * 2)[t:t + 7])) for t in range(7))
    assert M.arrangement_defect(HARMONIC_MINOR) == pytest.approx(1 - best / 24) and best < 24


def test_variety_composite_and_fifths():
    assert M.interval_variety_defect(MAJOR) == pytest.approx(1 / 5)  # 2 sizes, min(7, 6) - 1 = 5
    assert M.interval_variety_defect(PENTATONIC) == pytest.approx(1 / 4)
    assert M.interval_variety_defect(HARMONIC_MINOR) == pytest.approx(2 / 5)
    assert M.interval_variety_defect(CHROMATIC) == 0.0 == M.interval_variety_defect(WHOLE_TONE)
    assert M.composite_defect(MAJOR, max_gap=4) == pytest.approx(0.5 * math.sqrt(10 / 66) + 0.2 / 5)
    assert M.composite_defect(MAJOR, weights=(0, 1, 0)) == 0.0
    assert M.composite_defect(CHROMATIC) == 0.0
    # major: only B (11 -> 6) lacks its fifth; pentatonic only E (4 -> 11); whole-tone: all six
    assert [M.missing_fifths(s) for s in (MAJOR, PENTATONIC, WHOLE_TONE, CHROMATIC)] == [1, 1, 6, 0]


def test_single_scale_and_matrix_agree():
    S = M.enumerate_scales()
    i = int(np.flatnonzero((S == MAJOR).all(axis=1))[0])
    for f in (M.step_entropy, M.interval_entropy, M.arrangement_defect, M.interval_variety_defect,
              M.missing_fifths, lambda s: M.composite_defect(s, max_gap=4)):
        assert f(S)[i] == pytest.approx(f(MAJOR))
    assert isinstance(M.step_entropy(MAJOR), float)


def test_percentile_rank_uses_mid_ranks():
    assert M.percentile_rank([1, 2, 2, 3]).tolist() == [0.125, 0.5, 0.5, 0.875]
    assert M.percentile_rank([0, 2.5], population=[1, 2, 3, 4]).tolist() == [0.0, 0.5]


def test_corridor_test_counts_and_exact_p():
    e = np.arange(8.0)  # percentile ranks 1/16, 3/16, ..., 15/16
    d = np.arange(8.0)
    r = M.corridor_test(e, d, [0, 3, 4], corridor=(0.25, 0.75))
    # ranks 5/16..11/16 are inside: scales 2, 3, 4, 5 -> base rate 1/2; named 3 and 4 inside
    assert r["base_rate"] == 0.5 and r["n_named_in"] == 2 and r["named_frac"] == pytest.approx(2 / 3)
    assert r["p_uniform"] == pytest.approx(hypergeom.sf(1, 8, 4, 3))
    assert r["n_named_low"] == 1 and r["base_low"] == 0.25  # scales 0, 1 below in both
    assert r["p_matched"] is None and r["inside"].tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
    a, b = (M.corridor_test(e, d, [0, 3, 4], groups=np.zeros(8), n_perm=500, seed=1) for _ in range(2))
    assert a["p_matched"] == b["p_matched"] and 0 < a["p_matched"] <= 1
    assert M.corridor_test(e, d, [])["named_frac"] is None


@pytest.mark.parametrize("call", [
    lambda: M.step_entropy(np.zeros(12, dtype=bool)),           # no root
    lambda: M.step_entropy(np.array([1, 2, 0, 0])),             # not 0/1
    lambda: M.step_entropy(np.ones((2, 2, 12), dtype=bool)),    # 3-D
    lambda: M.step_entropy(MAJOR, "natural"),                   # unknown normalisation
    lambda: M.entropy(MAJOR, "renyi"),
    lambda: M.step_entropy(M.scale_from_pcs((0, 6)), "attainable", max_gap=4),  # a step above max_gap
    lambda: M.evenness_defect(MAJOR, max_gap=0),
    lambda: M.enumerate_scales(12, 0),
    lambda: M.enumerate_scales(30, 4),
    lambda: M.scale_from_pcs((0, 12)),
    lambda: M.composite_defect(MAJOR, weights=(1, 1)),
    lambda: M.corridor_test([1, 2], [1, 2, 3], [0]),
    lambda: M.corridor_test([1, 2], [1, 2], [0], corridor=(0.8, 0.2)),
    lambda: M.percentile_rank([np.nan]),
])
def test_bad_input_is_a_user_error(call):
    with pytest.raises(UserError):
        call()
