"""The foraging game, batched: G games stepped at once as torch tensors (no loop over games).

Imported lazily by `emergelab.worlds.foraging_game` (it imports torch). The rules, shared with
the PettingZoo version in `_foraging_pz.py` (a test checks both agree step by step):

- an n x n grid; agents 0 and 1 and items 0 and 1 start on 4 distinct random cells;
- item i has a value only agent i sees; the two values are distinct;
- every step both agents act at once: a move (0 stay, 1 up, 2 down, 3 left, 4 right; walls
  stop) and a token from the vocabulary, which the partner reads on the next step
  (token `vocab` = silence: before anything was said, and always in a no-message game);
- the game ends when an agent stands on an item (the team collects it) or after max_steps;
  reward 1 to both if the team collected the higher-valued item alone, else 0 (standing on
  both items at once, or the lower one, or running out of time, fails). With joint=True
  (config pickup="joint") an item is collected only when both agents stand on it;
- with talk_steps = k > 0, the first k steps are for talking only: moves are no-ops (config
  talk_steps).

Observation of agent i (D = 9 + vocab floats): its own cell (row, col) / (n-1); the offsets
(drow, dcol) / (n-1) of its own item then of the other item; its own item's value / max_value;
the partner's last token (one-hot over vocab + 1); t / max_steps. The partner's position is not
observed, so moving cannot stand in for speaking and the no-message control stays honest.
"""

from __future__ import annotations

import torch

MOVES = torch.tensor([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # (5, 2): stay, up, down, left, right
N_MOVES = 5
VALUE_INDEX = 6  # obs[..., 6]: own item's value / max_value
ORDER = torch.tensor([[0, 1], [1, 0]])  # agent i sees items in the order (own, other)


def obs_dim(vocab: int) -> int:
    return 9 + vocab


class ForagingBatch:
    """G games in lockstep. State tensors (all on `device`):
    pos (G, 2, 2) agents' cells, items (G, 2, 2) items' cells, values (G, 2) int, msg (G, 2) the
    token each agent sent last, active (G,) bool game still running, success (G,) bool, t int."""

    def __init__(self, grid: int, vocab: int, max_steps: int, max_value: int, device="cpu",
                 joint: bool = False, talk_steps: int = 0) -> None:
        self.n, self.vocab, self.max_steps, self.max_value = grid, vocab, max_steps, max_value
        self.talk_steps = talk_steps  # the first talk_steps steps: tokens only, moves are no-ops
        self.joint = joint  # True: an item is collected only with both agents on it
        self.device = torch.device(device)
        self.moves = MOVES.to(self.device)
        self.order = ORDER.to(self.device)

    def reset(self, values_pool: torch.Tensor, G: int, gen: torch.Generator,
              silent: torch.Tensor | None = None) -> torch.Tensor:
        """New games: cells and values drawn from `gen`; values two distinct draws from
        values_pool (1-D ints). silent (G,) bool: games whose messages never arrive (control).
        Returns the observations (2, G, D)."""
        n2 = self.n * self.n
        cells = torch.rand(G, n2, generator=gen).argsort(1)[:, :4]  # (G, 4) distinct cells per game
        rc = torch.stack([cells // self.n, cells % self.n], -1).to(self.device)  # (G, 4, 2)
        pick = torch.rand(G, len(values_pool), generator=gen).argsort(1)[:, :2]  # (G, 2) distinct
        vals = values_pool.cpu()[pick].to(self.device)
        silent = torch.zeros(G, dtype=torch.bool) if silent is None else silent
        return self.set_state(rc[:, :2], rc[:, 2:], vals, silent.to(self.device))

    def set_state(self, pos, items, values, silent) -> torch.Tensor:
        """Start games from given cells (G, 2, 2), (G, 2, 2), values (G, 2) and silent (G,)."""
        G = len(pos)
        if (pos[:, :, None] == items[:, None]).all(-1).any() or (values[:, 0] == values[:, 1]).any():
            raise ValueError("agents must not start on items, and the two values must differ")
        self.pos, self.items, self.values, self.silent = pos.clone(), items.clone(), values.clone(), silent
        self.msg = torch.full((G, 2), self.vocab, dtype=torch.long, device=self.device)  # silence
        self.active = torch.ones(G, dtype=torch.bool, device=self.device)
        self.success = torch.zeros(G, dtype=torch.bool, device=self.device)
        self.length = torch.zeros(G, dtype=torch.long, device=self.device)
        self.t = 0
        return self.observe()

    def observe(self) -> torch.Tensor:
        """(2, G, D) float32, agent-major."""
        s = self.n - 1
        pos = self.pos.transpose(0, 1)  # (2, G, 2)
        items = self.items[:, self.order].permute(1, 0, 2, 3)  # (2 agents, G, 2 items, 2)
        offsets = (items - pos[:, :, None]).flatten(2) / s  # (2, G, 4)
        value = self.values.T[..., None] / self.max_value  # (2, G, 1)
        heard = torch.nn.functional.one_hot(self.msg.flip(1).T, self.vocab + 1)  # (2, G, V+1) partner's
        t = torch.full_like(value, self.t / self.max_steps)
        return torch.cat([pos / s, offsets, value, heard, t], -1).float()

    def step(self, move: torch.Tensor, token: torch.Tensor):
        """move, token (2, G) long. Returns (obs (2, G, D), reward (G,), ended (G,) bool: games
        that ended on this step). Finished games stay frozen."""
        act = self.active
        if self.t >= self.talk_steps:
            new = (self.pos + self.moves[move.T]).clamp(0, self.n - 1)  # (G, 2, 2)
            self.pos = torch.where(act[:, None, None], new, self.pos)
        on = (self.pos[:, :, None] == self.items[:, None]).all(-1)  # (G, 2 agents, 2 items)
        reached = on.all(1) if self.joint else on.any(1)  # (G, 2): item j is collected
        higher = self.values.argmax(1)  # (G,)
        won = (reached.sum(1) == 1) & reached.gather(1, higher[:, None]).squeeze(1)
        self.t += 1
        ended = act & (reached.any(1) | (self.t >= self.max_steps))
        reward = (ended & won).float()
        self.success |= ended & won
        self.length += act.long()
        speak = act[:, None] & ~self.silent[:, None]
        self.msg = torch.where(speak, token.T, self.vocab)  # silent games hear silence only
        self.active = act & ~ended
        return self.observe(), reward, ended

    def random_actions(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Uniform moves and tokens (2, G) each: the random-policy control."""
        G = len(self.pos)
        move = torch.randint(N_MOVES, (2, G), generator=gen).to(self.device)
        return move, torch.randint(self.vocab, (2, G), generator=gen).to(self.device)
