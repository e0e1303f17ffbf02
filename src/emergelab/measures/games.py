"""Solution concepts of two-player bimatrix games and paired welfare statistics.

A leader (rows, payoffs A) and a follower (columns, payoffs B), both m x n, or batches of G
games as (G, m, n) arrays. Every concept returns an `Outcome`: the leader's and follower's
expected payoffs and the mixed strategies that produce them (one-hot for pure play).

- pure_commitment: the leader commits to a row; the follower best-responds (backward induction);
  ties among follower best responses are broken in the leader's favour (strong) or against it.
- mixed_commitment: strong Stackelberg equilibrium, one linear programme per follower action
  (Conitzer & Sandholm 2006), solved with scipy's HiGHS; the best of them is the commitment.
  With eps > 0 the follower accepts any action within eps of its best and is steered to the
  leader's favourite among them (each LP's incentive constraints are relaxed by eps).
- nash_equilibria / nash_batch: support enumeration over equal-size supports (complete for
  nondegenerate games, which random games with continuous payoffs are with probability one).
- satisficing_commitment: pure commitment against an eps-satisficing follower, who takes any
  action within eps of its best response: the leader's worst case or best case among those.
- causal_equilibrium: the sequential causal equilibrium (S-CNE) of D. Thumm (2025), "Sequential
  Causal Normal Form Games: Theory, Computation, and Strategic Signaling" (arXiv 2511.06934), as
  operationalised in worlds/causal_games.py: the leader picks the rung of Pearl's causal hierarchy
  at which the follower reasons about its move, the follower responds at that rung, backward
  induction picks the rung.
- mean_ci, paired_test: t intervals and the paired t test for welfare differences.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from emergelab.errors import UserError

LAYERS = ("association", "intervention", "counterfactual")  # Pearl's rungs 1-3: seeing, doing, imagining


@dataclass(frozen=True)
class Outcome:
    """Expected payoffs (G,) (floats for one game) and strategies x (G, m), y (G, n)."""

    leader: np.ndarray
    follower: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def welfare(self) -> np.ndarray:
        """Utilitarian welfare: the sum of both players' expected payoffs."""
        return self.leader + self.follower


def as_games(A, B) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate payoff matrices: (G, m, n) float arrays and whether a single game was given."""
    try:
        A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    except (TypeError, ValueError):
        raise UserError("payoffs must be numeric m x n matrices (equal-length rows of numbers)") from None
    if A.shape != B.shape:
        raise UserError(f"payoff shapes differ: leader A is {A.shape}, follower B is {B.shape}; give both "
                        "as m x n matrices (rows = leader's actions, columns = follower's actions)")  # fmt: skip
    if A.ndim not in (2, 3) or 0 in A.shape:
        raise UserError(f"payoffs must be m x n matrices (or a batch G x m x n), m, n >= 1; got shape {A.shape}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise UserError("payoffs contain NaN or infinity: give finite numbers")
    single = A.ndim == 2
    return (A[None], B[None], True) if single else (A, B, False)


def _out(single: bool, leader, follower, x, y) -> Outcome:
    if single:
        return Outcome(float(leader[0]), float(follower[0]), x[0], y[0])
    return Outcome(leader, follower, x, y)


def _onehot(idx: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[idx]


# -- commitment ------------------------------------------------------------------------------
def _pure(A: np.ndarray, acc: np.ndarray, favour: bool) -> tuple[np.ndarray, np.ndarray]:
    """Backward induction: acc (G, m, n) the follower actions it may take after each row; it takes
    the leader's best (favour) or worst of them; the leader picks the best row. -> (rows, cols)."""
    fill = -np.inf if favour else np.inf
    masked = np.where(acc, A, fill)
    cols = masked.argmax(2) if favour else masked.argmin(2)  # (G, m) follower's answer to each row
    value = np.take_along_axis(A, cols[..., None], 2)[..., 0]  # (G, m)
    rows = value.argmax(1)  # first row among equals: a deterministic tie-break
    return rows, cols[np.arange(len(A)), rows]


def _result(A, B, rows, cols, single) -> Outcome:
    g = np.arange(len(A))
    x, y = _onehot(rows, A.shape[1]), _onehot(cols, A.shape[2])
    return _out(single, A[g, rows, cols], B[g, rows, cols], x, y)


def pure_commitment(A, B, favour: bool = True, tol: float = 1e-12) -> Outcome:
    """The leader commits to a pure action knowing the follower best-responds; follower ties go to
    the leader (favour=True, strong) or against it (weak)."""
    A, B, single = as_games(A, B)
    acc = B >= B.max(2, keepdims=True) - tol
    return _result(A, B, *_pure(A, acc, favour), single)


def satisficing_commitment(A, B, eps: float, case: str = "worst") -> Outcome:
    """Pure commitment against an eps-satisficing follower, who may take any action within eps of
    its best reply. case='worst': it takes the one worst for the leader, and the leader commits
    knowing that (robust); case='best': the one best for the leader (the leader's best case)."""
    if eps < 0 or case not in ("worst", "best"):
        raise UserError(f"satisficing needs eps >= 0 and case 'worst' or 'best', got eps={eps}, case={case!r}")
    A, B, single = as_games(A, B)
    acc = B >= B.max(2, keepdims=True) - eps - 1e-12
    return _result(A, B, *_pure(A, acc, case == "best"), single)


def _sse_one(a: np.ndarray, b: np.ndarray, eps: float) -> tuple[np.ndarray, int, float]:
    """One game's strong Stackelberg commitment: for each follower action j, the LP
    max_x x.a_j  s.t. x.(b_k - b_j) <= eps for all k, x in the simplex; the best feasible j."""
    from scipy.optimize import linprog

    m, n = a.shape
    best = (None, -1, -np.inf)
    for j in range(n):
        r = linprog(-a[:, j], A_ub=(b - b[:, [j]]).T, b_ub=np.full(n, eps), A_eq=np.ones((1, m)), b_eq=[1.0],
                    bounds=(0, None), method="highs")  # fmt: skip
        if r.status == 0 and -r.fun > best[2] + 1e-12:  # infeasible: j is never a best reply
            best = (np.clip(r.x, 0, None) / np.clip(r.x, 0, None).sum(), j, -r.fun)
    if best[0] is None:  # some action is always a best reply, so only a solver failure gets here
        raise RuntimeError(f"HiGHS solved none of the {n} commitment LPs of a game: A={a.tolist()}, B={b.tolist()}")
    return best


def mixed_commitment(A, B, eps: float = 0.0) -> Outcome:
    """Strong Stackelberg equilibrium: the leader commits to the mixed strategy that is best for
    it given that the follower best-responds, ties in the leader's favour. eps > 0: the follower
    takes any action within eps of its best, steered to the leader's favourite."""
    if eps < 0:
        raise UserError(f"eps must be >= 0, got {eps}")
    A, B, single = as_games(A, B)
    G, m, n = A.shape
    X, cols = np.zeros((G, m)), np.zeros(G, int)
    for g in range(G):
        X[g], cols[g], _ = _sse_one(A[g], B[g], eps)
    lead = np.einsum("gm,gm->g", X, A[np.arange(G), :, cols])
    fol = np.einsum("gm,gm->g", X, B[np.arange(G), :, cols])
    return _out(single, lead, fol, X, _onehot(cols, n))


# -- Nash equilibria -------------------------------------------------------------------------
def _indifference(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve M p = v 1, sum p = 1 for stacked k x k blocks M (..., k, k) -> (p, v, solvable)."""
    k = M.shape[-1]
    S = np.zeros(M.shape[:-2] + (k + 1, k + 1))
    S[..., :k, :k], S[..., :k, k], S[..., k, :k] = M, -1.0, 1.0
    ok = np.abs(np.linalg.det(S)) > 1e-12
    S[~ok] = np.eye(k + 1)  # singular systems (degenerate supports) are solved as dummies and dropped
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    sol = np.linalg.solve(S, np.broadcast_to(rhs, S.shape[:-1])[..., None])[..., 0]
    return sol[..., :k], sol[..., k], ok


def nash_batch(A, B, tol: float = 1e-9, chunk: int = 256):
    """Support enumeration over all equal-size support pairs, vectorised over games and supports.
    Returns X (G, Q, m), Y (G, Q, n), valid (G, Q): candidate Q is an equilibrium of game g when
    valid[g, Q]; a nondegenerate game's equilibria each appear exactly once."""
    A, B, _ = as_games(A, B)
    G, m, n = A.shape
    Xs, Ys, Vs = [], [], []
    for k in range(1, min(m, n) + 1):
        rows, cols = itertools.combinations(range(m), k), itertools.combinations(range(n), k)
        pairs = list(itertools.product(rows, list(cols)))
        for s in range(0, len(pairs), chunk):
            I = np.array([p[0] for p in pairs[s:s + chunk]])  # (P, k)
            J = np.array([p[1] for p in pairs[s:s + chunk]])
            sub = (slice(None), I[:, :, None], J[:, None, :])
            y_s, v, ok_y = _indifference(A[sub])  # follower's mix on J makes the leader indifferent on I
            x_s, u, ok_x = _indifference(np.swapaxes(B[sub], -1, -2))  # leader's mix on I, follower on J
            P = len(I)
            X, Y = np.zeros((G, P, m)), np.zeros((G, P, n))
            np.put_along_axis(X, np.broadcast_to(I, (G, P, k)), x_s, 2)
            np.put_along_axis(Y, np.broadcast_to(J, (G, P, k)), y_s, 2)
            lead = np.einsum("gmn,gpn->gpm", A, Y)  # each leader row against y
            fol = np.einsum("gmn,gpm->gpn", B, X)  # each follower column against x
            valid = (ok_x & ok_y & (x_s >= -tol).all(-1) & (y_s >= -tol).all(-1)
                     & (lead <= v[..., None] + tol).all(-1) & (fol <= u[..., None] + tol).all(-1))  # fmt: skip
            Xs.append(np.clip(X, 0, None))
            Ys.append(np.clip(Y, 0, None))
            Vs.append(valid)
    return np.concatenate(Xs, 1), np.concatenate(Ys, 1), np.concatenate(Vs, 1)


def nash_equilibria(A, B, tol: float = 1e-9) -> list[tuple[np.ndarray, np.ndarray]]:
    """All Nash equilibria (x, y) of one nondegenerate game, by support enumeration."""
    A, B, single = as_games(A, B)
    if not single:
        raise UserError("nash_equilibria takes one game (m x n matrices); use nash_batch for a batch")
    X, Y, valid = nash_batch(A, B, tol)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for x, y in zip(X[0][valid[0]], Y[0][valid[0]]):
        if not any(np.allclose(x, a, atol=1e-7) and np.allclose(y, b, atol=1e-7) for a, b in found):
            found.append((x, y))
    return found


def nash_outcomes(A, B, pick: str = "best", by: str = "welfare", eqs=None) -> tuple[Outcome, np.ndarray]:
    """Per game the equilibrium with the highest (pick='best') or lowest ('worst') welfare, or
    leader payoff (by='leader'), and the number of equilibria found (0: NaN payoffs).
    eqs: nash_batch(A, B) if already computed."""
    A, B, single = as_games(A, B)
    X, Y, valid = nash_batch(A, B) if eqs is None else eqs
    lead = np.einsum("gqm,gmn,gqn->gq", X, A, Y)
    fol = np.einsum("gqm,gmn,gqn->gq", X, B, Y)
    key = lead + fol if by == "welfare" else lead
    key = np.where(valid, key if pick == "best" else -key, -np.inf)
    q = key.argmax(1)
    g = np.arange(len(A))
    none = ~valid.any(1)
    lo, fo = np.where(none, np.nan, lead[g, q]), np.where(none, np.nan, fol[g, q])
    return _out(single, lo, fo, X[g, q], Y[g, q]), valid.sum(1)


# -- the sequential causal equilibrium -------------------------------------------------------
def causal_equilibrium(A, B, eps: float = 0.0, steer: bool = False, tol: float = 1e-9,
                       layers: tuple[Outcome, ...] | None = None) -> tuple[Outcome, np.ndarray]:
    """S-CNE by backward induction over the rung the follower reasons at (worlds/causal_games.py):
      association     the follower sees the leader's move only as a correlate, not as a commitment
                      it can condition on: play is simultaneous, a Nash equilibrium (the leader's best);
      intervention    it observes do(leader commits to x) and best-responds to x: mixed commitment;
      counterfactual  it asks what each of its actions would have earned against what the leader
                      actually did: it answers the realised pure action, so commitment is pure.
    steer=True with eps > 0: the follower satisfices (any action within eps of its best) and the
    leader's causal signal steers it to the leader's favourite at rungs 2-3; else it plays its own
    best reply ("good instincts"). The leader takes the rung best for it; ties (within tol) go to
    the higher welfare, the reading most favourable to a causal gain, then to intervention.
    `layers`: the three rungs' outcomes if already computed. Returns the outcome and the rung chosen per game (0, 1, 2)."""
    A, B, single = as_games(A, B)
    e = eps if steer else 0.0
    if layers is None:
        layers = (nash_outcomes(A, B, "best", by="leader")[0], mixed_commitment(A, B, e),
                  satisficing_commitment(A, B, e, "best") if e > 0 else pure_commitment(A, B))  # fmt: skip
    lead = np.stack([np.atleast_1d(o.leader) for o in layers], 1)  # (G, 3)
    wel = np.stack([np.atleast_1d(o.welfare) for o in layers], 1)
    lead = np.where(np.isnan(lead), -np.inf, lead)  # a rung without an outcome is never chosen
    top = lead >= lead.max(1, keepdims=True) - tol
    wel = np.where(top, np.nan_to_num(wel, nan=-np.inf), -np.inf)
    top &= wel >= wel.max(1, keepdims=True) - tol
    rung = np.array([1, 2, 0])[top[:, [1, 2, 0]].argmax(1)]  # full ties: intervention, then counterfactual
    g = np.arange(len(A))
    pick = lambda f: np.stack([np.atleast_1d(getattr(o, f)) for o in layers], 1)[g, rung]  # noqa: E731
    xs = np.stack([np.atleast_2d(o.x) for o in layers], 1)[g, rung]
    ys = np.stack([np.atleast_2d(o.y) for o in layers], 1)[g, rung]
    return _out(single, pick("leader"), pick("follower"), xs, ys), rung


# -- statistics ------------------------------------------------------------------------------
def mean_ci(v, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t interval (mean, lo, hi); NaNs are dropped; fewer than 2 values: NaN bounds."""
    from scipy.special import stdtrit  # the t quantile; scipy.special loads far faster than scipy.stats

    v = np.asarray(v, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    h = float(stdtrit(len(v) - 1, 0.5 + level / 2) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - h, m + h


def paired_test(a, b, level: float = 0.95, tol: float = 1e-7) -> dict[str, float]:
    """Paired comparison of a against b (same games): mean difference, its t interval, the
    two-sided paired t-test p value (1 when every difference is 0), and how many games differ."""
    from scipy.special import stdtr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise UserError(f"paired_test needs equal-length samples, got {a.shape} and {b.shape}")
    d = a - b
    d = d[~np.isnan(d)]
    mean, lo, hi = mean_ci(d, level)
    if len(d) < 2 or np.ptp(d) == 0:  # no spread: the t statistic is undefined
        p = 1.0 if len(d) and np.all(np.abs(d) <= tol) else 0.0 if len(d) >= 2 else float("nan")
    else:
        t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
        p = float(2 * stdtr(len(d) - 1, -abs(t)))
    return {"mean": mean, "lo": lo, "hi": hi, "p": p, "n": int(len(d)),
            "n_higher": int((d > tol).sum()), "n_lower": int((d < -tol).sum())}  # fmt: skip
