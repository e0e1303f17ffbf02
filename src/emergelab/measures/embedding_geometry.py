"""Geometry of labelled embeddings (SCIENCE F, BioCLIP 2): how class-level and within-class
variation sit relative to each other, and what a linear read-out recovers. Pure numpy/scipy
functions of arrays; they know nothing of the world that made the embeddings, so they serve
any (N, d) embedding matrix with labels.

Subspaces and angles:
    pca_basis(X, k) -> (d, k)            orthonormal top-k principal directions of X (rows centred)
    principal_angles(A, B) -> (min(ka, kb),)  angles in radians between the column spans of A and B,
        ascending (0: a shared direction, pi/2: orthogonal); scipy.linalg.subspace_angles
    angle_summary(A, B) -> {angle_mean_deg, angle_min_deg, cos_mean}
    random_angle_baseline(d, ka, kb, n, seed) -> mean principal angle (deg) of random subspaces
    variance_share(X, basis) -> share of the (uncentred) energy of the rows of X inside span(basis)
    covariance_cosine(X, Y) -> tr(Sx Sy) / (|Sx|_F |Sy|_F) of the rows' second moments: 0 iff the
        two sets of vectors span orthogonal subspaces, 1 iff their second moments are proportional

Hierarchical decomposition (species -> variant -> individual):
    decompose(E, cls, sub) -> class means (C, d), cell means (C, V, d), variant offsets (C, V, d)
        (cell mean minus class mean), residuals (N, d); empty cells are NaN

Read-outs (closed-form ridge; features centred, the penalty scaled by the mean feature variance
so `lam` means the same at any scale):
    ridge_fit(X, Y, lam) -> (W (p, t), b (t,));  ridge_predict(X, W, b)
    r2_score(Y, P) -> 1 - SSE / SST pooled over the targets' columns
    cv_ridge_r2(X, Y, folds, lam) -> out-of-fold R^2 (rows are the units to hold out, e.g. species)
    ridge_classify_acc(Xtr, ytr, Xte, yte, n_classes, lam) -> accuracy of a one-hot ridge classifier
    fisher_ratio(X, y) -> tr(S_between) / tr(S_within) of the classes y (the Fisher discriminant
        ratio BioCLIP 2 uses for the separation of life stages)
"""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError


def _mat(X, what: str) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise UserError(f"{what} must be a non-empty 2-D array (rows, dims), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise UserError(f"{what} has NaN or infinite entries: drop or fill them first")
    return X


def pca_basis(X, k: int) -> np.ndarray:
    """(d, k) orthonormal top-k principal directions of the rows of X (centred)."""
    X = _mat(X, "X")
    if not 1 <= k <= min(X.shape[1], X.shape[0]):
        raise UserError(f"k = {k} principal directions of {X.shape[0]} rows in {X.shape[1]} dims: "
                        f"choose 1 <= k <= {min(X.shape)}")
    _, _, vt = np.linalg.svd(X - X.mean(0), full_matrices=False)  # vt: (min(N, d), d)
    return vt[:k].T


def principal_angles(A, B) -> np.ndarray:
    """Principal angles (radians, ascending) between span(A) and span(B), columns as vectors
    (A: (d, ka), B: (d, kb); need not be orthonormal)."""
    from scipy.linalg import subspace_angles

    A, B = _mat(A, "A"), _mat(B, "B")
    if A.shape[0] != B.shape[0]:
        raise UserError(f"A and B must live in the same space: {A.shape[0]} vs {B.shape[0]} rows")
    # scipy returns them descending, with the sine formula for small angles (accurate near 0)
    return np.sort(subspace_angles(A, B))


def angle_summary(A, B) -> dict[str, float]:
    """Mean and smallest principal angle (degrees) and the mean cosine of the angles."""
    th = principal_angles(A, B)
    return {"angle_mean_deg": float(np.degrees(th.mean())), "angle_min_deg": float(np.degrees(th.min())),
            "cos_mean": float(np.cos(th).mean())}


def random_angle_baseline(d: int, ka: int, kb: int, n: int = 200, seed: int = 0) -> float:
    """Mean principal angle (degrees) between random ka- and kb-dim subspaces of R^d: what
    `angle_mean_deg` reads for subspaces with no relation (90 only when ka + kb << d)."""
    if not (1 <= ka <= d and 1 <= kb <= d and n >= 1):
        raise UserError(f"need 1 <= ka, kb <= d and n >= 1, got d={d}, ka={ka}, kb={kb}, n={n}")
    rng = np.random.default_rng(seed)
    draws = [principal_angles(rng.standard_normal((d, ka)), rng.standard_normal((d, kb))).mean()
             for _ in range(n)]
    return float(np.degrees(np.mean(draws)))


def variance_share(X, basis) -> float:
    """Share of sum ||x||^2 over the rows of X that lies in span(basis) (basis: (d, k) orthonormal)."""
    X, Q = _mat(X, "X"), _mat(basis, "basis")
    tot = float((X ** 2).sum())
    return float(((X @ Q) ** 2).sum() / tot) if tot > 0 else float("nan")


def covariance_cosine(X, Y) -> float:
    """Cosine between the second-moment matrices X^T X and Y^T Y (rows as vectors, not centred:
    pass offsets such as class means minus the grand mean). 0 iff every row of X is orthogonal
    to every row of Y."""
    X, Y = _mat(X, "X"), _mat(Y, "Y")
    Sx, Sy = X.T @ X, Y.T @ Y
    den = np.linalg.norm(Sx) * np.linalg.norm(Sy)
    return float(np.trace(Sx @ Sy) / den) if den > 0 else float("nan")


def decompose(E, cls, sub, n_cls: int | None = None, n_sub: int | None = None):
    """Split embeddings E (N, d) with class labels `cls` (N,) and sub-labels `sub` (N,) (e.g.
    species and life stage) into class means (C, d) — the mean of the class's cell means, so that
    an uneven number of rows per variant does not tilt it —, cell means (C, V, d), variant
    offsets (C, V, d) = cell mean - class mean, and residuals (N, d) = row - its cell mean."""
    E = _mat(E, "E")
    cls, sub = np.asarray(cls, int), np.asarray(sub, int)
    if cls.shape != (len(E),) or sub.shape != (len(E),) or (len(E) and min(cls.min(), sub.min()) < 0):
        raise UserError("cls and sub must be non-negative integer labels, one per row of E")
    C, V = n_cls or int(cls.max()) + 1, n_sub or int(sub.max()) + 1
    sums = np.zeros((C, V, E.shape[1]))
    np.add.at(sums, (cls, sub), E)
    counts = np.zeros((C, V))
    np.add.at(counts, (cls, sub), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cells = sums / counts[..., None]  # NaN where a cell is empty
    n_full = (counts > 0).sum(1)[:, None]  # (C, 1) cells with rows, per class
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(np.isnan(cells), 0.0, cells).sum(1) / n_full  # (C, d); NaN for an empty class
    return means, cells, cells - means[:, None], E - cells[cls, sub]


def ridge_fit(X, Y, lam: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge with an unpenalised intercept: W = (Xc^T Xc + lam' I)^-1 Xc^T Yc,
    lam' = lam * tr(Xc^T Xc) / p (the penalty relative to the mean feature energy)."""
    X = _mat(X, "X")
    Y = np.asarray(Y, float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    if len(Y) != len(X) or lam < 0:
        raise UserError(f"ridge needs as many targets as rows ({len(Y)} vs {len(X)}) and lam >= 0 ({lam})")
    mx, my = X.mean(0), Y.mean(0)
    Xc = X - mx
    G = Xc.T @ Xc  # (p, p)
    reg = lam * max(np.trace(G) / X.shape[1], 1e-12)
    W = np.linalg.solve(G + reg * np.eye(X.shape[1]), Xc.T @ (Y - my))  # (p, t)
    return W, my - mx @ W


def ridge_predict(X, W, b) -> np.ndarray:
    return np.asarray(X, float) @ W + b


def r2_score(Y, P) -> float:
    """1 - sum of squared errors / total sum of squares around Y's column means, pooled over
    columns (a constant prediction at the mean scores 0; worse can be negative)."""
    Y, P = np.asarray(Y, float), np.asarray(P, float)
    Y, P = (Y[:, None], P[:, None]) if Y.ndim == 1 else (Y, P)
    sst = float(((Y - Y.mean(0)) ** 2).sum())
    return 1.0 - float(((Y - P) ** 2).sum()) / sst if sst > 0 else float("nan")


def cv_ridge_r2(X, Y, folds: np.ndarray, lam: float = 1e-2) -> float:
    """Out-of-fold R^2 of ridge: each row is predicted by a fit on the rows of the other folds
    (folds: (N,) fold index per row, e.g. species assigned to k folds), pooled over all rows."""
    X, folds = _mat(X, "X"), np.asarray(folds)
    Y = np.asarray(Y, float)
    Y = Y[:, None] if Y.ndim == 1 else Y
    if len(np.unique(folds)) < 2:
        raise UserError("cross-validation needs at least 2 folds")
    P = np.empty_like(Y)
    for f in np.unique(folds):
        te = folds == f
        P[te] = ridge_predict(X[te], *ridge_fit(X[~te], Y[~te], lam))
    return r2_score(Y, P)


def ridge_classify_acc(Xtr, ytr, Xte, yte, n_classes: int, lam: float = 1e-2) -> float:
    """Accuracy on (Xte, yte) of ridge regression onto one-hot labels fitted on (Xtr, ytr)."""
    ytr, yte = np.asarray(ytr, int), np.asarray(yte, int)
    W, b = ridge_fit(Xtr, np.eye(n_classes)[ytr], lam)
    return float((ridge_predict(Xte, W, b).argmax(1) == yte).mean())


def fisher_ratio(X, y) -> float:
    """tr(S_B) / tr(S_W): the spread of the class means (weighted by class size) over the
    spread of the rows around their class mean. 0: the classes coincide; large: well separated."""
    X, y = _mat(X, "X"), np.asarray(y)
    mu = X.mean(0)
    sb = sw = 0.0
    for c in np.unique(y):
        Xc = X[y == c]
        m = Xc.mean(0)
        sb += len(Xc) * float(((m - mu) ** 2).sum())
        sw += float(((Xc - m) ** 2).sum())
    return sb / sw if sw > 0 else float("inf")
