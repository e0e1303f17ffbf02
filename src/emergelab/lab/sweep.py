"""Runs and sweeps: plan (world × grid of overrides × seeds), execute, store.

A run's id is `<world>-<hash of world and full config>`, seed included, so the same plan
always names the same runs: re-running a sweep skips the runs already in the store, and a
sweep interrupted by Ctrl-C or a crash resumes where it stopped.

Seeds of a multi-seed plan come from `numpy.random.SeedSequence(root_seed).spawn(n)`; a
plan without `seeds` runs the config's own `seed` field as given.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from emergelab.lab import config as cfgmod
from emergelab.errors import UserError
from emergelab.lab.registry import get_world


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to execute one run (picklable)."""

    run_id: str
    world: str
    preset: str | None
    overrides: dict[str, Any]
    config: dict[str, Any]
    seed: int
    labels: dict[str, Any] = field(default_factory=dict)  # the swept values of this run


def derive_seeds(root_seed: int, n: int) -> list[int]:
    """n independent 32-bit seeds from one root (SeedSequence spawning)."""
    import numpy as np

    return [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(root_seed).spawn(n)]


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """['lr=1e-3,3e-3', 'group=Z59,Z97'] -> {'lr': ['1e-3', '3e-3'], ...}. A value that is
    itself a list goes in brackets: 'clamp=(),(a),(a,b)' -> ['()', '(a)', '(a,b)']."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"bad grid axis {item!r}: write key=v1,v2,... e.g. -g train_fraction=0.2,0.3")
        k, v = item.split("=", 1)
        vals = [x.strip() for x in _split_top(v, item) if x.strip()]
        if not vals:
            raise UserError(f"grid axis '{k}' has no values: write {k}=v1,v2,...")
        grid[k.strip().replace("-", "_")] = vals
    return grid


def _split_top(text: str, item: str) -> list[str]:
    """Split at the commas outside () and []."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "(["
        depth -= ch in ")]"
        if depth < 0:
            break
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise UserError(f"bad grid axis {item!r}: unbalanced brackets; list values go in brackets, "
                        "e.g. -g clamp=(),(a),(a,b)")  # fmt: skip
    return [*parts, cur]


def plan(world_name: str, preset: str | None = None, overrides: dict[str, Any] | None = None,
         grid: dict[str, list[Any]] | None = None, seeds: int | None = None) -> list[RunSpec]:  # fmt: skip
    """Expand a world × grid × seeds into run specs, validating every config up front
    (so a bad value fails before anything runs or is written)."""
    world = get_world(world_name)
    overrides = dict(overrides or {})
    grid = dict(grid or {})
    if seeds is not None and seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    if "seed" in grid and seeds is not None:
        raise UserError("give either a grid over 'seed' or --seeds, not both")
    base = world.make_config(preset, overrides)
    seed_list = derive_seeds(base.seed, seeds) if seeds is not None else [None]
    specs = []
    for combo in itertools.product(*grid.values()):
        labels = dict(zip(grid.keys(), combo))
        cfg = world.make_config(preset, {**overrides, **labels})
        for s in seed_list:
            c = cfg if s is None else replace(cfg, seed=s)
            lab = {k: getattr(c, k) for k in labels}
            specs.append(RunSpec(
                run_id=f"{world.name}-{cfgmod.config_hash(world.name, c)}", world=world.name,
                preset=preset, overrides={**overrides, **{k: str(v) for k, v in labels.items()}},
                config=cfgmod.to_dict(c), seed=c.seed, labels=lab,
            ))  # fmt: skip
    return specs


def sweep_id(world: str, preset: str | None, overrides: dict, grid: dict, seeds: int | None) -> str:
    blob = json.dumps([world, preset, overrides, grid, seeds], sort_keys=True, default=str)
    return f"sweep-{world}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def run_world(world_name: str, preset: str | None = None, progress: bool = False,
              llm_cache_dir: str | None = None, **overrides: Any):  # fmt: skip
    """Run a world in memory (no store, no analysis) and return its Recorder: for notebooks
    and tests. `rec.series("val/acc")`, `rec.wide()` and `rec.summary` read it back.
    `llm_cache_dir`: a folder where LLM worlds cache replies (e.g. a store's llm-cache)."""
    from emergelab.lab.recorder import Recorder

    world = get_world(world_name)
    rec = Recorder(progress=progress)
    rec.llm_cache_dir = llm_cache_dir
    try:
        world.run(world.make_config(preset, overrides), rec)
    finally:
        rec.close()
    return rec


@dataclass
class FinishedRun:
    """A run done in memory, not yet stored: what a worker without the store's file system
    sends back to the driver (picklable). It quacks like a Recorder for `Store.write_run`."""

    run_id: str
    meta: dict[str, Any]  # config.json
    metrics: Any  # pyarrow.Table, long format (run_id, step, name, value)
    summary: dict[str, Any]  # summary.json (JSON-ready)
    artefacts: dict[str, Any] = field(default_factory=dict)

    def to_arrow(self, run_id: str):
        return self.metrics

    def write(self, store_root, replace: bool = False):
        """Write this run into the store at `store_root` (atomically); returns its folder."""
        from emergelab.lab.store import Store

        return Store(store_root).write_run(self.run_id, self.meta, self, self.summary, replace=replace)


def run_spec(spec: RunSpec, progress: bool = False, llm_cache_dir: str | None = None) -> FinishedRun:
    """Run one spec in memory and analyse its curves; writes nothing to the store (an LLM
    world caches its replies in `llm_cache_dir`, when given, as they arrive)."""
    from emergelab.lab.analyze import analyze_curves
    from emergelab.lab.recorder import Recorder, jsonable
    from emergelab.lab.store import provenance

    world = get_world(spec.world)
    cfg = cfgmod.make_config(world.config, spec.config, world=world.name)
    rec = Recorder(progress=progress, desc=spec.run_id)
    rec.llm_cache_dir = llm_cache_dir
    t0 = time.perf_counter()
    try:
        world.run(cfg, rec)
    finally:
        rec.close()
    wall = time.perf_counter() - t0
    extra, artefacts = analyze_curves(world, rec.wide())
    for name, obj in artefacts.items():
        rec.artefact(name, obj)
    summary = {**rec.summary, **extra, "wall_s": round(wall, 3)}
    meta = {
        "run_id": spec.run_id, "world": spec.world, "preset": spec.preset, "seed": spec.seed,
        "overrides": spec.overrides, "config_hash": spec.run_id.rsplit("-", 1)[-1],
        "config": spec.config, **provenance(),
    }  # fmt: skip
    return FinishedRun(spec.run_id, meta, rec.to_arrow(spec.run_id), jsonable(summary), dict(rec.artefacts))


def llm_cache_dir(store_root) -> str:
    """Where the runs of a store cache their LLM replies: shared by all its runs, so a re-run
    or a resumed sweep replays every reply already received."""
    import os

    return os.path.join(str(store_root), "llm-cache")


def check_specs(specs: list[RunSpec]) -> None:
    """Each world's own pre-run check (e.g. its LLM server is reachable) on the configs of
    `specs`, before anything is written."""
    by_world: dict[str, list[RunSpec]] = {}
    for s in specs:
        by_world.setdefault(s.world, []).append(s)
    for name, ss in by_world.items():
        world = get_world(name)
        if world.check is not None:
            world.check([cfgmod.make_config(world.config, s.config, world=name) for s in ss])


def execute(spec: RunSpec, store_root: str, progress: bool = False, replace_existing: bool = False) -> dict:
    """Run one spec and write it to the store; returns its summary. Runs in workers."""
    run = run_spec(spec, progress, llm_cache_dir(store_root))
    run.write(store_root, replace=replace_existing)
    return run.summary
