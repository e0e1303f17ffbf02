"""Emergent language in a referential (Lewis signalling) game.

Effect: two networks that share no language invent one. A speaker sees an object
(`n_attributes` attributes, each one of `n_values` values) and sends `max_len` symbols from a
vocabulary of `vocab_size`; a listener rebuilds the object (reconstruction) or picks it among
`n_distractors` + 1 candidates (discrimination); both are rewarded only if it gets it right.
Accuracy climbs from chance to ~1 on the training objects and, because the code they settle
on is partly compositional, stays well above chance on attribute combinations never trained on.

Papers:
- S. Yao et al. (2022), "Linking Emergent and Natural Languages via Corpus Transfer": the
  emergent corpus is a pre-training corpus for language models (here the `corpus` artefact).
- "AI Mother Tongue: Self-Emergent Communication in MARL via Endogenous Symbol Systems" (2025):
  communication emerges without inductive biases; symbol use follows a power law.
- Lewis signalling games as run by EGG (Kharitonov et al. 2019): Gumbel-softmax straight-
  through, or REINFORCE with an entropy bonus and a mean baseline (listener trained on its
  loss directly); the attribute-value setting, posdis and bosdis of Chaabouni et al. (2020),
  "Compositionality and Generalization in Emergent Languages".

Messages have exactly `max_len` symbols (no end-of-message symbol). Logged every `log_every`
steps with greedy (argmax) messages, on every training and every held-out object
(discrimination: against fixed seeded distractor sets): train/acc, holdout/acc (reconstruction:
all attributes right); train/loss (last batch's listener loss) and speaker/entropy (bits per
symbol, last batch). Every `lang_every` logs and at the end, on all objects' greedy messages
(`emergelab.measures.language`): lang/topsim, lang/posdis, lang/bosdis, lang/entropy.
split="egg" (preset `egg`) is EGG's compo_vs_generalization split (Chaabouni et al. 2020):
value 0 of every attribute is never trained on; it logs EGG's three accuracies instead of
holdout/acc: train/acc, uniform/acc (new combinations of trained values) and
generalization/acc (objects with one unseen value: all the other attributes right, as EGG's
DiffLoss(generalization=True)); the language measures are then on the training objects, as
EGG's Metrics callback computes them.
The game is also a PettingZoo parallel environment: `make_env(cfg_or_kwargs)`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register


# Defaults: the classic compositionality setting (4 x 4 objects, 10 symbols, 4 positions: room
# for one symbol per attribute), trained the EGG way: GRU agents, REINFORCE. Measured on 2 shared
# CPU cores, seed 0: train/acc 0.95 at step 600 and 1.0 at 900, holdout/acc 0.3-0.4 (chance
# 1/256), ~2 min per 1,000 steps. `quick` (MLP agents, Gumbel-softmax, 500 steps, 5-10 s):
# train/acc 1.0 by step 150-225 in seeds 0-4, holdout/acc 0.35-1.0, lang/topsim 0.52-0.67.
# `egg` (the same agents on EGG's split, 13-30 s on 2 busy cores, torch on 1 thread): seeds
# 0-2: train/acc 1.0, uniform/acc 0.75 (6 of 8), generalization/acc 0.94-0.97, topsim 0.60-0.72.
@dataclass(frozen=True)
class ReferentialGameConfig:
    seed: int = param(0, "seeds the held-out split, the weights, batches, distractors and sampling")
    n_attributes: int = param(4, "attributes per object")
    n_values: int = param(4, "values per attribute: n_values ** n_attributes objects")
    vocab_size: int = param(10, "symbols the speaker can use")
    max_len: int = param(4, "symbols per message (fixed length, no end-of-message symbol)")
    game: Literal["reconstruction", "discrimination"] = param(
        "reconstruction", "reconstruction: the listener rebuilds the object; discrimination: it picks it out")
    n_distractors: int = param(4, "discrimination: distractors shown with the target (chance = 1 / (n + 1))")
    agent: Literal["gru", "mlp"] = param("gru", "speaker and listener architecture")
    hidden: int = param(256, "hidden size of both agents")
    training: Literal["gumbel", "reinforce"] = param(
        "reinforce", "gumbel: straight-through Gumbel-softmax; reinforce: policy gradient for the speaker")
    temperature: float = param(1.0, "gumbel: softmax temperature")
    entropy_coef: float = param(0.1, "reinforce: weight of the speaker's entropy bonus (nats, summed)")
    lr: float = param(1e-3, "Adam learning rate (both agents)")
    batch_size: int = param(256, "training objects per step (drawn with replacement)")
    steps: int = param(2000, "optimiser steps")
    holdout_fraction: float = param(0.1, "share of attribute combinations never trained on, in (0, 1)")
    split: Literal["random", "egg"] = param(
        "random", "random: holdout_fraction of the combinations held out, every value still trained; egg: "
        "EGG compo_vs_generalization's split (train: no value 0; generalization: exactly one 0, an unseen "
        "value; uniform: int(holdout_fraction * train) of those, seed 7 as in EGG)")
    log_every: int = param(100, "steps between logs of accuracies and loss")
    lang_every: int = param(2, "logs between language measures (they are also computed at the end)")
    device: str = param("auto", "auto (CUDA when available), cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        for k in ("n_attributes", "n_values", "vocab_size", "max_len", "hidden", "batch_size", "steps",
                  "log_every", "lang_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.n_attributes < 2 or self.n_values < 2 or self.vocab_size < 2:
            raise ValueError("n_attributes, n_values and vocab_size must be at least 2")
        if self.n_values ** self.n_attributes > 100_000:
            raise ValueError(f"{self.n_values}**{self.n_attributes} objects is too many (at most 100,000)")
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        _, tr, ho = objects(self)
        if len(ho) == 0 or len(tr) < 2:
            raise ValueError(f"holdout_fraction={self.holdout_fraction} holds out no object (or leaves fewer "
                             f"than 2 to train on) with split={self.split}: change it")
        if self.game == "discrimination" and not 1 <= self.n_distractors < len(tr):
            raise ValueError(f"n_distractors must be in [1, {len(tr) - 1}] (training objects - 1), "
                             f"got {self.n_distractors}")
        if not (self.lr > 0 and self.temperature > 0 and self.entropy_coef >= 0):
            raise ValueError("lr and temperature must be > 0 and entropy_coef >= 0")
        check_device(self.device, auto=True)


def objects(cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(meanings (M, A) int64, train ids, held-out ids): every attribute combination, and a
    seeded held-out set in which every (attribute, value) still occurs in training, so held-out
    objects are new combinations of known values (Chaabouni et al. 2020). Read-only arrays.
    With split="egg" the held-out ids are EGG's uniform holdout (see `eval_sets`)."""
    if cfg.split == "egg":
        sets = _egg_split(cfg.n_attributes, cfg.n_values, cfg.holdout_fraction)
        return sets["meanings"], sets["train"], sets["uniform"]
    return _split(cfg.n_attributes, cfg.n_values, cfg.holdout_fraction, cfg.seed)


def eval_sets(cfg) -> dict[str, np.ndarray]:
    """The object ids accuracy is reported on, by metric prefix: train and holdout (random
    split), or train, uniform and generalization (egg split, EGG's names)."""
    if cfg.split == "egg":
        sets = _egg_split(cfg.n_attributes, cfg.n_values, cfg.holdout_fraction)
        return {k: sets[k] for k in ("train", "uniform", "generalization")}
    _, tr, ho = objects(cfg)
    return {"train": tr, "holdout": ho}


@functools.lru_cache(maxsize=32)
def _egg_split(A: int, N: int, fraction: float) -> dict[str, np.ndarray]:
    """EGG's split (egg/zoo/compo_vs_generalization/data.py: split_holdout, split_train_test):
    objects with no value 0 are trained on, except a uniform holdout of int(fraction * n) of them
    (numpy RandomState(7).permutation, as EGG, whatever the run's seed); objects with exactly one
    0 form the generalization holdout: value 0 of that attribute is never seen in training.
    Objects with two or more 0s are used nowhere. 4 x 4: 73 train, 8 uniform, 108 generalization."""
    from emergelab.measures.language import meaning_grid

    meanings = meaning_grid(A, N)  # row-major, as EGG's itertools.product enumeration
    zeros = (meanings == 0).sum(1)
    pool = np.flatnonzero(zeros == 0)
    perm = np.random.RandomState(7).permutation(len(pool))  # EGG's own generator and seed
    n_test = int(fraction * len(pool))
    out = {"meanings": meanings, "train": np.sort(pool[perm[n_test:]]), "uniform": np.sort(pool[perm[:n_test]]),
           "generalization": np.flatnonzero(zeros == 1)}
    for a in out.values():
        a.flags.writeable = False  # cached: shared by every caller
    return out


@functools.lru_cache(maxsize=32)
def _split(A: int, N: int, fraction: float, seed: int):
    from emergelab.measures.language import holdout_combinations, meaning_grid

    meanings = meaning_grid(A, N)  # (M, A), row-major: attr_0 varies slowest
    out = (meanings, *holdout_combinations(meanings, fraction, seed))
    for a in out:
        a.flags.writeable = False  # cached: shared by every caller
    return out


def chance(cfg) -> float:
    """Accuracy of a listener that guesses."""
    if cfg.game == "discrimination":
        return 1.0 / (cfg.n_distractors + 1)
    return float(cfg.n_values) ** -cfg.n_attributes


def make_env(cfg_or_kwargs: Any = None, **env_kwargs):
    """The game as a PettingZoo ParallelEnv (agents "speaker" and "listener"); needs
    `pip install pettingzoo gymnasium`. Takes a ReferentialGameConfig or a dict of its fields
    (validated like `-s key=value`); env_kwargs: split ("train", "holdout", "all"), n_rounds,
    render_mode ("ansi" or None)."""
    from emergelab.lab.config import make_config
    from emergelab.worlds._referential_env import ReferentialEnv  # imports pettingzoo

    cfg = cfg_or_kwargs if isinstance(cfg_or_kwargs, ReferentialGameConfig) else \
        make_config(ReferentialGameConfig, cfg_or_kwargs, world="referential_game")
    return ReferentialEnv(cfg, **env_kwargs)


# -- agents --------------------------------------------------------------------------------
def _agents(cfg, device):
    """(speaker, listener) torch modules, initialised from cfg.seed without touching the
    global RNG's stream outside this function."""
    import torch
    from torch import nn

    A, N, S, L, H = cfg.n_attributes, cfg.n_values, cfg.vocab_size, cfg.max_len, cfg.hidden

    class Speaker(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(A * N, H)  # object (concatenated one-hots) -> hidden
            if cfg.agent == "gru":  # autoregressive: each symbol conditions the next
                self.sos = nn.Parameter(torch.zeros(H))
                self.emb = nn.Linear(S, H, bias=False)  # one-hot symbol -> embedding (differentiable)
                self.cell = nn.GRUCell(H, H)
                self.out = nn.Linear(H, S)
            else:  # all positions at once from one hidden layer
                self.body = nn.Sequential(nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, L * S))

        def forward(self, x, pick):
            """x (B, A*N); pick(logits (B, S)) -> (one-hot (B, S), ids (B,)).
            Returns message one-hots (B, L, S), ids (B, L), log-prob (B,), entropy (B,)."""
            h = self.inp(x)  # (B, H)
            if cfg.agent == "mlp":
                logits = self.body(h).view(-1, L, S)  # (B, L, S)
                onehot, ids = pick(logits.reshape(-1, S))
                onehot, ids = onehot.view(-1, L, S), ids.view(-1, L)
            else:
                e, outs = self.sos.expand_as(h), []
                for _ in range(L):
                    h = self.cell(e, h)  # (B, H)
                    logits = self.out(h)  # (B, S)
                    outs.append((logits, *pick(logits)))
                    e = self.emb(outs[-1][1])  # the chosen symbol (one-hot) is the next input
                logits, onehot, ids = (torch.stack(t, 1) for t in zip(*outs))  # (B, L, S) x2, (B, L)
            logp = logits.log_softmax(-1)  # (B, L, S)
            ent = -(logp.exp() * logp).sum(-1).sum(-1)  # (B,)
            return onehot, ids, logp.gather(-1, ids[..., None]).squeeze(-1).sum(-1), ent

    class Listener(nn.Module):
        def __init__(self):
            super().__init__()
            if cfg.agent == "gru":
                self.emb = nn.Linear(S, H, bias=False)
                self.rnn = nn.GRU(H, H, batch_first=True)
            else:
                self.body = nn.Sequential(nn.Linear(L * S, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU())
            if cfg.game == "reconstruction":
                self.head = nn.Linear(H, A * N)
            else:
                self.cand = nn.Linear(A * N, H)  # candidate objects embedded, scored by dot product

        def forward(self, msg, cands=None):
            """msg (B, L, S) one-hots; cands (B, K, A*N). Logits (B, A, N) or (B, K)."""
            if cfg.agent == "gru":
                h = self.rnn(self.emb(msg))[1][0]  # last hidden state (B, H)
            else:
                h = self.body(msg.flatten(1))  # (B, H)
            if cfg.game == "reconstruction":
                return self.head(h).view(-1, A, N)
            return torch.einsum("bh,bkh->bk", h, self.cand(cands))

    with torch.random.fork_rng(devices=[]):  # seeded init, global RNG left as it was
        torch.manual_seed(cfg.seed)
        return Speaker().to(device), Listener().to(device)


def _pickers(cfg, gen):
    """How a symbol is chosen from logits (B, S): each returns (one-hot (B, S), ids (B,))."""
    import torch
    import torch.nn.functional as F

    S = cfg.vocab_size

    def greedy(logits):
        ids = logits.argmax(-1)
        return F.one_hot(ids, S).to(logits.dtype), ids

    def gumbel(logits):  # straight-through: hard one-hot forward, softmax gradient backward
        u = torch.rand(logits.shape, generator=gen).to(logits.device).clamp_(1e-9, 1 - 1e-9)
        soft = ((logits - (-u.log()).log()) / cfg.temperature).softmax(-1)
        ids = soft.argmax(-1)
        return F.one_hot(ids, S).to(soft.dtype) - soft.detach() + soft, ids

    def sample(logits):  # REINFORCE: a discrete sample; no gradient flows through it
        p = logits.detach().softmax(-1).cpu()
        ids = torch.multinomial(p, 1, generator=gen).squeeze(1).to(logits.device)
        return F.one_hot(ids, S).to(logits.dtype), ids

    return greedy, (gumbel if cfg.training == "gumbel" else sample)


def _candidates(target, pool, k: int, gen):
    """target (B,) object ids; k distractors drawn without replacement from `pool` (P,),
    never the target; shuffled. Returns (candidate ids (B, k+1), position of target (B,))."""
    import torch

    B = len(target)
    score = torch.rand(B, len(pool), generator=gen)  # random order of the pool, per row
    score[pool[None, :] == target[:, None]] = 2.0  # the target goes last: never drawn
    distr = pool[score.topk(k, dim=1, largest=False).indices]  # (B, k)
    ids = torch.cat([target[:, None], distr], 1)  # (B, k+1), target first
    order = torch.rand(B, k + 1, generator=gen).argsort(1)
    return ids.gather(1, order), (order == 0).long().argmax(1)


def _language(meanings: np.ndarray, messages: np.ndarray) -> dict[str, float]:
    from emergelab.measures import language as lm

    return {"lang/topsim": lm.topsim(meanings, messages), "lang/posdis": lm.posdis(meanings, messages),
            "lang/bosdis": lm.bosdis(meanings, messages, eos=None),  # no eos: every symbol is content
            "lang/entropy": lm.message_entropy(messages)}


# -- run -----------------------------------------------------------------------------------
def run(cfg: ReferentialGameConfig, rec) -> None:
    import pandas as pd
    import torch
    import torch.nn.functional as F

    from emergelab.nn import resolve_device

    device = resolve_device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)  # every draw in training comes from here, on CPU
    meanings_np, tr_np, ho_np = objects(cfg)
    sets = eval_sets(cfg)  # metric prefix -> object ids
    meanings = torch.tensor(meanings_np)  # (M, A)
    X = F.one_hot(meanings, cfg.n_values).flatten(1).float().to(device)  # (M, A*N) speaker/candidate input
    tr = torch.tensor(tr_np)  # training object ids
    Y = meanings.to(device)
    disc, k = cfg.game == "discrimination", cfg.n_distractors

    speaker, listener = _agents(cfg, device)
    greedy, pick = _pickers(cfg, gen)
    opt = torch.optim.Adam([*speaker.parameters(), *listener.parameters()], lr=cfg.lr)

    def play(idx, msg, cands, pos, skip_zeros=False):
        """Listener on messages (B, L, S) -> per-object loss (B,) and success (B,) bools.
        skip_zeros: success ignores attributes whose value is 0 (EGG's generalization accuracy:
        the unseen value is not asked for, the other attributes must all be right)."""
        if disc:
            logits = listener(msg, X[cands.to(device)])  # (B, k+1)
            pos = pos.to(device)
            return F.cross_entropy(logits, pos, reduction="none"), logits.argmax(1) == pos
        logits = listener(msg)  # (B, A, N)
        y = Y[idx.to(device)]  # (B, A)
        loss = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").sum(1)  # (B,)
        right = logits.argmax(-1) == y
        return loss, ((right | (y == 0)) if skip_zeros else right).all(1)

    # Fixed evaluation distractors (from all objects), drawn once with their own generator
    # so that evaluating never shifts the training stream.
    egen = torch.Generator().manual_seed(cfg.seed + 1)
    pool_all = torch.arange(len(X))
    evals = {name: (idx, *(_candidates(idx, pool_all, k, egen) if disc else (None, None)))
             for name, idx in ((n, torch.tensor(ids)) for n, ids in sets.items())}
    # Language measures: on every object, or (egg split) on the training objects, as EGG's Metrics
    lang_ids = tr_np if cfg.split == "egg" else np.arange(len(meanings_np))

    @torch.no_grad()
    def evaluate(want_lang: bool) -> tuple[dict[str, float], np.ndarray]:
        msg, ids, _, _ = speaker(X, greedy)  # greedy messages for all objects (M, L, S), (M, L)
        out = {}
        for name, (idx, cands, pos) in evals.items():
            success = play(idx, msg[idx.to(device)], cands, pos, skip_zeros=name == "generalization")[1]
            out[f"{name}/acc"] = success.float().mean().item()
        messages = ids.cpu().numpy()
        if want_lang:
            out.update({n: float(v) for n, v in _language(meanings_np[lang_ids], messages[lang_ids]).items()})
        return out, messages

    rec.set_total(cfg.steps)
    L, baseline, n_logs = cfg.max_len, 0.0, 0
    for step in range(cfg.steps + 1):
        last = step == cfg.steps
        if step % cfg.log_every == 0 or last:
            vals, messages = evaluate(want_lang=last or n_logs % cfg.lang_every == 0)
            if step:  # loss and entropy of the last training batch (none before the first)
                vals["train/loss"] = loss.item()
                vals["speaker/entropy"] = ent.mean().item() / (L * math.log(2))  # nats -> bits per symbol
            rec.log(step, **vals)
            n_logs += 1
        if last:
            break
        # One batch of training objects (with replacement) and, to discriminate, their candidates.
        idx = tr[torch.randint(len(tr), (cfg.batch_size,), generator=gen)]  # (B,)
        cands, pos = _candidates(idx, tr, k, gen) if disc else (None, None)
        msg, _, logp, ent = speaker(X[idx.to(device)], pick)  # (B, L, S), _, (B,), (B,)
        per, _ = play(idx, msg, cands, pos)  # (B,)
        loss = per.mean()  # the listener learns from its loss directly (so does a Gumbel speaker)
        objective = loss
        if cfg.training == "reinforce":  # speaker reward = -loss, centred by a running-mean baseline
            baseline += (loss.item() - baseline) / (step + 1)  # mean of all batch losses so far
            objective = loss + ((per.detach() - baseline) * logp).mean() - cfg.entropy_coef * ent.mean()
        opt.zero_grad(set_to_none=True)
        objective.backward()
        opt.step()

    # The emergent corpus: every object's meaning and its greedy message, for later analysis
    # (corpus transfer, symbol-usage power laws, measures.language on your own terms).
    corpus = {f"attr_{j}": meanings_np[:, j] for j in range(cfg.n_attributes)}
    corpus.update({f"sym_{j}": messages[:, j] for j in range(L)})
    corpus["split"] = np.full(len(meanings_np), "unused", dtype=object)  # egg: objects with 2+ zeros
    for name, ids in sets.items():
        corpus["split"][ids] = name
    rec.artefact("corpus", pd.DataFrame(corpus))
    final = {f"final_{n.replace('/', '_')}": v for n, v in vals.items()}
    rec.summarize(**final, chance=chance(cfg), **{f"n_{name}": len(ids) for name, ids in sets.items()},
                  n_distinct_messages=len(np.unique(messages, axis=0)), steps=cfg.steps, device=str(device))


def summarize(curves) -> dict[str, Any]:
    """Steps to communicate: first (sustained) step where train/acc reaches 0.9, or None."""
    from emergelab.measures.transitions import first_crossing

    if "train/acc" not in curves:
        return {"train_fit_step": None}
    c = curves["train/acc"].dropna()
    return {"train_fit_step": first_crossing(c.index.to_numpy(), c.to_numpy(), 0.9) if len(c) else None}


register(World(
    name="referential_game",
    paper="S. Yao et al. (2022), Linking Emergent and Natural Languages via Corpus Transfer; "
          "AI Mother Tongue: Self-Emergent Communication in MARL via Endogenous Symbol Systems (2025); "
          "Lewis signalling games as in EGG (Kharitonov et al. 2019)",
    effect="an emergent language: speaker and listener invent a code that reaches ~1 accuracy and "
           "generalises to unseen attribute combinations",
    config=ReferentialGameConfig,
    run=run,
    presets={
        "paper": {},
        # ~10 s on 2 CPU cores: MLP agents learn much faster per second than GRUs here
        "quick": {"agent": "mlp", "training": "gumbel", "lr": 3e-3, "steps": 500, "log_every": 25},
        "quick-reinforce": {"agent": "mlp", "lr": 1e-3, "steps": 2000, "log_every": 50},
        # EGG's compo_vs_generalization data: 4 x 4 objects, vocab 10, its split (uniform and
        # generalization holdouts); the lab's fast agents (MLP, Gumbel), not EGG's 3,000 epochs
        "egg": {"split": "egg", "agent": "mlp", "training": "gumbel", "lr": 3e-3, "steps": 500, "log_every": 25},
        "tiny": {"n_attributes": 2, "n_values": 3, "vocab_size": 4, "max_len": 2, "hidden": 16,
                 "batch_size": 16, "steps": 20, "log_every": 5, "lang_every": 2, "holdout_fraction": 0.3,
                 "n_distractors": 2},
    },
    watch=("train/acc", "holdout/acc", "generalization/acc"),
    summarize=summarize,
    look_for="train/acc climbs from chance to ~1 while holdout/acc (unseen attribute combinations) follows "
             "well above chance (summary: chance); lang/topsim and lang/posdis rise as the code becomes "
             "compositional. The corpus artefact holds every object's greedy message.",
))
