"""The foraging game as a PettingZoo parallel environment: one game, plain numpy, for training
your own agents (and the baseline of benchmarks/rl_env_speed.py). Imported only by
`emergelab.worlds.foraging_game.make_env`, so PettingZoo stays optional.

Agents "agent_0" and "agent_1" act at once every step: action = (move, token), MultiDiscrete
([5, vocab]). Observation: the same D = 9 + vocab floats as the batched env (rules and layout in
`_foraging_env.py`; a test checks the two agree step by step). Both agents are terminated
when an item is collected, truncated at max_steps; reward 1 to both for the higher item alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from emergelab.worlds.foraging_game import ForagingGameConfig, value_sets

MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # stay, up, down, left, right


class ForagingEnv(ParallelEnv):
    metadata = {"name": "foraging_game_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, cfg: ForagingGameConfig, values: str = "train",
                 render_mode: str | None = None) -> None:
        if values not in ("train", "holdout"):
            raise ValueError(f"values must be 'train' or 'holdout', got {values!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.cfg, self.render_mode = cfg, render_mode
        self.pool = value_sets(cfg.max_value, cfg.value_step)[values == "holdout"]
        self.possible_agents = ["agent_0", "agent_1"]
        D = 9 + cfg.vocab_size
        # Spaces are built once: the API requires the same object on every call.
        self.observation_spaces = {a: spaces.Box(-1.0, 1.0, (D,), np.float32) for a in self.possible_agents}
        self.action_spaces = {a: spaces.MultiDiscrete([len(MOVES), cfg.vocab_size])
                              for a in self.possible_agents}
        self.agents: list[str] = []
        self._rng = np.random.default_rng(cfg.seed)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def set_state(self, pos, items, values) -> dict[str, np.ndarray]:
        """Start from given cells (2, 2), (2, 2) and values (2,); returns the observations."""
        self.pos, self.items = np.array(pos, dtype=np.int64), np.array(items, dtype=np.int64)
        self.values = np.array(values, dtype=np.int64)
        self.msg = np.full(2, self.cfg.vocab_size)  # silence
        self.t, self.success, self.agents = 0, False, self.possible_agents[:]
        return self._observe()

    def _observe(self) -> dict[str, np.ndarray]:
        n1, V = self.cfg.grid_size - 1, self.cfg.vocab_size
        out = {}
        for i, a in enumerate(self.possible_agents):  # two agents: a loop of 2
            heard = np.zeros(V + 1)
            heard[self.msg[1 - i]] = 1
            offsets = (self.items[[i, 1 - i]] - self.pos[i]).ravel() / n1
            out[a] = np.concatenate([self.pos[i] / n1, offsets, [self.values[i] / self.cfg.max_value], heard,
                                     [self.t / self.cfg.max_steps]]).astype(np.float32)
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            for i, a in enumerate(self.possible_agents):  # sample() reproducible too
                self.action_spaces[a].seed(seed + i)
        n = self.cfg.grid_size
        cells = self._rng.permutation(n * n)[:4]
        rc = np.stack([cells // n, cells % n], -1)
        obs = self.set_state(rc[:2], rc[2:], self._rng.choice(self.pool, 2, replace=False))
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RuntimeError("the episode is over: call reset()")
        acts = []
        for a in self.possible_agents:
            if a not in actions:
                raise KeyError(f"both agents act every step; missing {a!r}")
            act = np.asarray(actions[a], dtype=np.int64).reshape(2)
            if not self.action_spaces[a].contains(act):
                raise ValueError(f"{a}'s action {actions[a]!r} is not in {self.action_spaces[a]}")
            acts.append(act)
        acts = np.array(acts)  # (2, 2): (move, token) per agent
        if self.t >= self.cfg.talk_steps:  # the first talk_steps steps: tokens only
            self.pos = np.clip(self.pos + MOVES[acts[:, 0]], 0, self.cfg.grid_size - 1)
        on = (self.pos[:, None] == self.items[None]).all(-1)  # (2 agents, 2 items)
        reached = on.all(0) if self.cfg.pickup == "joint" else on.any(0)  # (2 items,) collected
        self.t += 1
        won = reached.sum() == 1 and reached[int(np.argmax(self.values))]
        collected, timeout = bool(reached.any()), self.t >= self.cfg.max_steps
        self.success = bool(collected and won)
        self.msg = acts[:, 1].copy()
        obs = self._observe()
        r = float(self.success)
        info = {"success": self.success} if collected or timeout else {}
        rewards = {a: r for a in self.agents}
        term = {a: collected for a in self.agents}
        trunc = {a: timeout and not collected for a in self.agents}
        infos = {a: dict(info) for a in self.agents}
        if collected or timeout:
            self.agents = []
        return obs, rewards, term, trunc, infos

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        grid = np.full((self.cfg.grid_size,) * 2, ".")
        for j, (r, c) in enumerate(self.items):
            grid[r, c] = "AB"[j]
        for i, (r, c) in enumerate(self.pos):
            grid[r, c] = str(i)
        return "\n".join("".join(row) for row in grid) + f"\nt={self.t} values={self.values.tolist()}"

    def close(self) -> None:
        pass
