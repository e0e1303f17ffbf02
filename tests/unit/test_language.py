"""Language measures against hand-computed values: entropy and information, posdis, bosdis,
topsim and the vectorised edit distance, ARI and Cohen's kappa, the power-law fit, and the
held-out attribute combinations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from emergelab.errors import UserError
from emergelab.measures.language import (adjusted_rand_index, bosdis, cohen_kappa, edit_distances, entropy,
                                         holdout_combinations, meaning_grid, message_entropy,
                                         mutual_information, posdis, powerlaw_fit, topsim)

H_QUARTER = -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))  # H(1/4, 3/4) = 0.8113 bits


def levenshtein(a, b) -> int:  # the textbook DP, one pair at a time
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


@pytest.fixture
def grid():
    return meaning_grid(4, 4)  # (256, 4): the classic 4 attributes x 4 values


# ------------------------------------------------------------------ entropy and information

def test_entropy_of_known_distributions():
    assert entropy([0, 0, 1, 2]) == pytest.approx(1.5)  # (1/2, 1/4, 1/4)
    assert entropy(list("abcdefgh")) == pytest.approx(3.0)  # uniform over 8
    assert entropy([0, 0, 0, 1]) == pytest.approx(H_QUARTER)
    assert entropy([7, 7, 7]) == 0.0
    assert message_entropy([[1, 2], [3, 4], [5, 6], [7, 8]]) == pytest.approx(2.0)  # 4 distinct, equally
    assert message_entropy([[1, 2], [1, 2], [3], [4, 4]]) == pytest.approx(1.5)  # ragged: (1/2, 1/4, 1/4)
    assert message_entropy(np.array([[1, 0, 5], [1, 0, 7]]), eos=0) == 0.0  # both are "1" once cut at eos


def test_mutual_information_by_hand():
    a0, a1 = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    assert mutual_information(a0, a0) == pytest.approx(1.0)
    assert mutual_information(a0, a1) == pytest.approx(0.0)
    # s = a0 AND a1: I = H(s) - H(s | a0) = 0.8113 - 1/2 * 1
    assert mutual_information(a0 & a1, a0) == pytest.approx(H_QUARTER - 0.5)


# ------------------------------------------------------------------ posdis and bosdis

def test_posdis_by_hand():
    m = meaning_grid(3, 2)  # 8 objects, 3 binary attributes
    # position 0 names a0 (gap (1 - 0) / 1 = 1), position 1 is a1 XOR a2 (no information about any
    # single attribute: gap 0), position 2 is constant (left out): posdis = (1 + 0) / 2
    msgs = np.stack([m[:, 0], m[:, 1] ^ m[:, 2], np.zeros(8, int)], 1)
    assert posdis(m, msgs) == pytest.approx(0.5)
    assert np.isnan(posdis(m, np.zeros((8, 3), int)))  # every position constant: undefined


def test_positional_compositional_code(grid):
    own = grid + 1 + 4 * np.arange(4)  # attribute j at position j, its own symbols: 1-4, 5-8, ...
    shared = grid + 1  # the same 4 symbols at every position
    assert posdis(grid, own) == pytest.approx(1.0)
    assert posdis(grid, shared) == pytest.approx(1.0)
    assert topsim(grid, own) == pytest.approx(1.0)  # edit distance = Hamming distance here
    assert topsim(grid, shared, message_distance="hamming") == pytest.approx(1.0)
    assert topsim(grid, shared) > 0.85  # shifts can align shared symbols: edit < Hamming sometimes


def test_random_code_scores_near_zero(grid):
    rng = np.random.default_rng(0)
    msgs = rng.integers(1, 5, (len(grid), 4))
    assert abs(posdis(grid, msgs)) < 0.05
    assert abs(bosdis(grid, msgs)) < 0.05
    assert abs(topsim(grid, msgs)) < 0.05


def test_bag_of_symbols_code(grid):
    rng = np.random.default_rng(1)
    bag = rng.permuted(grid + 1 + 4 * np.arange(4), axis=1)  # the right symbols, in a random order
    assert bosdis(grid, bag) == pytest.approx(1.0)
    assert posdis(grid, bag) < 0.1  # no position means anything
    # eos (0) is not counted, and nothing after it is: padding changes nothing
    padded = np.c_[bag, np.zeros((len(bag), 2), int), rng.integers(1, 17, (len(bag), 1))]
    assert bosdis(grid, padded, eos=0) == pytest.approx(1.0)


# EGG's published examples: facebookresearch/EGG, egg/core/language_analysis.py (commit 54eb11c),
# doctests of Disent and TopographicSimilarity; the bosdis language is Chaabouni et al. (2020),
# "Compositionality and Generalization in Emergent Languages", appendix 8.2.
APPENDIX_ATTRIBUTES = [[i, j] for i in range(4) for j in range(4)]
APPENDIX_MESSAGES = [[0, 0, 4], [0, 0, 5], [0, 0, 6], [0, 0, 7], [1, 4, 1], [1, 5, 1], [1, 6, 1], [1, 7, 1],
                     [2, 4, 2], [2, 5, 2], [2, 6, 2], [2, 7, 2], [3, 4, 3], [3, 3, 5], [3, 3, 6], [3, 3, 7]]


def test_bosdis_egg_convention_on_the_appendix_language():
    a, m = APPENDIX_ATTRIBUTES, np.array(APPENDIX_MESSAGES)
    # EGG: Disent.bosdis(attributes, messages, vocab_size=3) == 1.0 (its doctest); any vocab gives 1.0
    assert bosdis(a, m, convention="egg", vocab_size=3) == pytest.approx(1.0, abs=1e-12)
    assert bosdis(a, m, convention="egg") == pytest.approx(1.0, abs=1e-12)
    # the lab's default cuts [0, 0, 4] at its first 0: an empty message, so symbol 4 loses
    # its link to attribute 1 (value measured with EGG's code side by side: it gives 1.0)
    assert bosdis(a, m) == pytest.approx(0.7615068896674474, abs=1e-12)
    assert bosdis(a, m, eos=None) == pytest.approx(1.0, abs=1e-12)  # 0 as content: a column of its own


def test_bosdis_conventions_differ_only_after_eos(grid):
    rng = np.random.default_rng(1)
    bag = rng.permuted(grid + 1 + 4 * np.arange(4), axis=1)  # no 0 anywhere
    assert bosdis(grid, bag, convention="egg") == pytest.approx(bosdis(grid, bag))
    junk = np.c_[bag, np.zeros((len(bag), 1), int), rng.integers(1, 17, (len(bag), 1))]
    assert bosdis(grid, junk) == pytest.approx(1.0)  # truncate: nothing after eos is read
    assert bosdis(grid, junk, convention="egg") < 0.9  # egg: the junk symbol is counted
    with pytest.raises(UserError, match="convention"):
        bosdis(grid, bag, convention="EGG")


def test_posdis_and_topsim_on_egg_doctests():
    torch = pytest.importorskip("torch")  # EGG's doctest draws its attributes with torch
    torch.manual_seed(0)
    attributes = torch.cat([torch.randint(0, 10, (1000, 1)), torch.randint(0, 10, (1000, 1))], 1).numpy()
    assert round(posdis(attributes, attributes), 6) == 0.978656
    assert round(posdis(attributes, np.c_[attributes, np.zeros_like(attributes)]), 6) == 0.978656
    words = [[ord(c) for c in w] for w in ["cat", "dog", "pen", "ben", "ten"]]
    assert topsim(words, words, message_distance="hamming") == pytest.approx(1.0, abs=1e-12)
    assert topsim(words, words) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------ edit distance and topsim

def test_edit_distance_by_hand_and_against_the_textbook():
    words = ["kitten", "sitting", "", "kitten", "flaw", "lawn"]
    msgs = [[ord(c) for c in w] for w in words]
    d = edit_distances(msgs)
    assert d[0] == 3 and d[1] == 6 and d[2] == 0  # kitten-sitting, kitten-"", kitten-kitten
    assert d[-1] == 2  # flaw-lawn
    assert np.allclose(edit_distances(msgs, normalise=True)[0], 3 / 6.5)  # / mean length
    rng = np.random.default_rng(0)
    ragged = [rng.integers(0, 3, rng.integers(0, 8)).tolist() for _ in range(80)]
    ref = [levenshtein(ragged[i], ragged[j]) for i in range(80) for j in range(i + 1, 80)]
    assert np.array_equal(edit_distances(ragged), ref)


def test_topsim_matches_pdist_with_a_python_callback():
    rng = np.random.default_rng(2)
    meanings = rng.integers(0, 3, (60, 3))
    msgs = np.c_[meanings, rng.integers(0, 3, (60, 3))]  # half signal, half noise
    ref = spearmanr(pdist(meanings, "hamming"), pdist(msgs, lambda u, v: levenshtein(u, v) / 6)).statistic
    assert topsim(meanings, msgs) == pytest.approx(ref, abs=1e-12)
    assert 0.2 < ref < 0.9


def test_topsim_eos_and_degenerate_input(grid):
    msgs = np.c_[grid + 1, np.zeros((len(grid), 3), int)]  # trailing eos padding
    assert topsim(grid, msgs, eos=0) == pytest.approx(topsim(grid, grid + 1))
    assert np.isnan(topsim(grid, np.ones((len(grid), 3), int)))  # one message for everything


def test_binned_spearman_equals_scipy_on_tied_data():
    from emergelab.measures._topsim import _spearman_binned

    for seed in range(200):  # small random cases, full of ties
        rng = np.random.default_rng(seed)
        kx, ky = rng.integers(1, 6, 2)
        x, y = rng.integers(0, kx, rng.integers(2, 60)), None
        y = np.where(rng.random(len(x)) < 0.5, x, rng.integers(0, ky, len(x)))  # correlated
        hist = np.zeros((x.max() + 1, y.max() + 1), int)
        np.add.at(hist, (x, y), 1)
        ref = spearmanr(x, y).statistic if np.ptp(x) and np.ptp(y) else np.nan
        got = _spearman_binned(hist)
        assert (np.isnan(got) and np.isnan(ref)) or abs(got - ref) <= 1e-12, (seed, got, ref)


@pytest.mark.parametrize("message_distance", ["edit", "hamming"])
def test_binned_topsim_equals_scipy_on_random_corpora(message_distance):
    from emergelab.measures.language import _messages

    for seed in range(60):
        rng = np.random.default_rng(seed)
        n, A, L = rng.integers(3, 40), rng.integers(1, 5), rng.integers(1, 6)
        m, x = rng.integers(0, 3, (n, A)), rng.integers(0, 3, (n, L))
        msgs = [r[:rng.integers(0, L + 1)] for r in x] if seed % 2 else x  # ragged and fixed length
        dx = edit_distances(msgs, normalise=True) if message_distance == "edit" else \
            pdist(_messages(msgs)[0], "hamming")
        dm = pdist(m, "hamming")
        ref = spearmanr(dm, dx).statistic if np.ptp(dm) and np.ptp(dx) else np.nan
        got = topsim(m, msgs, message_distance=message_distance)
        assert (np.isnan(got) and np.isnan(ref)) or abs(got - ref) <= 1e-12, (seed, got, ref)


@pytest.mark.parametrize("length", [9, 17, 33, 64, 70])  # 16-, 32-, 64-bit words; > 64: the DP
def test_topsim_on_long_messages_matches_scipy(length):
    rng = np.random.default_rng(length)
    meanings = rng.integers(0, 3, (40, 3))
    x = np.c_[meanings, rng.integers(0, 4, (40, length - 3))]
    ragged = [r[:rng.integers(length - 5, length + 1)] for r in x]
    for msgs in (x, ragged):
        ref = spearmanr(pdist(meanings, "hamming"), edit_distances(msgs, normalise=True)).statistic
        assert topsim(meanings, msgs) == pytest.approx(ref, abs=1e-12)


def test_topsim_falls_back_to_sorting_for_many_distinct_distances(monkeypatch):
    from emergelab.measures import _topsim

    rng = np.random.default_rng(3)
    meanings = rng.normal(size=(80, 3))  # continuous: every distance distinct
    msgs = np.c_[np.digitize(meanings, [-0.5, 0.5]), rng.integers(0, 3, (80, 2))]
    for dist in ("euclidean", "cosine"):
        ref = spearmanr(pdist(meanings, dist), pdist(msgs, lambda u, v: levenshtein(u, v) / 5)).statistic
        assert topsim(meanings, msgs, meaning_distance=dist) == pytest.approx(ref, abs=1e-12)
    grid_m = rng.integers(0, 4, (80, 4))
    binned = topsim(grid_m, msgs)
    monkeypatch.setattr(_topsim, "MAX_BINS", 0)  # force the sorting path on the same corpus
    assert topsim(grid_m, msgs) == pytest.approx(binned, abs=1e-12)


# ------------------------------------------------------------------ ARI and kappa

def test_adjusted_rand_index_by_hand():
    assert adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)  # renamed
    # every cell 1: index 0, row pairs 2, column pairs 2, expected 2 * 2 / 6: (0 - 2/3) / (2 - 2/3)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    assert adjusted_rand_index([0, 0, 1, 2], [0, 0, 1, 1]) == pytest.approx(4 / 7)  # (1 - 1/3) / (3/2 - 1/3)
    assert adjusted_rand_index(["a", "a", "b"], [5, 5, 9]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert abs(adjusted_rand_index(rng.integers(0, 10, 5000), rng.integers(0, 10, 5000))) < 0.01


def test_cohen_kappa_by_hand():
    # p_o = 3/4, p_e = 1/2 * 1/4 + 1/2 * 3/4 = 1/2
    assert cohen_kappa([0, 1, 0, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    # a 2x2 table [[20, 5], [10, 15]]: p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([0, 1, 2], [1, 2, 0]) == pytest.approx(-0.5)  # labels are not matched up
    assert cohen_kappa([3, 3], [3, 3]) == 1.0


# ------------------------------------------------------------------ power law

@pytest.mark.parametrize("alpha", [1.8, 2.5, 3.0])
def test_powerlaw_fit_recovers_alpha(alpha):
    x = np.random.default_rng(0).zipf(alpha, 10_000)  # discrete power law with xmin = 1
    fit = powerlaw_fit(x)
    assert abs(fit.alpha - alpha) < 0.1
    assert fit.n_tail >= 1000 and fit.ks < 0.05 and fit.preferred != "lognormal"


def test_powerlaw_fit_tells_a_lognormal_apart():
    x = np.maximum(1, np.round(np.random.default_rng(0).lognormal(3.0, 0.5, 5_000)))
    fit = powerlaw_fit(x, xmin=1)
    assert fit.preferred == "lognormal" and fit.loglik_ratio < 0 and fit.p_value < 0.01
    assert fit.lognormal_mu == pytest.approx(3.0, abs=0.1)
    assert fit.lognormal_sigma == pytest.approx(0.5, abs=0.05)


# ------------------------------------------------------------------ held-out combinations

def test_holdout_combinations_keep_every_value_in_training():
    grid = meaning_grid(3, 4)
    assert grid.shape == (64, 3) and len(np.unique(grid, axis=0)) == 64
    train, test = holdout_combinations(grid, test_fraction=0.25, seed=3)
    assert len(test) == 16 and len(train) == 48 and not set(train) & set(test)
    for a in range(3):
        assert set(grid[train, a]) == set(range(4))  # every value seen in training
    again = holdout_combinations(grid, test_fraction=0.25, seed=3)
    assert np.array_equal(again[1], test)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("call", [
    lambda: posdis([[0], [1]], [[1], [2]]),  # one attribute
    lambda: posdis([[0, 1], [1, 0]], [[1]]),  # one message for two meanings
    lambda: topsim(meaning_grid(2, 2), [[0]] * 4, meaning_distance="jaccard"),
    lambda: edit_distances([[1, -3]]),  # negative symbol
    lambda: message_entropy(np.array([[0.5, 1.0]])),  # not integers
    lambda: powerlaw_fit([0, 1, 2] * 10),  # a zero count
    lambda: adjusted_rand_index([0, 1], [0, 1, 2]),
    lambda: holdout_combinations(meaning_grid(2, 2), test_fraction=1.5),
    lambda: bosdis(meaning_grid(2, 2), [[1]] * 4, vocab_size=0),
])
def test_bad_input_is_a_user_error(call):
    with pytest.raises(UserError):
        call()
