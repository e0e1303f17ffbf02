"""Recurrent actor-critic agents for the foraging game, a whole population in one tensor, and
their PPO update (CleanRL's ppo_atari_lstm.py conventions: orthogonal init, GAE, advantage
normalisation per minibatch, clipped surrogate and value losses, entropy bonus, gradient
clipping, minibatches of whole sequences). Imported lazily (it imports torch).

Population: weights have leading dims (2 roles, P pairs); pair p's agents are W[0, p] and
W[1, p]. Pairs never share a gradient (losses add, Adam is elementwise, and gradients are
clipped per agent), so P pairs train as P independent runs in one batched computation.
Each agent: obs -> Linear + tanh -> GRU cell -> move logits (5), token logits (V), value.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from emergelab.worlds._foraging_env import N_MOVES, VALUE_INDEX


class Population(nn.Module):
    def __init__(self, P: int, D: int, H: int, V: int, gen: torch.Generator, value_knots: int = 0,
                 central_critic: bool = False) -> None:
        super().__init__()
        self.H, self.V = H, V
        # value_knots K > 0: the value (obs[VALUE_INDEX], in [0, 1]) also enters as a two-hot code
        # over K + 1 evenly spaced knots (linear interpolation between the two nearest knots)
        self.K = value_knots
        knots = torch.linspace(0, 1, value_knots + 1) if value_knots else torch.zeros(0)
        self.register_buffer("knots", knots)
        D0, D = D, D + (value_knots + 1 if value_knots else 0)

        def ortho(i: int, o: int, std: float) -> nn.Parameter:  # (2, P, i, o), CleanRL's layer_init
            w = torch.empty(2 * P, o, i)
            for k in range(2 * P):  # a handful of agents: init only
                q, r = torch.linalg.qr(torch.randn(max(o, i), min(o, i), generator=gen))
                q = q * torch.sign(torch.diagonal(r))  # uniform over orthogonal matrices
                w[k] = std * (q if o >= i else q.T)
            return nn.Parameter(w.transpose(1, 2).reshape(2, P, i, o).contiguous())

        def zeros(o: int) -> nn.Parameter:
            return nn.Parameter(torch.zeros(2, P, 1, o))

        self.w_in, self.b_in = ortho(D, H, math.sqrt(2)), zeros(H)
        self.w_ih, self.b_ih = ortho(H, 3 * H, 1.0), zeros(3 * H)  # GRU gates r, z, n
        self.w_hh, self.b_hh = ortho(H, 3 * H, 1.0), zeros(3 * H)
        self.w_pi, self.b_pi = ortho(H, N_MOVES + V, 0.01), zeros(N_MOVES + V)  # near-uniform start
        self.w_v, self.b_v = ortho(H, 1, 1.0), zeros(1)
        # central_critic (MAPPO's centralised value, training only): the value also reads both
        # agents' current observations (own and partner's: the partner's item value too) through
        # one tanh layer; the actor (moves, tokens) still sees only its own observation.
        self.central = central_critic
        if central_critic:
            self.w_c, self.b_c = ortho(2 * D0, H, math.sqrt(2)), zeros(H)
            self.w_vc = ortho(H, 1, 1.0)

    def weights(self, partner: torch.Tensor | None) -> list[torch.Tensor]:
        """Every weight as (2, P, ...), role 1 of pair p taken from pair partner[p] (cross-play)."""
        ws = [self.w_in, self.b_in, self.w_ih, self.b_ih, self.w_hh, self.b_hh, self.w_pi, self.b_pi,
              self.w_v, self.b_v]
        if self.central:
            ws += [self.w_c, self.b_c, self.w_vc]
        if partner is None:
            return ws
        return [torch.stack([w[0], w[1][partner]]) for w in ws]

    def step(self, ws, x: torch.Tensor, h: torch.Tensor):
        """x (2, P, B, D), h (2, P, B, H) -> move logits (2,P,B,5), token logits (2,P,B,V),
        value (2,P,B), new h."""
        w_in, b_in, w_ih, b_ih, w_hh, b_hh, w_pi, b_pi, w_v, b_v = ws[:10]
        both = torch.cat([x, x.flip(0)], -1) if self.central else None  # (2, P, B, 2D): own, partner's
        if self.K:
            v = x[..., VALUE_INDEX:VALUE_INDEX + 1]
            x = torch.cat([x, (1 - (v - self.knots).abs() * self.K).clamp(min=0)], -1)
        e = torch.tanh(x @ w_in + b_in)  # (2, P, B, H)
        gi, gh = e @ w_ih + b_ih, h @ w_hh + b_hh  # (2, P, B, 3H)
        ir, iz, in_ = gi.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        h = (1 - z) * torch.tanh(in_ + r * hn) + z * h  # PyTorch's GRUCell equations
        logits = h @ w_pi + b_pi
        value = h @ w_v + b_v
        if self.central:
            w_c, b_c, w_vc = ws[10:]
            value = value + torch.tanh(both @ w_c + b_c) @ w_vc
        return logits[..., :N_MOVES], logits[..., N_MOVES:], value.squeeze(-1), h

    def h0(self, P: int, B: int, device) -> torch.Tensor:
        return torch.zeros(2, P, B, self.H, device=device)


def dist(move_logits, token_logits):
    C = torch.distributions.Categorical
    return C(logits=move_logits), C(logits=token_logits)


def rollout(pop: Population, env, obs, T: int, P: int, B: int, *, gen=None, greedy=False,
            partner=None, record=False):
    """Play the env's G = P*B games to the end (<= T steps). obs (2, G, D) from env.reset.
    Sampled actions (from gen) or greedy. Returns a dict of (T, ...) tensors when record
    (for PPO), always 'tokens' (T, 2, G) (silence `V` after a game ended)."""
    ws = pop.weights(partner)
    h = pop.h0(P, B, obs.device)
    out = {k: [] for k in ("obs", "move", "token", "logp", "value", "reward", "active", "tokens")}
    for _ in range(T):  # the only loop: over time
        active = env.active.clone()  # (G,)
        x = obs.view(2, P, B, -1)
        with torch.no_grad():
            ml, tl, v, h = pop.step(ws, x, h)
        dm, dt = dist(ml, tl)
        if greedy:
            move, token = ml.argmax(-1), tl.argmax(-1)  # (2, P, B)
        else:  # inverse-CDF sampling from the run's own generator
            move = _sample(dm.probs, gen)
            token = _sample(dt.probs, gen)
        obs, reward, _ = env.step(move.reshape(2, -1), token.reshape(2, -1))
        out["tokens"].append(torch.where(active, token.reshape(2, -1), pop.V))
        if record:
            out["obs"].append(x)
            out["move"].append(move)
            out["token"].append(token)
            out["logp"].append(dm.log_prob(move) + dt.log_prob(token))
            out["value"].append(v)
            out["reward"].append(reward.view(P, B))
            out["active"].append(active.view(P, B))
        if not env.active.any():
            break
    return {k: torch.stack(v) for k, v in out.items() if v}


def _sample(probs: torch.Tensor, gen) -> torch.Tensor:
    u = torch.rand(probs.shape[:-1] + (1,), generator=gen).to(probs.device)
    return (probs.cumsum(-1) < u).sum(-1).clamp_(max=probs.shape[-1] - 1)


def gae(ro, gamma: float, lam: float):
    """Advantages and returns (T, 2, P, B) from a recorded rollout; the team reward is each
    agent's reward; a game's value after its end is 0 (episodes are whole rollouts)."""
    r, v, act = ro["reward"], ro["value"], ro["active"].float()  # (T,P,B), (T,2,P,B), (T,P,B)
    T = len(r)
    adv = torch.zeros_like(v)
    last = torch.zeros_like(v[0])
    for t in reversed(range(T)):
        nxt_act = act[t + 1] if t + 1 < T else torch.zeros_like(act[0])
        nxt_v = v[t + 1] if t + 1 < T else torch.zeros_like(v[0])
        delta = r[t] + gamma * nxt_v * nxt_act - v[t]
        last = (delta + gamma * lam * nxt_act * last) * act[t]
        adv[t] = last
    return adv, adv + v


def ppo_update(pop: Population, opt, ro, cfg, gen) -> dict[str, float]:
    """cfg.update_epochs passes over the B games in cfg.num_minibatches minibatches of whole
    sequences (the GRU is re-run from h=0 over each). Returns the last minibatch's stats."""
    adv, ret = gae(ro, cfg.gamma, cfg.gae_lambda)
    T, _, P, B, _ = ro["obs"].shape
    mask = ro["active"][:, None].expand(T, 2, P, B).float()  # (T, 2, P, B)
    mb = B // cfg.num_minibatches
    ws = pop.weights(None)
    # entropy bonus: ent_coef * (H(move) + tok * H(token)), tok = token_ent_coef / ent_coef (at the
    # defaults tok = 1.0: bit for bit the single bonus of before); ent_coef 0: tokens' alone
    tok = cfg.token_ent_coef / cfg.ent_coef if cfg.ent_coef > 0 else None
    ent_w = cfg.ent_coef if tok is not None else cfg.token_ent_coef
    for _ in range(cfg.update_epochs):
        perm = torch.randperm(B, generator=gen).to(ro["obs"].device)
        for k in range(cfg.num_minibatches):
            idx = perm[k * mb:(k + 1) * mb]
            h = pop.h0(P, len(idx), ro["obs"].device)
            logps, ents, bonus, vals = [], [], [], []
            for t in range(T):
                ml, tl, v, h = pop.step(ws, ro["obs"][t][:, :, idx], h)
                dm, dt = dist(ml, tl)
                logps.append(dm.log_prob(ro["move"][t][..., idx]) + dt.log_prob(ro["token"][t][..., idx]))
                ents.append(dm.entropy() + dt.entropy())
                bonus.append(dt.entropy() if tok is None else dm.entropy() + tok * dt.entropy())
                vals.append(v)
            logp, ent, val = torch.stack(logps), torch.stack(ents), torch.stack(vals)  # (T, 2, P, b)
            bon = torch.stack(bonus)
            m, a, R = mask[..., idx], adv[..., idx], ret[..., idx]
            n = m.sum((0, 3)).clamp(min=1)  # (2, P) active agent-steps per agent
            mean = lambda x: ((x * m).sum((0, 3)) / n)  # noqa: E731 -- per agent, over its active steps
            mu = mean(a)[None, :, :, None]
            sd = (mean((a - mu) ** 2)[None, :, :, None]).sqrt()
            a = (a - mu) / (sd + 1e-8)  # CleanRL's norm_adv, per agent
            ratio = (logp - ro["logp"][..., idx]).exp()
            pg = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef))
            v_loss = 0.5 * (val - R) ** 2
            loss_agent = mean(pg) - ent_w * mean(bon) + cfg.vf_coef * mean(v_loss)  # (2, P)
            opt.zero_grad(set_to_none=True)
            loss_agent.sum().backward()  # agents' losses add: their gradients stay separate
            _clip_per_agent(pop, cfg.max_grad_norm)
            opt.step()
    return {"train/value_loss": mean(v_loss).mean().item(), "train/entropy": mean(ent).mean().item()}


def _clip_per_agent(pop: Population, max_norm: float) -> None:
    """clip_grad_norm_ per agent (each (role, pair) slice of every weight), so that one agent's
    large gradient never shrinks another's."""
    grads = [p.grad for p in pop.parameters() if p.grad is not None]
    sq = sum(g.pow(2).flatten(2).sum(-1) for g in grads)  # (2, P)
    scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(2, -1, *([1] * (g.dim() - 2))))
