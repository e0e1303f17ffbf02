"""The foraging game's training loop and evaluation (imported lazily: torch). See
`emergelab.worlds.foraging_game` for what is logged and why."""

from __future__ import annotations

import numpy as np
import torch

from emergelab.nn import resolve_device
from emergelab.worlds._foraging_agents import Population, ppo_update, rollout
from emergelab.worlds._foraging_env import ForagingBatch, obs_dim
from emergelab.worlds.foraging_game import value_r2, value_sets


def train(cfg, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(1):  # tiny nets: threads only fight the other runs for cores
        _train(cfg, rec)


def _train(cfg, rec) -> None:
    from emergelab.measures.language import posdis, topsim

    dev = resolve_device(cfg.device)
    npc = int(cfg.no_message_control)
    P = cfg.n_pairs + npc  # the silenced control pair, if any, is the last
    V, T, B = cfg.vocab_size, cfg.max_steps, cfg.num_envs
    gen = torch.Generator().manual_seed(cfg.seed)  # training: init, games, actions, minibatches
    egen = torch.Generator().manual_seed(cfg.seed + 10_000)  # evaluation games: drawn once
    train_v, held_v = (torch.as_tensor(v) for v in value_sets(cfg.max_value, cfg.value_step))

    pop = Population(P, obs_dim(V), cfg.hidden, V, gen, cfg.value_knots, cfg.critic == "central").to(dev)
    opt = torch.optim.Adam(pop.parameters(), lr=cfg.lr, eps=1e-5)  # CleanRL's eps
    env = ForagingBatch(cfg.grid_size, V, T, cfg.max_value, dev, joint=cfg.pickup == "joint",
                         talk_steps=cfg.talk_steps)
    silent = torch.zeros(P, 1, dtype=torch.bool)
    silent[cfg.n_pairs:] = True  # (P, 1): the control pair's games
    silent_tr, silent_ev = silent.expand(P, B).reshape(-1), silent.expand(P, cfg.eval_games).reshape(-1)

    # Fixed evaluation games (the same for every evaluation and every pair), as states.
    E = cfg.eval_games

    def fixed(pool):
        env.reset(pool, P * E, egen, silent_ev)
        return env.pos.clone(), env.items.clone(), env.values.clone()

    ev_train, ev_held = fixed(train_v), fixed(held_v)
    rgen = torch.Generator().manual_seed(cfg.seed + 20_000)
    env.set_state(*ev_train, silent_ev)
    for _ in range(T):  # the random-policy control: one uniform action per agent and step
        env.step(*env.random_actions(rgen))
    random_success = env.success.float().mean().item()
    pairs = torch.arange(P)
    cross = torch.where(pairs < cfg.n_pairs, (pairs + 1) % cfg.n_pairs, pairs)  # role 1 from the next pair

    def play(state, partner=None):
        obs = env.set_state(*state, silent_ev)
        ro = rollout(pop, env, obs, T, P, E, greedy=True, partner=partner)
        return env.success.view(P, E).float().mean(1), ro["tokens"]  # (P,), (t, 2, P*E)

    def evaluate() -> dict[str, float]:
        out: dict[str, float] = {}
        sp, tokens = play(ev_train)
        out["success/selfplay"] = sp[:cfg.n_pairs].mean().item()
        if npc:
            out["success/no_message"] = sp[-1].item()
        if cfg.n_pairs >= 2:
            out["success/crossplay"] = play(ev_train, cross)[0][:cfg.n_pairs].mean().item()
        out["success/random"] = random_success
        ho, tokens_ho = play(ev_held)
        out["success/holdout"] = ho[:cfg.n_pairs].mean().item()
        out.update(_language(cfg, tokens, tokens_ho, ev_train, ev_held, P, E, topsim, posdis))
        return out

    rec.set_total(cfg.iterations)
    stats: dict[str, float] = {}
    for it in range(cfg.iterations + 1):
        if it % cfg.log_every == 0 or it == cfg.iterations:
            vals = evaluate()
            rec.log(it, **vals, **stats)
        if it == cfg.iterations:
            break
        if cfg.anneal_lr:  # CleanRL: lr * (1 - (iteration - 1) / num_iterations), iterations from 1
            for g in opt.param_groups:
                g["lr"] = cfg.lr * (1.0 - it / cfg.iterations)
        obs = env.reset(train_v, P * B, gen, silent_tr)
        ro = rollout(pop, env, obs, T, P, B, gen=gen, record=True)
        succ = env.success.view(P, B).float().mean(1)
        stats = ppo_update(pop, opt, ro, cfg, gen)
        stats["train/success"] = succ[:cfg.n_pairs].mean().item()
        if npc:
            stats["train/success_no_message"] = succ[-1].item()

    final = {f"final_{k.replace('/', '_')}": v for k, v in vals.items()}
    gap = vals["success/selfplay"] - vals["success/crossplay"] if "success/crossplay" in vals else None
    ctrl = max(vals["success/random"], vals.get("success/no_message", 0.0))
    rec.summarize(**final, selfplay_minus_crossplay=gap,
                  selfplay_minus_best_control=vals["success/selfplay"] - ctrl,
                  n_train_values=len(train_v), n_holdout_values=len(held_v), iterations=cfg.iterations)


def _language(cfg, tokens, tokens_ho, ev_train, ev_held, P, E, topsim, posdis) -> dict[str, float]:
    """Language measures over every communicating agent's first lang_len tokens, averaged."""
    L, V, n1 = cfg.lang_len, cfg.vocab_size, cfg.grid_size - 1

    def messages(tok):  # (t, 2, P*E) -> (2, P, E, L), silence-padded past a game's end
        t = tok.shape[0]
        m = torch.full((L, 2, P * E), V, dtype=torch.long)
        m[:min(L, t)] = tok[:L].cpu()
        return m.permute(1, 2, 0).reshape(2, P, E, L).numpy()

    msg, msg_ho = messages(tokens), messages(tokens_ho)
    vals, items = ev_train[2].view(P, E, 2).numpy(), ev_train[1].view(P, E, 2, 2).numpy()
    vals_ho = ev_held[2].view(P, E, 2).numpy()
    ts, pd, r2, r2_ho, words = [], [], [], [], []
    for role in (0, 1):  # a handful of agents: the measures themselves are vectorised
        for p in range(cfg.n_pairs):
            m, v = msg[role, p], vals[p, :, role]
            meaning = np.column_stack([v / cfg.max_value, items[p, :, role] / max(n1, 1)])  # (E, 3)
            if len(np.unique(m, axis=0)) > 1:  # a constant code has no topsim/posdis (NaN)
                ts.append(topsim(meaning, m, meaning_distance="euclidean"))
                pd.append(posdis(np.column_stack([v, items[p, :, role]]), m))
            r2.append(value_r2(m, v, V))
            words.append(len(np.unique(m[:, 0])))  # distinct first tokens: how finely values are cut
            r2_ho.append(value_r2(m, v, V, test=(msg_ho[role, p], vals_ho[p, :, role])))
    def mean(xs) -> float:
        return float(np.nanmean(xs)) if len(xs) and not np.all(np.isnan(xs)) else float("nan")

    return {"lang/topsim": mean(ts), "lang/posdis": mean(pd), "lang/value_r2": mean(r2),
            "lang/value_r2_holdout": mean(r2_ho), "lang/first_words": mean(words)}
