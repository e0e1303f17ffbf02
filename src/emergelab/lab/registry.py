"""The world registry: worlds register themselves; the lab finds them without naming them.

Discovery imports every module of the `emergelab.worlds` package (found by walking its
path, never by a hard-coded name) and any third-party module advertised under the entry
point group `emergelab.worlds`, plus the modules named in $EMERGELAB_WORLDS (comma-separated,
e.g. `EMERGELAB_WORLDS=mylab.worlds.swarm`: your own world without packaging it). A world module calls `register(World(...))` at import time
and keeps heavy imports (torch) inside its functions, so listing worlds stays instant.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from emergelab.lab.config import make_config, suggest
from emergelab.errors import UserError


def lazy(module: str, name: str) -> Callable:
    """`module.name`, imported on the first call: a world's heavy helpers (pandas, matplotlib
    for a sweep section) must not load when `emergelab worlds` lists the worlds."""

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = name
    return call


@dataclass(frozen=True)
class World:
    name: str
    """Short CLI name, e.g. 'grokking'."""
    paper: str
    """The source paper (title, authors, year)."""
    effect: str
    """One line: the emergent phenomenon the world shows."""
    config: type
    """The frozen config dataclass; its defaults are the paper's setting."""
    run: Callable[[Any, Any], None]
    """run(config, recorder): simulate/train, logging scalars through the recorder."""
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Named override sets; 'paper' (the defaults) is implied when absent."""
    watch: tuple[str, ...] = ()
    """Metrics in which the lab detects transitions after each run, e.g. ('val/acc',)."""
    summarize: Callable[[Any], dict[str, Any]] | None = None
    """Optional summarize(curves) -> dict: world-specific summary from the wide frame of
    metrics (index = step, one column per metric name)."""
    ews: tuple[tuple[str, str], ...] = ()
    """(metric, timing metric) pairs: after each run the lab tests whether early-warning
    signals of `metric` preceded the transitions of `timing metric`, e.g.
    (("val/loss", "val/acc"),) asks whether val/loss slowed down before grokking."""
    look_for: str = ""
    """What a person should look for in the report (shown in `emergelab worlds -v`)."""
    check: Callable[[list[Any]], None] | None = None
    """Optional check(configs) run before a run or sweep writes anything, for what a config
    cannot validate by itself: e.g. that the LLM server its runs will call is reachable,
    knows the model and gets a key (raise UserError with what to do)."""
    sweep_section: Callable[[Any, Any, dict], dict | None] | None = None
    """Optional sweep_section(store, runs, grid) -> a report section (report.html._section)
    or None: the world's own analysis across a sweep's runs (runs: the store's frame of the
    sweep's runs), e.g. grokking's critical train fraction per modulus with its M log M fit."""

    def preset_names(self) -> list[str]:
        names = list(self.presets)
        return names if "paper" in names else ["paper", *names]

    def make_config(self, preset: str | None = None, overrides: dict[str, Any] | None = None) -> Any:
        """Defaults, then the preset's overrides, then the user's."""
        merged: dict[str, Any] = {}
        if preset:
            if preset not in self.preset_names():
                raise UserError(
                    f"unknown preset '{preset}' for world '{self.name}'{suggest(preset, self.preset_names())}"
                    f" (presets: {', '.join(self.preset_names())})"
                )
            merged.update(self.presets.get(preset, {}))
        merged.update(overrides or {})
        return make_config(self.config, merged, world=self.name)


_WORLDS: dict[str, World] = {}
_DISCOVERED = False


def register(world: World) -> World:
    """Add a world (called by the world module at import time)."""
    if not dataclasses.is_dataclass(world.config):
        raise TypeError(f"world '{world.name}': config must be a dataclass")
    _WORLDS[world.name] = world
    return world


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    import emergelab.worlds as pkg

    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)
    from importlib.metadata import entry_points

    for ep in entry_points(group="emergelab.worlds"):
        ep.load()
    for mod in filter(None, (m.strip() for m in os.environ.get("EMERGELAB_WORLDS", "").split(","))):
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise UserError(f"cannot import world module '{mod}' named in EMERGELAB_WORLDS ({e}): "
                            "fix the name or the PYTHONPATH") from None  # fmt: skip


def worlds() -> dict[str, World]:
    """All registered worlds by name, sorted."""
    _discover()
    return dict(sorted(_WORLDS.items()))


def get_world(name: str) -> World:
    """The world called `name`, or a UserError that suggests the closest name."""
    all_worlds = worlds()
    if name not in all_worlds:
        raise UserError(f"unknown world '{name}'{suggest(name, all_worlds) or ';'} see: emergelab worlds")
    return all_worlds[name]
