"""Multivariate early-warning signals: the rolling covariance of several series, its leading
eigenvalue and the share of variance along the leading direction.

Near a bifurcation one direction of the state space (the eigenvector of the Jacobian whose
eigenvalue approaches 0) loses its restoring force, so fluctuations pile up along it: the
largest eigenvalue of the covariance matrix (the variance of the first principal component)
rises, and so does the fraction of the total variance it carries. After Held & Kleinen,
"Detection of climate system bifurcations by degenerate fingerprinting" (GRL 31, 2004),
Dakos et al.'s use of PCA-based indicators, and the comparison of Weinans, Quax, van Nes &
van de Leemput, "Evaluating the performance of multivariate indicators of resilience loss"
(Sci. Rep. 11, 9148, 2021), where the leading eigenvalue of the covariance matrix was among the
best performers. The trend test is the lab's Kendall tau (measures/ews.py).

Input: an (n, p) array, one column per variable, sampled at the same times. Each column is
detrended with ews.detrend (same methods and bandwidth meaning) before the covariance.
"""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError
from emergelab.measures import ews
from emergelab.measures.ews_entropy import _series, _window

DEGENERATE = 1e-12  # a window whose total variance is below this fraction of the series' counts as flat
MULTI_INDICATORS = ("eig1", "explained")


def _columns(X, columns):
    if columns is not None and np.ndim(X) == 2 and len(columns) == np.shape(X)[1]:
        with np.errstate(invalid="ignore"):  # name a constant column before the generic check does
            flat = np.ptp(np.asarray(X, dtype=float), axis=0) == 0
        if flat.any():
            raise UserError(f"column '{columns[int(np.argmax(flat))]}' is constant: no fluctuations "
                            f"to measure; drop it")  # fmt: skip
    X = _series("X", X, ndim=2)
    if X.shape[1] < 2:
        raise UserError(f"X has {X.shape[1]} column(s): multivariate indicators need at least 2; "
                        f"use ews.indicators for one series")  # fmt: skip
    if columns is not None and len(columns) != X.shape[1]:
        raise UserError(f"{len(columns)} column names for {X.shape[1]} columns; give one name per column")
    return X


def rolling_covariance(X, window=0.5):
    """Covariance matrices (ddof=1) over trailing windows of the rows of X (n, p): (n, p, p),
    entry i from rows i-w+1 .. i, NaN before the first full window. O(n p^2): prefix sums of
    the centred products (centred first, so an offset never enters a product)."""
    X = _columns(X, None)
    n, p = X.shape
    w = _window(window, n, 3)
    Y = X - X.mean(axis=0)
    c1 = np.concatenate([np.zeros((1, p)), np.cumsum(Y, axis=0)])
    c2 = np.concatenate([np.zeros((1, p, p)), np.cumsum(Y[:, :, None] * Y[:, None, :], axis=0)])
    s1, s2 = c1[w:] - c1[:-w], c2[w:] - c2[:-w]  # window sums, (K, p) and (K, p, p)
    cov = (s2 - s1[:, :, None] * s1[:, None, :] / w) / (w - 1)
    cov = (cov + np.swapaxes(cov, 1, 2)) / 2  # exactly symmetric for eigvalsh
    out = np.full((n, p, p), np.nan)
    out[w - 1 :] = cov
    return out


def covariance_spectrum(cov):
    """(eig1, explained) of stacked covariance matrices (..., p, p): the largest eigenvalue and
    its share of the trace. NaN where the matrix is NaN or its trace is ~0."""
    cov = np.asarray(cov, float)
    ok = np.isfinite(cov).all(axis=(-1, -2))
    lam = np.full(cov.shape[:-1], np.nan)
    lam[ok] = np.linalg.eigvalsh(cov[ok])  # ascending, one batched call
    eig1 = lam[..., -1]
    tr = np.trace(cov, axis1=-2, axis2=-1)
    scale = np.nanmax(np.abs(tr)) if ok.any() else 0.0
    flat = ~(tr > DEGENERATE * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        explained = np.where(flat, np.nan, eig1 / tr)
    return eig1, explained


def multivariate_indicators(X, window=0.5, detrend="gaussian", columns=None, index=None, **detrend_kw):
    """DataFrame (index `index` or 0..n-1) of eig1 and explained over rolling windows of the
    columns of X (n, p), each column detrended first (ews.detrend's method and keywords,
    e.g. bandwidth=, span=)."""
    import pandas as pd

    X = _columns(X, columns)
    if index is not None and len(index) != len(X):
        raise UserError(f"index has {len(index)} entries but X has {len(X)} rows; one label per row")
    resid = ews.detrend(X.T, method=detrend, **detrend_kw).T  # rows = series for ews
    if detrend == "diff":
        resid = resid[1:]  # no difference at the first row; put it back below as NaN
    names = columns if columns is not None else range(X.shape[1])
    for j, name in enumerate(names):
        if np.ptp(resid[:, j]) <= 1e-12 * np.abs(X[:, j]).max():
            raise UserError(f"column '{name}' has no fluctuations after detrending: drop it or "
                            f"use another detrend method")  # fmt: skip
    w = _window(window, len(X), 3)  # a fraction means of the whole series, diff or not
    eig1, explained = covariance_spectrum(rolling_covariance(resid, w))
    if detrend == "diff":
        eig1, explained = (np.concatenate([[np.nan], v]) for v in (eig1, explained))
    return pd.DataFrame({"eig1": eig1, "explained": explained},
                        index=pd.RangeIndex(len(X)) if index is None else index)  # fmt: skip


def multivariate_trend(X, window=0.5, detrend="gaussian", columns=None, **detrend_kw):
    """Kendall tau (ews.kendall_trend) of eig1 and explained: {"eig1": tau, "explained": tau}."""
    ind = multivariate_indicators(X, window, detrend, columns, **detrend_kw)
    return {k: ews.kendall_trend(ind[k].to_numpy()) for k in MULTI_INDICATORS}
