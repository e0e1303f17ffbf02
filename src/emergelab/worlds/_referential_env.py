"""The referential game as a PettingZoo parallel environment, for training your own agents.

Imported only by `emergelab.worlds.referential_game.make_env` (the leading underscore keeps
the world registry from importing it), so PettingZoo stays an optional dependency.

Agents "speaker" and "listener". A parallel env steps every live agent at once, but the game
is sequential (the listener must read the message before it guesses), so a round takes two
steps and every observation says which `phase` it is:
    phase 0 (speak):  the speaker sees the target's attributes and acts: its message, max_len
                      symbols (MultiDiscrete). The listener's action is ignored.
    phase 1 (listen): the listener sees the message (and, in discrimination, the k+1 shuffled
                      candidates) and acts: its guess, the attribute values (reconstruction,
                      MultiDiscrete) or the candidate's position (discrimination, Discrete).
                      The speaker's action is ignored. Both get reward 1 if the guess is right.
Rewards are 0 in the speak phase. An episode is `n_rounds` rounds; then every agent is
terminated. Targets come from the world's seeded split ("train", "holdout" or "all"; with
cfg.split="egg" also EGG's "uniform" (= "holdout") and "generalization"), drawn by the env's own
numpy Generator (seeded by reset(seed=...), else by cfg.seed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from emergelab.worlds.referential_game import ReferentialGameConfig, eval_sets, objects

SPEAK, LISTEN = 0, 1


class ReferentialEnv(ParallelEnv):
    metadata = {"name": "referential_game_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, cfg: ReferentialGameConfig, split: str = "train", n_rounds: int = 1,
                 render_mode: str | None = None) -> None:
        names = ("train", "holdout", "all") + (("uniform", "generalization") if cfg.split == "egg" else ())
        if split not in names:
            raise ValueError(f"split must be one of {', '.join(names)} (with split={cfg.split!r}), got {split!r}")
        if n_rounds < 1:
            raise ValueError(f"n_rounds must be at least 1, got {n_rounds}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.cfg, self.n_rounds, self.render_mode = cfg, n_rounds, render_mode
        self.meanings, tr, ho = objects(cfg)  # (M, A)
        self.pool = {"train": tr, "holdout": ho, "all": np.arange(len(self.meanings)), **eval_sets(cfg)}[split]
        self.discrimination = cfg.game == "discrimination"
        self.k = cfg.n_distractors + 1 if self.discrimination else 0  # candidates shown
        if self.discrimination and len(self.pool) < self.k:
            raise ValueError(f"split {split!r} has {len(self.pool)} objects, fewer than {self.k} candidates")
        A, N = cfg.n_attributes, cfg.n_values

        self.possible_agents = ["speaker", "listener"]
        message = spaces.MultiDiscrete([cfg.vocab_size] * cfg.max_len)
        listener_obs = {"phase": spaces.Discrete(2), "message": message}
        if self.discrimination:  # (k, A) attribute values of the candidates
            listener_obs["candidates"] = spaces.MultiDiscrete(np.full((self.k, A), N))
        # Spaces are built once: the API requires the same object on every call.
        self.observation_spaces = {
            "speaker": spaces.Dict({"phase": spaces.Discrete(2), "target": spaces.MultiDiscrete([N] * A)}),
            "listener": spaces.Dict(listener_obs),
        }
        self.action_spaces = {
            "speaker": spaces.MultiDiscrete([cfg.vocab_size] * cfg.max_len),  # its own object, not `message`
            "listener": spaces.Discrete(self.k) if self.discrimination else spaces.MultiDiscrete([N] * A),
        }
        self.agents: list[str] = []
        self._rng = np.random.default_rng(cfg.seed)
        self._last = ""

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    # -- the game ------------------------------------------------------------------------
    def _new_round(self) -> None:
        self.phase = SPEAK
        self.target = int(self._rng.choice(self.pool))  # an object id
        self.message = np.zeros(self.cfg.max_len, dtype=np.int64)  # nothing said yet
        if self.discrimination:  # k-1 distinct distractors from the same split, target at a random slot
            others = self.pool[self.pool != self.target]
            cands = np.append(self._rng.choice(others, self.k - 1, replace=False), self.target)
            self.candidates = self._rng.permutation(cands)  # (k,) object ids

    def _observe(self) -> dict[str, dict[str, Any]]:
        speaker = {"phase": self.phase, "target": self.meanings[self.target].copy()}
        listener = {"phase": self.phase, "message": self.message.copy()}
        if self.discrimination:
            listener["candidates"] = self.meanings[self.candidates].copy()  # (k, A)
        return {"speaker": speaker, "listener": listener}

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            for i, agent in enumerate(self.possible_agents):  # sample() reproducible too
                self.action_spaces[agent].seed(seed + i)
        self.agents = self.possible_agents[:]
        self.round, self._last = 0, ""
        self._new_round()
        return self._observe(), {a: {"phase": self.phase} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RuntimeError("the episode is over: call reset()")
        actor = "speaker" if self.phase == SPEAK else "listener"
        if actor not in actions:
            raise KeyError(f"phase {self.phase}: the {actor} must act (actions for {sorted(actions)})")
        action, space = actions[actor], self.action_spaces[actor]
        if not space.contains(np.asarray(action, dtype=np.int64).reshape(space.shape)):
            raise ValueError(f"the {actor}'s action {action!r} is not in its action space {space}")
        infos: dict[str, dict[str, Any]] = {a: {"phase": self.phase} for a in self.agents}
        reward = 0.0
        if self.phase == SPEAK:
            self.message = np.asarray(action, dtype=np.int64).reshape(self.cfg.max_len)
            self.phase = LISTEN
        else:
            if self.discrimination:
                success = int(action) == int(np.flatnonzero(self.candidates == self.target)[0])
            else:
                success = bool(np.array_equal(np.asarray(action).reshape(-1), self.meanings[self.target]))
            reward = float(success)
            self._last = (f"round {self.round}: target {self.meanings[self.target].tolist()} -> "
                          f"message {self.message.tolist()} -> guess {np.asarray(action).tolist()} "
                          f"({'right' if success else 'wrong'})")
            for a in self.agents:
                infos[a].update(success=success, target=self.target)
            self.round += 1
            if self.round < self.n_rounds:
                self._new_round()
        over = self.round >= self.n_rounds
        obs = self._observe()
        rewards = {a: reward for a in self.agents}
        terminated = {a: over for a in self.agents}
        truncated = {a: False for a in self.agents}
        if over:
            self.agents = []
        return obs, rewards, terminated, truncated, infos

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._last or "no round played yet"
        return None

    def close(self) -> None:
        pass
