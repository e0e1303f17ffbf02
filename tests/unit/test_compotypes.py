"""Tests for emergelab.measures.compotypes on hand-made compositions with known answers."""

import numpy as np
import pytest

from emergelab.errors import UserError
from emergelab.measures.compotypes import (
    consecutive_similarity,
    find_compotypes,
    kmeans,
    neighbour_similarity,
    non_drift,
    similarity_matrix,
)

A = np.array([4.0, 4, 2, 0, 0, 0, 0, 0])  # two made-up compotypes on 8 types, orthogonal
B = np.array([0.0, 0, 0, 0, 5, 3, 2, 0])


def jitter(base, n, seed, scale=0.3):
    rng = np.random.default_rng(seed)
    return np.abs(base + rng.normal(scale=scale, size=(n, len(base))) * (base > 0))


def test_similarity_by_hand():
    C = np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 2]])
    S = similarity_matrix(C)
    assert S.shape == (3, 3) and np.allclose(np.diag(S), 1.0)
    assert S[0, 1] == pytest.approx(1 / np.sqrt(2)) and S[0, 2] == 0.0 and S[1, 2] == 0.0
    assert np.allclose(S, S.T)
    assert np.allclose(consecutive_similarity(C), [1 / np.sqrt(2), 0.0])
    # neighbour mean: ends have one neighbour, the middle averages both
    assert np.allclose(neighbour_similarity(C), [1 / np.sqrt(2), 0.5 / np.sqrt(2), 0.0])
    assert similarity_matrix(3 * C)[0, 1] == pytest.approx(S[0, 1])  # scale-free


def test_non_drift_marks_stasis_and_not_the_jumps():
    # 10 generations near A, one random generation, 10 near B
    C = np.vstack([jitter(A, 10, 0), [[1.0, 0, 1, 1, 0, 0, 1, 3]], jitter(B, 10, 1)])
    nd = non_drift(C, 0.9)
    assert nd.shape == (21,)
    assert nd[:9].all() and nd[12:].all()  # inside each stasis
    assert not nd[9:12].any()  # the generation before, at and after the jump
    assert non_drift(C, 0.999).sum() < nd.sum()


def test_two_compotypes_found_with_their_centres():
    C = np.vstack([jitter(A, 30, 2), jitter(B, 20, 3), jitter(A, 15, 4)])
    ct = find_compotypes(C, threshold=0.9)
    assert ct.k == 2 and ct.sizes.tolist()[0] >= ct.sizes.tolist()[1]
    a, b = ct.labels[0], ct.labels[35]
    assert a != b and a >= 0 and b >= 0
    assert (ct.labels[ct.labels >= 0][:28] == a).all()  # A's stasis, interior
    assert ct.labels[-5] == a  # A recurs: the same compotype
    assert similarity_matrix(np.vstack([ct.centroids[a], A]))[0, 1] > 0.99
    assert similarity_matrix(np.vstack([ct.centroids[b], B]))[0, 1] > 0.99
    assert (ct.coherence > 0.9).all() and ct.centroids.shape == (2, 8)


def test_one_stasis_is_one_compotype_and_pure_drift_none():
    ct = find_compotypes(jitter(A, 40, 5))
    assert ct.k == 1 and (ct.labels == 0).all()
    drift = np.random.default_rng(6).integers(0, 3, size=(40, 50)).astype(float) + np.eye(40, 50) * 5
    ct = find_compotypes(drift)
    assert ct.k == 0 and (ct.labels == -1).all() and ct.centroids.shape == (0, 50)


def test_fixed_k_and_seeded_kmeans_is_deterministic():
    C = np.vstack([jitter(A, 20, 7), jitter(B, 20, 8)])
    assert find_compotypes(C, k=1).k == 1
    X = np.vstack([np.zeros((5, 2)), np.ones((5, 2)) * 10])
    lab, M = kmeans(X, 2, seed=0)
    assert len(set(lab[:5])) == 1 and len(set(lab[5:])) == 1 and lab[0] != lab[5]
    assert np.allclose(np.sort(M[:, 0]), [0, 10])
    lab2, _ = kmeans(X, 2, seed=0)
    assert np.array_equal(lab, lab2)


@pytest.mark.parametrize("C, match", [
    (np.ones(5), "2-D"),
    (np.array([[1.0, np.nan], [1, 1]]), "NaN"),
    (np.array([[1.0, 1], [0, 0]]), "all zeros"),
])
def test_bad_compositions_are_user_errors(C, match):
    with pytest.raises(UserError, match=match):
        similarity_matrix(C)


def test_bad_arguments_are_user_errors():
    C = np.vstack([jitter(A, 20, 9)])
    with pytest.raises(UserError, match="threshold"):
        find_compotypes(C, threshold=1.5)
    with pytest.raises(UserError, match="k must be"):
        find_compotypes(C, k=100)
    with pytest.raises(UserError, match="at least 2 generations"):
        non_drift(C[:1])
