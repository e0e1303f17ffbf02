"""Compotypes: recurring, self-preserving compositions in a series of composition vectors.

Effect: in GARD (Segré, Ben-Eli & Lancet 2000, "Compositional genomes: prebiotic
information transfer in mutually catalytic noncovalent assemblies", PNAS 97:4112) an
assembly that grows by mutual catalysis and splits keeps its composition across many
generations ("compositional inheritance"); the long-lived, recurring compositions are the
compotypes. Used as in "Chemical Heredity as Group Selection at the Molecular Level" (2018).

Definitions (C is (G, T): one composition, e.g. molecule counts per type, per generation):
    H(a, b)       cosine similarity of two compositions, in [0, 1] for counts
    consecutive   H(C[t], C[t+1]) for t = 0..G-2
    non-drift     generation t whose mean H with its neighbours (t-1 and t+1; only one at
                  either end) is > threshold (0.9 in the GARD literature); the others drift
    compotypes    k-means clusters of the non-drift compositions (unit-normalised, so the
                  squared distance is 2 - 2H: k-means on the sphere is clustering by H).
                  With k=None, k is the smallest number of clusters at which the non-drift
                  generations have, on average, H >= threshold with the centre of their
                  cluster (the normalised sum of its members): as few compotypes as it
                  takes for a typical member to be as close to its compotype as a
                  non-drift generation is to its neighbours. Two stricter rules fail on
                  GARD: mean *pairwise* H >= threshold (within one long stasis the
                  composition wanders, so its two ends fall below 0.9 of each other) and
                  "every cluster coherent" (a few transitional generations between two
                  compotypes keep some cluster below the threshold at any k); both split
                  one compotype into many.
                  rule="silhouette" is the GARD authors' rule (Markovitch & Lancet's MATLAB
                  code, tgs_acluster.m / tgs_kmeans.m): k-means with cosine distance
                  (spherical k-means) for k = 1..10, keep the k with the best mean
                  silhouette (see `choose_k_silhouette` for k = 1).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line


def _one_blas_thread():
    """Run the small products of k-means on one BLAS thread. At (m, T) x (T, k) sizes threads
    only add synchronisation, and on a busy machine OpenBLAS's waiting threads made the
    silhouette rule 12x slower (8.4 s against 0.7 s for 1,200 GARD generations on 2 shared cores).
    threadpoolctl comes with scikit-learn; without it, nothing changes."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, "blas")


def _compositions(C) -> np.ndarray:
    try:
        X = np.asarray(C, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"compositions must be numeric; could not turn {type(C).__name__} "
                        "into floats") from None
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise UserError(f"compositions must be 2-D (generations, types), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise UserError("compositions contain NaN/inf; drop those generations first")
    zero = ~(np.abs(X).sum(axis=1) > 0)
    if zero.any():
        raise UserError(f"composition {int(np.argmax(zero))} is all zeros, so its similarity is undefined; "
                        "drop empty generations first")
    return X


def _unit(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def similarity_matrix(C) -> np.ndarray:
    """(G, G) cosine similarities H between all pairs of rows of C (G, T)."""
    U = _unit(_compositions(C))
    return np.clip(U @ U.T, -1.0, 1.0)


def consecutive_similarity(C) -> np.ndarray:
    """(G-1,) H between each generation and the next."""
    U = _unit(_compositions(C))
    return np.clip(np.einsum("gt,gt->g", U[1:], U[:-1]), -1.0, 1.0)


def neighbour_similarity(C) -> np.ndarray:
    """(G,) mean H of each generation with its neighbours (one neighbour at either end)."""
    X = _compositions(C)
    if len(X) < 2:
        raise UserError("need at least 2 generations to compare neighbours")
    h = consecutive_similarity(X)
    out = np.empty(len(X))
    out[0], out[-1] = h[0], h[-1]
    out[1:-1] = 0.5 * (h[1:] + h[:-1])
    return out


def non_drift(C, threshold: float = 0.9) -> np.ndarray:
    """(G,) bool: the generation's mean H with its neighbours is > threshold."""
    return neighbour_similarity(C) > threshold


@dataclass(frozen=True)
class Compotypes:
    labels: np.ndarray      # (G,) compotype index per generation, -1 for drift generations
    centroids: np.ndarray   # (k, T) mean composition of each compotype's members (input units)
    sizes: np.ndarray       # (k,) members per compotype, largest first
    coherence: np.ndarray   # (k,) mean H of each compotype's members with its centre
    silhouette: float       # mean cosine silhouette of the members (silhouette_cosine); NaN if k=0

    @property
    def k(self) -> int:
        return len(self.sizes)


def _fit(U: np.ndarray, labels: np.ndarray) -> float:
    """Mean over rows of H with their own cluster's centre: sum_j |sum_{i in j} u_i| / m."""
    return sum(np.linalg.norm(U[labels == j].sum(axis=0)) for j in np.unique(labels)) / len(U)


def _coherence(U: np.ndarray) -> float:
    """Mean H of unit rows U (m, T) with their centre sum(u)/|sum(u)|: |sum u| / m."""
    return float(np.linalg.norm(U.sum(axis=0)) / len(U))


def kmeans(X, k: int, seed: int = 0, n_init: int = 4, iters: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Plain Lloyd k-means with k-means++ seeding, best of n_init by inertia.

    X (m, T), 1 <= k <= m. Returns labels (m,) and centres (k, T). Seeded: the same seed
    gives the same clusters.
    """
    X = np.asarray(X, dtype=float)
    m = len(X)
    if not 1 <= k <= m:
        raise UserError(f"k must be between 1 and the number of points ({m}), got {k}")
    rng = np.random.default_rng(seed)
    sq = np.einsum("mt,mt->m", X, X)  # (m,) |x|^2, for fast distances
    best = (np.inf, None, None)
    for _ in range(n_init):
        centres = [X[rng.integers(m)]]
        d2 = np.maximum(sq - 2 * X @ centres[0] + centres[0] @ centres[0], 0.0)
        for _ in range(1, k):  # k-means++: far points are likelier new centres
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(m, 1.0 / m)
            c = X[rng.choice(m, p=p)]
            centres.append(c)
            d2 = np.minimum(d2, np.maximum(sq - 2 * X @ c + c @ c, 0.0))
        M = np.array(centres)  # (k, T)
        labels = np.full(m, -1)
        for _ in range(iters):
            D = sq[:, None] - 2 * X @ M.T + np.einsum("kt,kt->k", M, M)[None, :]  # (m, k)
            new = D.argmin(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            count = np.bincount(labels, minlength=k)  # (k,)
            sums = np.eye(k)[labels].T @ X  # (k, T) per-cluster sums
            full = count > 0  # an emptied cluster keeps its old centre
            M[full] = sums[full] / count[full, None]
        inertia = float(np.min(D, axis=1).sum())
        if inertia < best[0]:
            best = (inertia, labels.copy(), M.copy())
    return best[1], best[2]


def cosine_kmeans(X, k: int, seed: int = 0, n_init: int = 10,
                  iters: int = 100) -> tuple[np.ndarray, np.ndarray, float]:
    """Spherical k-means: distance 1 - H, centre = the normalised mean of its unit members.

    What MATLAB's kmeans(..., 'Distance', 'cosine') does, which the GARD authors use
    (tgs_kmeans.m): k-means++ seeding, an emptied cluster takes the point farthest from its
    centre (EmptyAction 'singleton'), best of n_init runs by summed distance (their replicas,
    10 by default). X (m, T) with no all-zero row, 1 <= k <= m. Returns labels (m,), unit
    centres (k, T) and the summed distance of the points to their centres.
    """
    U = _unit(_compositions(X))
    m = len(U)
    if not 1 <= k <= m:
        raise UserError(f"k must be between 1 and the number of points ({m}), got {k}")
    with _one_blas_thread():
        return _cosine_kmeans(U, k, np.random.default_rng(seed), n_init, iters)


def _cosine_kmeans(U: np.ndarray, k: int, rng: np.random.Generator, n_init: int, iters: int):
    m, rows = len(U), np.arange(len(U))
    best = (np.inf, None, None)
    for _ in range(n_init):
        idx = [int(rng.integers(m))]
        d = np.maximum(1.0 - U @ U[idx[0]], 0.0)  # (m,) distance to the nearest centre so far
        for _ in range(1, k):  # k-means++ with the cosine distance
            idx.append(int(rng.choice(m, p=d / d.sum())) if d.sum() > 0 else int(rng.integers(m)))
            d = np.minimum(d, np.maximum(1.0 - U @ U[idx[-1]], 0.0))
        M = U[idx]  # (k, T)
        labels = np.full(m, -1)
        for _ in range(iters):
            S = U @ M.T  # (m, k) H with every centre
            new = S.argmax(axis=1)
            count = np.bincount(new, minlength=k)
            for j in np.flatnonzero(count == 0):  # singleton: the worst-fitting point moves
                h = S[rows, new].copy()
                h[count[new] <= 1] = np.inf  # never empty another cluster doing so
                far = int(h.argmin())
                count[new[far]] -= 1
                new[far], count[j] = j, 1
            if np.array_equal(new, labels):
                break
            labels = new
            M = _unit(np.eye(k)[labels].T @ U)  # (k, T): no cluster is empty here
        sumd = float(np.maximum(1.0 - np.einsum("mt,mt->m", U, M[labels]), 0.0).sum())
        if sumd < best[0]:
            best = (sumd, labels.copy(), M.copy())
    return best[1], best[2], best[0]


def silhouette_cosine(X, labels) -> np.ndarray:
    """(m,) silhouette of each row of X (m, T) with cosine distance d = 1 - H (Rousseeuw 1987).

    s_i = (b_i - a_i) / max(a_i, b_i), a_i = mean d from i to the other members of its
    cluster, b_i = the smallest mean d from i to the members of another cluster; s_i = 0
    for a point alone in its cluster (Rousseeuw's convention, also MATLAB's and sklearn's).
    One cluster: b_i does not exist and the silhouette is undefined. We take b_i = 1, the
    distance between compositions with no molecule type in common (the farthest two
    non-negative compositions can be), so s_i = 1 - a_i = the mean H of i with the other
    members: one compotype scores its cohesion, and a split must beat it. The GARD authors
    score k = 1 the same way, up to O(1/m): the mean of the similarity carpet of the members
    with its diagonal of ones (tgs_kmeans.m). Vectorised without the (m, m) matrix: for unit
    rows the summed distance from i to cluster c is n_c - u_i . sum_{j in c} u_j.
    """
    U = _unit(_compositions(X))
    lab = np.asarray(labels)
    if lab.shape != (len(U),) or not np.issubdtype(lab.dtype, np.integer):
        raise UserError(f"labels must be {len(U)} integers, one per row, got shape {lab.shape} "
                        f"of {lab.dtype}")
    _, lab = np.unique(lab, return_inverse=True)  # clusters 0..k-1
    k, rows = int(lab.max()) + 1, np.arange(len(U))
    n = np.bincount(lab)  # (k,)
    D = np.maximum(n[None, :] - U @ (np.eye(k)[lab].T @ U).T, 0.0)  # (m, k) summed distances
    a = D[rows, lab] / np.maximum(n[lab] - 1, 1)  # self-distance is 0 (rounding aside)
    if k == 1:
        b = np.ones(len(U))
    else:
        mean = D / n[None, :]
        mean[rows, lab] = np.inf
        b = mean.min(axis=1)
    top = np.maximum(a, b)
    s = np.divide(b - a, top, out=np.zeros(len(U)), where=top > 0)
    s[n[lab] == 1] = 0.0
    return s


@dataclass(frozen=True)
class SilhouetteChoice:
    k: int               # the chosen number of clusters
    labels: np.ndarray   # (m,) cluster per row, 0..k-1
    scores: np.ndarray   # (len(ks),) mean silhouette per tried k; NaN for k not tried


def choose_k_silhouette(X, ks=range(1, 11), seed: int = 0, n_init: int = 10,
                        patience: int | None = 4) -> SilhouetteChoice:
    """The number of clusters with the best mean cosine silhouette, as the GARD authors choose it.

    For each k in ks (k <= m), spherical k-means (`cosine_kmeans`, best of n_init) and the
    mean of `silhouette_cosine` (k = 1 scored by the mean H of the points with each other,
    see there); the k with the highest score wins, the smallest on ties. Like tgs_acluster.m
    (p.mink = 4), the search stops once `patience` k in a row have not matched the best score
    so far (None: try every k). X (m, T) rows, e.g. the non-drift compositions.
    """
    U = _unit(_compositions(X))
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise UserError(f"ks must be positive numbers of clusters, got {ks}")
    scores = np.full(len(ks), np.nan)
    fits: dict[int, np.ndarray] = {}
    best, streak = -np.inf, 0
    for i, k in enumerate(ks):
        if k > len(U):  # no more clusters than points
            continue
        lab = cosine_kmeans(U, k, seed, n_init)[0] if k > 1 else np.zeros(len(U), dtype=int)
        scores[i], fits[k] = float(silhouette_cosine(U, lab).mean()), lab
        streak += 1
        if scores[i] >= best:
            best, streak = scores[i], 0
        if patience is not None and streak >= patience:
            break
    if not fits:
        raise UserError(f"every k in {ks} exceeds the number of points ({len(U)}); try smaller k")
    i = int(np.nanargmax(scores))
    return SilhouetteChoice(ks[i], fits[ks[i]], scores)


def find_compotypes(C, threshold: float = 0.9, k: int | None = None, seed: int = 0,
                    k_max: int = 10, rule: str = "threshold") -> Compotypes:
    """Cluster the non-drift generations of C (G, T) into compotypes.

    rule="threshold" (the lab's): Euclidean k-means of the unit compositions; k=None picks
    the smallest k <= k_max at which the members' mean H with their own cluster's centre is
    >= threshold (k_max if none is). rule="silhouette" (the GARD authors'): cosine k-means,
    k=None picks the k in 1..k_max with the best mean silhouette (`choose_k_silhouette`).
    k_max = 10 is the authors' p.ks = 1:10. Clusters are numbered by size, largest first.
    """
    X = _compositions(C)
    if not 0 < threshold < 1:
        raise UserError(f"threshold must be in (0, 1), got {threshold}")
    if rule not in ("threshold", "silhouette"):
        raise UserError(f"rule must be 'threshold' or 'silhouette', got {rule!r}")
    if k_max < 1:
        raise UserError(f"k_max must be at least 1, got {k_max}")
    keep = np.flatnonzero(non_drift(X, threshold))
    labels = np.full(len(X), -1)
    if len(keep) == 0:  # the authors would report one centre of all generations; we report none
        T = X.shape[1]
        return Compotypes(labels, np.empty((0, T)), np.empty(0, int), np.empty(0), float("nan"))
    U = _unit(X[keep])  # (m, T) on the sphere: squared distance = 2 - 2H
    if k is not None:
        if not 1 <= k <= len(keep):
            raise UserError(f"k must be between 1 and the number of non-drift generations "
                            f"({len(keep)}), got {k}")
        if rule == "silhouette":
            lab = cosine_kmeans(U, k, seed)[0] if k > 1 else np.zeros(len(keep), dtype=int)
        else:
            lab, _ = kmeans(U, k, seed)
    elif rule == "silhouette":
        lab = choose_k_silhouette(U, range(1, k_max + 1), seed).labels
    else:
        for kk in range(1, min(k_max, len(keep)) + 1):
            lab, _ = kmeans(U, kk, seed)
            if _fit(U, lab) >= threshold:
                break
    used = [j for j in np.unique(lab)]
    used.sort(key=lambda j: -int((lab == j).sum()))  # largest compotype first
    new = np.full(lab.shape, -1)
    for i, j in enumerate(used):
        new[lab == j] = i
    labels[keep] = new
    centroids = np.array([X[keep][new == i].mean(axis=0) for i in range(len(used))])
    sizes = np.array([int((new == i).sum()) for i in range(len(used))])
    coherence = np.array([_coherence(U[new == i]) for i in range(len(used))])
    return Compotypes(labels, centroids, sizes, coherence, float(silhouette_cosine(U, new).mean()))
