"""In-context learning that emerges from the data distribution (bursty, many-class data).

Effect: a small transformer trained to label a query exemplar, with exemplar-label pairs in
its context, can solve the task in two ways: memorise each class's label in its weights
(in-weights learning, IWL) or copy the label of the matching exemplar from the context
(in-context learning, ICL). Which one it learns depends on the data: bursty contexts (the
query's class appears in the context) and many classes favour ICL, which then appears
abruptly after a plateau; few classes favour memorisation. Recurrent models (LSTM) do not
pick up ICL in the same budget.

Papers:
- S. C. Y. Chan, A. Santoro, A. K. Lampinen, J. X. Wang, A. Singh, P. H. Richemond,
  J. McClelland, F. Hill (2022), "Data Distributional Properties Drive Emergent In-Context
  Learning in Transformers": burstiness, many (Zipf-distributed) classes; ICL vs IWL trade-off;
  transformers vs recurrent models.
- G. Reddy (2023), "The mechanistic basis of data dependence and abrupt learning in an
  in-context classification task": the Gaussian-cluster version used here (CPU scale), a
  2-layer attention network + MLP classifier whose ICL turns on abruptly (induction head).

Data: K classes with means mu_k ~ N(0, I/D) and fixed labels k mod L; an exemplar of class k
is (mu_k + eps*eta)/sqrt(1 + eps^2), eta ~ N(0, I/D). A sequence is N exemplar-label pairs then
a query exemplar; the target is the query's label. Class k is drawn with probability
proportional to (k+1)^-zipf. With probability p_bursty a context is bursty: N/B classes
(iid, as in Reddy's code: a repeat is rare with many classes), B copies each, the query's
class among them; otherwise N classes iid and the query iid (usually absent from the context).
Model input: 2N+1 tokens x1 y1 .. xN yN xq (labels from a learned table; exemplars by a linear
map plus an "exemplar" token); transformer: the lab's `nn/transformer.py` (attention-only
blocks, learned positions) whose unembedding is the first layer of a 3-layer ReLU MLP readout
at the query; lstm: the same embedding and readout around an LSTM of similar size.

Logged every `log_every` steps on fixed held-out batches (own seeded generator):
    train/loss, train/acc        training batch
    icl/acc                      novel classes (fresh means), bursty, labels drawn at random
                                 per sequence: only reading the context helps (chance 1/L, or
                                 1/(N/B) for a model that picks a context label at random)
    iw/acc                       trained classes, no exemplar of the query's class in context
    icl_flip/acc                 trained classes, bursty, context labels shifted away from the
                                 trained ones; agreement with the context's label
    probe/induction_l{l}         (transformer) induction_strength of layer l on the icl batch:
                                 query -> label after a same-class exemplar minus other label
Summary: icl_step (sustained first crossing of icl/acc >= 0.5), iw_step (same for iw/acc),
finals, n_params.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register


@dataclass(frozen=True)
class IclBurstyConfig:
    seed: int = param(0, "seeds the class means, the initial weights and every training batch")
    model: Literal["transformer", "lstm"] = param("transformer", "transformer (attention) or lstm (recurrent)")
    classes: int = param(4096, "K: training classes (Gaussian clusters); class k has label k mod L")
    labels: int = param(32, "L: labels")
    dim: int = param(63, "D: exemplar dimension")
    pairs: int = param(8, "N: exemplar-label pairs in the context, before the query")
    burstiness: int = param(2, "B: copies of each class in a bursty context (must divide N)")
    p_bursty: float = param(1.0, "p_B: fraction of bursty training sequences (others: iid classes)")
    zipf: float = param(0.0, "Zipf exponent alpha: class k drawn with probability ~ (k+1)^-alpha")
    eps: float = param(0.1, "within-class noise epsilon")
    d_model: int = param(64, "transformer residual width / LSTM input width")
    n_heads: int = param(1, "transformer: heads per layer")
    n_layers: int = param(2, "transformer: attention-only blocks")
    lstm_hidden: int = param(64, "lstm: hidden units (64: about the transformer's parameter count)")
    d_readout: int = param(128, "hidden width of the MLP readout")
    batch: int = param(128, "sequences per step")
    lr: float = param(1e-3, "Adam learning rate")
    steps: int = param(16000, "training steps")
    log_every: int = param(100, "steps between evaluations")
    eval_batch: int = param(512, "sequences in each held-out evaluation batch")
    device: str = param("cpu", "cpu, cuda or cuda:N (small model: CPU is usually faster)")

    def __post_init__(self) -> None:
        for k in ("classes", "labels", "dim", "pairs", "burstiness", "d_model", "n_heads", "n_layers",
                  "lstm_hidden", "d_readout", "batch", "steps", "log_every", "eval_batch"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.pairs % self.burstiness:
            raise ValueError(f"burstiness B={self.burstiness} must divide pairs N={self.pairs} "
                             "(a bursty context holds N/B classes, B copies each)")
        if self.classes < 2 or self.labels < 2:
            raise ValueError(f"need at least 2 classes and 2 labels, got {self.classes} and {self.labels}")
        per = self.pairs // self.burstiness
        if per > self.labels:
            raise ValueError(f"the novel-class evaluation gives its N/B={per} classes distinct labels: "
                             f"labels={self.labels} is too few (raise labels or burstiness)")
        if not (0.0 <= self.p_bursty <= 1.0):
            raise ValueError(f"p_bursty must be in [0, 1], got {self.p_bursty}")
        if not (self.zipf >= 0 and self.eps >= 0 and self.lr > 0):
            raise ValueError("zipf and eps must be >= 0 and lr > 0")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        check_device(self.device)


# -- data ----------------------------------------------------------------------------------
class Batch(NamedTuple):
    x: Any  # (n, N+1, D) exemplars: context then query
    labels: Any  # (n, N) context labels
    y: Any  # (n,) target label of the query
    cls: Any  # (n, N+1) class of each exemplar (train/iw/flip: 0..K-1; icl: -1-j, j-th novel class)
    means: Any  # (n, N+1, D) the class mean behind each exemplar


def class_probs(cfg: IclBurstyConfig):
    """(K,) rank-frequency (Zipf) distribution over the training classes."""
    import torch

    p = torch.arange(1, cfg.classes + 1, dtype=torch.float64) ** -cfg.zipf
    return (p / p.sum()).float()


def _draw(cdf, shape: tuple[int, ...], gen):
    """Classes drawn iid from the distribution with cumulative sums `cdf` (K,), by inversion."""
    import torch

    u = torch.rand(shape, generator=gen, dtype=torch.float64) * cdf[-1]
    return torch.searchsorted(cdf, u).clamp_max(cdf.numel() - 1)


def _bursty(n: int, per: int, B: int, classes, gen):
    """(n, N) contexts of `per` classes x B copies, shuffled; (n,) query among them."""
    import torch

    ctx = classes.repeat(1, B)  # (n, N)
    ctx = ctx.gather(1, torch.rand(ctx.shape, generator=gen).argsort(1))
    q = classes.gather(1, torch.randint(0, per, (n, 1), generator=gen))  # (n, 1)
    return ctx, q[:, 0]


def make_batch(cfg: IclBurstyConfig, kind: str, n: int, means, probs, gen) -> Batch:
    """One batch, every draw from `gen`. kind: train | icl (novel classes) | iw | flip."""
    import torch

    N, L, D, K = cfg.pairs, cfg.labels, cfg.dim, cfg.classes
    per, cdf = N // cfg.burstiness, probs.double().cumsum(0)

    if kind == "train":
        ctx_b, q_b = _bursty(n, per, cfg.burstiness, _draw(cdf, (n, per), gen), gen)
        ctx_i, q_i = _draw(cdf, (n, N), gen), _draw(cdf, (n,), gen)
        bursty = torch.rand(n, generator=gen) < cfg.p_bursty  # (n,)
        q = torch.where(bursty, q_b, q_i)[:, None]  # (n, 1)
        cls = torch.cat([torch.where(bursty[:, None], ctx_b, ctx_i), q], 1)  # (n, N+1)
        mu, labels, y = means[cls], cls[:, :N] % L, cls[:, N] % L
    elif kind == "icl":  # per sequence `per` fresh means and `per` distinct random labels
        ctx, q = _bursty(n, per, cfg.burstiness, torch.arange(per).expand(n, per), gen)
        cls = torch.cat([ctx, q[:, None]], 1)  # (n, N+1) in 0..per-1
        novel = torch.randn(n, per, D, generator=gen) / math.sqrt(D)  # (n, per, D)
        lab = torch.rand(n, L, generator=gen).argsort(1)[:, :per]  # (n, per) distinct labels
        mu = novel.gather(1, cls[..., None].expand(n, N + 1, D))  # (n, N+1, D)
        labels, y = lab.gather(1, ctx), lab.gather(1, q[:, None])[:, 0]
        cls = -1 - cls
    elif kind == "iw":  # query from a trained class, context free of that class
        q = torch.multinomial(probs, n, replacement=True, generator=gen)  # (n,)
        p = probs.expand(n, K).scatter(1, q[:, None], 0.0)  # (n, K) the query's class removed
        ctx = torch.multinomial(p, N, replacement=True, generator=gen)  # (n, N)
        cls = torch.cat([ctx, q[:, None]], 1)
        mu, labels, y = means[cls], ctx % L, q % L
    elif kind == "flip":  # bursty, trained classes, every label shifted by s in 1..L-1
        ctx, q = _bursty(n, per, cfg.burstiness, _draw(cdf, (n, per), gen), gen)
        s = torch.randint(1, L, (n, 1), generator=gen)
        cls = torch.cat([ctx, q[:, None]], 1)
        mu, labels, y = means[cls], (ctx % L + s) % L, (q % L + s[:, 0]) % L
    else:
        raise ValueError(f"unknown batch kind {kind!r}")
    eta = torch.randn(n, N + 1, D, generator=gen) / math.sqrt(D)
    x = (mu + cfg.eps * eta) / math.sqrt(1 + cfg.eps**2)
    return Batch(x, labels, y, cls, mu)


# -- model ---------------------------------------------------------------------------------
def _build(cfg: IclBurstyConfig, gen):
    """(module, forward): forward(x (n, N+1, D), labels (n, N), cache) -> logits (n, L)."""
    import torch

    N, L, d, R = cfg.pairs, cfg.labels, cfg.d_model, cfg.d_readout

    def w(*shape):
        return torch.nn.Parameter(torch.randn(*shape, generator=gen) / math.sqrt(shape[0]))

    zeros = lambda k: torch.nn.Parameter(torch.zeros(k))  # noqa: E731
    io = torch.nn.ParameterDict({"W_x": w(cfg.dim, d),  # exemplar embedding; then the readout's layers 2, 3
                                 "W_2": w(R, R), "b_2": zeros(R), "W_3": w(R, L), "b_3": zeros(L)})
    if cfg.model == "transformer":
        from emergelab.nn.transformer import Transformer, TransformerConfig

        tcfg = TransformerConfig(vocab=L + 1, n_ctx=2 * N + 1, d_vocab_out=R, d_model=d, n_heads=cfg.n_heads,
                                 d_mlp=0, n_layers=cfg.n_layers)
        body = Transformer(tcfg, generator=gen)
    else:
        with torch.random.fork_rng(devices=[]):  # nn.LSTM's own init must not touch the global RNG
            body = torch.nn.LSTM(d, cfg.lstm_hidden, batch_first=True)
        bound = 1 / math.sqrt(cfg.lstm_hidden)
        with torch.no_grad():
            for p in body.parameters():
                p.uniform_(-bound, bound, generator=gen)
        io["W_E"], io["W_U"] = w(L + 1, d), w(cfg.lstm_hidden, R)
    net = torch.nn.ModuleDict({"io": io, "body": body})

    def forward(x, labels, cache=None):
        n = x.shape[0]
        tok = torch.full((n, 2 * N + 1), L, dtype=torch.long, device=x.device)  # L = "exemplar" token
        tok[:, 1::2] = labels  # x1 y1 x2 y2 ... xN yN xq
        e = torch.zeros(n, 2 * N + 1, d, device=x.device)
        e[:, 0::2] = x @ io["W_x"]  # (n, N+1, d) exemplars, projected
        if cfg.model == "transformer":
            h = body(tok, cache=cache, embeds=e)[:, -1]  # (n, R): W_U is the readout's first layer
        else:
            h = body(io["W_E"][tok] + e)[0][:, -1] @ io["W_U"]  # (n, R)
        h = torch.relu(torch.relu(h) @ io["W_2"] + io["b_2"])
        return h @ io["W_3"] + io["b_3"]  # (n, L)

    return net, forward


# -- run -----------------------------------------------------------------------------------
def run(cfg: IclBurstyConfig, rec) -> None:
    import torch
    import torch.nn.functional as F

    from emergelab.measures.probes import induction_strength

    device = torch.device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)  # means, init, then every training batch
    eval_gen = torch.Generator().manual_seed(cfg.seed + 10_000)  # held-out batches, independent
    means = torch.randn(cfg.classes, cfg.dim, generator=gen) / math.sqrt(cfg.dim)  # (K, D)
    probs = class_probs(cfg)
    net, forward = _build(cfg, gen)
    net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    evals = {k: make_batch(cfg, k, cfg.eval_batch, means, probs, eval_gen) for k in ("icl", "iw", "flip")}
    evals = {k: Batch(*(t.to(device) for t in b)) for k, b in evals.items()}
    icl = evals["icl"]
    N = cfg.pairs
    # icl probe positions: the first label after an exemplar of the query's class, and the
    # first label after one of another class (label y_i sits at 2i+1)
    same = icl.cls[:, :N] == icl.cls[:, N:]  # (n, N)
    correct_pos, wrong_pos = 2 * same.float().argmax(1) + 1, 2 * (~same).float().argmax(1) + 1
    n_params = sum(p.numel() for p in net.parameters())

    rec.set_total(cfg.steps)
    for step in range(cfg.steps + 1):
        if step < cfg.steps:
            b = make_batch(cfg, "train", cfg.batch, means, probs, gen)
            logits = forward(b.x.to(device), b.labels.to(device))  # (batch, L)
            y = b.y.to(device)
            loss = F.cross_entropy(logits, y)
        if step % cfg.log_every == 0 or step == cfg.steps:
            vals: dict[str, Any] = {}  # tensors first, then one device -> host copy for all
            with torch.inference_mode():
                if step < cfg.steps:
                    vals["train/loss"] = loss.detach()
                    vals["train/acc"] = (logits.detach().argmax(1) == y).float().mean()
                for k, name in (("icl", "icl/acc"), ("iw", "iw/acc"), ("flip", "icl_flip/acc")):
                    cache = {} if (k == "icl" and cfg.model == "transformer") else None
                    e = evals[k]
                    vals[name] = (forward(e.x, e.labels, cache).argmax(1) == e.y).float().mean()
                    if cache:
                        for layer in range(cfg.n_layers):
                            pat = cache[f"blocks.{layer}.attn.pattern"]  # (n, H, T, T)
                            s = induction_strength(pat, correct_pos, wrong_pos, 2 * N).max()
                            vals[f"probe/induction_l{layer}"] = s
                # float64 on the way: each float32 value arrives exactly as float(t) gives it
                vals = dict(zip(vals, torch.stack([v.double() for v in vals.values()]).tolist()))
            rec.log(step, **vals)
        if step == cfg.steps:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    rec.summarize(**summarize(rec.wide()), steps=cfg.steps, device=str(device), n_params=n_params,
                  chance=1.0 / cfg.labels, final_icl_acc=vals["icl/acc"], final_iw_acc=vals["iw/acc"],
                  final_icl_flip_acc=vals["icl_flip/acc"])


def summarize(curves) -> dict[str, Any]:
    """icl_step / iw_step: sustained first crossings of icl/acc and iw/acc >= 0.5."""
    from emergelab.measures.transitions import first_crossing

    out: dict[str, Any] = {}
    for key, col in (("icl_step", "icl/acc"), ("iw_step", "iw/acc")):
        c = curves[col].dropna() if col in curves else None
        out[key] = first_crossing(c.index.to_numpy(), c.to_numpy(), 0.5) if c is not None and len(c) else None
    return out


register(World(
    name="icl_bursty",
    paper="S. C. Y. Chan et al. (2022), Data Distributional Properties Drive Emergent In-Context Learning in "
          "Transformers; G. Reddy (2023), The mechanistic basis of data dependence and abrupt learning in an "
          "in-context classification task",
    effect="in-context learning switches on abruptly when training data are bursty and classes many; "
           "few classes give in-weights memorisation instead",
    config=IclBurstyConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"steps": 2000, "log_every": 50},  # ICL jumps at ~1,100-1,300 (seeds 0-2); ~60 s on one core
        "memorise": {"classes": 256, "steps": 1000, "log_every": 50},  # K=256: in-weights instead (~0.9)
        "tiny": {"classes": 64, "labels": 8, "dim": 8, "d_model": 16, "lstm_hidden": 16, "d_readout": 16,
                 "batch": 16, "steps": 6, "log_every": 2, "eval_batch": 16},
    },
    watch=("icl/acc", "iw/acc"),
    summarize=summarize,
    look_for="icl/acc (novel classes) sits near 1/(N/B) then jumps to ~1 at icl_step while iw/acc stays at "
             "chance (1/L) and probe/induction_l1 rises with it; icl_flip/acc follows the context's labels. "
             "-p memorise (K=256): iw/acc climbs instead and icl/acc stays low; -s model=lstm: no ICL.",
))
