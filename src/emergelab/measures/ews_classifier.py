"""Which tipping point lies ahead? A CNN-LSTM that classifies a pre-transition series by bifurcation.

After T. M. Bury, R. I. Sujith, I. Pavithran, M. Scheffer, T. M. Lenton, M. Anand, C. T. Bauch
(2021), "Deep learning for early warning signals of tipping points", PNAS 118(39): e2106140118.
Near a bifurcation every system reduces to a normal form, and the normal forms leave different
fingerprints in the fluctuations before the transition: how fast the recovery rate falls (a
fold's as sqrt(u), a transcritical's as u, for a linear approach u -> 0), and whether the
fluctuations oscillate (Hopf). Bury et al. trained a CNN-LSTM on simulated series to tell fold,
transcritical, Hopf and "no bifurcation" (null) apart. ewstools ships their Keras models, which
need TensorFlow < 2.16; this module is a small torch re-implementation trained on the lab's own
library of simulated normal forms (`_bifurcation_library.py`, trained by
scripts/train_bifurcation_classifier.py; the held-out confusion matrix is stored with the weights,
see `model_info()`).

Input pipeline (the same for training and for `classify`):
1. keep the last INPUT_LEN samples (the stretch nearest the transition); at least MIN_LEN;
2. detrend with a Gaussian kernel of sd SIGMA samples, renormalised where it runs off the ends
   (Bury et al. used LOWESS with span 0.2 of 500 points, a tricube of sd ~19 samples);
3. divide the residuals by their mean absolute value (as Bury et al.);
4. pad with zeros on the left to INPUT_LEN (Bury et al.'s left padding), so the last sample is
   always the last input the LSTM reads.
The classifier assumes evenly spaced samples and reads time in samples, so its verdict depends on
how finely the series is sampled relative to its relaxation time (trained: lag-1 autocorrelation
0.37-0.98 far from the bifurcation). Like any EWS, it says what the fluctuations resemble, not
that a transition will come: "null" means no sign of an approaching bifurcation.
"""

from __future__ import annotations

import contextlib
import functools
import json
import numbers
from importlib import resources

import numpy as np
from scipy import ndimage

from emergelab.errors import UserError

CLASSES = ("fold", "transcritical", "hopf", "null")
INPUT_LEN = 500   # samples the network reads (Bury et al.'s 500-classifier)
MIN_LEN = 100     # shortest stretch trained on; fewer samples hold too little of the trend
SIGMA = 20.0      # detrending kernel sd, samples
FLAT = 1e-12      # second differences below this fraction of max|x| count as no fluctuations
WEIGHTS = "bifurcation_cnn_lstm.npz"
ARCH = {"filters": 32, "kernel": 11, "pool": 4, "hidden1": 32, "hidden2": 10, "dropout": 0.1}


# ------------------------------------------------------------------ preprocessing

def prepare(X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Network input (B, INPUT_LEN) float32 from right-aligned raw series X (B, INPUT_LEN) whose
    row i holds its series in the last lengths[i] columns (anything to the left is ignored)."""
    B, N = X.shape
    mask = np.arange(N)[None, :] >= (N - np.asarray(lengths))[:, None]  # (B, N)
    x = np.where(mask, X, 0.0)
    n = mask.sum(axis=1, keepdims=True)
    x = np.where(mask, x - x.sum(axis=1, keepdims=True) / n, 0.0)  # centred: the smoother sees no offset
    # Nadaraya-Watson: smooth the masked series and the mask alike, divide, so the padding never
    # leaks into the trend and the kernel renormalises at both ends of every series.
    num = ndimage.gaussian_filter1d(x, SIGMA, axis=1, mode="constant", cval=0.0)
    den = ndimage.gaussian_filter1d(mask.astype(float), SIGMA, axis=1, mode="constant", cval=0.0)
    resid = np.where(mask, x - num / np.maximum(den, 1e-300), 0.0)  # (B, N)
    scale = np.abs(resid).sum(axis=1, keepdims=True) / n  # mean |residual| over the series
    return (resid / np.where(scale > 0, scale, 1.0)).astype(np.float32)


# ------------------------------------------------------------------ the network

def build_model(arch: dict | None = None):
    """The CNN-LSTM of Bury et al. at small scale: Conv1d (ReLU) -> dropout -> max-pool ->
    LSTM -> dropout -> LSTM (last state) -> dropout -> linear over CLASSES (logits)."""
    import torch
    from torch import nn

    a = dict(ARCH, **(arch or {}))

    class CnnLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(1, a["filters"], a["kernel"], padding="same")
            self.pool = nn.MaxPool1d(a["pool"])
            self.lstm1 = nn.LSTM(a["filters"], a["hidden1"], batch_first=True)
            self.lstm2 = nn.LSTM(a["hidden1"], a["hidden2"], batch_first=True)
            self.drop = nn.Dropout(a["dropout"])
            self.head = nn.Linear(a["hidden2"], len(CLASSES))

        def forward(self, x):  # x (B, N)
            h = self.drop(torch.relu(self.conv(x[:, None, :])))  # (B, F, N)
            h = self.pool(h).transpose(1, 2)  # (B, N / pool, F): time-major for the LSTM
            h, _ = self.lstm1(h)  # (B, N / pool, H1)
            _, (last, _) = self.lstm2(self.drop(h))  # last (1, B, H2): the state after the final sample
            return self.head(self.drop(last[0]))  # (B, n_classes) logits

    return CnnLstm()


def save_weights(model, path, meta: dict) -> None:
    """Write the state_dict as float32 arrays plus a JSON `meta` (arch, training record) to .npz."""
    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays)


def _weights_path():
    return resources.files("emergelab.measures").joinpath("weights", WEIGHTS)


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None):
    """(model in eval mode, meta) from an .npz written by save_weights; default: the shipped one."""
    import torch

    src = _weights_path() if path is None else path
    try:
        with resources.as_file(src) if path is None else contextlib.nullcontext(path) as p, np.load(p) as z:
            meta = json.loads(str(z["__meta__"]))
            state = {k: torch.from_numpy(z[k]) for k in z.files if k != "__meta__"}
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"cannot read the bifurcation classifier's weights at {src} ({e}); reinstall "
                        f"emergelab or retrain with scripts/train_bifurcation_classifier.py") from None
    trained_for = (tuple(meta.get("classes", ())), meta.get("input_len"), meta.get("sigma"))
    if trained_for != (CLASSES, INPUT_LEN, SIGMA):
        raise UserError(f"weights at {src} were trained for other classes, input length or detrending; "
                        f"retrain with scripts/train_bifurcation_classifier.py")  # fmt: skip
    model = build_model(meta.get("arch"))
    model.load_state_dict(state)
    model.eval()
    return model, meta


def model_info() -> dict:
    """The shipped model's record: arch, training seed and sizes, held-out confusion and accuracy."""
    return dict(load_model()[1])


def predict_proba(X: np.ndarray, lengths: np.ndarray, model=None, batch: int = 512) -> np.ndarray:
    """Class probabilities (B, len(CLASSES)) for right-aligned raw series X (B, INPUT_LEN)."""
    import torch

    model = load_model()[0] if model is None else model
    inp = torch.from_numpy(prepare(X, lengths))
    out = []
    with torch.no_grad():
        for s in range(0, len(inp), batch):
            out.append(torch.softmax(model(inp[s : s + batch]), dim=1).numpy())
    return np.concatenate(out).astype(float) if out else np.zeros((0, len(CLASSES)))


# ------------------------------------------------------------------ the public call

def _check(series, steps, until):
    try:
        x = np.asarray(series, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"series must be numeric; could not turn {type(series).__name__} into floats"
                        ) from None
    if x.ndim != 1:
        raise UserError(f"series must be 1-D (one series), got shape {x.shape}; classify one row at a time")
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x))
        raise UserError(f"series contains {len(bad)} NaN/inf value(s), the first at index {bad[0]}; "
                        f"drop or interpolate those points first")  # fmt: skip
    t = np.arange(len(x), dtype=float) if steps is None else np.asarray(steps, dtype=float)
    if t.shape != x.shape:
        raise UserError(f"steps and series have different lengths ({t.size} vs {x.size}); "
                        f"pass one step per value")  # fmt: skip
    if len(t) > 1:
        d = np.diff(t)
        if not (np.isfinite(t).all() and (d > 0).all()):
            raise UserError("steps must be finite and strictly increasing; "
                            "sort the series or drop duplicate steps")  # fmt: skip
        if np.abs(d - d[0]).max() > 1e-6 * d[0]:
            raise UserError("steps must be evenly spaced: the classifier reads time in samples; "
                            "resample the series onto a regular grid first")  # fmt: skip
    if until is not None:
        if not isinstance(until, numbers.Real) or isinstance(until, bool):
            raise UserError(f"until must be a number (a step), got {until!r}")
        x = x[t < until]
    if len(x) < MIN_LEN:
        raise UserError(f"series too short to classify: {len(x)} points before the transition, need at "
                        f"least {MIN_LEN}; use a longer (or more finely sampled) series")  # fmt: skip
    return x[-INPUT_LEN:]


def classify(series, steps=None, until=None) -> dict[str, float]:
    """Probabilities that the series is approaching a fold, transcritical or Hopf bifurcation, or
    none (null): {"fold": p, "transcritical": p, "hopf": p, "null": p}, summing to 1.

    series: the state, evenly sampled, ending before the transition (1-D array-like).
    steps: the sample positions (optional): must be strictly increasing and evenly spaced.
    until: keep only the points with steps < until (the transition's step), as ews.early_warning.
    The last INPUT_LEN (500) points are used; at least MIN_LEN (100) are needed.
    """
    x = _check(series, steps, until)
    n = len(x)
    # No curvature anywhere (a constant or a straight line): detrending leaves only rounding.
    if np.abs(np.diff(x, 2)).max() <= FLAT * max(np.abs(x).max(), 1e-300):
        raise UserError("series is constant or a straight line: no fluctuations to classify; check the input")
    X = np.zeros((1, INPUT_LEN))
    X[0, INPUT_LEN - n :] = x
    p = predict_proba(X, np.array([n]))[0]
    return {c: float(v) for c, v in zip(CLASSES, p)}
