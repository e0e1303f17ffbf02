"""Massive activations over training (SCIENCE A5; "Hidden Dynamics of Massive Activations in
Transformer Training", 2025; the criterion is Sun et al. 2024, "Massive Activations in Large
Language Models").

Per layer l and step t the paper tracks r_l,t = max|h_l,t| / median|h_l,t| of the layer's
output residual stream; an entry is *massive* when |a| > 100 and |a| / median|h| >= 1000. The
per-tensor functions are measures.probes' `massive_activation_ratio` / `_count` (re-exported
here, torch imported only when they are used). Its trajectory is fitted with five parameters,

    f(t) = A * exp(-lam * x) * log(x) + K,   x = gamma * t + t0,

which rises like a logarithm and, with lam > 0, peaks at x* = exp(W(1/lam)) (x log x = 1/lam)
and decays towards K. Compared by AIC with a logistic step K + A / (1 + exp(-(t - t_mid) / w)).

Fits (numpy in, dataclasses out; scipy imported inside):
    fit_trajectory(t, y) -> TrajectoryFit   bounded trust-region least squares
    fit_step(t, y)       -> StepFit         the step-response alternative
    compare_models(t, y) -> dict            both fits, delta_aic = AIC_step - AIC_traj
    trajectory(t, A, lam, gamma, t0, K)     the model itself
Probes (torch):
    resid_hooks(n_layers, out) -> hooks     for emergelab.nn.transformer: fills out[l] with
        (ratio, max|h|, massive count) of blocks.{l}.resid_post during any forward, no cache
    lab_layer_stats(model, tokens)          one no-grad forward through those hooks -> (L, 3)
    hf_layer_stats(model, input_ids)        any HF causal LM (output_hidden_states=True)
    checkpoint_stats(folders, ...)          local HF checkpoint folders -> CheckpointStats
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from emergelab.errors import UserError

ABS_MIN, RATIO_MIN = 100.0, 1000.0  # Sun et al.'s massive-activation thresholds
_REEXPORT = ("massive_activation_ratio", "massive_activation_count", "massive_activation_ratios")


def __getattr__(name: str):
    # measures.probes imports torch: re-export its per-tensor functions only when asked for
    if name in _REEXPORT:
        from emergelab.measures import probes

        return getattr(probes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- the trajectory model and its fit --------------------------------------------------------


def trajectory(t, A: float, lam: float, gamma: float, t0: float, K: float) -> np.ndarray:
    """f(t) = A exp(-lam x) log(x) + K with x = gamma t + t0 (x must stay > 0)."""
    x = gamma * np.asarray(t, dtype=float) + t0
    return A * np.exp(-lam * x) * np.log(x) + K


def _step(t, K: float, A: float, t_mid: float, w: float) -> np.ndarray:
    z = np.clip((np.asarray(t, dtype=float) - t_mid) / w, -60, 60)  # no overflow warnings
    return K + A / (1.0 + np.exp(-z))


def _aic(rss: float, n: int, k: int) -> float:
    """Gaussian AIC up to a constant: n log(RSS/n) + 2k (floored so a perfect fit stays finite)."""
    return n * math.log(max(rss / n, 1e-300)) + 2 * k


@dataclass(frozen=True)
class TrajectoryFit:
    A: float
    lam: float
    gamma: float
    t0: float
    K: float
    r2: float
    rss: float
    aic: float
    n: int
    success: bool

    @property
    def params(self) -> dict[str, float]:
        return {"A": self.A, "lam": self.lam, "gamma": self.gamma, "t0": self.t0, "K": self.K}

    def predict(self, t) -> np.ndarray:
        return trajectory(t, **self.params)

    @property
    def peak_step(self) -> float | None:
        """t at the model's extremum x* (x* log x* = 1/lam), None when lam == 0 (pure log)."""
        if self.lam <= 0:
            return None
        from scipy.special import lambertw

        x_star = float(np.exp(lambertw(1.0 / self.lam).real))
        return (x_star - self.t0) / self.gamma


@dataclass(frozen=True)
class StepFit:
    K: float
    A: float
    t_mid: float
    width: float
    r2: float
    rss: float
    aic: float
    n: int

    def predict(self, t) -> np.ndarray:
        return _step(t, self.K, self.A, self.t_mid, self.width)


def _series(t, y, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    t, y = np.asarray(t, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if t.shape != y.shape:
        raise UserError(f"t and y must have the same length, got {t.size} and {y.size}")
    if t.size < min_n:
        raise UserError(f"the fit needs at least {min_n} points, got {t.size}: log more often or train longer")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise UserError("t and y must be finite (no NaN or inf): drop those points first")
    if np.ptp(t) == 0 or np.ptp(y) == 0:
        raise UserError("t and y must each vary (a constant series has no trajectory to fit)")
    return t, y


def _r2(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    rss = float(np.sum((y - pred) ** 2))
    return 1.0 - rss / float(np.sum((y - y.mean()) ** 2)), rss


# Bounds in normalised units (t and y scaled to [0, 1]); the paper gives none, these are ours:
# A and K within +-1e3 ranges of y, lam in [0, 1e3] (0 = a pure logarithm), gamma and t0 in
# [1e-6, 1e4] so that x = gamma t + t0 > 0 on the whole series (log x is defined).
_LO = np.array([-1e3, 0.0, 1e-6, 1e-6, -1e3])  # A, lam, gamma, t0, K
_HI = np.array([1e3, 1e3, 1e4, 1e4, 1e3])


def fit_trajectory(t, y, extra_starts: bool = True) -> TrajectoryFit:
    """Fit f(t) = A exp(-lam x) log(x) + K, x = gamma t + t0, by bounded trust-region least
    squares (scipy least_squares, method="trf") on normalised data: t and y are mapped to
    [0, 1] for the fit and the parameters mapped back (x is unchanged, so lam keeps its value;
    gamma and t0 absorb the time scale, A and K the value scale).

    Initial guesses (SCIENCE A5, the paper's): A = range(y), K = min(y) + A/2,
    lam = 1/std(t), gamma = 1/range(t), t0 = 1, all on the normalised data (the paper writes
    std(x) and range(x) for the time axis; we read them as the steps t). That single start
    can stall in a local minimum of this badly conditioned model, so with extra_starts (our
    addition) 15 more starts (t0 in {0.01, 0.1, 1}, lam in {0, 1, 3, 10, 30}, same A, K, gamma)
    are tried as well and the lowest residual wins; extra_starts=False is the paper's fit.
    R^2 and AIC (n log(RSS/n) + 2*5) are on the original scale.
    """
    from scipy.optimize import least_squares

    t, y = _series(t, y, min_n=7)
    t_lo, t_rng, y_lo, y_rng = t.min(), np.ptp(t), y.min(), np.ptp(y)
    tn, yn = (t - t_lo) / t_rng, (y - y_lo) / y_rng  # (n,) each, in [0, 1]

    def resid(p):
        x = p[2] * tn + p[3]
        return p[0] * np.exp(-p[1] * x) * np.log(x) + p[4] - yn

    def jac(p):  # analytic: (n, 5) d resid / d (A, lam, gamma, t0, K); several times fewer calls
        x = p[2] * tn + p[3]
        e, lg = np.exp(-p[1] * x), np.log(x)
        dx = p[0] * e * (1.0 / x - p[1] * lg)  # d f / d x
        return np.stack([e * lg, -p[0] * x * e * lg, dx * tn, dx, np.ones_like(x)], axis=1)

    paper = np.array([1.0, 1.0 / max(tn.std(), 1e-12), 1.0, 1.0, 0.5])  # A, lam, gamma, t0, K
    starts = [paper]
    if extra_starts:
        starts += [np.array([1.0, lam, 1.0, t0, 0.5]) for t0 in (0.01, 0.1, 1.0) for lam in (0.0, 1.0, 3.0, 10.0, 30.0)]
    best = None
    good = 1e-12 * tn.size  # cost (half the RSS, normalised units) of an essentially exact fit
    for p0 in starts:
        try:
            r = least_squares(resid, np.clip(p0, _LO, _HI), jac=jac, bounds=(_LO, _HI), method="trf",
                              x_scale="jac", max_nfev=500)
        except ValueError:  # a start where the residuals are not finite
            continue
        if np.all(np.isfinite(r.fun)) and (best is None or r.cost < best.cost):
            best = r
        if best is not None and best.cost < good:
            break  # nothing left to improve: skip the remaining starts
    if best is None:
        raise UserError("the trajectory fit failed from every start: is the series a trajectory over steps?")
    A, lam, g, t0, K = best.x
    # back to the original scale: x = g tn + t0 = (g / t_rng) t + (t0 - g t_lo / t_rng)
    params = dict(A=A * y_rng, lam=lam, gamma=g / t_rng, t0=t0 - g * t_lo / t_rng, K=y_lo + K * y_rng)
    r2, rss = _r2(y, trajectory(t, **params))
    return TrajectoryFit(**{k: float(v) for k, v in params.items()}, r2=r2, rss=rss, aic=_aic(rss, t.size, 5),
                         n=int(t.size), success=bool(best.success))


def fit_step(t, y) -> StepFit:
    """Logistic step K + A / (1 + exp(-(t - t_mid) / width)), bounded least squares on the same
    normalised data, starts with t_mid at the 20/40/60/80 % points and width 0.02 or 0.1 of
    the range; 4 parameters for the AIC."""
    from scipy.optimize import least_squares

    t, y = _series(t, y, min_n=6)
    t_lo, t_rng, y_lo, y_rng = t.min(), np.ptp(t), y.min(), np.ptp(y)
    tn, yn = (t - t_lo) / t_rng, (y - y_lo) / y_rng
    lo, hi = np.array([-1e3, -1e3, -0.5, 1e-4]), np.array([1e3, 1e3, 1.5, 10.0])  # K, A, t_mid, w
    k0 = float(np.mean(yn[: max(1, tn.size // 10)]))
    a0 = float(np.mean(yn[-max(1, tn.size // 10):])) - k0
    best = None
    for tm in (0.2, 0.4, 0.6, 0.8):
        for w in (0.02, 0.1):
            r = least_squares(lambda p: _step(tn, *p) - yn, np.array([k0, a0, tm, w]), bounds=(lo, hi), method="trf")
            if best is None or r.cost < best.cost:
                best = r
    K, A, tm, w = best.x
    K, A, tm, w = y_lo + K * y_rng, A * y_rng, t_lo + tm * t_rng, w * t_rng
    r2, rss = _r2(y, _step(t, K, A, tm, w))
    return StepFit(K=float(K), A=float(A), t_mid=float(tm), width=float(w), r2=r2, rss=rss,
                   aic=_aic(rss, t.size, 4), n=int(t.size))


def compare_models(t, y) -> dict[str, Any]:
    """Both fits on one series: {"trajectory": TrajectoryFit, "step": StepFit, "delta_aic":
    AIC_step - AIC_trajectory (> 0: the paper's model is preferred; > 2 clearly),
    "preferred": "trajectory" or "step"}."""
    traj, step = fit_trajectory(t, y), fit_step(t, y)
    d = step.aic - traj.aic
    return {"trajectory": traj, "step": step, "delta_aic": d, "preferred": "trajectory" if d > 0 else "step"}


# -- probes ------------------------------------------------------------------------------------


def _stats(h) -> tuple[float, float, int]:
    """One layer's activations (any shape) -> (r, max|h|, massive count). The count needs a
    second median, so it is only computed when max|h| > 100 makes a massive entry possible."""
    from emergelab.measures.probes import massive_activation_count, massive_activation_ratio

    r = massive_activation_ratio(h)
    mx = float(h.detach().abs().max())
    return r, mx, (massive_activation_count(h, ABS_MIN, RATIO_MIN) if mx > ABS_MIN else 0)


def resid_hooks(n_layers: int, out: dict) -> dict:
    """Hooks for emergelab.nn.transformer's `hooks=`: during the forward pass they set
    out[l] = (r, max|h|, count) from blocks.{l}.resid_post and return None (the activation is
    not changed, nothing is cached). Pass them to the training forward at a logging step, or
    to an evaluation forward you run anyway: the probe then costs only the max and median."""
    def hook(l):
        return lambda x: out.__setitem__(l, _stats(x))

    return {f"blocks.{l}.resid_post": hook(l) for l in range(n_layers)}


def lab_layer_stats(model, tokens) -> np.ndarray:
    """(L, 3) [r, max|h|, count] per layer of a hooked transformer, one no-grad forward."""
    import torch

    n = len(getattr(model, "blocks", ()))
    out: dict = {}
    try:
        with torch.no_grad():
            model(tokens, hooks=resid_hooks(n, out))
    except TypeError as e:
        raise UserError(f"the model's forward takes no hooks= ({e}): use an emergelab.nn.transformer "
                        "Transformer, or hf_layer_stats for a Hugging Face model") from None
    if not out:
        raise UserError("the model filled no blocks.{l}.resid_post hook point: "
                        "is it an emergelab.nn.transformer Transformer?")
    return np.array([out[l] for l in sorted(out)], dtype=float)


def hf_layer_stats(model, input_ids) -> np.ndarray:
    """(L, 3) [r, max|h|, count] of each block's output of a Hugging Face causal LM, from
    `output_hidden_states=True` (the embedding output, hidden_states[0], is left out). Note
    that GPT-2 and GPT-NeoX (Pythia) return the last block's output after the final norm."""
    import torch

    with torch.no_grad():
        try:
            res = model(input_ids=input_ids, output_hidden_states=True)
        except TypeError as e:
            raise UserError(f"the model does not accept output_hidden_states ({e}): "
                            "it needs a Hugging Face causal LM") from None
    hs = getattr(res, "hidden_states", None)
    if not hs or len(hs) < 2:
        raise UserError(f"{type(model).__name__} returned no hidden states: "
                        "load a causal LM that supports output_hidden_states=True")
    return np.array([_stats(h) for h in hs[1:]], dtype=float)


@dataclass(frozen=True)
class CheckpointStats:
    steps: np.ndarray  # (C,) one per checkpoint, sorted
    ratio: np.ndarray  # (C, L) r = max|h| / median|h|
    max_abs: np.ndarray  # (C, L)
    count: np.ndarray  # (C, L) massive entries (|a| > 100 and ratio >= 1000)
    folders: tuple[str, ...] = field(default=())


def _step_of(folder: Path, i: int) -> int:
    """The last integer in a folder name (step1000, checkpoint-1000), else its position."""
    m = re.findall(r"\d+", folder.name)
    return int(m[-1]) if m else i


def _load(folder: Path, device: str):
    try:
        from transformers import AutoModelForCausalLM
    except ImportError:
        raise UserError("reading Hugging Face checkpoints needs transformers: pip install 'emergelab[llm]'") from None

    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise UserError(f"{folder} is not a Hugging Face model folder (no config.json): point at a "
                        "folder written by save_pretrained")
    try:
        return AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).to(device).eval()
    except (OSError, ValueError, KeyError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise UserError(f"{folder} could not be loaded as a causal LM ({first}): it needs config.json "
                        "and weights from save_pretrained") from None


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model", "spiece.model")


def _tokenize(folder: Path, text: str):
    """(1, T) ids of `text` from the folder's own tokenizer (never a download)."""
    from transformers import AutoTokenizer

    if not any((folder / f).is_file() for f in _TOKENIZER_FILES):
        raise UserError(f"{folder} has no tokenizer files ({', '.join(_TOKENIZER_FILES[:3])}...): "
                        "pass input_ids instead of text")
    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)(text, return_tensors="pt")["input_ids"]
    except (OSError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise UserError(f"{folder}: its tokenizer could not be loaded ({first}): pass input_ids") from None


def checkpoint_stats(folders: Sequence[str | Path], input_ids=None, text: str | None = None,
                     steps: Sequence[int] | None = None, device: str = "cpu") -> CheckpointStats:
    """r per layer at each local checkpoint folder of one model (e.g. Pythia's step* revisions
    downloaded beforehand; nothing is fetched). Inputs: `input_ids` (B, T) ints, or `text`
    tokenised with the folder's own tokenizer. steps: one per folder, else the last integer
    in each folder's name. Rows come back sorted by step."""
    import torch

    if not folders:
        raise UserError("checkpoint_stats needs at least one checkpoint folder")
    if input_ids is None and not text:
        raise UserError("give input_ids (B, T) or a non-empty text to run the checkpoints on")
    paths = [Path(f) for f in folders]
    st = list(steps) if steps is not None else [_step_of(p, i) for i, p in enumerate(paths)]
    if len(st) != len(paths):
        raise UserError(f"{len(st)} steps for {len(paths)} folders: give one step per folder")
    rows = []
    for p in paths:
        model = _load(p, device)
        ids = input_ids if input_ids is not None else _tokenize(p, text)
        ids = torch.as_tensor(ids, dtype=torch.long, device=device)
        if ids.numel() == 0:
            raise UserError("the input has no tokens: pass non-empty input_ids or text")
        rows.append(hf_layer_stats(model, ids[None] if ids.dim() == 1 else ids))
    if len({r.shape for r in rows}) > 1:
        raise UserError("the checkpoints have different numbers of layers: pass folders of one model")
    order = np.argsort(st, kind="stable")
    a = np.stack(rows)[order]  # (C, L, 3)
    return CheckpointStats(steps=np.asarray(st)[order], ratio=a[..., 0], max_abs=a[..., 1], count=a[..., 2].astype(int),
                           folders=tuple(str(paths[i]) for i in order))
