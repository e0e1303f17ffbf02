"""Speed of the foraging game's batched (vectorised torch) env against its PettingZoo env.

    .venv/bin/python benchmarks/rl_env_speed.py [--games 4096] [--steps 2000] [--quick]

Both play uniformly random actions (drawn up front, outside the timing); the unit is the
agent-step (one agent acting once; a game step = 2 agent-steps). The lab: ForagingBatch
stepping `--games` games at once for steps / 10 batch steps (each one `--games` game steps),
resetting all games every max_steps. The
baseline: the PettingZoo ParallelEnv (worlds/_foraging_pz.py) stepped one game step at a time
with a dict of both agents' actions, reset when its game ends, as a PettingZoo training loop
does. Times are CPU seconds of this process (time.process_time; torch on 1 thread), best of 3
for the lab: on a shared machine wall time mostly measures the neighbours. Printed ratio =
baseline time per agent-step / lab time per agent-step (target >= 50).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads

from emergelab.worlds._foraging_env import ForagingBatch
from emergelab.worlds.foraging_game import ForagingGameConfig, make_env, value_sets


def lab(cfg, games: int, steps: int) -> float:
    """CPU seconds per agent-step of the batched env."""
    env = ForagingBatch(cfg.grid_size, cfg.vocab_size, cfg.max_steps, cfg.max_value,
                        joint=cfg.pickup == "joint", talk_steps=cfg.talk_steps)  # the PettingZoo env's rules
    gen = torch.Generator().manual_seed(0)
    pool = torch.as_tensor(value_sets(cfg.max_value, cfg.value_step)[0])
    moves = torch.randint(5, (steps, 2, games), generator=gen)
    tokens = torch.randint(cfg.vocab_size, (steps, 2, games), generator=gen)
    best = float("inf")
    for _ in range(3):
        env.reset(pool, games, gen)
        t0 = time.process_time()
        for t in range(steps):
            if t % cfg.max_steps == 0 and t:  # every game is over by then: start a fresh batch
                env.reset(pool, games, gen)
            env.step(moves[t], tokens[t])
        best = min(best, time.process_time() - t0)
    return best / (steps * games * 2)


def baseline(cfg, steps: int) -> float:
    """CPU seconds per agent-step of the PettingZoo env, one game."""
    env = make_env(cfg)
    rng = np.random.default_rng(0)
    moves, tokens = rng.integers(0, 5, (steps, 2)), rng.integers(0, cfg.vocab_size, (steps, 2))
    env.reset(seed=0)
    t0 = time.process_time()
    for t in range(steps):
        if not env.agents:
            env.reset()
        env.step({"agent_0": (moves[t, 0], tokens[t, 0]), "agent_1": (moves[t, 1], tokens[t, 1])})
    return (time.process_time() - t0) / (steps * 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=4096, help="games stepped at once by the batched env")
    ap.add_argument("--steps", type=int, default=2000,
                    help="PettingZoo env game steps (batched env: steps / 10 batch steps)")
    ap.add_argument("--quick", action="store_true", help="a few seconds: 1024 games, 200 steps")
    a = ap.parse_args()
    games, steps = (1024, 200) if a.quick else (a.games, a.steps)
    torch.set_num_threads(1)
    cfg = ForagingGameConfig()
    t_lab, t_base = lab(cfg, games, max(steps // 10, cfg.max_steps)), baseline(cfg, steps)
    print(f"batched env ({games} games): {1 / t_lab:,.0f} agent-steps/s (CPU)")
    print(f"PettingZoo env (1 game):   {1 / t_base:,.0f} agent-steps/s (CPU)")
    print(f"ratio: {t_base / t_lab:,.0f}x")
    print_result("rl_env_speed", f"foraging game, batched torch env ({games} games) vs PettingZoo "
                 "parallel env stepped one game step at a time", t_lab * 1e6, t_base * 1e6,
                 "µs (CPU) per agent-step")


if __name__ == "__main__":
    main()
