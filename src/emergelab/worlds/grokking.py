"""Grokking: delayed generalisation on group arithmetic.

Effect: a network fits its training pairs (a, b) -> a∘b within a few hundred epochs while
validation accuracy stays near chance; only much later, under weight decay, do features
that generalise emerge and validation accuracy jumps to ~1.

Papers:
- Li_2: Yuandong Tian (2025), "Provable Scaling Laws of Feature Emergence from Learning
  Dynamics of Grokking". The flagship setting (model="li2"): frozen one-hot inputs [a; b]
  (2N dims), hidden W: 2N->K without bias, activation (x^2 by default), output V: K->N
  without bias, full-batch Adam with weight decay; li2/* below are its stage diagnostics
  (lazy -> independent -> interactive). Default loss: cross-entropy, which reproduces the
  reference signature (measured, Z127: train acc >= 0.99 at epoch 150, val 0.28 at 300,
  >= 0.95 at 540; weight_decay=0: val 0.02 at 1500). Li_2's analysis uses MSE against
  one-hot - 1/N (loss="mse"): here it generalises fast even without weight decay.
- Nanda, Chan, Lieberum, Smith, Steinhardt (2023), "Progress measures for grokking via
  mechanistic interpretability". model="transformer" (preset `paper-transformer`):
  tokens (a, b, "="), a 1-layer ReLU transformer without LayerNorm, loss on the last
  position, AdamW wd 1.0. Grokks around 10k steps: GPU territory.

Logged every `log_every` epochs (epoch e = the model after e full-batch updates):
    train/loss, train/acc, val/loss, val/acc, weight/norm (sqrt of the sum of squared params)
Every `diag_every` epochs, li2 model, with F = (n, K) post-activation hidden rows of the
n training inputs and F~ = F minus its column (per-neuron) mean:
    li2/diag_offdiag_ratio  mean |diag| / mean |off-diag| of F~ᵀF~ (K, K): how independent
                            the neurons' features are (large = nearly uncorrelated)
    li2/gram_fit_dist       ||FFᵀ - (a I + b 11ᵀ)||_F / ||FFᵀ||_F at the least-squares a, b:
                            distance of the inputs' Gram matrix from "all inputs alike"
    li2/grad_norm           ||G_F||_F / sqrt(n), G_F = (Y - F V) Vᵀ (n, K), Y = one-hot - 1/N:
                            Li_2's back-propagated signal (its MSE form, whatever `loss` is)
Every `diag_every` epochs, cyclic groups only ("Z<M>"), both models (Nanda et al.):
    fourier/key_frac        share of the input embedding's Fourier power (k >= 1) in the
                            `key_freqs` strongest frequencies (the key frequencies)
    fourier/restricted_loss loss on all pairs of logits keeping only their mean over (a, b)
                            and the cos/sin w_k(a+b) components of the key frequencies
    fourier/excluded_loss   loss on the training pairs of logits with exactly those
                            key-frequency components removed (memorisation left over)
The embedding is W's rows for a and b side by side (li2) or the token embedding
(transformer). li2 spreads its features over many frequencies (key_frac stays low); the
measures are sharpest for the transformer.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, lazy, register
from emergelab.worlds._groups import SPEC_HELP, parse_group


@dataclass(frozen=True)
class GrokkingConfig:
    seed: int = param(0, "seeds the train/val split and the initial weights")
    group: str = param("Z127", f"the group whose table is learned: {SPEC_HELP}")
    model: Literal["li2", "transformer"] = param("li2", "li2: one-hot -> W -> act -> V (Li_2); transformer: Nanda et al.")
    hidden: int = param(512, "li2: hidden width K")
    activation: Literal["square", "relu", "silu"] = param("square", "li2: hidden activation (x^2 in Li_2)")
    loss: Literal["ce", "mse"] = param("ce", "ce: cross-entropy; mse: squared error to one-hot - 1/N (sum over classes)")
    optimizer: Literal["adam", "adamw"] = param("adam", "adam: L2 weight decay in the gradient (Li_2); adamw: decoupled")
    lr: float = param(1e-3, "learning rate")
    weight_decay: float = param(1e-4, "weight decay; 0 removes grokking")
    betas: tuple[float, ...] = param((0.9, 0.999), "Adam betas (b1, b2)")
    warmup_steps: int = param(0, "linear learning-rate warm-up over this many updates (0: none)")
    train_fraction: float = param(0.3, "fraction of all N^2 pairs used for training, in (0, 1)")
    epochs: int = param(3000, "full-batch updates")
    init_scale: float = param(1.0, "li2: multiplies PyTorch's default U(±1/sqrt(fan_in)) init")
    log_every: int = param(10, "epochs between logs of losses, accuracies and weight norm")
    diag_every: int = param(100, "epochs between li2/* and fourier/* diagnostics (0: never)")
    key_freqs: int = param(5, "number of key Fourier frequencies (cyclic groups)")
    d_model: int = param(128, "transformer: residual width")
    n_heads: int = param(4, "transformer: attention heads")
    d_mlp: int = param(512, "transformer: MLP width")
    n_layers: int = param(1, "transformer: blocks")
    device: str = param("auto", "auto (CUDA when available), cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        n = _group(self.group).order  # raises ValueError naming the accepted specs
        if not 0.0 < self.train_fraction < 1.0:
            raise ValueError(f"train_fraction must be in (0, 1), got {self.train_fraction}")
        if not 1 <= round(self.train_fraction * n * n) < n * n:
            raise ValueError(f"train_fraction={self.train_fraction} leaves an empty split for {n * n} pairs")
        for k in ("hidden", "epochs", "log_every", "d_model", "n_heads", "d_mlp", "n_layers", "key_freqs"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        for k in ("diag_every", "warmup_steps"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.init_scale > 0):
            raise ValueError("lr and init_scale must be > 0 and weight_decay >= 0")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.model == "transformer" and self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        check_device(self.device, auto=True)


@functools.lru_cache(maxsize=16)
def _group(spec: str):
    return parse_group(spec)


# -- model ---------------------------------------------------------------------------------
def _build(cfg: GrokkingConfig, N: int, gen, device):
    """(params, inputs, forward, embedding): inputs(a, b) -> the model's input for pairs (a, b),
    built once per data split; forward(inputs) -> (logits (n, N), hidden F (n, K) | None)."""
    import torch

    if cfg.model == "li2":
        K = cfg.hidden

        def uniform(rows: int, cols: int, fan_in: int):  # PyTorch Linear's init, seeded
            bound = cfg.init_scale / math.sqrt(fan_in)
            return ((torch.rand(rows, cols, generator=gen) * 2 - 1) * bound).to(device).requires_grad_()

        W = uniform(2 * N, K, 2 * N)  # (2N, K): x @ W with x = [onehot(a); onehot(b)]
        V = uniform(K, N, K)  # (K, N)
        act = {"square": torch.square, "relu": torch.relu, "silu": torch.nn.functional.silu}[cfg.activation]

        def inputs(a, b):  # (n, 2): the rows of W that [onehot(a); onehot(b)] @ W adds up
            return torch.stack([a, N + b], dim=1)

        def forward(idx):
            # embedding_bag sums the two rows without the (n, 2N) one-hot matrix, and its
            # backward is ~1.5x faster than W[a] + W[N + b]
            h = torch.nn.functional.embedding_bag(idx, W, mode="sum")  # (n, K)
            F = act(h)  # (n, K)
            return F @ V, F  # (n, N), (n, K)

        return [W, V], inputs, forward, lambda: torch.cat([W[:N], W[N:]], dim=1)  # (N, 2K)

    from emergelab.nn.transformer import Transformer, TransformerConfig

    tcfg = TransformerConfig(vocab=N + 1, n_ctx=3, d_vocab_out=N, d_model=cfg.d_model,
                             n_heads=cfg.n_heads, d_mlp=cfg.d_mlp, n_layers=cfg.n_layers)
    net = Transformer(tcfg, generator=gen).to(device)
    eq = torch.full((1,), N, dtype=torch.long, device=device)  # the "=" token

    def inputs(a, b):  # (n, 3) tokens a, b, "="
        return torch.stack([a, b, eq.expand_as(a)], dim=1)

    def forward(tokens):
        return net(tokens)[:, -1], None  # logits at "=" only: (n, N)

    return list(net.parameters()), inputs, forward, lambda: net.W_E[:N]  # (N, d_model)


def _loss_fn(kind: str, N: int):
    import torch
    import torch.nn.functional as Fn

    if kind == "ce":
        return lambda logits, y: Fn.cross_entropy(logits, y)

    def mse(logits, y):  # Li_2's target: one-hot minus 1/N, summed over classes
        target = Fn.one_hot(y, N).to(logits.dtype) - 1.0 / N
        return torch.square(logits - target).sum(1).mean()

    return mse


# -- diagnostics ---------------------------------------------------------------------------
def _li2_diagnostics(F, V, y, N: int) -> dict[str, Any]:
    """Li_2's stage diagnostics from hidden rows F (n, K) and output map V (K, N)."""
    import torch

    F, V = F.detach().float(), V.detach().float()
    n, K = F.shape
    mu = F.mean(0)  # (K,)
    Fc = F - mu  # centring first keeps the float32 product accurate
    C = (Fc.T @ Fc).double()  # (K, K) covariance of neurons (unnormalised); scalars in float64
    d = C.diagonal().abs()
    off = (C.abs().sum() - d.sum()) / max(K * (K - 1), 1)
    # Least-squares fit of G = FFᵀ (n, n) by a I + b 11ᵀ needs only tr G, 1ᵀG1 and ||G||²,
    # all computable from K x K quantities: no n x n matrix is ever formed. The residual is a
    # difference of large numbers: float32 C resolves gram_fit_dist down to ~1e-3.
    mu = mu.double()
    FtF = C + n * torch.outer(mu, mu)  # (K, K) = FᵀF
    g2, tr, s = (FtF * FtF).sum(), FtF.trace(), (n * mu).square().sum()
    a = (n * tr - s) / (n * (n - 1))
    b = (s - tr) / (n * (n - 1))
    resid2 = (g2 - a * tr - b * s).clamp_min(0)
    Y = torch.nn.functional.one_hot(y, N).float() - 1.0 / N  # (n, N)
    G = (Y - F @ V) @ V.T  # (n, K)
    return {
        "li2/diag_offdiag_ratio": d.mean() / off.clamp_min(1e-30),
        "li2/gram_fit_dist": (resid2 / g2.clamp_min(1e-30)).sqrt(),
        "li2/grad_norm": G.norm().double() / math.sqrt(n),
    }


def _fourier_measures(logits_all, embed, table, tr, loss_fn, n_key: int):
    """Nanda et al.'s progress measures for Z_N -> (scalars, key frequencies tensor).
    logits_all (N*N, N) in (a, b) row-major order; table (N*N,) labels; tr train indices."""
    import torch

    N = embed.shape[0]
    power = torch.fft.rfft(embed.detach().float(), dim=0).abs().square().sum(1)[1:]  # (N//2,) k = 1..
    key = torch.topk(power, min(n_key, power.numel())).indices + 1  # (n_key,)
    # Directions cos(w_k (a+b)), sin(w_k (a+b)) over all N^2 inputs: orthogonal for distinct
    # k because a+b hits every residue N times; project each output's logits onto them.
    pair = torch.arange(N * N, device=embed.device)
    ks = (pair // N + pair % N)[:, None] * key[None, :] % N  # (N*N, n_key) exact integer k*(a+b) mod N
    phase = (2 * math.pi / N) * ks.double()
    B = torch.cat([phase.cos(), phase.sin()], dim=1).float()  # (N*N, 2 n_key)
    norm = B.norm(dim=0)  # N/sqrt(2), or N and 0 for cos and sin of k = N/2 (even N)
    B = torch.where(norm > 1e-3 * N, B / norm.clamp_min(1e-30), torch.zeros_like(B))
    L = logits_all.detach().float()  # (N*N, N)
    key_part = B @ (B.T @ L)  # (N*N, N): the logits' key-frequency components
    restricted = key_part + L.mean(dim=0, keepdim=True)  # keep the constant (0, 0) term too
    excluded = (L - key_part)[tr]
    return {
        "fourier/key_frac": power[key - 1].sum() / power.sum().clamp_min(1e-30),
        "fourier/restricted_loss": loss_fn(restricted, table),
        "fourier/excluded_loss": loss_fn(excluded, table[tr]),
    }, key


# -- run -----------------------------------------------------------------------------------
def run(cfg: GrokkingConfig, rec) -> None:
    import torch

    from emergelab.nn import resolve_device

    device = resolve_device(cfg.device)
    group = _group(cfg.group)
    N, E = group.order, cfg.epochs
    gen = torch.Generator().manual_seed(cfg.seed)  # every random draw comes from here, on CPU

    # Data: all N^2 pairs (a, b) -> a∘b; a seeded random split.
    table = torch.tensor(group.table, device=device).reshape(-1)  # (N*N,) a copy: the cached table is read-only
    pair = torch.arange(N * N, device=device)
    a_all, b_all = pair // N, pair % N
    perm = torch.randperm(N * N, generator=gen).to(device)
    n_tr = round(cfg.train_fraction * N * N)
    tr, va = perm[:n_tr], perm[n_tr:]
    y_tr, y_va = table[tr], table[va]

    params, inputs, forward, embedding = _build(cfg, N, gen, device)
    x_tr, x_va, x_all = inputs(a_all[tr], b_all[tr]), inputs(a_all[va], b_all[va]), inputs(a_all, b_all)
    loss_fn = _loss_fn(cfg.loss, N)
    Opt = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    opt = Opt(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=tuple(cfg.betas))
    warm = cfg.warmup_steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm)) if warm else None

    rec.set_total(E)
    key = None  # key Fourier frequencies at the last diagnostic (cyclic groups)
    for epoch in range(E + 1):
        logits, F = forward(x_tr)  # (n_tr, N), (n_tr, K) | None
        loss = loss_fn(logits, y_tr)
        last = epoch == E
        diag = cfg.diag_every > 0 and (epoch % cfg.diag_every == 0 or last)
        if epoch % cfg.log_every == 0 or last or diag:  # a diagnostic step is a log step too
            with torch.inference_mode():
                lv = forward(x_va)[0]
                # max(1).indices: argmax's result (first maximum), at half its CPU cost
                vals = {
                    "train/loss": loss.detach(),
                    "train/acc": (logits.detach().max(1).indices == y_tr).float().mean(),
                    "val/loss": loss_fn(lv, y_va),
                    "val/acc": (lv.max(1).indices == y_va).float().mean(),
                    "weight/norm": torch.sqrt(sum(p.detach().square().sum() for p in params)),
                }
                if diag:
                    if F is not None:
                        vals.update(_li2_diagnostics(F, params[1], y_tr, N))
                    if group.is_cyclic:
                        logits_all = forward(x_all)[0]  # (N*N, N)
                        fm, key = _fourier_measures(logits_all, embedding(), table, tr, loss_fn, cfg.key_freqs)
                        vals.update(fm)
                # one host sync per log step: stack on device, copy once
                numbers = torch.stack([v.float() for v in vals.values()]).tolist()
            rec.log(epoch, **dict(zip(vals, numbers)))
        if last:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()

    # grokking_delay and the fit steps come from summarize(), which the lab calls after
    # every run (and which re-analyses stored runs too); wall time is the lab's wall_s.
    final = {f"final_{k.replace('/', '_')}": rec.series(k)[1][-1] for k in ("train/acc", "val/acc", "train/loss", "val/loss")}
    rec.summarize(
        **final, epochs=E, device=str(device),
        **({"key_frequencies": sorted(key.tolist())} if key is not None else {}),
    )


def summarize(curves) -> dict[str, Any]:
    """Grokking delay from a wide frame (index = step): epochs from train acc >= 0.99 to val
    acc >= 0.95 (sustained first crossings), or None where a curve never gets there."""
    from emergelab.measures.transitions import first_crossing, grokking_delay

    out: dict[str, Any] = {"grokking_delay": None, "train_fit_step": None, "val_fit_step": None}
    if "train/acc" not in curves or "val/acc" not in curves:
        return out
    c = curves[["train/acc", "val/acc"]].dropna()
    steps, tr, va = c.index.to_numpy(), c["train/acc"].to_numpy(), c["val/acc"].to_numpy()
    if len(steps) == 0:
        return out
    out["train_fit_step"] = first_crossing(steps, tr, 0.99)
    out["val_fit_step"] = first_crossing(steps, va, 0.95)
    try:  # needs a minimum number of points; tiny runs simply get None
        out["grokking_delay"] = grokking_delay(steps, tr, va, threshold=0.95, train_threshold=0.99)
    except ValueError:
        pass
    return out


register(World(
    name="grokking",
    paper="Y. Tian (2025), Provable Scaling Laws of Feature Emergence from Learning Dynamics of "
          "Grokking (Li_2); N. Nanda et al. (2023), Progress measures for grokking via mechanistic interpretability",
    effect="delayed generalisation: validation accuracy jumps long after training accuracy saturates",
    config=GrokkingConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"group": "Z59", "hidden": 256, "lr": 3e-3, "weight_decay": 3e-4, "train_fraction": 0.4, "epochs": 800, "diag_every": 40,
                  "log_every": 2},  # dense enough for early-warning statistics before the jump
        "paper-transformer": {
            "model": "transformer", "group": "Z113", "optimizer": "adamw", "lr": 1e-3, "weight_decay": 1.0,
            "betas": (0.9, 0.98), "warmup_steps": 10, "train_fraction": 0.3, "epochs": 40000,
            "log_every": 100, "diag_every": 1000,
        },
        "tiny": {"group": "Z11", "hidden": 32, "epochs": 20, "log_every": 5, "diag_every": 10},
        # Li_2's critical data size (n_c ∝ M log M): the paper model, swept over group x
        # train_fraction (docs/worlds/grokking.md); only the final accuracies matter, so the
        # diagnostics are off and logs sparse (they cost ~10 % of a run otherwise)
        "scaling": {"epochs": 3000, "log_every": 50, "diag_every": 0},
    },
    watch=("val/acc", "train/acc", "val/loss"),
    ews=(("val/loss", "val/acc"),),  # did val/loss slow down (rising var/AC1) before grokking?
    summarize=summarize,
    # critical train fraction per group order, M log M fit
    sweep_section=lazy("emergelab.worlds._grokking_scaling", "sweep_section"),
    look_for="train/acc reaches 1 early while val/acc sits near chance; much later val/acc jumps to ~1 "
             "(grokking_delay in the summary). li2/* diagnostics trace Li_2's lazy -> independent -> "
             "interactive stages; fourier/restricted_loss falls before val/acc jumps; weight_decay=0 never groks.",
))
