"""Hidden capabilities in concept space: a conditional generator learns the stronger concept first,
and can make an unseen combination (when over-prompted) before plain prompting shows it.

Paper: Core Francisco Park, Maya Okawa, Andrew Lee, Ekdeep Singh Lubana & Hidenori Tanaka (2024),
"Emergence of Hidden Capabilities: Exploring Learning Dynamics in Concept Space" (NeurIPS 2024).
There: a diffusion U-Net on images of circles, two binary concepts (colour, size), class 11 held
out; the concept signal (how much the data change when a concept flips) sets the order and speed
of learning; the held-out class's trajectory in concept space turns suddenly, and at that point
latent interventions and over-prompting already generate it while plain prompting does not.

CPU version: vector data. Two binary concepts, colour c1 and size c2, are coordinates of a 2-d
concept space with class means `colour_sep` and `size_sep` apart (the concept signals), embedded
by a random orthonormal map in `obs_dim` dimensions with isotropic noise `noise_sd`. One class
(`held_out`, default 11) is never trained on. A conditional flow-matching MLP (conditioned on the
concept vector through a learned embedding e(c)) learns the three others. A fixed classifier (the
analytic Bayes/nearest-mean one of the generating process) scores each concept of its samples.

Logged every `log_every` steps on `n_eval` samples per prompt, all from the same fixed noise:
    concept/p_{colour,size}_{00,01,10,11}  mean classifier probability that the concept is 1, for
        samples prompted with each class: the trajectory in concept space, held-out class included
    heldout/acc_colour, heldout/acc_size   share of held-out-class samples with that concept right
    heldout/acc                            ... with both right
    train/acc_colour, train/acc_size, train/acc   the same averaged over the training classes
    over/...     the held-out class over-prompted: c -> c + over_prompt (2c - 1), e.g. 11 -> 1.5 1.5
    steer/...    the held-out class with a linear latent intervention: e(c) + steer_scale sum_i d_i,
                 d_i = e(training class with concept i as asked) - e(with it flipped)
                 (over/ and steer/ log p_colour, p_size, acc_colour, acc_size, acc)
    train/loss   the flow-matching loss of the last training batch
Summary: learn_step_* = first step whose accuracy exceeds `threshold` at `patience` consecutive
evaluations (None: never): learn_step_{colour,size} and learn_step_heldout (both concepts) for
the held-out class, learn_step_over_*, learn_step_steer_*, learn_step_train_*; first_learned
(which concept of the held-out class came first); hidden_gap_over = learn_step_heldout -
learn_step_over and hidden_gap_steer (> 0: the capability was there before prompting showed it);
turn_step / turn_depth (the corner of the held-out trajectory); data_acc_* (the classifier on
real data: the ceiling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, lazy, register

CONCEPTS = ("colour", "size")


# Measured on 2 shared CPU cores, torch on 1 thread: see docs/worlds/concept_space.md.
@dataclass(frozen=True)
class ConceptSpaceConfig:
    seed: int = param(0, "seeds the weights, the data geometry, the training draws and the evaluation noise")
    colour_sep: float = param(3.0, "concept signal of colour: distance between the means of colour 0 and 1")
    size_sep: float = param(1.5, "concept signal of size: distance between the class means of size 0 and 1")
    noise_sd: float = param(0.5, "sd of the isotropic Gaussian noise around every class mean (all dims)")
    obs_dim: int = param(16, "dimension of the observations the 2-d concept space is embedded in")
    held_out: tuple[int, ...] = param((1, 1), "the (colour, size) combination never trained on, e.g. 1,1")
    hidden: int = param(128, "hidden width of the velocity MLP (two hidden layers)")
    embed_dim: int = param(32, "width of the conditioning embedding e(c) = SiLU(W c + b)")
    lr: float = param(1e-4, "Adam learning rate")
    batch_size: int = param(128, "samples per training step (classes drawn uniformly from the training ones)")
    steps: int = param(3000, "optimiser steps")
    log_every: int = param(25, "steps between evaluations")
    n_eval: int = param(256, "generated samples per prompt per evaluation (the same fixed noise for all)")
    sample_steps: int = param(10, "Euler steps from noise (t = 0) to data (t = 1) when generating")
    threshold: float = param(0.8, "accuracy a concept must exceed to count as learned (the paper's 80 %)")
    patience: int = param(3, "consecutive evaluations above threshold before a concept counts as learned")
    over_prompt: float = param(0.5, "over-prompting: concept value c becomes c + over_prompt (2c - 1)")
    steer_scale: float = param(0.5, "linear latent intervention: e(c) + steer_scale x (sum of concept dirs)")
    device: str = param("auto", "auto (CUDA when available), cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        for k in ("obs_dim", "hidden", "embed_dim", "batch_size", "steps", "log_every", "n_eval",
                  "sample_steps", "patience"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.obs_dim < 2:
            raise ValueError(f"obs_dim must be at least 2 (the concept space is 2-d), got {self.obs_dim}")
        if not (self.colour_sep > 0 and self.size_sep > 0):
            raise ValueError(f"colour_sep and size_sep must be > 0 (a concept needs a signal), got "
                             f"{self.colour_sep}, {self.size_sep}")
        if not (self.noise_sd > 0 and self.lr > 0):
            raise ValueError(f"noise_sd and lr must be > 0, got {self.noise_sd}, {self.lr}")
        if len(self.held_out) != 2 or any(v not in (0, 1) for v in self.held_out):
            raise ValueError(f"held_out must be two values in {{0, 1}} (colour, size), e.g. 1,1; got "
                             f"{','.join(map(str, self.held_out)) or 'nothing'}")
        if not 0.5 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0.5, 1) (0.5 is chance), got {self.threshold}")
        if not (self.over_prompt >= 0 and self.steer_scale >= 0):
            raise ValueError(f"over_prompt and steer_scale must be >= 0, got {self.over_prompt}, "
                             f"{self.steer_scale}")
        check_device(self.device, auto=True)


def learn_step(steps, acc, threshold: float, patience: int = 3) -> int | None:
    """The first step where acc > threshold holds for `patience` consecutive evaluations
    (the paper's criterion), or None if it never does. steps, acc: (T,)."""
    steps, ok = np.asarray(steps), np.asarray(acc) > threshold
    if len(ok) < patience:
        return None
    # run[i]: all of ok[i : i + patience]; a sliding window, no loop over evaluations
    run = np.lib.stride_tricks.sliding_window_view(ok, patience).all(1)
    idx = np.flatnonzero(run)
    return int(steps[idx[0]]) if idx.size else None


def trajectory_turn(p, target) -> tuple[int, float]:
    """The corner of a trajectory in concept space: p (T, 2) probabilities, target (2,) the
    corner it should reach. Returns (index, depth): the point farthest from the straight
    chord from p[0] to target, and that distance (0 for a straight path)."""
    p, target = np.asarray(p, float), np.asarray(target, float)
    chord = target - p[0]
    norm = np.linalg.norm(chord)
    rel = p - p[0]
    if norm == 0:
        dist = np.linalg.norm(rel, axis=1)
    else:  # |cross product| / |chord|: distance of every point from the chord's line
        dist = np.abs(rel[:, 0] * chord[1] - rel[:, 1] * chord[0]) / norm
    i = int(np.argmax(dist))
    return i, float(dist[i])


def run(cfg: ConceptSpaceConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(1):  # an MLP of 128 units: more threads only fight other runs for the cores
        from emergelab.worlds._concept_train import train

        train(cfg, rec)


def summary(cfg: ConceptSpaceConfig, steps, curves: dict[str, np.ndarray]) -> dict[str, Any]:
    """The summary of a run from its logged curves: steps (T,), curves {name: (T,)}."""
    from emergelab.worlds._concept_flow import class_label, data_accuracy

    ls = lambda name: learn_step(steps, curves[name], cfg.threshold, cfg.patience)  # noqa: E731
    out: dict[str, Any] = {}
    # per concept: learn_step_colour (held-out class, plain prompt), learn_step_over_colour, ...;
    # both concepts: learn_step_heldout, learn_step_over, learn_step_steer, learn_step_train
    for prefix, key in (("heldout", "learn_step"), ("over", "learn_step_over"), ("steer", "learn_step_steer"),
                        ("train", "learn_step_train")):
        for c in CONCEPTS:
            out[f"{key}_{c}"] = ls(f"{prefix}/acc_{c}")
        out["learn_step_heldout" if prefix == "heldout" else key] = ls(f"{prefix}/acc")
    a, b = out["learn_step_colour"], out["learn_step_size"]
    if a is None or b is None:
        out["first_learned"] = "neither" if a is None and b is None else "colour" if b is None else "size"
    else:
        out["first_learned"] = "colour" if a < b else "size" if b < a else "tie"
    for key in ("over", "steer"):
        n, o = out["learn_step_heldout"], out[f"learn_step_{key}"]
        out[f"hidden_gap_{key}"] = None if n is None or o is None else n - o
    lab = class_label(cfg.held_out)
    traj = np.stack([curves[f"concept/p_colour_{lab}"], curves[f"concept/p_size_{lab}"]], 1)  # (T, 2)
    i, depth = trajectory_turn(traj, cfg.held_out)
    out.update(turn_step=int(steps[i]), turn_depth=depth, held_out=lab)
    out["data_acc_colour"], out["data_acc_size"] = data_accuracy(cfg)
    return out


_QUICK = {"steps": 1500, "log_every": 25}

register(World(
    name="concept_space",
    paper="C. F. Park, M. Okawa, A. Lee, E. S. Lubana, H. Tanaka (2024), Emergence of Hidden Capabilities: "
          "Exploring Learning Dynamics in Concept Space (NeurIPS)",
    effect="concept learning order set by concept signal; an unseen concept combination can be generated by "
           "over-prompting or a latent intervention before plain prompting generates it (hidden capability)",
    config=ConceptSpaceConfig,
    run=run,
    presets={
        "paper": {},
        "quick": _QUICK,  # 6-12 s a run on 2 busy cores (paper: 3,000 steps, twice that)
        # the signals swapped: size now learned first
        "size-strong": {**_QUICK, "colour_sep": 1.5, "size_sep": 3.0},
        "tiny": {"obs_dim": 4, "hidden": 16, "embed_dim": 8, "batch_size": 32, "steps": 30, "log_every": 5,
                 "n_eval": 32, "sample_steps": 4, "lr": 3e-3},
    },
    watch=("heldout/acc", "over/acc"),
    # learning steps against concept signal
    sweep_section=lazy("emergelab.worlds._concept_sweep", "sweep_section"),
    look_for="concept/p_*_11 (the held-out class's trajectory in concept space) first drifts away from "
             "11 (toward the average training sample), then turns to it (summary: turn_step); the stronger "
             "concept is learned first (learn_step_colour < learn_step_size with colour_sep > size_sep; "
             "-p size-strong reverses it); over/acc and steer/acc (over-prompting, latent intervention) "
             "pass the threshold before heldout/acc: hidden_gap_over, hidden_gap_steer > 0.",
))
