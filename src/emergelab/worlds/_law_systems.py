"""The simulated systems of law_discovery: canonical laws, their metaphysical shifts, the lab.

NewtonBench (Zheng et al. 2025) alters canonical laws ("metaphysical shifts") so that a
remembered textbook law is wrong and the law must be found by experiment. Here each system
keeps its canonical constant and inputs and shifts the law by difficulty:
  easy    one exponent shifted (a power law still);
  medium  two or three exponents shifted, some to thirds (a power law, exponents off the
          half-integer grid);
  hard    a changed functional form (an exponential factor or a sum): no power law fits it.
Inputs are positive and drawn from each input's range; the systems' units are arbitrary.

`Lab` answers experiments with multiplicative log-normal noise: y * exp(noise * N(0, 1)), so a
measurement stays positive at any noise level (noise is the sd of log y), and counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emergelab.errors import UserError
from emergelab.measures.laws import law_function, parse_law

DIFFICULTIES = ("easy", "medium", "hard")

# name: (output, {input: (low, high)}, canonical, {difficulty: shifted law})
SYSTEMS: dict[str, tuple[str, dict[str, tuple[float, float]], str, dict[str, str]]] = {
    "gravitation": ("F", {"m1": (0.1, 10.0), "m2": (0.1, 10.0), "r": (0.1, 10.0)}, "6.674*m1*m2/r**2", {
        "easy": "6.674*m1*m2/r**1.5",
        "medium": "6.674*m1*m2**1.5/r**3",
        "hard": "6.674*m1*m2*exp(-r)/r**1.5"}),
    "coulomb": ("F", {"q1": (0.1, 10.0), "q2": (0.1, 10.0), "r": (0.1, 10.0)}, "8.988*q1*q2/r**2", {
        "easy": "8.988*q1*q2/r**3",
        "medium": "8.988*q1**(2/3)*q2**(2/3)/r**2.5",
        "hard": "8.988*q1*q2/(r**3 + r)"}),
    "hooke": ("U", {"k": (0.1, 10.0), "x": (0.1, 10.0)}, "0.5*k*x**2", {
        "easy": "0.5*k*x**3",
        "medium": "0.5*k**2*x**2.5",
        "hard": "0.5*k*x**2*(1 + x)"}),
    "ideal_gas": ("P", {"n": (0.1, 10.0), "T": (10.0, 1000.0), "V": (0.1, 10.0)}, "8.314*n*T/V", {
        "easy": "8.314*n*T/V**2",
        "medium": "8.314*n**2*T**0.5/V**2",
        "hard": "8.314*n*T/(V**2 + n)"}),
    "kepler": ("T", {"a": (0.1, 10.0), "M": (0.1, 10.0)}, "6.283*a**1.5/M**0.5", {
        "easy": "6.283*a**2/M**0.5",
        "medium": "6.283*a**(4/3)/M**1.5",
        "hard": "6.283*a**2/sqrt(M + a)"}),
}  # fmt: skip


@dataclass
class Task:
    """One discovery task: a system's shifted law at one difficulty."""

    system: str
    difficulty: str
    output: str
    ranges: dict[str, tuple[float, float]]
    law: str  # the hidden truth, as text
    expr: object = field(repr=False, default=None)  # its sympy expression
    f: object = field(repr=False, default=None)  # its numpy function

    @property
    def inputs(self) -> list[str]:
        return list(self.ranges)

    def __post_init__(self) -> None:
        self.expr = parse_law(self.law, self.inputs)
        self.f = law_function(self.expr, self.inputs)


def custom_task(law: str, lo: float, hi: float) -> Task:
    """A user's own hidden law: inputs are its free names, each ranging over [lo, hi]."""
    import re

    from emergelab.measures.laws import FUNCTIONS

    names = sorted({n for n in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", law.split("=")[-1]) if n not in FUNCTIONS})
    if not names:
        raise UserError(f"the law {law!r} has no input variable: write e.g. law='2*x**1.5/y'")
    return Task("custom", "custom", "y", {n: (lo, hi) for n in names}, law)


def tasks(systems, difficulties) -> list[Task]:
    """Every (system, difficulty) task, systems outer."""
    out = []
    for s in systems:
        output, ranges, _, laws = SYSTEMS[s]
        out += [Task(s, d, output, dict(ranges), laws[d]) for d in difficulties]
    return out


class Lab:
    """A task's apparatus: run experiments (noisy), within a budget, and count them."""

    def __init__(self, task: Task, noise: float, budget: int, rng: np.random.Generator) -> None:
        self.task, self.noise, self.budget, self.rng = task, noise, budget, rng
        self.used = 0

    @property
    def left(self) -> int:
        return self.budget - self.used

    def clip(self, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs moved into their ranges (the apparatus cannot go beyond them)."""
        return {k: np.clip(np.asarray(x[k], float), *self.task.ranges[k]) for k in self.task.inputs}

    def run(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """Measured outputs at the inputs x (arrays of one length; clipped into range)."""
        x = self.clip(x)
        n = len(next(iter(x.values())))
        if n > self.left:
            raise RuntimeError(f"{n} experiments asked, {self.left} left")  # an agent's bug, not a user's
        self.used += n
        y = self.task.f(*x.values())
        return y * np.exp(self.noise * self.rng.standard_normal(n))
