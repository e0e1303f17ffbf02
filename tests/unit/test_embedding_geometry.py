"""measures.embedding_geometry on constructed embeddings with known answers: principal angles of
planted subspaces (orthogonal -> 90 deg, identical -> 0, a planted angle), the hierarchical
decomposition by hand, ridge probes with a known R^2, and the Fisher ratio by hand."""

from __future__ import annotations

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures import embedding_geometry as eg


def _e(d: int, *idx: int) -> np.ndarray:
    return np.eye(d)[:, list(idx)]  # (d, k) coordinate axes


def test_principal_angles_orthogonal_identical_and_planted():
    assert np.degrees(eg.principal_angles(_e(6, 0, 1), _e(6, 2, 3, 4))) == pytest.approx([90, 90])
    # the same plane in another (non-orthonormal) basis: both angles 0
    B = _e(5, 0, 1) @ np.array([[2.0, 1.0], [0.5, -3.0]])
    assert np.degrees(eg.principal_angles(_e(5, 0, 1), B)) == pytest.approx([0, 0], abs=1e-6)
    th = np.radians(30)
    line = np.array([[np.cos(th)], [np.sin(th)], [0.0]])
    assert np.degrees(eg.principal_angles(_e(3, 0), line)) == pytest.approx([30])
    # a plane and a line at 30 deg to it: one angle; plus a shared axis: ascending (0, then 90)
    assert np.degrees(eg.principal_angles(_e(3, 0, 2), np.c_[line, _e(3, 2)])) == pytest.approx([0, 30])
    s = eg.angle_summary(_e(4, 0, 1), _e(4, 1, 2))
    assert s["angle_mean_deg"] == pytest.approx(45) and s["angle_min_deg"] == pytest.approx(0, abs=1e-6)
    assert s["cos_mean"] == pytest.approx(0.5)


def test_pca_basis_recovers_a_planted_subspace():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 2)) * [3.0, 2.0] @ _e(8, 1, 5).T + 0.01 * rng.standard_normal((500, 8))
    Q = eg.pca_basis(X + 7.0, 2)  # an offset changes nothing (rows are centred)
    assert Q.shape == (8, 2) and np.allclose(Q.T @ Q, np.eye(2))
    assert np.degrees(eg.principal_angles(Q, _e(8, 1, 5))).max() < 1


def test_random_baseline_of_lines_in_a_plane_is_45_degrees():
    # the angle between two random lines in R^2 is uniform on [0, 90]
    assert eg.random_angle_baseline(2, 1, 1, n=4000, seed=1) == pytest.approx(45, abs=1.5)
    assert eg.random_angle_baseline(400, 2, 2, n=20) > 80  # high dimension: nearly orthogonal


def test_variance_share_and_covariance_cosine():
    rng = np.random.default_rng(1)
    inside = rng.standard_normal((50, 2)) @ _e(6, 0, 1).T  # rows in span(e0, e1)
    outside = rng.standard_normal((50, 3)) @ _e(6, 2, 3, 4).T
    assert eg.variance_share(inside, _e(6, 0, 1)) == pytest.approx(1)
    assert eg.variance_share(outside, _e(6, 0, 1)) == pytest.approx(0)
    assert eg.variance_share(np.array([[1.0, 1.0, 0, 0, 0, 0]]), _e(6, 0)) == pytest.approx(0.5)
    assert eg.covariance_cosine(inside, outside) == pytest.approx(0)
    assert eg.covariance_cosine(inside, 3 * inside) == pytest.approx(1)


def test_decompose_by_hand():
    # two classes x two sub-labels in 1-D; class 1's sub-label 1 has two rows
    E = np.array([[0.0], [2.0], [10.0], [13.0], [15.0]])
    cls, sub = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 0, 1, 1])
    means, cells, offsets, resid = eg.decompose(E, cls, sub)
    assert cells[:, :, 0].tolist() == [[0, 2], [10, 14]]
    assert means[:, 0].tolist() == [1, 12]  # the mean of the cell means, not of the rows
    assert offsets[:, :, 0].tolist() == [[-1, 1], [-2, 2]]
    assert resid[:, 0].tolist() == [0, 0, 0, -1, 1]
    _, cells, _, _ = eg.decompose(E[:2], cls[:2], sub[:2], n_cls=2, n_sub=2)
    assert np.isnan(cells[1]).all()  # an empty cell is NaN, not 0


def test_ridge_exact_and_known_r2():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 5))
    W = rng.standard_normal((5, 2))
    W_hat, b_hat = eg.ridge_fit(X, X @ W + [1.0, -2.0], lam=0.0)
    assert W_hat == pytest.approx(W) and b_hat == pytest.approx([1.0, -2.0])
    assert eg.r2_score([1, 2, 3], [1, 2, 4]) == pytest.approx(0.5)  # SSE 1, SST 2
    # planted R^2: signal variance 4, noise variance 1 -> 0.8
    X = rng.standard_normal((6000, 3))
    y = X @ np.array([2.0, 0.0, 0.0]) + rng.standard_normal(6000)
    folds = np.arange(6000) % 5
    assert eg.cv_ridge_r2(X, y, folds, lam=1e-3) == pytest.approx(0.8, abs=0.02)
    assert eg.cv_ridge_r2(X, rng.standard_normal(6000), folds) < 0.01  # nothing to predict: ~0 or below


def test_ridge_classifier_and_fisher_ratio():
    X = np.array([[0.0], [2.0], [10.0], [12.0]])
    y = np.array([0, 0, 1, 1])
    # means 1 and 11 around 6: S_B = 2 * 25 + 2 * 25 = 100; S_W = 4 x 1 = 4
    assert eg.fisher_ratio(X, y) == pytest.approx(25)
    assert eg.fisher_ratio(np.zeros((4, 1)) + [[0.0], [1.0], [0.0], [1.0]], y) == pytest.approx(0)
    assert eg.ridge_classify_acc(X, y, np.array([[1.0], [11.0]]), [0, 1], 2) == 1.0


@pytest.mark.parametrize("call", [
    lambda: eg.pca_basis(np.ones((3, 2)), 3),
    lambda: eg.pca_basis(np.array([[np.nan, 1.0]]), 1),
    lambda: eg.principal_angles(np.ones((3, 1)), np.ones((4, 1))),
    lambda: eg.ridge_fit(np.ones((3, 2)), np.ones(4)),
    lambda: eg.cv_ridge_r2(np.ones((3, 2)), np.ones(3), np.zeros(3)),
    lambda: eg.decompose(np.ones((2, 2)), [0, -1], [0, 0]),
    lambda: eg.random_angle_baseline(3, 4, 1),
])
def test_bad_input_is_a_user_error(call):
    with pytest.raises(UserError):
        call()
