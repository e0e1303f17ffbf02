"""Tests for emergelab.measures.sorting on small hand-made arrays with known answers."""

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.sorting import (
    aggregation,
    delayed_gratification,
    gratification_events,
    monotonicity_error,
    sorted_positions,
    sortedness,
    spearman_distance,
)


# ------------------------------------------------------------------ sortedness, monotonicity error

def test_sortedness_and_error_by_hand():
    a = [0, 2, 1, 3, 5, 4]            # pairs: ok, inv, ok, ok, inv -> 3 of 5 in order
    assert monotonicity_error(a) == 2
    assert sortedness(a) == pytest.approx(3 / 5)
    assert monotonicity_error([1, 2, 3]) == 0 and sortedness([1, 2, 3]) == 1.0
    assert monotonicity_error([3, 2, 1]) == 2 and sortedness([3, 2, 1]) == 0.0


def test_equal_neighbours_are_in_order():
    assert monotonicity_error([1, 1, 1, 0]) == 1
    assert sortedness([1, 1, 2, 2]) == 1.0


def test_trajectory_rows_are_vectorised():
    traj = np.array([[2, 1, 0], [1, 2, 0], [0, 1, 2]])     # (T=3, n=3)
    assert monotonicity_error(traj).tolist() == [2, 1, 0]
    assert sortedness(traj).tolist() == [0.0, 0.5, 1.0]
    assert spearman_distance(traj).tolist() == [4, 4, 0]
    assert isinstance(monotonicity_error([2, 1]), int) and isinstance(sortedness([2, 1]), float)


# ------------------------------------------------------------------ Spearman distance

def test_spearman_of_a_permutation_is_sum_of_displacements():
    a = [2, 0, 1, 4, 3]               # |2-0| + |0-1| + |1-2| + |4-3| + |3-4| = 6
    assert spearman_distance(a) == 6
    rng = np.random.default_rng(0)
    p = rng.permutation(50)
    assert spearman_distance(p) == np.abs(p - np.arange(50)).sum()
    assert spearman_distance(np.arange(10)) == 0
    assert spearman_distance(np.arange(10)[::-1]) == 50   # reversed: sum |9 - 2i| = 50


def test_spearman_ignores_value_scale():
    # only the order counts: any increasing relabelling gives the same distance
    assert spearman_distance([20, 0, 10, 40, 30]) == spearman_distance([2, 0, 1, 4, 3])


def test_spearman_with_duplicates_uses_stable_positions():
    # [1, 0, 1, 0]: stably sorted -> 0 (idx 1), 0 (idx 3), 1 (idx 0), 1 (idx 2)
    assert sorted_positions([1, 0, 1, 0]).tolist() == [2, 0, 3, 1]
    assert spearman_distance([1, 0, 1, 0]) == 2 + 1 + 1 + 2
    assert spearman_distance([0, 0, 1, 1]) == 0   # a block of equal values in place costs nothing
    assert spearman_distance([1, 1, 0, 0]) == 8


# ------------------------------------------------------------------ aggregation

def test_aggregation_by_hand():
    assert aggregation([0, 0, 1, 1]) == pytest.approx(2 / 3)   # pairs 00 01 11: 2 of 3 alike
    assert aggregation([0, 1, 0, 1]) == 0.0
    assert aggregation([1, 1, 1]) == 1.0
    assert aggregation(["bubble", "bubble", "selection"]) == 0.5
    assert aggregation([[0, 0, 1], [0, 1, 0]]).tolist() == [0.5, 0.0]


def test_aggregation_of_random_mixing_is_about_half():
    rng = np.random.default_rng(1)
    rows = np.array([rng.permutation(np.arange(200) % 2) for _ in range(400)])
    assert aggregation(rows).mean() == pytest.approx(99 / 199, abs=0.005)   # (n/2 - 1)/(n - 1)


# ------------------------------------------------------------------ delayed gratification

def test_delayed_gratification_on_a_hand_made_trajectory():
    errors = [5, 5, 6, 7, 4, 4, 2, 3, 1, 1, 2]
    # plateaus dropped: 5 6 7 4 2 3 1 2 -> runs +2 -5 +1 -2 +1 (the last setback never recovers)
    assert gratification_events(errors).tolist() == [[2, 5], [1, 2]]
    assert delayed_gratification(errors) == pytest.approx(((5 - 2) / 2 + (2 - 1) / 1) / 2)  # 1.25


def test_a_fall_before_the_first_setback_is_no_recovery():
    assert gratification_events([9, 5, 6, 2]).tolist() == [[1, 4]]
    assert delayed_gratification([9, 5, 6, 2]) == 3.0
    # a recovery smaller than its setback gives a negative value
    assert delayed_gratification([3, 5, 4]) == pytest.approx((1 - 2) / 2)


def test_monotone_trajectories_have_no_gratification():
    assert delayed_gratification([5, 4, 4, 2, 0]) == 0.0
    assert delayed_gratification([0, 1, 2]) == 0.0
    assert delayed_gratification([3]) == 0.0
    assert gratification_events([3, 3]).shape == (0, 2)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("f", [sortedness, monotonicity_error, spearman_distance, aggregation])
def test_bad_shapes_are_user_errors(f):
    with pytest.raises(UserError, match="at least 2"):
        f([1])
    with pytest.raises(UserError, match="1-D"):
        f(np.zeros((2, 2, 2)))


def test_nan_and_text_are_user_errors():
    with pytest.raises(UserError, match="NaN"):
        sortedness([1.0, float("nan"), 2.0])
    with pytest.raises(UserError, match="numeric"):
        monotonicity_error(["a", "b"])
    with pytest.raises(UserError, match="1-D"):
        delayed_gratification([[1, 2], [3, 4]])
    with pytest.raises(UserError, match="NaN"):
        delayed_gratification([1.0, float("inf")])
