"""The offline agents of law_discovery: log-log regression and brute-force expression search.

Both spend their whole budget at once on a Latin-hypercube design in log space (each input's
log range cut into n equal strata, one point per stratum, strata paired at random): the
points span every range evenly, which is what a log-log fit needs, and no two inputs move
together (a correlated design would confound their exponents).

- regression: least squares of log y on [1, log x_1, ..., log x_d]. Each exponent within
  round_tol of a simple rational p/q (q <= 4, |p/q| <= 6) is rounded to it, and the agent says
  so in its notes ("r: -1.4987 +/- 0.0021 -> -3/2"); the constant is refitted with the rounded
  exponents. The reference agent: it recovers any power law whose exponents are on that grid
  when the noise lets the fit land within round_tol.
- brute: every product of powers of the inputs with exponents from a small set (default the
  half-integers -3..3), times the constant that fits best in log space; the lowest sum of
  squared log residuals wins. It cannot express an exponent off its set (thirds).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np

from emergelab.errors import UserError

MAX_DEN, MAX_EXP = 4, 6
MAX_COMBOS = 2_000_000


def design(ranges: dict[str, tuple[float, float]], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n points, Latin hypercube in each input's log range."""
    d = len(ranges)
    strata = np.argsort(rng.random((d, n)), axis=1)  # a random permutation of 0..n-1 per input
    u = (strata + rng.random((d, n))) / n
    lo, hi = (np.log([r[i] for r in ranges.values()])[:, None] for i in (0, 1))
    return {k: np.exp(lo[i] + (hi[i] - lo[i]) * u[i]) for i, k in enumerate(ranges)}


GRID = np.array(sorted({float(Fraction(p, q)) for q in range(1, MAX_DEN + 1)
                        for p in range(-MAX_EXP * q, MAX_EXP * q + 1)}))  # fmt: skip


def simple_rational(a: np.ndarray) -> np.ndarray:
    """The nearest p/q (q <= 4, |p/q| <= 6) to each value."""
    return GRID[np.abs(np.asarray(a, float)[..., None] - GRID).argmin(-1)]


def fmt_exponent(e: float) -> str:
    """1.5 -> '1.5', -1.5 -> '(-1.5)', 1/3 -> '(1/3)': thirds stay fractions, decimals would not be exact."""
    fr = Fraction(e).limit_denominator(MAX_DEN)
    text = f"{fr.numerator}/{fr.denominator}" if float(fr) == e and fr.denominator == 3 else f"{e:.6g}"
    return text if e > 0 and "/" not in text else f"({text})"


def power_law(const: float, names: list[str], exps: np.ndarray) -> str:
    """'C*x**a*y**b...' (exponent 0 dropped, 1 bare)."""
    return "*".join([f"{const:.6g}"] + [n if e == 1 else f"{n}**{fmt_exponent(e)}" for n, e in zip(names, exps) if e != 0])


def _logs(lab, rng):
    names = lab.task.inputs
    if lab.left < len(names) + 2:
        raise UserError(f"n_experiments={lab.budget} is too few for {len(names)} inputs: set n_experiments >= "
                        f"{len(names) + 2}")  # fmt: skip
    x = design(lab.task.ranges, lab.left, rng)
    y = lab.run(x)
    return names, np.log(np.column_stack(list(x.values()))), np.log(y)


def regression(lab, rng: np.random.Generator, round_tol: float = 0.03) -> tuple[str, str]:
    """(law, notes): log-log least squares, exponents rounded to simple rationals when close."""
    names, lx, ly = _logs(lab, rng)
    A = np.column_stack([np.ones(len(ly)), lx])
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    dof = max(len(ly) - A.shape[1], 1)
    se = np.sqrt(np.diag(np.linalg.pinv(A.T @ A)) * (resid @ resid) / dof)[1:]
    a = coef[1:]
    r = simple_rational(a)
    close = np.abs(a - r) <= round_tol
    exps = np.where(close, r, np.round(a, 4))
    const = float(np.exp(np.mean(ly - lx @ exps)))
    notes = "; ".join(f"{n}: {ai:.4f} +/- {si:.4f}" + (f" -> {fmt_exponent(ri)} (rounded)" if c else " (kept)")
                      for n, ai, si, ri, c in zip(names, a, se, r, close))  # fmt: skip
    return power_law(const, names, exps), notes


def brute(lab, rng: np.random.Generator, exponents: tuple[float, ...]) -> tuple[str, str]:
    """(law, notes): the best product of powers with exponents from the set, by log residuals."""
    names, lx, ly = _logs(lab, rng)
    E = np.asarray(sorted(set(exponents)), float)
    if len(E) ** len(names) > MAX_COMBOS:
        raise UserError(f"brute-force search over {len(E)}^{len(names)} laws is too large: use fewer "
                        "brute_exponents")  # fmt: skip
    combos = np.array(list(product(E, repeat=len(names))))  # (K, d)
    R = ly[None, :] - combos @ lx.T  # (K, N) log residual before the constant
    c = R.mean(1)
    sse = ((R - c[:, None]) ** 2).sum(1)
    order = np.argsort(sse, kind="stable")
    best, second = order[0], order[1] if len(order) > 1 else order[0]
    notes = f"searched {len(combos)} laws; best sse {sse[best]:.4g}, runner-up {sse[second]:.4g}"
    return power_law(float(np.exp(c[best])), names, combos[best]), notes
