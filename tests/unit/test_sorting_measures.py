"""Tests for emergelab.measures.sorting on small hand-made arrays with known answers."""

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.sorting import (
    aggregation,
    delayed_gratification,
    gratification_events,
    monotonicity_error,
    peak_of_mean,
    progress_curve,
    progress_indices,
    same_mover_fraction,
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


# ------------------------------------------------------------------ the reference's aggregation analysis

def test_aggregation_over_cells_divides_by_n():
    # pairs 00 01 11: 2 alike; the reference counts 4 cells, the last one (no right neighbour) unlike
    assert aggregation([0, 0, 1, 1], over="cells") == pytest.approx(2 / 4)
    assert aggregation([[1, 1, 1], [0, 1, 0]], over="cells").tolist() == pytest.approx([2 / 3, 0.0])
    with pytest.raises(UserError, match="over must be"):
        aggregation([0, 1], over="n")


def test_progress_indices_truncate_in_floating_point_as_the_reference():
    # 101 snapshots: point i is snapshot int(100 * i/100) = i, except where i/100 * 100 falls just
    # below i in binary floating point: 0.29 * 100 = 28.999999999999996 -> 28 (and 0.57 -> 56, 0.58 -> 57)
    idx = progress_indices(101)
    assert idx.shape == (101,) and idx[0] == 0 and idx[100] == 100 and idx[50] == 50
    assert idx[29] == 28 and idx[57] == 56 and idx[58] == 57 and idx[30] == 30
    assert progress_indices(5, points=3).tolist() == [0, 2, 4]          # int(4 * 0.5) = 2
    assert progress_indices(4, points=3).tolist() == [0, 1, 3]          # int(3 * 0.5) = 1
    assert progress_indices(1).tolist() == [0] * 101                     # one snapshot stands for all
    with pytest.raises(UserError, match="at least 1 snapshot"):
        progress_indices(0)


def test_progress_curve_and_peak_of_the_mean_by_hand():
    assert progress_curve([0.5, 0.6, 0.9, 0.7, 0.5], points=3).tolist() == [0.5, 0.9, 0.5]
    # two runs, 3 points: mean curve [0.5, 0.7, 0.55] -> peak 0.7 at point 1, below the mean
    # of the runs' own peaks (0.8 and 0.6 -> 0.7 here; it is never above it)
    curves = [[0.5, 0.8, 0.5], [0.5, 0.6, 0.6]]
    peak, at = peak_of_mean(curves)
    assert peak == pytest.approx(0.7) and at == 1
    peak, at = peak_of_mean([[0.5, 0.9, 0.5], [0.5, 0.5, 0.7]])    # means 0.5 0.7 0.6: not 0.9, nor 0.8
    assert peak == pytest.approx(0.7) and at == 1
    with pytest.raises(UserError, match="2-D"):
        peak_of_mean([0.5, 0.6])
    with pytest.raises(UserError, match="NaN"):
        peak_of_mean([[0.5, float("nan")]])
    with pytest.raises(UserError, match="1-D"):
        progress_curve([[0.5]])


def test_same_mover_fraction_by_hand():
    assert same_mover_fraction([3, 3, 3, 5, 3, 5, 5]) == pytest.approx(3 / 6)   # 33 33 35 53 35 55
    assert same_mover_fraction([1, 2, 3]) == 0.0
    assert np.isnan(same_mover_fraction([4]))
    with pytest.raises(UserError, match="1-D"):
        same_mover_fraction([[1, 2]])


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
