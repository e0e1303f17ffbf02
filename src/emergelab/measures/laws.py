"""Scores of a discovered law: parse it safely, RMSLE against the truth, symbolic equivalence.

After NewtonBench (Zheng et al. 2025, "NewtonBench: Benchmarking Generalizable Scientific Law
Discovery in LLM Agents", arXiv 2510.07172): a submitted law is scored by its RMSLE on test
points drawn log-uniformly over the inputs' ranges, and by whether it is the same law.

- `parse_law(text, variables)`: a law written as a Python/sympy expression ("6.67*m1*m2/r**1.5",
  "^" for power accepted, a leading "F =" dropped) -> sympy expression over positive symbols.
  Only numbers, the variables, + - * / ^ ** ( ) and exp/log/sqrt/sin/cos/tan/pi/E may appear:
  the text is checked token by token before sympy sees it, because sympy's parser evaluates
  Python and submissions come from language models. Anything else -> LawParseError (a
  UserError: one line saying what to fix).
- `law_function(expr, variables)`: a vectorised numpy function of the inputs' arrays.
- `rmsle(y_true, y_pred, offset=0)`: sqrt(mean((log(offset + y_pred) - log(offset + y_true))^2)).
  offset=0 (the default) is scale-free: these laws' outputs span decades, and log(1 + y) would
  count every value much below 1 as nearly 0; offset=1 is the classical log1p form. A
  prediction that is not finite and > -offset somewhere cannot be scored: inf.
- `equivalent(candidate, truth, ranges)`: the same law up to a constant factor within `rtol`
  (a fitted constant is never exact, the RMSLE scores it): sympy simplifies candidate/truth over
  positive inputs; a number is a symbolic verdict. When sympy leaves symbols (or the candidate
  has over MAX_OPS operations, too long to simplify in good time), the ratio's
  logarithm on random log-uniform points decides (constant to 1e-8 and within rtol: a match);
  the numeric check also confirms every symbolic verdict.
"""

from __future__ import annotations

import keyword
import re
from typing import Mapping, Sequence

import numpy as np

from emergelab.errors import UserError

FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tan", "pi", "E")
MAX_LEN = 300
MAX_OPS = 60  # candidates longer than this skip sympy.simplify (the numeric check decides)
MAX_EXP = 64  # numeric exponents beyond this are no physical law and may not finish evaluating
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|[-+*/^()]))")


class LawParseError(UserError):
    """A law that cannot be read: the message says what to write instead."""


def _names(variables: Sequence[str]) -> list[str]:
    names = list(variables)
    bad = [v for v in names if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", v) or v in FUNCTIONS or "__" in v
           or keyword.iskeyword(v)]  # fmt: skip
    if bad or len(set(names)) != len(names):
        raise LawParseError(f"variables must be distinct plain names, not Python keywords or {', '.join(FUNCTIONS)}; "
                            f"got {', '.join(names)}")  # fmt: skip
    return names


def parse_law(text: str, variables: Sequence[str]):
    """The law in `text` as a sympy expression over positive symbols named `variables`."""
    import sympy
    from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

    names = _names(variables)
    use = f"write it with {', '.join(names)}, numbers, + - * / ** ( ) and exp/log/sqrt, e.g. 2.5*{names[0]}**1.5"
    if not isinstance(text, str) or not text.strip():
        raise LawParseError(f"the law is empty: {use}")
    body = text.strip().rsplit("=", 1)[-1].strip() if "=" in text else text.strip()  # "F = ..." -> "..."
    if len(body) > MAX_LEN:
        raise LawParseError(f"the law is {len(body)} characters long (at most {MAX_LEN}): {use}")
    pos = 0
    while pos < len(body):  # token by token: nothing but numbers, known names and operators reaches eval
        m = _TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            raise LawParseError(f"cannot read the law {text!r} at {body[pos:pos + 10]!r}: {use}")
        if m.group(2) and m.group(2) not in names and m.group(2) not in FUNCTIONS:
            raise LawParseError(f"the law {text!r} uses the unknown name {m.group(2)!r}: {use}")
        pos = m.end()
        while pos < len(body) and body[pos].isspace():
            pos += 1
    local = {v: sympy.Symbol(v, positive=True) for v in names}
    local.update({f: getattr(sympy, f) for f in FUNCTIONS})
    glob = {k: getattr(sympy, k) for k in ("Integer", "Float", "Rational", "Symbol", "Mul", "Add", "Pow")}
    trans = standard_transformations + (convert_xor,)
    try:
        # unevaluated first: a number raised to a huge number (10**10**10) would take forever to evaluate
        raw = parse_expr(body, local_dict=local, global_dict=glob, transformations=trans, evaluate=False)
        for p in sympy.preorder_traversal(raw):
            if isinstance(p, sympy.Pow) and not p.exp.free_symbols and abs(complex(p.exp.evalf(15))) > MAX_EXP:
                raise LawParseError(f"the law {text!r} raises to the power {p.exp} (at most {MAX_EXP}): {use}")
        expr = parse_expr(body, local_dict=local, global_dict=glob, transformations=trans, evaluate=True)
    except LawParseError:
        raise
    except Exception as e:  # noqa: BLE001 - sympy raises many kinds on malformed input
        raise LawParseError(f"cannot parse the law {text!r} ({type(e).__name__}): {use}") from None
    if not isinstance(expr, sympy.Expr) or expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise LawParseError(f"the law {text!r} is not a finite expression: {use}")
    return expr


def law_function(expr, variables: Sequence[str]):
    """f(*arrays) -> array: the expression evaluated elementwise with numpy."""
    import sympy

    syms = [sympy.Symbol(v, positive=True) for v in _names(variables)]
    f = sympy.lambdify(syms, expr, modules="numpy")

    def call(*xs: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = np.asarray(f(*xs), dtype=complex if expr.has(sympy.I) else float)
        out = np.where(np.abs(np.imag(out)) > 0, np.nan, np.real(out)) if np.iscomplexobj(out) else out
        return np.broadcast_to(out, np.broadcast(*xs).shape).astype(float)

    return call


def rmsle(y_true: np.ndarray, y_pred: np.ndarray, offset: float = 0.0) -> float:
    """Root mean squared log error; inf when a prediction cannot be logged (see module doc)."""
    t, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    if t.shape != p.shape or t.size == 0:
        raise UserError(f"rmsle needs two arrays of the same non-zero length, got shapes {t.shape} and {p.shape}")
    if not np.all(np.isfinite(t) & (t + offset > 0)):
        raise UserError("rmsle: the true values must be finite and > -offset (use offset=1 for values >= 0)")
    if not np.all(np.isfinite(p) & (p + offset > 0)):
        return float("inf")
    return float(np.sqrt(np.mean((np.log(p + offset) - np.log(t + offset)) ** 2)))


def log_uniform(ranges: Mapping[str, tuple[float, float]], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n points drawn log-uniformly in each input's (low, high) range."""
    lo = np.log([r[0] for r in ranges.values()])
    hi = np.log([r[1] for r in ranges.values()])
    u = rng.random((n, len(lo)))
    return {k: np.exp(lo[i] + (hi[i] - lo[i]) * u[:, i]) for i, k in enumerate(ranges)}


def equivalent(candidate, truth, ranges: Mapping[str, tuple[float, float]], rtol: float = 0.05,
               n_points: int = 64, seed: int = 0) -> dict:
    """Is `candidate` the law `truth` up to a constant factor within rtol? Both are sympy
    expressions over the inputs named in `ranges` (or strings, parsed). Returns match (bool),
    method ('symbolic' | 'numeric'), factor (candidate/truth: a constant, or nan when the ratio
    varies), symbolic (True/False, None when sympy could not reduce the ratio to a number)."""
    import sympy

    names = list(ranges)
    cand = parse_law(candidate, names) if isinstance(candidate, str) else candidate
    true = parse_law(truth, names) if isinstance(truth, str) else truth
    if not rtol >= 0:
        raise UserError(f"rtol must be >= 0, got {rtol}")
    symbolic, factor = None, float("nan")
    try:
        if sympy.count_ops(cand) > MAX_OPS:  # simplify can run for minutes on a long tangle: numbers decide
            raise ValueError("too long to simplify")
        ratio = sympy.simplify(sympy.powsimp(sympy.expand_power_base(cand / true, force=True), force=True))
        if not ratio.free_symbols and ratio.is_number:
            value = complex(ratio.evalf())
            if value.imag == 0 and np.isfinite(value.real):
                factor = value.real
                symbolic = bool(factor > 0 and abs(factor - 1) <= rtol)
            else:
                symbolic = False
    except (TypeError, ValueError, ZeroDivisionError, RecursionError, AttributeError):
        symbolic = None  # sympy gave up: the numeric check decides
    # numeric identity of the ratio on random points: the fallback, and a check of the symbolic verdict
    x = log_uniform(ranges, n_points, np.random.default_rng(seed))
    with np.errstate(all="ignore"):
        c, t = law_function(cand, names)(*x.values()), law_function(true, names)(*x.values())
        lr = np.log(c / t)
    const = bool(np.all(np.isfinite(lr)) and np.ptp(lr) <= 1e-8 * max(1.0, float(np.max(np.abs(lr)))))
    numeric = const and abs(np.exp(lr.mean()) - 1) <= rtol
    if const and not np.isfinite(factor):
        factor = float(np.exp(lr.mean()))
    if symbolic is not None:
        return {"match": bool(symbolic and numeric), "method": "symbolic", "factor": factor, "symbolic": symbolic}
    return {"match": bool(numeric), "method": "numeric", "factor": factor, "symbolic": None}
