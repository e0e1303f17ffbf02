"""Solution concepts of bimatrix games (measures/games.py) against known games and brute force:
Nash equilibria of matching pennies, the prisoner's dilemma, battle of the sexes and rock-paper-
scissors; pure commitment against enumeration; mixed commitment against a fine grid over the
leader's simplex (2 x 2 and 2 x 3); satisficing and the causal equilibrium against their
definitions; the statistics against scipy.stats; bad payoffs give one clear line."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from emergelab.errors import UserError
from emergelab.measures import games as gm


def _same_set(found, expected):
    assert len(found) == len(expected), found
    for x, y in expected:
        assert any(np.allclose(x, a, atol=1e-9) and np.allclose(y, b, atol=1e-9) for a, b in found), (x, y, found)


def test_matching_pennies_has_one_mixed_equilibrium():
    A = np.array([[1, -1], [-1, 1]])
    _same_set(gm.nash_equilibria(A, -A), [([0.5, 0.5], [0.5, 0.5])])


def test_prisoners_dilemma_has_only_mutual_defection():
    A = np.array([[3, 0], [5, 1]])  # rows / columns: cooperate, defect
    _same_set(gm.nash_equilibria(A, A.T), [([0, 1], [0, 1])])


def test_battle_of_the_sexes_has_two_pure_and_one_mixed_equilibrium():
    A, B = np.array([[2, 0], [0, 1]]), np.array([[1, 0], [0, 2]])
    _same_set(gm.nash_equilibria(A, B), [([1, 0], [1, 0]), ([0, 1], [0, 1]), ([2 / 3, 1 / 3], [1 / 3, 2 / 3])])


def test_rock_paper_scissors_needs_the_full_support():
    A = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    _same_set(gm.nash_equilibria(A, -A), [(np.full(3, 1 / 3), np.full(3, 1 / 3))])


def test_nash_batch_agrees_with_one_game_at_a_time_and_equilibria_are_equilibria():
    rng = np.random.default_rng(3)
    A, B = rng.random((20, 3, 4)), rng.random((20, 3, 4))
    X, Y, valid = gm.nash_batch(A, B)
    for g in range(20):
        eqs = gm.nash_equilibria(A[g], B[g])
        assert len(eqs) == valid[g].sum() and len(eqs) % 2 == 1  # nondegenerate games: an odd number
        for x, y in eqs:  # no profitable deviation for either player
            assert (A[g] @ y).max() <= x @ A[g] @ y + 1e-9 and (x @ B[g]).max() <= x @ B[g] @ y + 1e-9


def _pure_brute(A, B):
    """Enumerate: after each row the follower takes a best reply (ties: the leader's favourite)."""
    best = (-np.inf, None)
    for i in range(A.shape[0]):
        br = [j for j in range(A.shape[1]) if B[i, j] == B[i].max()]
        j = max(br, key=lambda j: A[i, j])
        if A[i, j] > best[0]:
            best = (A[i, j], (i, j))
    return best


def test_pure_commitment_matches_enumeration():
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 4, (300, 3, 4)).astype(float), rng.integers(0, 4, (300, 3, 4)).astype(float)  # many ties
    out = gm.pure_commitment(A, B)
    for g in range(300):
        value, _ = _pure_brute(A[g], B[g])
        i, j = out.x[g].argmax(), out.y[g].argmax()
        assert out.leader[g] == value == A[g, i, j] and out.follower[g] == B[g, i, j] == B[g, i].max()


def test_weak_pure_commitment_breaks_ties_against_the_leader():
    A, B = np.array([[5.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [0.0, 2.0]])  # row 0: the follower is indifferent
    assert gm.pure_commitment(A, B).leader == 5.0
    assert gm.pure_commitment(A, B, favour=False).leader == 1.0


@pytest.mark.parametrize("n", [2, 3])
def test_mixed_commitment_is_not_beaten_by_a_grid_over_the_leader_simplex(n):
    rng = np.random.default_rng(n)
    h = 1e-3
    p = np.linspace(0, 1, int(1 / h) + 1)
    X = np.stack([p, 1 - p], 1)  # (K, 2): the 2-row leader's simplex
    for A, B in zip(rng.random((40, 2, n)), rng.random((40, 2, n))):
        lp = gm.mixed_commitment(A, B)
        j = (X @ B).argmax(1)  # the follower's reply at each grid point (ties have measure zero)
        grid = (X @ A)[np.arange(len(X)), j].max()
        lip = np.abs(A[0] - A[1]).max()  # the leader's value moves at most this much per unit of p
        assert grid <= lp.leader + 1e-9  # the LP is never beaten
        assert lp.leader <= grid + lip * h + 1e-9  # ... and is reached by the grid within its resolution
        assert lp.leader >= gm.pure_commitment(A, B).leader - 1e-9  # mixing never hurts the leader
        assert np.isclose(lp.x @ A @ lp.y, lp.leader) and lp.x.min() >= 0 and np.isclose(lp.x.sum(), 1)
        assert (lp.x @ B).max() <= lp.x @ B @ lp.y + 1e-7  # the follower's action is a best reply


def test_mixed_commitment_beats_every_nash_equilibrium_for_the_leader():
    rng = np.random.default_rng(5)
    A, B = rng.random((60, 3, 3)), rng.random((60, 3, 3))
    lp = gm.mixed_commitment(A, B)
    best_nash, count = gm.nash_outcomes(A, B, "best", by="leader")
    assert (count >= 1).all() and (lp.leader >= best_nash.leader - 1e-9).all()


def test_known_commitment_value():
    # Conitzer & Sandholm (2006): Up dominates for the leader (Nash: 1); committing to Down gets 2;
    # committing to Up with probability 1/2 (the follower, indifferent, takes Right) gets 2.5
    A, B = np.array([[1.0, 3.0], [0.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    assert gm.nash_outcomes(A, B, "best", by="leader")[0].leader == 1.0
    assert gm.pure_commitment(A, B).leader == 2.0
    out = gm.mixed_commitment(A, B)
    assert np.isclose(out.leader, 2.5) and np.allclose(out.x, [0.5, 0.5]) and out.y.argmax() == 1


def test_satisficing_brackets_and_matches_its_definition():
    rng = np.random.default_rng(2)
    A, B = rng.random((200, 3, 4)), rng.random((200, 3, 4))
    assert np.allclose(gm.satisficing_commitment(A, B, 0.0, "best").leader, gm.pure_commitment(A, B).leader)
    last_w, last_b = None, None
    for eps in (0.0, 0.05, 0.1, 0.3, 1.0):
        w, b = gm.satisficing_commitment(A, B, eps, "worst"), gm.satisficing_commitment(A, B, eps, "best")
        assert (w.leader <= b.leader + 1e-12).all()
        if last_w is not None:  # a looser follower: the worst case only falls, the best case only rises
            assert (w.leader <= last_w + 1e-12).all() and (b.leader >= last_b - 1e-12).all()
        last_w, last_b = w.leader, b.leader
        for g in range(0, 200, 17):  # brute force
            acc = [[j for j in range(4) if B[g, i, j] >= B[g, i].max() - eps] for i in range(3)]
            assert np.isclose(w.leader[g], max(min(A[g, i, j] for j in acc[i]) for i in range(3)))
            assert np.isclose(b.leader[g], max(max(A[g, i, j] for j in acc[i]) for i in range(3)))
    assert np.allclose(gm.satisficing_commitment(A, B, 1.0, "worst").leader, A.min(2).max(1))  # accepts anything


def test_causal_equilibrium_equals_stackelberg_with_a_rational_follower():
    rng = np.random.default_rng(7)
    A, B = rng.random((40, 3, 3)), rng.random((40, 3, 3))
    ce, rung = gm.causal_equilibrium(A, B)
    mixed = gm.mixed_commitment(A, B)
    assert np.allclose(ce.welfare, mixed.welfare) and (rung == 1).all()
    steered, _ = gm.causal_equilibrium(A, B, eps=0.2, steer=True)
    assert (steered.leader >= mixed.leader - 1e-9).all() and steered.leader.mean() > mixed.leader.mean() + 0.01


def test_causal_equilibrium_takes_the_rung_best_for_the_leader_and_ties_to_welfare():
    o = lambda lead, fol: gm.Outcome(np.array([lead]), np.array([fol]), np.array([[1.0, 0]]), np.array([[1.0, 0]]))  # noqa: E731
    A = B = np.zeros((1, 2, 2))
    _, rung = gm.causal_equilibrium(A, B, layers=(o(2.0, 0), o(1.0, 5), o(1.5, 5)))
    assert rung.tolist() == [0]  # association pays the leader most
    out, rung = gm.causal_equilibrium(A, B, layers=(o(1.0, 0), o(1.0, 1), o(1.0, 3)))
    assert rung.tolist() == [2] and out.follower[0] == 3  # a tie in the leader's payoff: higher welfare
    _, rung = gm.causal_equilibrium(A, B, layers=(o(1.0, 1), o(1.0, 1), o(1.0, 1)))
    assert rung.tolist() == [1]  # a full tie: intervention


def test_mean_ci_and_paired_test_agree_with_scipy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    b = a + rng.normal(0.3, 1.0, 40)
    m, lo, hi = gm.mean_ci(a, 0.95)
    assert np.allclose((lo, hi), stats.t.interval(0.95, 39, loc=a.mean(), scale=stats.sem(a)))
    pt = gm.paired_test(b, a)
    assert np.isclose(pt["p"], stats.ttest_rel(b, a).pvalue) and pt["n"] == 40
    assert pt["n_higher"] + pt["n_lower"] == 40
    same = gm.paired_test(a, a.copy())
    assert same["p"] == 1.0 and same["mean"] == 0 and same["lo"] == same["hi"] == 0


@pytest.mark.parametrize("A, B", [(np.zeros((2, 3)), np.zeros((3, 2))), (np.zeros((2, 2)), np.zeros((2, 3))),
                                  (np.zeros(3), np.zeros(3)), ([[1, np.nan]], [[1, 2]]), ([["a", 1]], [[1, 2]])])
def test_bad_payoffs_give_one_clear_line(A, B):
    for f in (gm.pure_commitment, gm.mixed_commitment, gm.nash_equilibria):
        with pytest.raises(UserError) as e:
            f(A, B)
        assert "\n" not in str(e.value) and "payoff" in str(e.value)
    with pytest.raises(UserError, match="leader A is \\(2, 3\\), follower B is \\(3, 2\\)"):
        gm.causal_equilibrium(np.zeros((2, 3)), np.zeros((3, 2)))
