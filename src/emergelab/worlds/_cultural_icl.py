"""In-context learners for cultural_accumulation (agent=icl): the paper's episodic generations.
Imported lazily (it imports torch).

One recurrent policy (a GRU, RL^2-style) is meta-trained in-run by advantage actor-critic over
many random hidden sequences, on lifetimes of `episodes` episodes: within one lifetime it has
to find the sequence by trial and error and remember it in its hidden state (the sequence is
never in the weights). At every step it sees
    the previous step as one event one-hot: (position, digit, right or wrong)   L * 2D
    the current position one-hot                                                L
    the demonstrator's digit at this position (one slot of 2D + 1, below)      2D + 1
and acts (digit logits) with a value estimate. The demonstrator slot has 2D + 1 values: digit d
shown; digit d shown and it was the mistake that ended the demonstrator's episode (observable:
its episode visibly stops there); nothing shown (which is also the visibility flag). The event
one-hot makes "at position p, digit a was right (wrong)" one layer away from the state, as the
bandit world's action x outcome input does. The hidden state carries over across the episodes
of a lifetime (the in-context memory) and starts at zero at birth. The GRU follows PyTorch's
GRUCell equations; as the inputs are one-hots, the input projection is one embedding_bag.

Demonstrators in meta-training (per lifetime, so that the agent learns when to trust one):
none (20%); a clean partial demonstration (50%), what a previous lifetime's final episode looks
like: the right digit up to a position k ~ U{0..L}, a wrong digit at k (marked), nothing after;
a noisy one (30%): the same with every shown right digit replaced by a wrong one (unmarked)
with probability q ~ U(0, 0.5). Each lifetime draws its visibility v ~ U(0, 1); each step is
shown with probability v. Every `meta_long`-th update is instead a batch (a quarter the size)
of single long lives (generations x episodes episodes, no demonstrator): the single-life
baseline is then within the training distribution. Loss: policy gradient with GAE(gamma,
lambda) advantages over the lifetime (dead steps skipped, normalised per batch), value loss,
entropy bonus; Adam (eps 1e-5), gradients clipped at norm 1.

Evaluation (frozen network, fresh sequences): generations are successive lifetimes on the same
sequence, each with a fresh hidden state, each watching the previous lifetime's final episode
(its digits up to the mistake that ended it, marked; nothing after); generation 0 watches
nobody. The single life is one lifetime of generations x episodes episodes of the same network,
without a demonstrator. Every vis_prob is evaluated on the same network, sequences, single life
and random draws.
"""

from __future__ import annotations

import time

import torch

P_NONE, P_CLEAN = 0.2, 0.5  # demonstrator mix in meta-training; the rest are noisy


class ICLAgent(torch.nn.Module):
    """A GRU (PyTorch's GRUCell equations) -> digit logits and value; weights drawn from `gen`.
    The inputs are one-hots, so the input projection is a sum of three table rows (one
    embedding_bag): the previous event (row 0: none, at birth), the position, the demonstrator
    slot (digit d shown: d; digit d shown and it was the mistake that ended the demonstrator's
    episode: D + d; not shown: 2D, which is also the visibility flag)."""

    def __init__(self, L: int, D: int, H: int, gen: torch.Generator) -> None:
        super().__init__()
        self.L, self.D, self.H = L, D, H
        self.n_event = 1 + L * 2 * D
        self.off_pos, self.off_demo = self.n_event, self.n_event + L
        b = 1.0 / H ** 0.5

        def u(*shape):
            return torch.nn.Parameter((torch.rand(*shape, generator=gen) * 2 - 1) * b)

        self.w_in = u(self.n_event + L + 2 * D + 1, 3 * H)  # rows: events, positions, demo slots
        self.w_hh, self.b_hh = u(H, 3 * H), u(3 * H)
        self.pi = torch.nn.Linear(H, D)
        self.v = torch.nn.Linear(H, 1)
        with torch.no_grad():
            for p in (*self.pi.parameters(), *self.v.parameters()):
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * b)
            self.pi.weight.mul_(0.01)  # start near uniform

    def index(self, event: torch.Tensor, t: int, demo_t: torch.Tensor, show: torch.Tensor) -> torch.Tensor:
        """event (B,) the previous step's (position, digit, outcome) index, -1 at birth; t the
        current position; demo_t (B,) the demonstrator's digit (-1: none); show (B,) bool
        visible. -> (B, 3) rows of w_in. A hidden or absent digit is the 'not shown' slot."""
        seen = show & (demo_t >= 0)
        slot = torch.where(seen, demo_t, 2 * self.D)
        return torch.stack([event + 1, torch.full_like(event, self.off_pos + t), self.off_demo + slot], 1)

    def step(self, idx: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One GRU step from input rows idx (B, 3) and state h (B, H)."""
        gi = torch.nn.functional.embedding_bag(idx, self.w_in, mode="sum")
        gh = torch.addmm(self.b_hh, h, self.w_hh)
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return n + z * (h - n)


def sample(logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Inverse-CDF sampling from the run's own generator: (B, D) -> (B,)."""
    p = logits.softmax(-1)
    u = torch.rand(p.shape[0], 1, generator=gen)
    return (p.cumsum(-1) < u).sum(-1).clamp_(max=p.shape[-1] - 1)


def lifetime(net: ICLAgent, seq: torch.Tensor, demo: torch.Tensor, visible: torch.Tensor, E: int,
             gen: torch.Generator, grad: bool = False) -> dict:
    """B lifetimes of E episodes: seq (B, L) hidden sequences; demo (B, L) demonstrated digits
    (-1: none at that position); visible (B, E, L) bool per-step visibility. Each episode plays
    positions 0, 1, ... until the first mistake. Returns actions (B, E, L) (-1 where not
    played), alive (B, E, L) played steps, right (B, E, L), returns (B, E), followed (share of
    played visible steps that played the shown digit) and, with grad, logp, ent, v (B, E*L)."""
    B, L = seq.shape
    D = net.D
    h = torch.zeros(B, net.H)
    event = torch.zeros(B, dtype=torch.long)  # w_in row of the previous event; 0: none yet
    seen = visible & (demo >= 0)[:, None, :]  # (B, E, L) a digit is shown
    slot = torch.where(seen, demo[:, None, :], 2 * D) + net.off_demo  # (B, E, L) w_in rows
    pos = torch.arange(L) + net.off_pos
    acts, lives = [], []  # per step (B,): action, played
    hs = []  # (B, H) state after every step, for the heads (one batched pass after the loop)
    ctx = torch.enable_grad() if grad else torch.no_grad()
    with ctx:
        for e in range(E):
            alive = torch.ones(B, dtype=torch.bool)
            for t in range(L):
                if not alive.any():  # every episode of the batch has ended: pad
                    n_pad = L - t
                    acts.extend([torch.zeros(B, dtype=torch.long)] * n_pad)
                    lives.extend([alive] * n_pad)
                    if grad:
                        hs.extend([torch.zeros(B, net.H)] * n_pad)
                    break
                idx = torch.stack([event, pos[t].expand(B), slot[:, e, t]], 1)
                h_new = net.step(idx, h)
                with torch.no_grad():
                    a = sample(net.pi(h_new), gen)
                r = a == seq[:, t]
                acts.append(a), lives.append(alive)
                if grad:
                    hs.append(h_new)
                h = torch.where(alive[:, None], h_new, h)  # a dead step leaves the state alone
                event = torch.where(alive, 1 + t * 2 * D + a * 2 + (~r).long(), event)
                alive = alive & r
        a_all = torch.stack(acts, 1).view(B, E, L)
        alive_all = torch.stack(lives, 1).view(B, E, L)
        right_all = alive_all & (a_all == seq[:, None, :])
        shown = alive_all & seen
        out = {"actions": torch.where(alive_all, a_all, -1), "alive": alive_all, "right": right_all,
               "returns": right_all.sum(-1),
               "followed": float((shown & (a_all == demo[:, None, :] % D)).sum()) / max(float(shown.sum()), 1.0)}
        if grad:
            hh = torch.stack(hs, 1)  # (B, E*L, H)
            lp = torch.log_softmax(net.pi(hh), -1)
            a = a_all.view(B, -1)
            out.update(logp=lp.gather(2, a[..., None])[..., 0], ent=-(lp.exp() * lp).sum(-1), v=net.v(hh)[..., 0])
    return out


def final_demo(actions: torch.Tensor, right: torch.Tensor, D: int) -> torch.Tensor:
    """A lifetime's final episode as the next generation's demonstration: actions, right
    (B, E, L) -> (B, L): its digits up to the mistake that ended it, the mistake marked (+D:
    the demonstrator's episode visibly ended there), -1 after."""
    a, r = actions[:, -1], right[:, -1]
    return torch.where((a >= 0) & ~r, a + D, a)


def advantages(r: torch.Tensor, v: torch.Tensor, alive: torch.Tensor, gamma: float, lam: float) -> tuple:
    """GAE over the played steps of a lifetime (dead steps skipped): r, v, alive (B, T) ->
    advantages and returns (B, T), zero on dead steps."""
    B, T = r.shape
    adv = torch.zeros(B, T)
    next_v, next_a = torch.zeros(B), torch.zeros(B)
    for k in range(T - 1, -1, -1):
        m = alive[:, k]
        delta = r[:, k] + gamma * next_v - v[:, k]
        a = delta + gamma * lam * next_a
        adv[:, k] = torch.where(m, a, 0.0)
        next_v = torch.where(m, v[:, k], next_v)
        next_a = torch.where(m, a, next_a)
    return adv, (adv + v) * alive


def training_demos(seq: torch.Tensor, D: int, gen: torch.Generator) -> torch.Tensor:
    """(B, L) demonstrations of mixed quality (module docstring): -1 where nothing is shown."""
    B, L = seq.shape
    kind = torch.rand(B, generator=gen)
    k = torch.randint(L + 1, (B, 1), generator=gen)
    pos = torch.arange(L)[None]
    wrong = (seq + torch.randint(1, D, (B, L), generator=gen)) % D
    q = torch.where(kind >= P_NONE + P_CLEAN, torch.rand(B, generator=gen) * 0.5, torch.zeros(B))
    flip = torch.rand(B, L, generator=gen) < q[:, None]
    demo = torch.where(flip, wrong, seq)
    demo = torch.where(pos == k, wrong + D, demo)  # the mistake that ended it, marked
    demo = torch.where(pos > k, -1, demo)
    return torch.where((kind < P_NONE)[:, None], -1, demo)


def meta_train(cfg, gen: torch.Generator, log=None) -> tuple[ICLAgent, list]:
    """Meta-train one ICLAgent for cfg.meta_updates updates of cfg.meta_batch lifetimes.
    Every meta_long-th update (if meta_long) is instead meta_batch / 4 single lives of
    generations x episodes episodes without a demonstrator, so that the single-life baseline is
    within the training distribution (without it the net's play decays past its training
    horizon and a long life loses to fresh ones for that reason alone). Returns the net and a
    history of (update, episodes per lifetime, mean return per episode, seconds)."""
    L, D, E = cfg.length, cfg.digits, cfg.episodes
    net = ICLAgent(L, D, cfg.hidden, gen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=1e-5)
    hist, t0 = [], time.perf_counter()
    for u in range(cfg.meta_updates):
        if cfg.meta_long and u % cfg.meta_long == cfg.meta_long - 1:  # a long life, nobody to watch
            B, n_ep = max(cfg.meta_batch // 4, 1), cfg.generations * E
            seq = torch.randint(D, (B, L), generator=gen)
            demo = torch.full((B, L), -1, dtype=torch.long)
            visible = torch.zeros(B, n_ep, L, dtype=torch.bool)
        else:
            B, n_ep = cfg.meta_batch, E
            seq = torch.randint(D, (B, L), generator=gen)
            demo = training_demos(seq, D, gen)
            vis = torch.rand(B, 1, 1, generator=gen)
            visible = torch.rand(B, E, L, generator=gen) < vis
        out = lifetime(net, seq, demo, visible, n_ep, gen, grad=True)
        alive = out["alive"].view(B, -1)
        r = out["right"].view(B, -1).float()
        adv, ret = advantages(r, out["v"].detach(), alive, cfg.gamma, cfg.gae_lambda)
        m = alive.float()
        n = m.sum().clamp(min=1)
        mu = (adv * m).sum() / n
        sd = (((adv - mu) ** 2) * m).sum().div(n).sqrt()
        adv = (adv - mu) / (sd + 1e-8)
        loss = ((-out["logp"] * adv - cfg.ent_coef * out["ent"]
                 + 0.5 * cfg.vf_coef * (out["v"] - ret) ** 2) * m).sum() / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        hist.append((u, n_ep, float(out["returns"].float().mean()), time.perf_counter() - t0))
        if log is not None and (u + 1) % max(cfg.meta_updates // 10, 1) == 0:
            log(*hist[-1])
    return net, hist


VIS_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def chain(net: ICLAgent, seq: torch.Tensor, cfg, vis_prob: float, gen: torch.Generator) -> dict:
    """Generations of the frozen net on seq (n, L), each a fresh lifetime of cfg.episodes
    episodes watching the previous one's final episode, shown per step with prob vis_prob
    (generation 0 watches nobody). Returns returns (G, E, n), known (G, n): right digits of each
    generation's final episode (what it passes on), followed (G,)."""
    n, L = seq.shape
    E, G = cfg.episodes, cfg.generations
    demo = torch.full((n, L), -1, dtype=torch.long)
    rets, known, followed = [], [], []
    for _ in range(G):
        visible = torch.rand(n, E, L, generator=gen) < vis_prob
        life = lifetime(net, seq, demo, visible, E, gen)
        demo = final_demo(life["actions"], life["right"], cfg.digits)
        rets.append(life["returns"].T)
        known.append(life["returns"][:, -1])
        followed.append(life["followed"])
    return {"returns": torch.stack(rets).float(), "known": torch.stack(known).float(), "followed": followed}


def single_life(net: ICLAgent, seq: torch.Tensor, cfg, gen: torch.Generator) -> dict:
    """One lifetime of generations x episodes episodes, no demonstrator: returns (G, E, n)."""
    n, L = seq.shape
    E, G = cfg.episodes, cfg.generations
    life = lifetime(net, seq, torch.full((n, L), -1, dtype=torch.long),
                    torch.zeros(n, G * E, L, dtype=torch.bool), G * E, gen)
    return {"returns": life["returns"].T.reshape(G, E, n).float()}


def run_icl(cfg, rec) -> dict:
    """agent=icl: meta-train, then evaluate chains against the single life on fresh sequences
    (the same for every vis_prob). Logs the world's metrics for cfg.vis_prob per generation;
    artefacts `episodes` (cfg.vis_prob), `vis_grid` (every vis_prob of VIS_GRID and
    cfg.vis_prob, per generation) and `meta_training` (the learning curve). Returns summary
    entries."""
    import numpy as np
    import pandas as pd

    from emergelab.nn import torch_threads

    n, G, E = cfg.lineages, cfg.generations, cfg.episodes
    with torch_threads(1):  # small batched GRU: more threads only contend
        # independent streams: meta-training, evaluation sequences, the single life, the chains
        s_meta, s_seq, s_single, s_culture = (torch.Generator().manual_seed(int(s.generate_state(1)[0]))
                                              for s in np.random.SeedSequence(cfg.seed).spawn(4))
        net, hist = meta_train(cfg, s_meta)
        net.eval()
        seq = torch.randint(cfg.digits, (n, cfg.length), generator=s_seq)
        single = single_life(net, seq, cfg, s_single)
        s_ret = single["returns"]  # (G, E, n)
        grid, main = [], None
        culture_state = s_culture.get_state()
        for v in sorted(set(VIS_GRID) | {cfg.vis_prob}):
            s_culture.set_state(culture_state)  # every vis_prob: the same draws
            c = chain(net, seq, cfg, v, s_culture)
            for g in range(G):
                grid.append({"vis_prob": v, "generation": g, "culture_return": float(c["returns"][g].mean()),
                             "single_return": float(s_ret[g].mean()),
                             "gain": float((c["returns"][g].mean(0) - s_ret[g].mean(0)).mean()),
                             "known": float(c["known"][g].mean()), "followed": c["followed"][g]})
            if v == cfg.vis_prob:
                main = c
    c_ret = main["returns"]
    rows, gains = [], []
    for g in range(G):
        gain = (c_ret[g].mean(0) - s_ret[g].mean(0)).numpy()
        gains.append(gain)
        rec.log(g, **{
            "culture/return": float(c_ret[g].mean()), "culture/return_last": float(c_ret[g, -1].mean()),
            "culture/known": float(main["known"][g].mean()), "culture/followed": main["followed"][g],
            "single/return": float(s_ret[g].mean()), "single/return_last": float(s_ret[g, -1].mean()),
            "single/known": float(s_ret[g, -1].mean()),
            "culture/gain": float(gain.mean())})  # fmt: skip
        rows.append(pd.DataFrame({"generation": g, "episode": np.arange(E), "experience": g * E + np.arange(E),
                                  "culture_return": c_ret[g].mean(1).numpy(),
                                  "single_return": s_ret[g].mean(1).numpy()}))
    rec.artefact("episodes", pd.concat(rows, ignore_index=True))
    vg = pd.DataFrame(grid)
    rec.artefact("vis_grid", vg)
    rec.artefact("meta_training", pd.DataFrame(hist, columns=["update", "episodes", "return", "seconds"]))
    last = vg[vg.generation == G - 1].set_index("vis_prob")
    short = [h[2] for h in hist if h[1] == E]  # meta-training returns of the usual lifetimes
    return {"final_gain_se": float(gains[-1].std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
            "meta_return_last": float(np.mean(short[-max(len(short) // 10, 1):])),
            "gain_by_vis": {f"{v:g}": round(float(x), 3) for v, x in last.gain.items()}}
