"""Massive activations: a few residual-stream entries grow orders of magnitude above the rest.

Effect: while a small GPT-style language model trains, the ratio r_l = max|h_l| / median|h_l|
of each layer's output residual stream climbs from its Gaussian value at initialisation
(~7 for the entries of one batch) as a handful of feature dimensions grow, and its trajectory
over steps follows the paper's five-parameter exponentially-modulated logarithm better than
a step (compared by AIC).

Paper: "Hidden Dynamics of Massive Activations in Transformer Training" (2025), Pythia
checkpoints: f(t) = A exp(-lam x) log(x) + K, x = gamma t + t0, fitted per layer (mean R^2
0.93 at 14M to 0.996 at 1.4B). The criterion of a massive activation (|a| > 100 and
|a| / median >= 1000) is Sun et al. (2024), "Massive Activations in Large Language Models".
SCIENCE A5.

Data: the Python standard library's own top-level source files (sorted *.py of the stdlib
folder, concatenated until `corpus_bytes`), byte tokens (vocab 256, plus a BOS token at
position 0 of every window when `bos`); the last `val_fraction` is held out. A pre-LayerNorm
GELU transformer (emergelab.nn.transformer) learns next-byte prediction with AdamW.

Logged every `log_every` steps, on a fixed held-out batch of `eval_batch` windows (the probe
rides on the validation forward through `hooks=`, no cache: measures.activations.resid_hooks):
    train/loss, val/loss
    act/ratio_l{l}    r = max|h| / median|h| of blocks.{l}.resid_post
    act/max_l{l}      max|h|
    act/massive_l{l}  entries with |a| > 100 and |a| / median >= 1000 (Sun et al.)
    act/ratio_max     max over layers
Summary (summarize): per layer the trajectory fit (fit_l{l}_{A,lam,gamma,t0,K,r2}) and
delta_aic_l{l} = AIC(step) - AIC(trajectory); for the layer with the largest final ratio:
fit_layer, fit_r2, step_r2, delta_aic, preferred, peak_step; max_ratio (over layers and steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register


@dataclass(frozen=True)
class MassiveActivationsConfig:
    seed: int = param(0, "seeds the initial weights and every training batch")
    corpus_bytes: int = param(2_000_000, "bytes of stdlib source to read (sorted files, concatenated)")
    val_fraction: float = param(0.1, "tail of the corpus held out for val/loss and the probe")
    bos: bool = param(True, "a beginning-of-sequence token (id 256) at position 0 of every window")
    seq_len: int = param(64, "bytes per window")
    d_model: int = param(64, "residual width")
    n_heads: int = param(4, "heads per layer")
    n_layers: int = param(4, "transformer blocks (pre-LayerNorm, GELU MLP of width 4 d_model)")
    batch: int = param(16, "windows per step")
    lr: float = param(1e-2, "AdamW peak learning rate (high: outlier dimensions grow faster)")
    warmup: int = param(50, "linear learning-rate warm-up steps")
    weight_decay: float = param(0.0, "AdamW weight decay (it caps the growth of outlier weights)")
    steps: int = param(4000, "training steps")
    log_every: int = param(40, "steps between losses and the activation probe")
    eval_batch: int = param(16, "held-out windows for val/loss and the probe")
    threads: int = param(1, "torch CPU threads while the world runs (0: leave torch's setting)")
    device: str = param("cpu", "auto, cpu, cuda or cuda:N (a model this small runs fastest on CPU)")

    def __post_init__(self) -> None:
        for k in ("corpus_bytes", "seq_len", "d_model", "n_heads", "n_layers", "batch", "steps", "log_every",
                  "eval_batch"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.warmup >= 0 and self.threads >= 0):
            raise ValueError("lr must be > 0; weight_decay, warmup and threads >= 0")
        if self.corpus_bytes * min(self.val_fraction, 1 - self.val_fraction) < self.seq_len + 2:
            raise ValueError(f"corpus_bytes={self.corpus_bytes} leaves no {self.seq_len + 1}-byte window in "
                             "the train or validation part: raise it")
        check_device(self.device, auto=True)


def stdlib_corpus(n_bytes: int) -> tuple[bytes, int]:
    """The first n_bytes of the standard library's top-level *.py files, sorted by name and
    concatenated (one file list for a given Python installation): (bytes, files read)."""
    import os
    import sysconfig
    from pathlib import Path

    from emergelab.errors import UserError

    root = Path(sysconfig.get_paths().get("stdlib") or Path(os.__file__).parent)
    if not root.is_dir():
        root = Path(os.__file__).parent  # a relocated installation: os.py sits in the stdlib
    buf, n = bytearray(), 0
    for p in sorted(root.glob("*.py")):
        buf += p.read_bytes()
        n += 1
        if len(buf) >= n_bytes:
            break
    if len(buf) < 1000:
        raise UserError(f"found no Python standard library sources under {root}: this world needs a "
                        "Python installation with its .py files")
    return bytes(buf[:n_bytes]), n


def run(cfg: MassiveActivationsConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(cfg.threads):  # a small model: extra threads only add synchronisation
        _run(cfg, rec)


def _run(cfg: MassiveActivationsConfig, rec) -> None:
    import torch
    import torch.nn.functional as F

    from emergelab.measures.activations import resid_hooks
    from emergelab.nn import resolve_device
    from emergelab.nn.transformer import Transformer, TransformerConfig

    device = resolve_device(cfg.device)
    raw, n_files = stdlib_corpus(cfg.corpus_bytes)
    data = torch.tensor(list(raw), dtype=torch.long)  # (N,) bytes 0..255
    cut = int(len(data) * (1 - cfg.val_fraction))
    train, val = data[:cut], data[cut:]
    T, L, V = cfg.seq_len, cfg.n_layers, 256 + cfg.bos
    span = torch.arange(T + 1)  # (T+1,)

    def windows(src, offsets):  # (B,) -> (B, T+1), BOS written over the first byte
        w = src[offsets[:, None] + span]
        if cfg.bos:
            w[:, 0] = 256
        return w.to(device)

    gen = torch.Generator().manual_seed(cfg.seed)  # init, then every training batch
    net = Transformer(TransformerConfig(vocab=V, n_ctx=T, d_model=cfg.d_model, n_heads=cfg.n_heads,
                                        d_mlp=4 * cfg.d_model, n_layers=L, layernorm=True, act="gelu"),
                      generator=gen).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    # fixed held-out windows, evenly spaced through the validation text (no randomness needed)
    ev = windows(val, torch.linspace(0, len(val) - T - 2, cfg.eval_batch).long())  # (Be, T+1)

    def loss_of(logits, w):  # (B, T, V), (B, T+1) -> mean next-byte cross-entropy
        return F.cross_entropy(logits.reshape(-1, V), w[:, 1:].reshape(-1))

    stats: dict = {}
    hooks = resid_hooks(L, stats)  # fill stats[l] = (r, max|h|, count) during the val forward
    loss = None  # the last training batch's loss, logged as train/loss
    rec.set_total(cfg.steps)
    for step in range(cfg.steps + 1):
        if step % cfg.log_every == 0 or step == cfg.steps:
            with torch.no_grad():
                val_loss = float(loss_of(net(ev[:, :-1], hooks=hooks), ev))
            vals: dict[str, Any] = {"val/loss": val_loss}
            if loss is not None:
                vals["train/loss"] = float(loss.detach())
            for l in range(L):
                r, mx, n = stats[l]
                vals[f"act/ratio_l{l}"], vals[f"act/max_l{l}"], vals[f"act/massive_l{l}"] = r, mx, n
            vals["act/ratio_max"] = max(stats[l][0] for l in range(L))
            rec.log(step, **vals)
        if step == cfg.steps:
            break
        x = windows(train, torch.randint(0, len(train) - T - 1, (cfg.batch,), generator=gen))  # (B, T+1)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else cfg.lr
        loss = loss_of(net(x[:, :-1]), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    rec.summarize(**summarize(rec.wide()), steps=cfg.steps, device=str(device), corpus_bytes_used=len(raw),
                  corpus_files=n_files, final_val_loss=vals["val/loss"],
                  **{f"final_ratio_l{l}": vals[f"act/ratio_l{l}"] for l in range(L)},
                  final_massive=int(sum(vals[f"act/massive_l{l}"] for l in range(L))))


def summarize(curves) -> dict[str, Any]:
    """Fit every layer's act/ratio_l{l} trajectory (measures.activations.compare_models); the
    headline numbers are those of the layer with the largest final ratio. Fewer than 7 logged
    points (tiny runs): no fit, the fields are None."""
    from emergelab.errors import UserError
    from emergelab.measures.activations import compare_models

    cols = sorted((c for c in curves.columns if c.startswith("act/ratio_l")), key=lambda c: int(c[len("act/ratio_l"):]))
    out: dict[str, Any] = {"max_ratio": None, "fit_layer": None, "fit_r2": None, "step_r2": None,
                           "delta_aic": None, "preferred": None, "peak_step": None}
    finals = {}
    for c in cols:
        l = int(c[len("act/ratio_l"):])
        s = curves[c].dropna()
        if not len(s):
            continue
        finals[l] = float(s.iloc[-1])
        out["max_ratio"] = max(out["max_ratio"] or 0.0, float(s.max()))
        try:
            cmp = compare_models(s.index.to_numpy(dtype=float), s.to_numpy(dtype=float))
        except UserError:  # too few points or a flat series
            continue
        tr = cmp["trajectory"]
        out.update({f"fit_l{l}_{k}": v for k, v in tr.params.items()})
        out[f"fit_l{l}_r2"], out[f"step_l{l}_r2"] = tr.r2, cmp["step"].r2
        out[f"delta_aic_l{l}"] = cmp["delta_aic"]
        out[f"_cmp{l}"] = cmp
    if finals:
        top = max(finals, key=finals.get)
        cmp = out.get(f"_cmp{top}")
        if cmp is not None:
            out.update(fit_layer=top, fit_r2=cmp["trajectory"].r2, step_r2=cmp["step"].r2, delta_aic=cmp["delta_aic"],
                       preferred=cmp["preferred"], peak_step=cmp["trajectory"].peak_step)
    return {k: v for k, v in out.items() if not k.startswith("_cmp")}


register(World(
    name="massive_activations",
    paper="Hidden Dynamics of Massive Activations in Transformer Training (2025); M. Sun, X. Chen, J. Z. Kolter, "
          "Z. Liu (2024), Massive Activations in Large Language Models",
    effect="max|h| / median|h| of the residual stream grows over training along an exponentially-modulated logarithm",
    config=MassiveActivationsConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"steps": 1200, "log_every": 20},  # ~55 s of CPU (1 thread)
        "tiny": {"corpus_bytes": 20_000, "seq_len": 16, "d_model": 16, "n_heads": 2, "n_layers": 2, "batch": 4,
                 "steps": 6, "log_every": 2, "eval_batch": 4, "warmup": 2},
    },
    watch=("val/loss", "act/ratio_max"),
    summarize=summarize,
    look_for="act/ratio_l{l} (max|h| / median|h| of each layer's residual stream) dips below its value at "
             "initialisation while the loss falls fastest, then climbs for the rest of training as a few "
             "feature dimensions grow; act/max_l{l} passes 100. The summary's fit_r2 is the paper's "
             "A exp(-lam x) log x + K on the layer with the largest final ratio (0.93-0.98 here); delta_aic "
             "= AIC(step) - AIC(curve) is > 0 in every layer while the ratio rises (-s steps=600) and near 0 "
             "or split once layers level off.",
))
