"""Trained agents for cultural_accumulation (agent=rl): train-time generations, each a small
policy network trained from scratch by policy gradient, that sees its predecessor's actions.
Imported lazily (it imports torch).

One network per lineage, all lineages batched in one weight tensor (leading dim n; lineages
never share a gradient: losses add and Adam is elementwise). At position t the agent sees
x_t = onehot(t) (L) + the demonstrator's digit at t, one-hot over D + 1 (index D: not shown;
the digit is shown with probability `vis` per step) and acts with
    h = tanh(x W1 + b1) (H),  logits = h W2 + b2 (D),  value = h w_v + b_v.
The hidden sequence lives in the weights (in-weights learning, the paper's train-time
generations); the demonstrator input is the social channel, shared across positions, so copying
is one skill learned once. No recurrence is needed: the only within-episode state (still alive)
is implied by being asked to act, so a whole batch of episodes is one forward pass.

Training (advantage actor-critic, CleanRL's conventions where they apply: Adam eps 1e-5,
advantages normalised per lineage and batch, entropy bonus, value loss): every update plays
`batch` episodes per lineage, each to its first mistake; reward +1 per right digit; the return
from step t (no discount: the task's return) minus the value is the advantage.
"""

from __future__ import annotations

import torch


class Lineages(torch.nn.Module):
    """n independent policy networks (one per lineage), freshly initialised from `gen`."""

    def __init__(self, n: int, L: int, D: int, H: int, gen: torch.Generator) -> None:
        super().__init__()
        self.L, self.D = L, D
        d_in = L + D + 1

        def init(i: int, o: int, std: float) -> torch.nn.Parameter:  # (n, i, o), scaled normal
            return torch.nn.Parameter(torch.randn(n, i, o, generator=gen) * std / i ** 0.5)

        self.w1, self.b1 = init(d_in, H, 1.0), torch.nn.Parameter(torch.zeros(n, 1, H))
        self.w2, self.b2 = init(H, D, 0.01), torch.nn.Parameter(torch.zeros(n, 1, D))  # near-uniform start
        self.wv, self.bv = init(H, 1, 1.0), torch.nn.Parameter(torch.zeros(n, 1, 1))

    def forward(self, demo: torch.Tensor):
        """demo (n, B, L) long: the shown digit per step, D where hidden -> logits (n, B, L, D),
        value (n, B, L)."""
        n, B, L = demo.shape
        pos = torch.eye(L).expand(n, B, L, L)  # (n, B, L, L) one-hot positions
        x = torch.cat([pos, torch.nn.functional.one_hot(demo, self.D + 1).float()], -1)  # (n, B, L, L+D+1)
        h = torch.tanh(x.view(n, B * L, -1) @ self.w1 + self.b1)  # (n, B*L, H)
        logits = (h @ self.w2 + self.b2).view(n, B, L, self.D)
        return logits, (h @ self.wv + self.bv).view(n, B, L)

    @torch.no_grad()
    def act_alone(self, B: int, gen: torch.Generator | None) -> torch.Tensor:
        """(n, B, L) digits played with no demonstration: sampled from gen, or greedy if None."""
        n = self.w1.shape[0]
        logits, _ = self(torch.full((n, B, self.L), self.D, dtype=torch.long))
        return logits.argmax(-1) if gen is None else _sample(logits, gen)


def _sample(logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Inverse-CDF sampling from the run's own generator: logits (..., D) -> (...)."""
    p = logits.softmax(-1)
    u = torch.rand(p.shape[:-1] + (1,), generator=gen)
    return (p.cumsum(-1) < u).sum(-1).clamp_(max=p.shape[-1] - 1)


def play(seq: torch.Tensor, actions: torch.Tensor):
    """seq (n, L), actions (n, B, L) -> alive (n, B, L) bool: the step is played (no earlier
    mistake); right (n, B, L) bool; returns (n, B): right digits before the first mistake."""
    right = actions == seq[:, None, :]
    before = torch.cumprod(right.long(), -1)  # (n, B, L): 1 while every digit so far was right
    alive = torch.cat([torch.ones_like(before[..., :1]), before[..., :-1]], -1).bool()
    return alive, right, before.sum(-1)


def known_prefix(net: Lineages, seq: torch.Tensor) -> torch.Tensor:
    """(n,) right digits from position 0 of the greedy policy acting alone (what it knows)."""
    return play(seq, net.act_alone(1, None))[2][:, 0].float()


def live(seq: torch.Tensor, demo_net: Lineages | None, vis: float, updates: int, cfg, gen: torch.Generator,
         log_every: int = 0, decay: bool = False) -> dict:
    """Train a fresh network per lineage for `updates` updates of cfg.batch episodes, watching
    demo_net (frozen, acting alone, sampled afresh each episode) with per-step probability vis.
    Returns returns (updates, n) mean return per update, followed (share of played steps that
    followed a shown digit), net, and known (K, n): the greedy known prefix every `log_every`
    updates (K = updates // log_every) when log_every."""
    n, L = seq.shape
    D, B = cfg.digits, cfg.batch
    net = Lineages(n, L, D, cfg.hidden, gen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=1e-5)
    rets, knowns, followed, played = [], [], 0.0, 0.0
    for u in range(updates):
        v = vis * (1 - u / max(updates - 1, 1)) if decay else vis  # decay: all shown first, none last
        if v > 0:
            shown = demo_net.act_alone(B, gen)  # (n, B, L)
            visible = torch.rand(n, B, L, generator=gen) < v
        else:  # nothing is ever shown: draw nothing
            shown = torch.full((n, B, L), D)
            visible = torch.zeros(n, B, L, dtype=torch.bool)
        demo = torch.where(visible, shown, D)
        logits, value = net(demo)
        a = _sample(logits.detach(), gen)
        alive, right, ret = play(seq, a)
        m = alive.float()
        togo = (alive & right).flip(-1).cumsum(-1).flip(-1).float()  # (n, B, L) return from step t
        adv = togo - value.detach()
        cnt = m.sum((1, 2), keepdim=True).clamp(min=1)  # (n, 1, 1) played steps per lineage
        mu = (adv * m).sum((1, 2), keepdim=True) / cnt
        sd = (((adv - mu) ** 2) * m).sum((1, 2), keepdim=True).div(cnt).sqrt()
        adv = (adv - mu) / (sd + 1e-8)
        logp = torch.distributions.Categorical(logits=logits)
        per_step = (-logp.log_prob(a) * adv - cfg.ent_coef * logp.entropy()
                    + 0.5 * cfg.vf_coef * (value - togo) ** 2)  # (n, B, L)
        loss = ((per_step * m).sum((1, 2)) / cnt.view(-1)).sum()  # lineages' losses add
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        rets.append(ret.float().mean(1))
        followed += float((m * visible * (a == shown)).sum())
        played += float((m * visible).sum())
        if log_every and (u + 1) % log_every == 0:
            knowns.append(known_prefix(net, seq))
    out = {"returns": torch.stack(rets), "followed": followed / max(played, 1.0), "net": net}
    if knowns:
        out["known"] = torch.stack(knowns)
    return out


def run_rl(cfg, rec) -> float:
    """agent=rl: a chain of `generations` trained agents against one agent trained for
    generations x updates (the single lifetime), on the same hidden sequences. Logs the
    metrics of `cultural_accumulation` per generation; experience is counted in updates
    (each `batch` episodes per lineage). Returns the standard error of the last gain."""
    import numpy as np
    import pandas as pd

    from emergelab.nn import torch_threads

    n, G, U, L, D = cfg.lineages, cfg.generations, cfg.updates, cfg.length, cfg.digits
    with torch_threads(1):  # small batched nets: more threads only contend
        # independent streams, as for the tabular agent: the sequences and the single life do
        # not depend on vis_prob, so every vis_prob of a seed faces the same single life
        s_seq, s_single, s_culture = (torch.Generator().manual_seed(int(s.generate_state(1)[0]))
                                      for s in np.random.SeedSequence(cfg.seed).spawn(3))
        seq = torch.randint(D, (n, L), generator=s_seq)
        rec.set_total(G)
        single = live(seq, None, 0.0, G * U, cfg, s_single, log_every=U)
        s_ret = single["returns"].view(G, U, n)  # (G, U, n)
        demo = Lineages(n, L, D, cfg.hidden, s_culture)  # never trained: gen 0 watches random digits
        rows, gains = [], []
        for g in range(G):
            life = live(seq, demo, cfg.vis_prob, U, cfg, s_culture, decay=cfg.vis_decay)
            demo = life["net"]
            c_ret = life["returns"]  # (U, n)
            gain = c_ret.mean(0) - s_ret[g].mean(0)  # (n,) paired by lineage
            gains.append(gain.numpy())
            rec.log(g, **{
                "culture/return": c_ret.mean().item(), "culture/return_last": c_ret[-1].mean().item(),
                "culture/known": known_prefix(demo, seq).mean().item(), "culture/followed": life["followed"],
                "single/return": s_ret[g].mean().item(), "single/return_last": s_ret[g, -1].mean().item(),
                "single/known": single["known"][g].mean().item(),
                "culture/gain": gain.mean().item()})  # fmt: skip
            rows.append(pd.DataFrame({"generation": g, "episode": np.arange(U),  # episode: update in the life
                                      "experience": g * U + np.arange(U),
                                      "culture_return": c_ret.mean(1).numpy(),
                                      "single_return": s_ret[g].mean(1).numpy()}))
    rec.artefact("episodes", pd.concat(rows, ignore_index=True))
    last = gains[-1]
    return float(last.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
