"""Endogenous symbols: agents that talk in the codes of their own VQ-VAE ("AI Mother Tongue").

Effect: a speaker that only learns to compress what it sees (a VQ-VAE over its observations)
already has a language: the indices of its codebook vectors. A listener that reads those codes
picks the target out of distractors far above a listener that gets no message, with no
inductive bias toward communication (no entropy bonus, no length penalty, no designed channel);
and the codes are used unequally: the speaker first collapses onto a few codes ("semantic
compression"), then recruits more of its codebook as training goes on. Whether the usage counts
follow a power law is tested, not assumed (Clauset MLE + Vuong tests): at this scale (<= ~130
codes in use) the tests do not favour it over a lognormal or an exponential (see
docs/worlds/vq_symbols.md).

Paper: "AI Mother Tongue: Self-Emergent Communication in MARL via Endogenous Symbol Systems"
(2025): agents with an endogenous VQ-VAE symbol system communicate without inductive biases;
symbol usage follows a power law. VQ-VAE: van den Oord, Vinyals & Kavukcuoglu (2017).

The game (a referential game, Lewis signalling): an object has `n_attributes` attributes of
`n_values` values; an agent sees it as the concatenated one-hots plus Gaussian noise
(`obs_noise`). The speaker encodes its view into `n_slots` latents, each quantised to the nearest
of `n_codes` codebook vectors (shared by the slots); the message is those n_slots code indices.
The listener sees a fresh noisy view of the target and of `n_distractors` other objects, reads
the message (the codebook vectors, straight-through, or with listener_reads="indices" its own
embedding of the indices, so that the game trains the listener only) and scores the candidates.
Loss: reconstruction (MSE) + VQ codebook and commitment losses + game_weight x cross-entropy of
the listener's pick; one Adam optimiser over both agents. channel="none" is the trained
no-message control (the listener gets zeros).

Logged every `log_every` steps, on a fixed seeded evaluation set of `n_eval` rounds:
    game/acc             listener picks the target (chance 1 / (n_distractors + 1))
    control/acc_shuffled the same listener with the messages shuffled across the rounds
    game/gap             game/acc - control/acc_shuffled
    recon/mse            the speaker's reconstruction error (per observation dimension)
    codes/perplexity     exp(entropy in nats) of the code usage over all slots of all rounds
    codes/usage          share of the n_codes codes used at least once
    codes/top10_share    share of all code tokens taken by the 10% most used codes
    train/loss, train/recon, train/vq, train/game   the last training batch's losses
Every `fit_every` logs and at the end, the discrete power law (measures.language.powerlaw_fit,
Clauset et al. 2009: MLE, xmin by KS) on the usage counts of the used codes:
    codes/alpha, codes/xmin, codes/ks, codes/llr_lognormal, codes/llr_exp (> 0 favours the power
    law), codes/p_lognormal, codes/p_exp (Vuong), NaN while fewer than 10 codes are used.
Summary: the final values, chance, the verdicts of the Vuong tests, lang/topsim of the final
messages against the objects' attributes, and the usage counts (artefact `code_usage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register

_FIT_FIELDS = {"alpha": "alpha", "xmin": "xmin", "ks": "ks", "llr_lognormal": "loglik_ratio",
               "llr_exp": "loglik_ratio_exp", "p_lognormal": "p_value", "p_exp": "p_value_exp"}


# Measured on 2 shared CPU cores, torch on 1 thread: see docs/worlds/vq_symbols.md.
@dataclass(frozen=True)
class VQSymbolsConfig:
    seed: int = param(0, "seeds the weights, the training rounds and the evaluation set")
    n_attributes: int = param(4, "attributes per object")
    n_values: int = param(6, "values per attribute: n_values ** n_attributes objects")
    zipf: float = param(0.0, "every attribute value v is drawn with p ~ (v+1)^-zipf (0: uniform objects)")
    obs_noise: float = param(0.3, "sd of the Gaussian noise on every observation (one-hots + noise)")
    n_codes: int = param(256, "codebook size K: the symbols the speaker can use")
    n_slots: int = param(4, "latent slots L: code indices per message")
    code_dim: int = param(8, "dimension of every codebook vector")
    hidden: int = param(128, "hidden width of every MLP (encoder, decoder, listener)")
    codebook_scale: float = param(1.0, "codebook init U(-s/K, s/K) (s = 1: the VQ-VAE reference code's)")
    beta: float = param(0.25, "commitment loss weight (van den Oord et al. 2017)")
    game_weight: float = param(1.0, "weight of the game's cross-entropy in the joint loss")
    listener_reads: Literal["codebook", "indices"] = param(
        "codebook", "codebook: the speaker's quantised vectors (straight-through: the game trains the "
        "speaker too); indices: the listener's own embedding of the code indices (the game trains only it)")
    channel: Literal["codes", "none"] = param("codes", "codes: the listener reads the message; none: the "
                                              "no-message control (it gets zeros)")
    n_distractors: int = param(4, "distractor objects shown with the target (chance = 1 / (n + 1))")
    lr: float = param(1e-3, "Adam learning rate (both agents)")
    batch_size: int = param(128, "rounds per training step (fresh objects and noise each step)")
    steps: int = param(3000, "optimiser steps")
    n_eval: int = param(2048, "rounds in the fixed evaluation set (code usage is counted over them)")
    log_every: int = param(100, "steps between logs")
    fit_every: int = param(1, "logs between power-law fits (also fitted at the end)")
    device: str = param("auto", "auto (CUDA when available), cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        for k in ("n_codes", "n_slots", "code_dim", "hidden", "batch_size", "steps", "n_eval", "log_every",
                  "fit_every", "n_distractors"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.n_attributes < 1 or self.n_values < 2:
            raise ValueError(f"need n_attributes >= 1 and n_values >= 2, got {self.n_attributes}, "
                             f"{self.n_values}")
        if self.n_values ** self.n_attributes > 10**9:
            raise ValueError(f"{self.n_values}**{self.n_attributes} objects is too many (at most 10**9)")
        if self.n_codes < 2:
            raise ValueError(f"n_codes must be at least 2 (one code says nothing), got {self.n_codes}")
        if not (self.zipf >= 0 and self.codebook_scale > 0):
            raise ValueError(f"zipf must be >= 0 and codebook_scale > 0, got {self.zipf}, "
                             f"{self.codebook_scale}")
        if not (self.obs_noise >= 0 and self.beta >= 0 and self.game_weight >= 0 and self.lr > 0):
            raise ValueError("obs_noise, beta and game_weight must be >= 0 and lr > 0")
        check_device(self.device, auto=True)


def chance(cfg) -> float:
    """Success of a listener that guesses."""
    return 1.0 / (cfg.n_distractors + 1)


def code_stats(ids: np.ndarray, n_codes: int) -> tuple[np.ndarray, dict[str, float]]:
    """Usage counts (n_codes,) of the code indices `ids` (any shape) and codes/perplexity
    (exp of the entropy in nats), codes/usage (share used) and codes/top10_share (share of
    tokens of the ceil(10%) most used codes)."""
    counts = np.bincount(np.asarray(ids).ravel(), minlength=n_codes)
    p = counts[counts > 0] / counts.sum()
    top = np.sort(counts)[::-1][: max(1, math.ceil(0.1 * n_codes))].sum() / counts.sum()
    return counts, {"codes/perplexity": float(np.exp(-(p * np.log(p)).sum())),
                    "codes/usage": float((counts > 0).mean()), "codes/top10_share": float(top)}


def usage_fit(counts: np.ndarray) -> dict[str, float]:
    """The discrete power law (Clauset et al.) on the positive usage counts: codes/alpha, xmin,
    ks, llr_lognormal, llr_exp, p_lognormal, p_exp; NaN when too few codes are used to fit."""
    from emergelab.errors import UserError
    from emergelab.measures.language import powerlaw_fit

    try:
        fit = powerlaw_fit(counts[counts > 0])
    except UserError:  # fewer than 10 codes in use: no tail to fit
        return {f"codes/{k}": float("nan") for k in _FIT_FIELDS}
    return {f"codes/{k}": float(getattr(fit, f)) for k, f in _FIT_FIELDS.items()}


def run(cfg: VQSymbolsConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(1):  # MLPs of ~100 units: more threads only fight other runs for the cores
        _train(cfg, rec)


def _train(cfg: VQSymbolsConfig, rec) -> None:
    import torch
    import torch.nn.functional as F

    from emergelab.measures.language import topsim
    from emergelab.nn import resolve_device
    from emergelab.worlds._vq_agents import build, draw_round

    device = resolve_device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)  # every training draw, on CPU
    egen = torch.Generator().manual_seed(cfg.seed + 10_007)  # the evaluation set: its own stream
    k = cfg.n_distractors
    ev_obj, ev_x, ev_c, ev_pos = draw_round(cfg.n_eval, k, cfg, egen)  # (E, A), (E, D), (E, k+1, D), (E,)
    ev_x, ev_c, ev_pos = ev_x.to(device), ev_c.to(device), ev_pos.to(device)
    # Fixed shuffle of messages across rounds for the control (a listener given someone else's message)
    shuffle = torch.randperm(cfg.n_eval, generator=egen).to(device)

    speaker, listener = build(cfg, device)
    opt = torch.optim.Adam([*speaker.parameters(), *listener.parameters()], lr=cfg.lr)

    @torch.no_grad()
    def evaluate(fit: bool) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
        ids, z, recon, _ = speaker(ev_x)  # (E, L), (E, L, d), (E, D)
        acc = (listener(ids, z, ev_c).argmax(1) == ev_pos).float().mean().item()
        ctrl = (listener(ids[shuffle], z[shuffle], ev_c).argmax(1) == ev_pos).float().mean().item()
        ids_np = ids.cpu().numpy()
        counts, out = code_stats(ids_np, cfg.n_codes)
        out.update({"game/acc": acc, "control/acc_shuffled": ctrl, "game/gap": acc - ctrl,
                    "recon/mse": F.mse_loss(recon, ev_x).item()})
        if fit:
            out.update(usage_fit(counts))
        return out, counts, ids_np

    rec.set_total(cfg.steps)
    n_logs, losses = 0, {}
    for step in range(cfg.steps + 1):
        last = step == cfg.steps
        if step % cfg.log_every == 0 or last:
            vals, counts, messages = evaluate(fit=last or n_logs % cfg.fit_every == 0)
            # the last training batch's losses (none before the first step)
            vals.update({f"train/{n}": v.item() for n, v in losses.items()})
            rec.log(step, **vals)
            n_logs += 1
        if last:
            break
        _, x, cands, pos = draw_round(cfg.batch_size, k, cfg, gen)  # fresh objects and noise
        x, cands, pos = x.to(device), cands.to(device), pos.to(device)
        ids, z, recon, vq = speaker(x)  # (B, L), (B, L, d), (B, D), ()
        recon_l = F.mse_loss(recon, x)
        game = F.cross_entropy(listener(ids, z, cands), pos)
        loss = recon_l + vq + cfg.game_weight * game  # no entropy bonus, no length penalty
        losses = {"loss": loss.detach(), "recon": recon_l.detach(), "vq": vq.detach(), "game": game.detach()}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # Does the code mirror the objects' structure? topsim on (at most) 500 evaluation rounds.
    n_ts = min(cfg.n_eval, 500)
    ts = topsim(ev_obj[:n_ts].numpy(), messages[:n_ts]) if len(np.unique(messages[:n_ts], axis=0)) > 1 \
        else float("nan")
    fit_all = usage_fit(counts)
    rec.artefact("code_usage", {"counts": counts.tolist(), "rank_frequency": np.sort(counts)[::-1].tolist()})
    verdict = lambda R, p: "undecided" if not p < 0.1 else ("power_law" if R > 0 else "other")  # noqa: E731
    rec.summarize(**{f"final_{n.replace('/', '_')}": v for n, v in vals.items()}, chance=chance(cfg),
                  final_lang_topsim=ts,
                  powerlaw_vs_lognormal=verdict(fit_all["codes/llr_lognormal"], fit_all["codes/p_lognormal"]),
                  powerlaw_vs_exponential=verdict(fit_all["codes/llr_exp"], fit_all["codes/p_exp"]),
                  n_distinct_messages=len(np.unique(messages, axis=0)), steps=cfg.steps, device=str(device))


def summarize(curves) -> dict[str, Any]:
    """First (sustained) step where the listener beats the shuffled-message control by 0.2."""
    from emergelab.measures.transitions import first_crossing

    if "game/gap" not in curves:
        return {"gap_step": None}
    c = curves["game/gap"].dropna()
    return {"gap_step": first_crossing(c.index.to_numpy(), c.to_numpy(), 0.2) if len(c) else None}


_QUICK = {"steps": 1500, "log_every": 50, "n_eval": 1024, "fit_every": 2}

register(World(
    name="vq_symbols",
    paper="AI Mother Tongue: Self-Emergent Communication in MARL via Endogenous Symbol Systems (2025); "
          "VQ-VAE: van den Oord, Vinyals & Kavukcuoglu (2017)",
    effect="endogenous symbols: a speaker's own VQ-VAE codes become a language a listener understands, "
           "far above a no-message control, with no communication bias; codebook usage tracked over training",
    config=VQSymbolsConfig,
    run=run,
    presets={
        "paper": {},
        "quick": _QUICK,  # 30-70 s on 2 busy cores
        # the game trains only the listener: the symbols are purely the speaker's compression
        "indices": {**_QUICK, "listener_reads": "indices"},
        "no-message": {**_QUICK, "channel": "none"},  # the trained control: the listener gets nothing
        "tiny": {"n_attributes": 2, "n_values": 3, "n_codes": 8, "n_slots": 2, "code_dim": 4, "hidden": 16,
                 "batch_size": 16, "steps": 20, "n_eval": 64, "log_every": 5, "n_distractors": 2},
    },
    watch=("game/acc", "game/gap"),
    summarize=summarize,
    look_for="game/acc climbs far above control/acc_shuffled (same listener, messages shuffled) and chance "
             "(summary: chance); codes/usage and codes/perplexity dip early (few codes carry the traffic) "
             "and then grow as the speaker recruits codes; codes/alpha, codes/llr_exp and "
             "codes/llr_lognormal fit the code usage to a discrete power law (llr > 0 favours it).",
))
