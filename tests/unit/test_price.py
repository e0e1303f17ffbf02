"""Tests for emergelab.measures.price: the identity on random populations, a hand-computed
example, degenerate populations and bad input."""

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.price import PriceTerms, price_equation


def random_population(rng, n, n_groups, transmission=True):
    groups = rng.integers(n_groups, size=n)
    z = rng.normal(size=n) * rng.uniform(0.1, 10)
    w = rng.poisson(rng.uniform(0.5, 4), size=n).astype(float)
    w[0] = max(w[0], 1.0)  # at least one offspring
    zo = z + rng.normal(scale=0.5, size=n) if transmission else None
    return groups, z, w, zo


@pytest.mark.parametrize("n", [1, 2, 5, 17, 100, 1000, 10_000])
def test_identity_holds_on_random_populations(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        groups, z, w, zo = random_population(rng, n, rng.integers(1, max(2, n // 3) + 1))
        p = price_equation(groups, z, w, zo)
        assert abs(p.residual) <= 1e-12
        assert abs(p.total - (p.between + p.within)) <= 1e-12
        assert abs(p.selection - (p.between + p.within_selection)) <= 1e-12  # total covariance
        assert abs(p.within - (p.within_selection + p.transmission)) <= 1e-12
        assert abs(p.total - (p.selection + p.transmission)) <= 1e-12  # single-level form
        assert p.total == pytest.approx(p.w_bar * p.delta_z_bar, abs=1e-12)


def test_identity_with_childless_parents_and_missing_offspring_traits():
    rng = np.random.default_rng(7)
    groups, z, w, zo = random_population(rng, 500, 20)
    w[::3] = 0.0
    zo[::3] = np.nan  # no offspring, no offspring trait: allowed
    p = price_equation(groups, z, w, zo)
    assert abs(p.residual) <= 1e-12
    assert abs(p.within - (p.within_selection + p.transmission)) <= 1e-12


def test_hand_computed_example():
    # group A: z = 1, 1 with 2 and 2 offspring; group B: z = 0, 0 with 1 and 0 offspring.
    # The offspring of A's first member have trait 0.5 (transmission), all others breed true.
    p = price_equation(["A", "A", "B", "B"], [1, 1, 0, 0], [2, 2, 1, 0], [0.5, 1, 0, np.nan])
    # w̄ = 5/4, z̄ = 1/2, z̄' = (2*0.5 + 2*1 + 1*0) / 5 = 3/5, so w̄Δz̄ = 5/4 * 1/10 = 1/8
    assert p.w_bar == 1.25 and p.z_bar == 0.5 and p.z_bar_offspring == pytest.approx(0.6)
    assert p.total == pytest.approx(0.125, abs=1e-15)
    # groups: W = (2, 1/2), Z = (1, 0), each of weight 1/2:
    # Cov_k = 1/2 (2 - 5/4)(1 - 1/2) + 1/2 (1/2 - 5/4)(0 - 1/2) = 3/16 + 3/16 = 3/8
    assert p.between == pytest.approx(0.375, abs=1e-15)
    # within: A: z̄'_A = 3/4, Δz_A = -1/4, W_A Δz_A = -1/2; B: Δz_B = 0 -> E_k = -1/4
    assert p.within == pytest.approx(-0.25, abs=1e-15)
    assert p.within_selection == pytest.approx(0.0, abs=1e-15)  # z constant within each group
    assert p.transmission == pytest.approx(-0.25, abs=1e-15)  # mean of w (z' - z) = (2 * -0.5) / 4
    assert p.selection == pytest.approx(0.375, abs=1e-15)
    assert p.n == 4 and p.n_groups == 2
    assert isinstance(p, PriceTerms) and p.to_dict()["between"] == p.between


def test_default_offspring_traits_mean_no_transmission():
    rng = np.random.default_rng(1)
    groups, z, w, _ = random_population(rng, 300, 10)
    p = price_equation(groups, z, w)
    assert p.transmission == 0.0
    assert p.within == pytest.approx(p.within_selection, abs=1e-12)
    assert p.total == pytest.approx(p.selection, abs=1e-12)


def test_one_group_has_no_between_term():
    rng = np.random.default_rng(2)
    _, z, w, zo = random_population(rng, 200, 1)
    p = price_equation(np.zeros(200, int), z, w, zo)
    assert p.n_groups == 1 and p.between == pytest.approx(0.0, abs=1e-12)
    assert p.within == pytest.approx(p.total, abs=1e-12)


def test_equal_fitness_means_no_selection():
    rng = np.random.default_rng(3)
    groups, z, _, zo = random_population(rng, 200, 8)
    p = price_equation(groups, z, np.full(200, 2.0), zo)
    assert p.between == pytest.approx(0.0, abs=1e-12)
    assert p.within_selection == pytest.approx(0.0, abs=1e-12)
    assert p.total == pytest.approx(p.transmission, abs=1e-12)


def test_group_selection_alone():
    # traits constant within groups, fitness a function of the group: all change is between
    p = price_equation([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2], [1, 1, 2, 2, 3, 3])
    assert p.between > 0 and p.within == 0.0 and p.total == pytest.approx(p.between)


@pytest.mark.parametrize("args, match", [
    (([0, 1], [1.0, 2.0], [1.0]), "offspring has 1 values"),
    (([0], [1.0, 2.0], [1.0, 1.0]), "groups must be 1-D"),
    (([0, 1], [1.0, np.nan], [1.0, 1.0]), "traits contains 1 NaN"),
    (([0, 1], [1.0, 2.0], [1.0, np.inf]), "offspring contains 1 NaN"),
    (([0, 1], [1.0, 2.0], [1.0, -1.0]), "must be >= 0"),
    (([0, 1], [1.0, 2.0], [0.0, 0.0]), "no individual has offspring"),
    (([0, 1], [1.0, 2.0], [1.0, 1.0], [np.nan, 1.0]), "z' may be missing only where"),
    (([], [], []), "empty"),
    (([0, 1], [[1.0, 2.0]], [1.0, 1.0]), "must be 1-D"),
    (([0, 1], ["a", "b"], [1.0, 1.0]), "numeric"),
])
def test_bad_input_is_a_user_error(args, match):
    with pytest.raises(UserError, match=match):
        price_equation(*args)
