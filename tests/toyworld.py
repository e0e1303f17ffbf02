"""A toy world for lab tests: a noisy sigmoid jump (importable by worker processes via
EMERGELAB_WORLDS=tests.toyworld)."""

from __future__ import annotations

import dataclasses
import time
from typing import Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    seed: int = param(0, "random seed")
    steps: int = param(200, "number of steps")
    jump_at: int = param(100, "step of the sigmoid jump")
    noise: float = param(0.01, "noise sd")
    mode: Literal["up", "down"] = param("up", "direction of the jump")
    widths: tuple[int, ...] = param((4, 8), "a tuple field for parsing tests")
    flag: bool = param(False, "a bool field for parsing tests")
    sleep: float = param(0.0, "seconds to sleep per logged step (for interruption tests)")

    def __post_init__(self):
        if self.steps < 10:
            raise ValueError(f"steps must be >= 10, got {self.steps}")


def _toy_run(cfg: ToyConfig, rec) -> None:
    rng = np.random.default_rng(cfg.seed)
    t = np.arange(cfg.steps)
    y = 1 / (1 + np.exp(-(t - cfg.jump_at) / 5)) + cfg.noise * rng.standard_normal(cfg.steps)
    if cfg.mode == "down":
        y = 1 - y
    rec.set_total(cfg.steps)
    for s in range(0, cfg.steps, 2):
        rec.log(s, **{"toy/y": y[s], "toy/t": float(s)})
        if cfg.sleep:
            time.sleep(cfg.sleep)
    rec.artefact("y", y)
    rec.summarize(final=y[-1])


TOY = register(World(name="toy", paper="none (test fixture)", effect="a sigmoid jump", config=ToyConfig,
                     run=_toy_run, presets={"quick": {"steps": 100, "jump_at": 50}}, watch=("toy/y",)))  # fmt: skip


