"""A family of models across scale: emergent abilities, metric mirages and PassUntil.

Effect: a ladder of MLPs, identical but for their width, learns k-digit addition (k = 2..5,
multi-token answers) from the same data. Per-token probability of the answer and its
log-likelihood improve smoothly with parameters, yet greedy exact match over the k+1 answer
digits (~p^(k+1)) stays near 0 for the small models and then shoots up: an "emergent" ability
that is a smooth trend under a continuous metric. Repeated sampling (PassUntil) resolves the
tiny pass rates (~1e-3..1e-5 per item) of the small models where greedy decoding reads 0.

Papers:
- R. Schaeffer, B. Miranda, S. Koyejo (2023), "Are Emergent Abilities of Large Language
  Models a Mirage?": exact match and multiple-choice grade are discontinuous metrics; token
  edit distance, log-likelihood and Brier score are their continuous partners.
- S. Hu et al. (2024), "Unlock Predictable Scaling from Emergent Abilities" (PassUntil):
  sample until r passes (cap K); PU = r/K resolves pass rates far below 1/items.
- "Unveiling Downstream Performance Scaling of LLMs: A Clustering-Based Perspective" (COD):
  items of mixed difficulty whose pass rates across the small models cluster.

Task: a + b, a and b uniform k-digit numbers (leading zeros allowed), k uniform over `digits`;
little-endian digits padded to K = max(digits) with a PAD symbol. The answer is the k+1 digits
of the sum, little-endian. Model: one-hot input (2K x 11) -> `depth` ReLU layers of width w ->
(K+1) x 10 logits, one softmax per answer position: a factorised decoder, so exact match over
L tokens is exactly prod_i p_i (A6's p^L). Every model sees the same `steps` x `batch` examples
(one seeded stream; Adam, cosine decay); compute = 6 * params * examples (an MLP's forward and
backward FLOPs; an example plays the role of a token).

Evaluation: `items` fresh items per difficulty (own seeded stream). Per model x item, the
artefact `family` (a pandas DataFrame: the convention the forecasting instruments and the
readers consume) holds model, params, compute, item, difficulty (= k) and
    target_prob     mean over the k+1 answer positions of p(target digit)
    logprob         sum of log p(target digit): log-likelihood of the whole answer
    correct         greedy (argmax per position) answer == target, 0/1
    edit_distance   Levenshtein distance, in tokens, of the greedy answer to the target
    mc_correct      target vs `choices` - 1 distractors (one digit changed each), ranked by
                    log-likelihood: 1 if the target ranks first
    brier           sum over choices of (softmax of their log-likelihoods - one-hot target)^2
    n_samples, n_pass   PassUntil: temperature-1 samples until `passes` passes or
                    `sample_cap` samples (n_pass < passes: censored)
Metrics at step = model index (0 = smallest; `family/params` maps steps to sizes):
family/params, log10_params, compute, train_loss (last 10% of steps), accuracy, target_prob,
logprob, edit_distance, mc_accuracy, brier, pass_rate (mean over items of n_pass / n_samples).
Summary: n_models, params_min/max, accuracy_smallest/largest, pass_rate_smallest, target_prob_*.

Wall (seed 0, one thread, 2 cores shared with other jobs): tiny 0.1 s (+5 s torch
start-up); quick 129 s (87 s CPU); paper (default) 183 s (169 s CPU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register

PAD = 10  # input symbol for the positions beyond an operand's k digits


@dataclass(frozen=True)
class ScalingFamilyConfig:
    seed: int = param(0, "seeds the training stream, every model's init, the items and the sampling")
    widths: tuple[int, ...] = param((8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512),
                                    "hidden width of each model in the family, smallest first")
    depth: int = param(2, "hidden ReLU layers per model")
    digits: tuple[int, ...] = param((2, 3, 4, 5), "operand lengths k (difficulties); answers have k+1 digits")
    steps: int = param(3000, "training steps per model (every model sees the same examples)")
    batch: int = param(256, "training examples per step")
    lr: float = param(3e-3, "Adam learning rate (cosine-decayed to 0)")
    items: int = param(250, "evaluation items per difficulty")
    choices: int = param(4, "multiple-choice options: the target and choices - 1 distractors")
    passes: int = param(1, "PassUntil r: stop sampling an item after r passes")
    sample_cap: int = param(100_000, "PassUntil K cap: most samples per item")
    sample_chunk: int = param(4096, "samples per item drawn at once (memory: items x chunk x answer length)")
    threads: int = param(1, "torch CPU threads while the world runs, restored after (0: leave torch's "
                            "setting); these small MLPs train fastest on one thread")
    device: str = param("cpu", "cpu, cuda or cuda:N (small MLPs: CPU is usually as fast)")

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or any(w < 1 for w in self.widths):
            raise ValueError(f"widths needs at least 2 positive widths, got {self.widths}")
        if list(self.widths) != sorted(set(self.widths)):
            raise ValueError(f"widths must be distinct and increasing, got {self.widths}")
        ks = self.digits
        if not ks or any(not 1 <= k <= 9 for k in ks) or len(set(ks)) != len(ks):
            raise ValueError(f"digits must be distinct operand lengths in 1..9, got {self.digits}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        for k in ("depth", "steps", "batch", "items", "passes", "sample_cap", "sample_chunk"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.choices < 2:
            raise ValueError(f"choices must be at least 2 (the target and a distractor), got {self.choices}")
        if self.choices - 1 > 9 * (min(self.digits) + 1):
            raise ValueError(f"choices={self.choices}: at most {9 * (min(self.digits) + 1) + 1} distinct "
                             f"one-digit changes exist for k={min(self.digits)}")
        if self.passes > self.sample_cap:
            raise ValueError(f"passes={self.passes} cannot exceed sample_cap={self.sample_cap}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        check_device(self.device)


# -- data ----------------------------------------------------------------------------------
def make_items(n: int, digits: tuple[int, ...], gen, K: int | None = None):
    """n problems: (x (n, 2K) input symbol ids, y (n, K+1) answer digits, k (n,)), little-endian,
    K = max(digits) unless given. Positions of y beyond k (the answer has k+1 digits) hold 0
    and are masked."""
    import torch

    K = K or max(digits)
    k = torch.tensor(digits)[torch.randint(0, len(digits), (n,), generator=gen)]  # (n,)
    d = torch.randint(0, 10, (n, 2, K), generator=gen)  # (n, 2, K) digits of a and b
    pos = torch.arange(K)
    d = torch.where(pos < k[:, None, None], d, 0)  # a, b < 10^k
    w = 10 ** pos  # (K,) little-endian place values
    s = (d * w).sum(-1).sum(-1)  # (n,) a + b < 2 * 10^K
    y = s[:, None] // 10 ** torch.arange(K + 1) % 10  # (n, K+1)
    x = torch.where(pos < k[:, None, None], d, PAD).reshape(n, 2 * K)  # (n, 2K)
    return x, y, k


def answer_mask(k, K: int):
    """(n, K+1) True on the k+1 answer positions of each item."""
    import torch

    return torch.arange(K + 1, device=k.device) <= k[:, None]


# -- models --------------------------------------------------------------------------------
def build_mlp(width: int, depth: int, K: int, gen):
    """An MLP from one-hot symbols (2K slots x 11) to (K+1) x 10 logits, seeded init."""
    import torch

    dims = [2 * K * 11] + [width] * depth + [(K + 1) * 10]
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        lin = torch.nn.utils.skip_init(torch.nn.Linear, a, b)  # no draw from the global RNG
        bound = 1 / math.sqrt(a)  # PyTorch's default U(±1/sqrt(fan_in)), drawn from `gen`
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=gen)
            lin.bias.uniform_(-bound, bound, generator=gen)
        layers += [lin] if i == len(dims) - 2 else [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers)


def log_probs(net, x, K: int):
    """(n, 2K) symbol ids -> (n, K+1, 10) per-position log-probabilities of each digit."""
    import torch

    onehot = torch.nn.functional.one_hot(x, 11).reshape(x.shape[0], 2 * K * 11).float()  # (n, 2K*11)
    return net(onehot).view(x.shape[0], K + 1, 10).log_softmax(-1)


def train(net, cfg: ScalingFamilyConfig, device) -> float:
    """Adam + cosine decay on the seeded data stream (same for every model); final loss."""
    import torch

    K = max(cfg.digits)
    gen = torch.Generator().manual_seed(cfg.seed)  # the data stream: identical across models
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.steps)))
    tail, losses = max(1, cfg.steps // 10), []
    for step in range(cfg.steps):
        x, y, k = (t.to(device) for t in make_items(cfg.batch, cfg.digits, gen))
        lp = log_probs(net, x, K)  # (B, K+1, 10)
        m = answer_mask(k, K)  # (B, K+1)
        nll = -lp.gather(-1, y[..., None])[..., 0]  # (B, K+1)
        loss = (nll * m).sum() / m.sum()  # mean over answer tokens
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step >= cfg.steps - tail:
            losses.append(loss.detach())
    return float(torch.stack(losses).mean())


# -- evaluation ----------------------------------------------------------------------------
def distractors(y, k, m: int, gen):
    """(n, m, K+1) wrong answers: distractor j changes answer position j mod (k+1) by a shift
    1..9 that differs between distractors sharing a position, so all m are distinct."""
    import torch

    n, K1 = y.shape
    L = (k + 1)[:, None]  # (n, 1) answer lengths
    j = torch.arange(m)[None, :]  # (1, m)
    r = torch.randint(0, 9, (n, 1), generator=gen)  # a random first shift per item
    pos, shift = j % L, 1 + (r + j // L) % 9  # (n, m) each
    out = y[:, None, :].repeat(1, m, 1)  # (n, m, K+1)
    hit = torch.arange(K1)[None, None, :] == pos[..., None]  # (n, m, K+1)
    return torch.where(hit, (out + shift[..., None]) % 10, out)


def pass_until(p_target, r: int, cap: int, chunk: int, gen):
    """PassUntil by sampling: for each item draw temperature-1 answers until r pass or `cap`
    answers were drawn. p_target (n, T): the model's probability of the target token at each
    answer position (1 where masked). The decoder is factorised, so an answer passes iff every
    position's draw hits its target: u < p per position has exactly that law, without the
    other nine digits. Returns (n_samples (n,), n_pass (n,)) int64."""
    import torch

    n = p_target.shape[0]
    n_samples = torch.zeros(n, dtype=torch.long)
    n_pass = torch.zeros(n, dtype=torch.long)
    active = torch.arange(n)  # items still sampling; they have all drawn `drawn` answers
    drawn = 0
    while active.numel() and drawn < cap:
        c = min(chunk, cap - drawn)
        u = torch.rand(active.numel(), c, p_target.shape[1], generator=gen)  # (a, c, T)
        ok = (u < p_target[active, None, :]).all(-1)  # (a, c) this answer passed
        need = r - n_pass[active]  # (a,)
        cum = ok.long().cumsum(1)  # (a, c)
        done = cum[:, -1] >= need
        stop = (cum >= need[:, None]).long().argmax(1) + 1  # samples used by a finished item
        n_samples[active] += torch.where(done, stop, torch.full_like(stop, c))
        n_pass[active] += torch.where(done, need, cum[:, -1])
        active, drawn = active[~done], drawn + c
    return n_samples, n_pass


def evaluate(net, x, y, k, choices, cfg: ScalingFamilyConfig, gen) -> dict[str, Any]:
    """Per-item metrics of one model (numpy arrays, one entry per item)."""
    import torch

    from emergelab.measures.language import paired_edit_distances  # scipy: import lazily

    K = max(cfg.digits)
    m = answer_mask(k, K)  # (n, K+1)
    with torch.no_grad():
        lp = log_probs(net, x, K).cpu()  # (n, K+1, 10)
    m, y, k = m.cpu(), y.cpu(), k.cpu()
    L = m.sum(1)  # (n,) answer lengths k+1
    lp_t = lp.gather(-1, y[..., None])[..., 0]  # (n, K+1) log p(target digit)
    greedy = lp.argmax(-1)  # (n, K+1)
    # multiple choice: choice 0 is the target; each choice scored by its log-likelihood
    opts = torch.cat([y[:, None], choices], 1)  # (n, C, K+1)
    lp_opts = lp[:, None].expand(-1, opts.shape[1], -1, -1).gather(-1, opts[..., None])[..., 0]  # (n, C, K+1)
    ll = (lp_opts * m[:, None]).sum(-1)  # (n, C)
    prob = ll.softmax(1)  # (n, C)
    brier = (prob - torch.nn.functional.one_hot(torch.zeros_like(k), opts.shape[1])).square().sum(1)
    p_t = torch.where(m, lp_t.exp(), torch.ones_like(lp_t))  # (n, K+1)
    n_samples, n_pass = pass_until(p_t, cfg.passes, cfg.sample_cap, cfg.sample_chunk, gen)
    return {"target_prob": ((lp_t.exp() * m).sum(1) / L).numpy(), "logprob": (lp_t * m).sum(1).numpy(),
            "correct": ((greedy == y) | ~m).all(1).long().numpy(),
            "edit_distance": paired_edit_distances(greedy.numpy(), y.numpy(), L.numpy(), L.numpy()),
            "mc_correct": (ll[:, 0] > ll[:, 1:].max(1).values).long().numpy(),  # ties count as wrong
            "brier": brier.numpy(), "n_samples": n_samples.numpy(), "n_pass": n_pass.numpy()}


# -- run -----------------------------------------------------------------------------------
def _seed(*keys: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def run(cfg: ScalingFamilyConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(cfg.threads):
        _run(cfg, rec)


def _run(cfg: ScalingFamilyConfig, rec) -> None:
    import numpy as np
    import pandas as pd
    import torch

    device = torch.device(cfg.device)
    K = max(cfg.digits)
    # evaluation items: `items` per difficulty, from their own stream (not the training one)
    eval_gen = torch.Generator().manual_seed(_seed(cfg.seed, 1))
    parts = [make_items(cfg.items, (kk,), eval_gen, K) for kk in sorted(cfg.digits)]
    x, y, ks = (torch.cat(t) for t in zip(*parts))  # (n, 2K), (n, K+1), (n,) sorted by difficulty
    choices = distractors(y, ks, cfg.choices - 1, eval_gen)  # (n, C-1, K+1)
    n_items = ks.numel()

    # a model's init and sampling streams are keyed by its width, not its rank, so a sub-ladder
    # (e.g. widths=8,32,128) reproduces the same models as the full one
    rec.set_total(len(cfg.widths))
    frames, rows = [], []
    for i, w in enumerate(cfg.widths):
        net = build_mlp(w, cfg.depth, K, torch.Generator().manual_seed(_seed(cfg.seed, 2, w))).to(device)
        params = sum(p.numel() for p in net.parameters())
        compute = 6.0 * params * cfg.steps * cfg.batch
        loss = train(net, cfg, device)
        ev = evaluate(net, x.to(device), y.to(device), ks.to(device), choices, cfg,
                      torch.Generator().manual_seed(_seed(cfg.seed, 3, w)))
        frames.append(pd.DataFrame({"model": f"w{w}", "params": params, "compute": compute,
                                    "item": np.arange(n_items), "difficulty": ks.numpy(), **ev}))
        f = frames[-1]
        vals = {"family/params": params, "family/log10_params": math.log10(params), "family/compute": compute,
                "family/train_loss": loss, "family/accuracy": f.correct.mean(),
                "family/target_prob": f.target_prob.mean(), "family/logprob": f.logprob.mean(),
                "family/edit_distance": f.edit_distance.mean(), "family/mc_accuracy": f.mc_correct.mean(),
                "family/brier": f.brier.mean(), "family/pass_rate": (f.n_pass / f.n_samples).mean()}
        rec.log(i, **{k: float(v) for k, v in vals.items()})
        rows.append(vals)
    family = pd.concat(frames, ignore_index=True)
    rec.artefact("family", family)
    rec.summarize(n_models=len(cfg.widths), n_items=n_items, params_min=rows[0]["family/params"],
                  params_max=rows[-1]["family/params"], accuracy_smallest=rows[0]["family/accuracy"],
                  accuracy_largest=rows[-1]["family/accuracy"],
                  pass_rate_smallest=rows[0]["family/pass_rate"],
                  target_prob_smallest=rows[0]["family/target_prob"],
                  target_prob_largest=rows[-1]["family/target_prob"], device=str(device))


register(World(
    name="scaling_family",
    paper="R. Schaeffer, B. Miranda, S. Koyejo (2023), Are Emergent Abilities of Large Language Models a "
          "Mirage?; "
          "S. Hu et al. (2024), Unlock Predictable Scaling from Emergent Abilities (PassUntil); "
          "Unveiling Downstream Performance Scaling of LLMs: A Clustering-Based Perspective (COD)",
    effect="exact match jumps across model sizes while per-token probability and log-likelihood improve "
           "smoothly (a metric mirage); sampling resolves pass rates that greedy decoding reads as 0",
    config=ScalingFamilyConfig,
    run=run,
    presets={
        "paper": {},  # 13 sizes, 1,000 items, K = 1e5: ~3 min on one thread
        "quick": {"steps": 1500, "items": 100, "sample_cap": 20_000},  # ~1.5-2 min: jump at w64-w128
        "tiny": {"widths": (4, 8, 16), "digits": (1, 2), "steps": 20, "batch": 32, "items": 8,
                 "sample_cap": 200, "sample_chunk": 64},
    },
    watch=(),  # steps are model ranks, not training time: `emergelab mirage` reads the family instead
    look_for="family/accuracy (greedy exact match) ~0 for the small models then a jump, while "
             "family/target_prob and family/logprob rise smoothly with family/log10_params; "
             "family/pass_rate is > 0 (per item ~1e-3..1e-5) "
             "where accuracy reads 0. The artefact `family` holds the per model x item table for "
             "`emergelab mirage` and `emergelab forecast`.",
))
