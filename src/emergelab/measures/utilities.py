"""Thurstonian utilities from pairwise forced choices, and the coherence of a preference system.

Paper: M. Mazeika, X. Yin, R. Tamirisa et al. (2025), "Utility Engineering: Analyzing and
Controlling Emergent Value Systems in AIs" (arXiv 2502.08640). Each outcome i has a random
utility U_i ~ N(mu_i, sigma_i^2); the chooser prefers i to j with probability
    P(i > j) = Phi((mu_i - mu_j) / sqrt(sigma_i^2 + sigma_j^2)).
mu and log sigma^2 are fitted by maximum likelihood from counts of forced choices (both
orderings, several samples), then normalised to mean 0, sd 1 over the outcomes, as the paper
does (sigma scaled by the same factor, so every predicted probability is unchanged).

Functions (pure, over arrays; i, j are int arrays of outcome indices, one entry per pair):
  fit_thurstonian   maximum likelihood (L-BFGS-B, analytic gradient, vectorised over pairs)
  predict_proba     P(i > j) under a fit
  heldout_accuracy  agreement of predicted and empirical majority preference on held-out pairs
  select_pairs      the active-learning step: close mu and low degree first
  preference_matrix, cyclic_triad_share   transitivity: the share of cyclic triads
  eu_consistency    how well U(lottery) matches the probability-weighted utilities of its outcomes
  choices_from_table, read_choices   your own forced choices (CSV / Parquet / JSONL) -> counts
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from emergelab.errors import UserError


def _one_blas_thread():
    """Small products on one BLAS thread: on a busy machine OpenBLAS's spinning threads made
    one 20-outcome fit 160x slower (6.5 s against 0.04 s on 2 shared cores), since L-BFGS-B
    calls BLAS on tiny vectors every iteration. threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, "blas")


@dataclass(frozen=True)
class ThurstoneFit:
    mu: np.ndarray  # (N,) mean utilities, normalised to mean 0, sd 1
    sigma: np.ndarray  # (N,) utility sd, in the same units
    loglik: float  # log-likelihood of the counts at the optimum
    converged: bool


def _pairs(n: int, i, j, wins=None, totals=None) -> tuple[np.ndarray, ...]:
    i, j = np.asarray(i, dtype=np.int64).ravel(), np.asarray(j, dtype=np.int64).ravel()
    if i.shape != j.shape:
        raise UserError(f"i and j must have the same length, got {len(i)} and {len(j)}")
    if len(i) and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
        raise UserError(f"outcome indices must be in 0..{n - 1}: check the pair list")
    if np.any(i == j):
        raise UserError("a pair compares an outcome with itself: drop the pairs with i == j")
    out = [i, j]
    for name, a in (("wins", wins), ("totals", totals)):
        if a is not None:
            a = np.asarray(a, dtype=float).ravel()
            if a.shape != i.shape or not np.all(np.isfinite(a)) or np.any(a < 0):
                raise UserError(f"{name} must be finite, non-negative and one per pair")
            out.append(a)
    if wins is not None and totals is not None and np.any(out[2] > out[3]):
        raise UserError("wins exceed totals for some pair: wins counts the choices of i among totals choices")
    return tuple(out)


def _nll(theta: np.ndarray, i, j, w, lose, n: int, ridge: float) -> tuple[float, np.ndarray]:
    """Negative log-likelihood (plus ridge on mu and log sigma^2) and its gradient."""
    mu, ls = theta[:n], theta[n:]
    var = np.exp(ls)
    s2 = var[i] + var[j]
    s = np.sqrt(s2)
    z = (mu[i] - mu[j]) / s
    lp, lq = special.log_ndtr(z), special.log_ndtr(-z)  # log P(i > j), log P(j > i), stable in the tails
    logphi = -0.5 * z * z - 0.5 * np.log(2 * np.pi)
    dz = w * np.exp(logphi - lp) - lose * np.exp(logphi - lq)  # d loglik / dz per pair
    g_mu_pair = dz / s
    g_mu = np.bincount(i, g_mu_pair, n) - np.bincount(j, g_mu_pair, n)
    c = -dz * z / (2 * s2)  # dz/dlog var_i = -z var_i / (2 s^2)
    g_ls = np.bincount(i, c * var[i], n) + np.bincount(j, c * var[j], n)
    f = -(w @ lp + lose @ lq) + 0.5 * ridge * (mu @ mu + ls @ ls)
    grad = -np.concatenate([g_mu, g_ls]) + ridge * theta
    return float(f), grad


def fit_thurstonian(n: int, i, j, wins, totals, *, ridge: float = 0.1, max_iter: int = 2000,
                    init: ThurstoneFit | None = None) -> ThurstoneFit:  # fmt: skip
    """Maximum-likelihood Thurstonian utilities of n outcomes from wins[k] choices of i[k]
    over j[k] among totals[k] forced choices between them. `ridge` is a weak Gaussian prior on
    mu and log sigma^2: it fixes the scale the likelihood leaves free and keeps a perfectly
    separated outcome (always chosen) finite. `init` warm-starts from a previous fit (rounds)."""
    if n < 2:
        raise UserError(f"a utility fit needs at least 2 outcomes, got {n}")
    i, j, w, t = _pairs(n, i, j, wins, totals)
    if not len(i) or t.sum() == 0:
        raise UserError("no forced choices to fit: give at least one pair with totals > 0")
    if init is not None:  # the previous round's (normalised) fit predicts the same probabilities: a close start
        x0 = np.concatenate([init.mu, np.log(np.maximum(init.sigma, 1e-6) ** 2)])
    else:
        x0 = np.zeros(2 * n)
    with _one_blas_thread():
        res = optimize.minimize(_nll, x0, args=(i, j, w, t - w, n, ridge), jac=True, method="L-BFGS-B",
                                options={"maxiter": max_iter})  # fmt: skip
    mu, sigma = res.x[:n], np.exp(res.x[n:] / 2)
    sd = mu.std()
    sd = sd if sd > 0 else 1.0
    return ThurstoneFit((mu - mu.mean()) / sd, sigma / sd, -_nll(res.x, i, j, w, t - w, n, 0.0)[0], bool(res.success))


def predict_proba(mu, sigma, i, j) -> np.ndarray:
    """P(i > j) for each pair under the Thurstonian model."""
    mu, sigma = np.asarray(mu, float), np.asarray(sigma, float)
    i, j = _pairs(len(mu), i, j)
    return special.ndtr((mu[i] - mu[j]) / np.sqrt(sigma[i] ** 2 + sigma[j] ** 2))


def heldout_accuracy(mu, sigma, i, j, wins, totals) -> float:
    """Share of held-out pairs whose predicted majority (P > 1/2) is the empirical majority
    (wins / totals > 1/2). Pairs with an empirical tie (or no choices) carry no majority and
    are left out; NaN when none is left."""
    mu = np.asarray(mu, float)
    i, j, w, t = _pairs(len(mu), i, j, wins, totals)
    keep = (t > 0) & (2 * w != t)
    if not keep.any():
        return float("nan")
    p = predict_proba(mu, sigma, i[keep], j[keep])
    return float(np.mean((p > 0.5) == (2 * w[keep] > t[keep])))


def pair_index(n: int, i, j) -> np.ndarray:
    """A unique id per unordered pair (min * n + max): to tell asked pairs from new ones."""
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    return np.minimum(i, j) * n + np.maximum(i, j)


def select_pairs(mu, sigma, degree, exclude, k: int, rng: np.random.Generator,
                 degree_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The active step: k new pairs, none of them in `exclude` (pair_index ids), those with the
    lowest score = |z| + degree_weight (deg_i + deg_j) / (2 mean degree) first, where
    z = (mu_i - mu_j) / sqrt(sigma_i^2 + sigma_j^2): a pair whose outcome the model cannot yet
    call (|z| small) is the most informative, and low-degree outcomes are the worst known. A
    tiny random jitter (from rng) breaks ties. Each outcome enters at most about
    2k/n + 1 of the round's pairs, so one round does not pile onto a few uncertain outcomes."""
    mu, sigma, degree = np.asarray(mu, float), np.asarray(sigma, float), np.asarray(degree, float)
    n = len(mu)
    a, b = np.triu_indices(n, 1)
    free = ~np.isin(pair_index(n, a, b), np.asarray(exclude, np.int64))
    a, b = a[free], b[free]
    if k >= len(a):
        return a, b
    z = np.abs(mu[a] - mu[b]) / np.sqrt(sigma[a] ** 2 + sigma[b] ** 2)
    score = z + degree_weight * (degree[a] + degree[b]) / (2 * max(degree.mean(), 1.0))
    order = np.argsort(score + 1e-9 * rng.random(len(a)), kind="stable")
    cap = int(np.ceil(2 * k / n)) + 1
    # cap each outcome's share of the round: how often each endpoint occurs among the better-ranked pairs
    ok = _running_count(a[order], b[order]) <= cap
    chosen = order[ok][:k]
    if len(chosen) < k:  # the cap was too strict (few free pairs left): fill with the best of the rest
        chosen = np.concatenate([chosen, order[~ok][: k - len(chosen)]])
    return a[chosen], b[chosen]


def _running_count(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For pairs in order, the larger of the number of earlier-or-this pairs touching a and b."""
    ends = np.stack([a, b], 1).ravel()  # pair k's endpoints at 2k, 2k+1
    by_end = np.argsort(ends, kind="stable")  # stable: within one outcome, pairs stay in rank order
    ranks = np.empty_like(ends)
    sorted_ends = ends[by_end]
    start = np.searchsorted(sorted_ends, sorted_ends, side="left")
    ranks[by_end] = np.arange(len(ends)) - start + 1  # occurrence number of each endpoint so far
    return ranks.reshape(-1, 2).max(1)


def preference_matrix(n: int, i, j, wins, totals) -> np.ndarray:
    """(n, n) share of choices of the row outcome over the column one; NaN where never asked.
    Repeated pairs (either order) are pooled."""
    i, j, w, t = _pairs(n, i, j, wins, totals)
    W, T = np.zeros((n, n)), np.zeros((n, n))
    np.add.at(W, (i, j), w)
    np.add.at(W, (j, i), t - w)
    np.add.at(T, (i, j), t)
    np.add.at(T, (j, i), t)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(T > 0, W / T, np.nan)


def cyclic_triad_share(P) -> float:
    """Share of cyclic triads (i > j > k > i) among the triads whose three pairs all have a
    strict majority preference in the preference matrix P (P[i, j] = share choosing i over j,
    NaN unknown; 1/2 a tie: no preference). 0 for a transitive system, about 1/4 for coin flips.
    NaN when no triad is complete. Counted by traces: trace(A^3)/3 directed 3-cycles of the
    majority digraph A, trace(K^3)/6 triangles of the known graph K."""
    P = np.asarray(P, float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise UserError(f"a preference matrix is square (n, n), got shape {P.shape}")
    with np.errstate(invalid="ignore"):
        A = (P > 0.5).astype(float)
        K = ((P > 0.5) | (P < 0.5)).astype(float)
    np.fill_diagonal(A, 0.0)
    np.fill_diagonal(K, 0.0)
    K = K * K.T  # a pair counts only when known in both directions (a consistent matrix)
    A = A * K
    with _one_blas_thread():
        triangles = np.trace(K @ K @ K) / 6
        cycles = np.trace(A @ A @ A) / 3
    return float(cycles / triangles) if triangles else float("nan")


def eu_consistency(u_lottery, probs, u_outcomes) -> dict[str, float]:
    """Expected-utility consistency: lottery m gives outcome o with probability probs[m, o];
    its expected utility is EU_m = sum_o probs[m, o] u_outcomes[o]. Returns the Pearson
    correlation of U(lottery) with EU ('corr', invariant to the affine freedom of utilities)
    and the mean absolute error in units of the outcomes' utility sd ('mae')."""
    u_l, p, u_o = np.asarray(u_lottery, float), np.asarray(probs, float), np.asarray(u_outcomes, float)
    if p.ndim != 2 or p.shape != (len(u_l), len(u_o)):
        raise UserError(f"probs must be (lotteries, outcomes) = ({len(u_l)}, {len(u_o)}), got {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(1), 1.0):
        raise UserError("each lottery's probabilities must be non-negative and sum to 1")
    if len(u_l) < 2:
        raise UserError("expected-utility consistency needs at least 2 lotteries")
    eu = p @ u_o
    sd = u_o.std() or 1.0
    corr = float(np.corrcoef(u_l, eu)[0, 1]) if u_l.std() > 0 and eu.std() > 0 else float("nan")
    return {"corr": corr, "mae": float(np.mean(np.abs(u_l - eu)) / sd)}


# -- your own choices: a table of forced choices ---------------------------------------------
def choices_from_table(df, outcomes=None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A table of forced choices -> (names, i, j, wins, totals), one entry per distinct (a, b).
    Columns: `a` and `b` (the two outcomes) and either `choice` (the one preferred: equal to a or
    b; empty = no valid answer, not counted) or `wins` (times a was preferred) and `totals`.
    `outcomes`: the known outcome names (their order gives the indices); without it the names
    are those the table uses, sorted. A name outside `outcomes` is an error (a typo would
    otherwise become a new outcome with no link to the rest)."""
    import pandas as pd

    if not {"a", "b"} <= set(df.columns) or not ({"choice"} <= set(df.columns) or {"wins", "totals"} <= set(df.columns)):
        raise UserError(f"a choices table needs columns a, b and either choice or wins and totals; it has "
                        f"{', '.join(map(str, df.columns))}")  # fmt: skip
    a, b = df["a"].astype(str).to_numpy(), df["b"].astype(str).to_numpy()
    names = list(map(str, outcomes)) if outcomes is not None else sorted(set(a) | set(b))
    index = {nm: k for k, nm in enumerate(names)}
    unknown = sorted((set(a) | set(b)) - set(index))
    if unknown:
        raise UserError(f"unknown outcome {unknown[0]!r} in the choices table ({len(unknown)} unknown): fix the name "
                        f"or add it to the outcome list")  # fmt: skip
    if "choice" in df.columns:
        c = df["choice"].astype("string").fillna("").to_numpy(dtype=str)
        bad = (c != "") & (c != a) & (c != b)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise UserError(f"row {k}: choice {c[k]!r} is neither a ({a[k]!r}) nor b ({b[k]!r}): fix the row")
        wins, totals = (c == a).astype(float), (c != "").astype(float)
    else:
        wins, totals = df["wins"].to_numpy(float), df["totals"].to_numpy(float)
    g = pd.DataFrame({"i": [index[x] for x in a], "j": [index[x] for x in b], "w": wins, "t": totals})
    g = g.groupby(["i", "j"], sort=True, as_index=False).sum()
    i, j, w, t = _pairs(len(names), g.i.to_numpy(), g.j.to_numpy(), g.w.to_numpy(), g.t.to_numpy())
    return names, i, j, w, t


def read_choices(path, outcomes=None):
    """choices_from_table of a CSV, Parquet or JSON-lines file."""
    import pandas as pd

    p = str(path)
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".jsonl": lambda f: pd.read_json(f, lines=True)}
    ext = next((e for e in readers if p.endswith(e)), None)
    if ext is None:
        raise UserError(f"cannot read choices from {p}: use a .csv, .parquet or .jsonl file")
    try:
        df = readers[ext](p)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read choices from {p} ({str(e).splitlines()[0]}): check the file") from None
    return choices_from_table(df, outcomes)
