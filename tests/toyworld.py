"""A toy world for lab tests: a noisy sigmoid jump (importable by worker processes via
EMERGELAB_WORLDS=tests.toyworld)."""

from __future__ import annotations

import dataclasses
import os
import signal
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
    label: str = param("", "free text; when set, toy/y is also logged under this name and the text is put "
                           "in the summary (for report escaping tests)")
    crash: Literal["no", "raise", "exit", "kill"] = param("no", "crash half-way through the run (crash-safety "
                                                          "tests): raise an error, os._exit(3), or SIGKILL itself")
    crash_at: int = param(-1, "with crash: only the run whose jump_at is this crashes (-1: every run)")

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
        if cfg.label:
            rec.log(s, **{cfg.label: y[s]})
        if cfg.sleep:
            time.sleep(cfg.sleep)
        if s >= cfg.steps // 2 and cfg.crash != "no" and cfg.crash_at in (-1, cfg.jump_at):
            _crash(cfg.crash)
    rec.artefact("y", y)
    rec.summarize(final=y[-1])
    if cfg.label:
        rec.summarize(label=cfg.label)


def _crash(how: str) -> None:
    if how == "raise":
        raise RuntimeError("toy crash")
    if how == "exit":
        os._exit(3)  # no cleanup, no exception: what a segfaulting extension looks like
    os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does


TOY = register(World(name="toy", paper="none (test fixture)", effect="a sigmoid jump", config=ToyConfig,
                     run=_toy_run, presets={"quick": {"steps": 100, "jump_at": 50}}, watch=("toy/y",)))  # fmt: skip


