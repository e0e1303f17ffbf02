"""Spectral early-warning signals: rolling Welch power spectra, Smax, and AIC weights of the
fold, Hopf and null spectral forms.

After Bury, Sujith, Pavithran, Scheffer, Lenton, Anand & Bauch, "Detecting and distinguishing
tipping points using spectral early warning signals" (J. R. Soc. Interface 17, 2020), as coded
in ewstools (compute_spectrum, compute_smax, compute_spec_type; helpers.pspec_welch, fit_*).
Near a fold the spectrum reddens (power piles up at frequency 0); near a Hopf bifurcation a
peak grows at the oscillation's frequency w0; far from either, residuals look white.

Definitions (ewstools'):
- spectrum: scipy.signal.welch of each window (Hann taper of ham_length samples, overlap
  int(ham_offset * ham_length), segment mean removed, scaling="spectrum", two-sided), indexed
  by angular frequency 2 pi f / dt, sorted, with the power at -w_max repeated at +w_max, and
  cut to |w| <= w_cutoff * w_max. Windows start every `step` samples (pspec_roll_offset).
- Smax: the largest power of a window's spectrum.
- forms, fitted by least squares to the power:
  fold S = sigma^2 / (2 pi) / (w^2 + lam^2),  -w_max <= lam < 0 (ewstools' psi_fold = 0.5);
  Hopf S = sigma^2 / (4 pi) * [1 / ((w + w0)^2 + mu^2) + 1 / ((w - w0)^2 + mu^2)], mu < 0,
       w0 >= 2.955 |mu| (psi_hopf = 0.2: a real peak, not a shoulder) and w0 <= 2.5 / dt;
  null S = sigma^2 / (2 pi) (flat).
  AIC = N ln(chisqr / N) + 2 k (lmfit's), k = 2, 3 (sigma, mu, delta), 1; weights
  exp(-dAIC / 2) normalised.

Two departures from ewstools, both measured (tests/unit/test_ews_indicators.py):
- dc=False (default) leaves the w = 0 bin out of the fits. Welch removes each segment's mean,
  which hollows out that bin (white noise: a third of the flat level, measured), so a red
  spectrum gets a dip at 0 that the Hopf form, with two peaks at +-w0, fits better than the
  fold form: with the bin kept, the best Hopf fit wins on 30 of 40 AR(1) (phi = 0.8) series,
  with it dropped on 2 of 40. dc=True fits the bin as ewstools does.
- The Hopf constraint is kept as the paper states it. ewstools' lmfit clips w0 (an expression
  of mu and delta) at 2.5, which lets |mu| grow past 2.5 / 2.955 with w0 stuck at 2.5: a
  broad, nearly flat Hopf form that, with the hollow 0 bin, beats the null form on white
  noise (Hopf weight 0.28-0.99 on 5 of 5 seeds tried).
Fitting also differs in method: lmfit starts from one moment-based guess
per form and can stop in a local minimum; here each form's scale (sigma^2) is solved in closed
form for given shape parameters (the model is linear in it), and the one or two shape
parameters are found by a grid over their whole allowed range, then repeated zooms around the
best grid point. That is vectorised over all windows at once and never returns a worse
chi-square than a local search started inside the range (the tests check this against lmfit).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as _swv

from emergelab.errors import UserError
from emergelab.measures.ews_entropy import _int, _series, _window

FORMS = ("fold", "hopf", "null")
PSI_FOLD, PSI_HOPF = 0.5, 0.2  # ewstools' constraints on the fold's and Hopf's shapes
W0_MAX = 2.5                   # ewstools' cap on the Hopf w0 at dt = 1 (0.8 w_max); here 2.5 / dt
SHAPE_MIN = 1e-3               # |lam|, |mu| >= this * w_max: 0 would put an infinity at w = 0 or w0
GRID, ZOOM, ROUNDS = 64, 9, 40  # 1-D search: first grid, points per axis per zoom, zoom rounds
GRID2, ZOOM2, ROUNDS2 = 40, 9, 40  # each zoom halves the box: 2^-40 of the first grid step
_C_HOPF = np.sqrt(4 - 3 * PSI_HOPF + np.sqrt(PSI_HOPF**2 - 16 * PSI_HOPF + 16)) / (2 * np.sqrt(PSI_HOPF))


# ------------------------------------------------------------------ spectra

def _ham(ham_length, w):
    if isinstance(ham_length, numbers.Real) and not isinstance(ham_length, bool) and 0 < ham_length <= 1:
        ham_length = ham_length * w  # a fraction of the window, as ewstools
    elif not isinstance(ham_length, numbers.Integral) or isinstance(ham_length, bool) or ham_length < 4:
        raise UserError(f"ham_length must be a whole number of samples >= 4 or a fraction of the window, "
                        f"got {ham_length!r}")  # fmt: skip
    return int(min(ham_length, w))


def welch_spectra(windows, dt=1.0, ham_length=40, ham_offset=0.5, w_cutoff=1.0):
    """(freq (F,), power (..., F)) of each row of `windows` (..., w): ewstools' pspec_welch."""
    from scipy import signal

    w = windows.shape[-1]
    ham = _ham(ham_length, w)
    if not 0 <= ham_offset < 1:
        raise UserError(f"ham_offset must be a fraction in [0, 1), got {ham_offset!r}")
    if not 0 < w_cutoff <= 1:
        raise UserError(f"w_cutoff must be a fraction in (0, 1], got {w_cutoff!r}")
    f, p = signal.welch(windows, 1.0 / dt, nperseg=ham, noverlap=int(ham_offset * ham),
                        return_onesided=False, scaling="spectrum", axis=-1)  # fmt: skip
    om = 2 * np.pi * f
    order = np.argsort(om, kind="stable")
    om, p = om[order], p[..., order]
    if -om[0] not in om:  # even segment: -w_max has no twin; its power stands for +w_max too
        om, p = np.append(om, -om[0]), np.concatenate([p, p[..., :1]], axis=-1)
    wmax = w_cutoff * om.max()
    keep = (om >= -wmax) & (om <= wmax)
    return om[keep], p[..., keep]


def rolling_spectrum(x, window=0.25, step=20, dt=1.0, ham_length=40, ham_offset=0.5, w_cutoff=1.0):
    """Welch spectra over rolling windows of 1-D x: (ends (K,), freq (F,), power (K, F)); ends[k]
    is the index of window k's last sample; windows start at 0, step, 2 step, ..."""
    x = _series("x", x)
    step = _int("step", step, 1)
    if not (isinstance(dt, numbers.Real) and dt > 0):
        raise UserError(f"dt (time between samples) must be positive, got {dt!r}")
    w = _window(window, len(x), 8)
    wins = _swv(x, w)[::step]
    freq, power = welch_spectra(wins, float(dt), ham_length, ham_offset, w_cutoff)
    return np.arange(len(wins)) * step + w - 1, freq, power


def smax(power):
    """Smax of each spectrum: the largest power, over the last axis."""
    return np.asarray(power).max(axis=-1)


# ------------------------------------------------------------------ fits

def _profile(p, g):
    """Best scale c >= 0 for p ~ c g and its chi-square. p (W, F), g (W or 1, G, F) -> (W, G) x2."""
    if g.shape[0] == 1:  # one grid shared by all windows: a matrix product
        pg, gg = p @ g[0].T, np.einsum("gf,gf->g", g[0], g[0])[None]
    else:
        pg, gg = np.einsum("wf,wgf->wg", p, g), np.einsum("wgf,wgf->wg", g, g)
    c = np.maximum(pg / gg, 0.0)  # p >= 0 and g > 0 make pg > 0; the clip is a guard
    chi = (p * p).sum(axis=1)[:, None] - 2 * c * pg + c * c * gg
    return c, np.maximum(chi, 0.0)


def _zoom(p, shape_fn, lo, hi, dims, grid, zoom, rounds):
    """Minimise the profiled chi-square over shape parameters u in the box [lo, hi] (dims,):
    a grid, then `rounds` zooms around each window's best point, each to +-2 steps of the
    last grid (half the box: a best point off a sloping valley floor can still reach it)."""
    W = p.shape[0]
    axes = [np.linspace(lo[d], hi[d], grid) for d in range(dims)]
    U = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dims)  # (G, dims)
    _, chi = _profile(p, shape_fn(U[None]))
    best = U[np.argmin(chi, axis=1)]  # (W, dims)
    half = np.broadcast_to((np.asarray(hi) - np.asarray(lo)) / (grid - 1), (W, dims)).copy()
    t = np.linspace(-1, 1, zoom)
    offs = np.stack(np.meshgrid(*([t] * dims), indexing="ij"), -1).reshape(-1, dims)  # (Z, dims)
    for _ in range(rounds):  # a loop over zoom rounds: each one is all windows at once
        cand = np.clip(best[:, None, :] + offs[None] * half[:, None, :], lo, hi)  # (W, Z, dims)
        _, chi = _profile(p, shape_fn(cand))
        best = cand[np.arange(W), np.argmin(chi, axis=1)]
        half = half * 4 / (zoom - 1)
    c, chi = _profile(p, shape_fn(best[:, None, :]))
    return best, c[:, 0], chi[:, 0]


def fit_spectrum(freq, power, dt=1.0, dc=False):
    """Fit the fold, Hopf and null forms to each spectrum (row of power (K, F) or one (F,)).
    dc: fit the w = 0 bin too (ewstools does; see the module docstring for why not by default).

    Returns a DataFrame, one row per spectrum: aic_fold, aic_hopf, aic_null (lmfit's AIC),
    w_fold, w_hopf, w_null (AIC weights), chisqr_*, and the fitted parameters fold_sigma,
    fold_lam, hopf_sigma, hopf_mu, hopf_w0, null_sigma (the forms' parameters, see module doc).
    """
    import pandas as pd

    om = _series("freq", freq)
    P = np.atleast_2d(np.asarray(power, dtype=float))
    if P.shape[-1] != len(om) or P.ndim != 2:
        raise UserError(f"power must be (spectra, {len(om)}) to match freq, got shape {np.shape(power)}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise UserError("power must be finite and >= 0; compute it with rolling_spectrum or welch_spectra")
    if not dc:  # Welch removes each segment's mean, which hollows out the w = 0 bin (see above)
        P, om = P[:, om != 0], om[om != 0]
    wmax, N = np.abs(om).max(), len(om)
    lo = np.log(SHAPE_MIN * wmax)
    w2 = om * om

    def fold_g(U):  # U (..., 1) = log|lam|
        return 1.0 / (w2 + np.exp(2 * U[..., :1]))

    lam_hi = np.log(np.sqrt(PSI_FOLD / (1 - PSI_FOLD)) * wmax)
    ul, cf, chi_f = _zoom(P, fold_g, [lo], [lam_hi], 1, GRID, ZOOM, ROUNDS)

    w0max = W0_MAX / dt
    mu_hi = np.log(w0max / _C_HOPF)  # beyond this no w0 satisfies both w0 >= c|mu| and w0 <= w0max

    def hopf_par(U):  # U (..., 2) = (log|mu|, w0 before the constraint) -> mu^2, w0
        amu = np.exp(U[..., :1])  # w0 free, then clipped: peak place and width stay ~separate axes
        return amu * amu, np.clip(U[..., 1:2], _C_HOPF * amu, w0max)

    def hopf_g(U):
        m2, w0 = hopf_par(U)
        return 1.0 / ((om + w0) ** 2 + m2) + 1.0 / ((om - w0) ** 2 + m2)

    uh, ch, chi_h = _zoom(P, hopf_g, [lo, 0.0], [mu_hi, w0max], 2, GRID2, ZOOM2, ROUNDS2)
    cn = P.mean(axis=1)
    chi_n = ((P - cn[:, None]) ** 2).sum(axis=1)
    tiny = np.finfo(float).tiny  # a perfect fit: AIC -> -inf, kept finite
    aic = {f: N * np.log(np.maximum(chi, tiny) / N) + 2 * k
           for f, chi, k in (("fold", chi_f, 2), ("hopf", chi_h, 3), ("null", chi_n, 1))}  # fmt: skip
    A = np.stack([aic[f] for f in FORMS], axis=1)
    wts = np.exp(-(A - A.min(axis=1, keepdims=True)) / 2)
    wts /= wts.sum(axis=1, keepdims=True)
    m2, w0 = hopf_par(uh)
    out = {f"aic_{f}": aic[f] for f in FORMS}
    out.update({f"w_{f}": wts[:, i] for i, f in enumerate(FORMS)})
    out.update(chisqr_fold=chi_f, chisqr_hopf=chi_h, chisqr_null=chi_n,
               fold_sigma=np.sqrt(2 * np.pi * cf), fold_lam=-np.exp(ul[:, 0]),
               hopf_sigma=np.sqrt(4 * np.pi * ch), hopf_mu=-np.sqrt(m2[:, 0]), hopf_w0=w0[:, 0],
               null_sigma=np.sqrt(2 * np.pi * cn))  # fmt: skip
    return pd.DataFrame(out)


def spectral_ews(x, window=0.25, step=20, dt=1.0, ham_length=40, ham_offset=0.5, w_cutoff=1.0,
                 fits=True, index=None):  # fmt: skip
    """Spectral EWS of 1-D x (detrend first): a DataFrame indexed by each window's last index
    (or the matching labels of `index`), with smax and, if fits, the AIC weights w_fold,
    w_hopf, w_null (ewstools' ews_spec columns smax, fold, hopf, null)."""
    import pandas as pd

    ends, freq, power = rolling_spectrum(x, window, step, dt, ham_length, ham_offset, w_cutoff)
    if index is not None and len(index) != len(np.asarray(x)):
        raise UserError(f"index has {len(index)} entries but x has {len(np.asarray(x))}; one label per point")
    labels = ends if index is None else np.asarray(index)[ends]
    out = pd.DataFrame({"smax": smax(power)}, index=pd.Index(labels, name="end"))
    if fits:
        f = fit_spectrum(freq, power, dt)
        for k in FORMS:
            out[f"w_{k}"] = f[f"w_{k}"].to_numpy()
    return out
