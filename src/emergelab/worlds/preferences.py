"""Preferences: Thurstonian utilities from forced choices, and coherence emerging with scale.

Paper: M. Mazeika, X. Yin, R. Tamirisa et al. (2025), "Utility Engineering: Analyzing and
Controlling Emergent Value Systems in AIs" (arXiv 2502.08640). The paper asks LLMs "which do
you prefer, A or B?" over pairs of outcomes (both orders, several samples), fits a Thurstonian
utility per outcome (U_i ~ N(mu_i, sigma_i^2)), and finds the preferences of larger models
more coherent: the utilities predict held-out choices better and cycles (A > B > C > A) get rarer.

Effect: the same pipeline on a chooser whose coherence is a knob. The synthetic chooser has
hidden utilities mu_i ~ N(0, 1) and per-outcome noise sigma_i = noise / scale x
exp(noise_spread z_i); each choice draws U_i, U_j and picks the larger (with probability
position_bias it just picks the first option), so the Thurstonian fit recovers mu exactly in
the limit, and as `scale` rises held-out accuracy climbs and the share of cyclic triads falls
from ~0.2 (coin flips: 1/4) towards 0. chooser=llm asks a language model (emergelab.llm; offline
SmolLM2-135M by default, llm=scripted a seeded Thurstonian stand-in with known utilities).

Protocol (the paper's active learning). items = n_outcomes outcomes + n_lotteries lotteries
(p of one outcome, else another). Pairs in all: pair_factor x N log2 N (N = items), spent in
`rounds`: round 0 is a random cycle through every item (connected, degree 2), then each round
adds an equal share of new pairs, sampling=active: the pairs whose outcome the current fit
cannot call (small |mu_i - mu_j| / sqrt(sigma_i^2 + sigma_j^2)) among low-degree items;
sampling=random: uniformly among pairs not yet asked. n_holdout random pairs off that cycle,
never fitted, score held-out accuracy; the cycle and the held-out pairs are drawn before
anything sampling-specific, so both samplings share them at a given seed.

Logged at step r = round r (after refitting on all pairs so far): pref/pairs (pairs used),
pref/heldout_acc, pref/cyclic_triads (share among the asked pairs' complete triads),
pref/corr_hidden (Pearson of fitted and hidden mu: synthetic chooser, and llm=scripted, whose
utilities are known), pref/eu_corr (with lotteries: U(lottery) against the probability-weighted
fitted utilities of its outcomes), llm/* counters (chooser=llm). Artefacts: utilities (per
item: text or id, hidden and fitted mu, sigma, degree), choices (every pair asked: round, i, j,
wins of i, valid answers, held out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.errors import UserError
from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.llm.settings import LLMSettings

N_TEXTS = 48  # outcome texts of the LLM chooser (_preferences_llm.OUTCOMES); kept here so configs validate without it


@dataclass(frozen=True)
class PreferencesConfig(LLMSettings):
    seed: int = param(0, "seeds hidden utilities, held-out pairs, pair selection, choices and LLM sampling")
    chooser: Literal["synthetic", "llm"] = param(
        "synthetic", "who chooses: synthetic (hidden Thurstonian utilities) or llm (a language model, asked A or B)")
    n_outcomes: int = param(200, "outcomes (llm: at most 48, the built-in outcome texts)")
    n_lotteries: int = param(0, "lotteries added as items: probability p of one outcome, else another")
    scale: float = param(1.0, "synthetic: coherence knob; choice noise sd = noise / scale")
    noise: float = param(1.0, "synthetic: choice noise sd at scale 1 (hidden utilities have sd 1)")
    noise_spread: float = param(0.5, "synthetic: per-outcome noise varies as exp(noise_spread z), z ~ N(0, 1)")
    position_bias: float = param(0.0, "synthetic: probability a choice just takes the first option shown")
    samples: int = param(2, "forced choices per order of a pair (both orders are asked)")
    sampling: Literal["active", "random"] = param(
        "active", "pair selection after round 0: active (close utilities, low degree) or random")
    pair_factor: float = param(2.0, "pairs in all = pair_factor x N log2 N, N = outcomes + lotteries")
    rounds: int = param(6, "rounds of selection and refitting (round 0: a random cycle through all items)")
    n_holdout: int = param(1000, "random held-out pairs for held-out accuracy (never fitted)")
    degree_weight: float = param(1.0, "active: weight of low degree against closeness of utilities")
    ridge: float = param(0.1, "fit: Gaussian prior precision on mu and log sigma^2 (fixes the free scale)")
    llm_tokens: int = param(6, "llm: max new tokens of an answer (a small model often writes 'I prefer Option A')")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_outcomes < 4:
            raise ValueError(f"n_outcomes must be at least 4, got {self.n_outcomes}")
        if self.chooser == "llm" and self.n_outcomes > N_TEXTS:
            raise ValueError(f"chooser=llm has {N_TEXTS} outcome texts: set n_outcomes <= {N_TEXTS}")
        if self.n_lotteries < 0 or self.n_lotteries == 1:
            raise ValueError(f"n_lotteries must be 0 or at least 2, got {self.n_lotteries}")
        for k in ("scale", "noise", "pair_factor", "ridge"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k} must be > 0, got {getattr(self, k)}")
        for k in ("noise_spread", "degree_weight"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")
        if not 0 <= self.position_bias <= 1:
            raise ValueError(f"position_bias must be in [0, 1], got {self.position_bias}")
        if self.rounds < 2:
            raise ValueError(f"rounds must be at least 2 (round 0 is a cycle through the items), got {self.rounds}")
        for k in ("samples", "n_holdout", "llm_tokens"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        n = self.n_outcomes + self.n_lotteries
        most = (n * (n - 1) // 2 - n) // 2  # at most half the pairs off round 0's cycle
        if self.n_holdout > most:
            raise ValueError(f"n_holdout={self.n_holdout} leaves too few pairs to fit among {n} items: "
                             f"set n_holdout <= {most}")  # fmt: skip


def budget(cfg: PreferencesConfig) -> int:
    """Pairs used for fitting: pair_factor N log2 N, at least a cycle (N), at most every pair not held out."""
    n = cfg.n_outcomes + cfg.n_lotteries
    return int(min(max(round(cfg.pair_factor * n * np.log2(n)), n), n * (n - 1) // 2 - cfg.n_holdout))


def synthetic_choices(rng, mu, sigma, i, j, samples: int, position_bias: float) -> tuple[np.ndarray, np.ndarray]:
    """Wins of i over j in 2 x samples forced choices (half with i shown first), each drawing
    U ~ N(mu, sigma^2) afresh and choosing the larger, or with probability position_bias the
    option shown first. -> (wins, totals), one per pair."""
    d = mu[i] - mu[j]
    s = np.sqrt(sigma[i] ** 2 + sigma[j] ** 2)
    # U_i - U_j ~ N(d, s^2): one draw per choice; columns 0..k-1 show i first, k..2k-1 show j first
    diff = d[:, None] + s[:, None] * rng.standard_normal((len(i), 2 * samples))
    first = np.zeros((len(i), 2 * samples), bool)
    first[:, :samples] = True  # i is the first option shown
    lazy = rng.random((len(i), 2 * samples)) < position_bias
    wins = np.where(lazy, first, diff > 0).sum(1)
    return wins.astype(float), np.full(len(i), 2.0 * samples)


def _lotteries(rng, n_out: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """m lotteries over two distinct outcomes: (pairs of outcomes (m, 2), probabilities (m, n_out))."""
    a = rng.integers(0, n_out, m)
    b = (a + rng.integers(1, n_out, m)) % n_out  # a different outcome
    p = rng.integers(1, 10, m) / 10  # 10%..90%: round percentages, as a prompt states them
    probs = np.zeros((m, n_out))
    probs[np.arange(m), a] = p
    probs[np.arange(m), b] += 1 - p
    return np.stack([a, b], 1), probs


def run(cfg: PreferencesConfig, rec) -> None:
    import pandas as pd

    from emergelab.measures import utilities as U  # scipy: lazily, so listing the worlds stays instant

    rng = np.random.default_rng(cfg.seed)
    n_out, m = cfg.n_outcomes, cfg.n_lotteries
    n = n_out + m
    pair_of, probs = _lotteries(rng, n_out, m) if m else (np.zeros((0, 2), int), np.zeros((0, n_out)))
    a, b = np.triu_indices(n, 1)
    # round 0's cycle, then the held-out pairs off it: drawn first, so both samplings share them
    perm = rng.permutation(n)
    off_cycle = ~np.isin(U.pair_index(n, a, b), U.pair_index(n, perm, np.roll(perm, -1)))
    hold = rng.choice(np.flatnonzero(off_cycle), cfg.n_holdout, replace=False)
    hi, hj = a[hold], b[hold]
    B = budget(cfg)
    sizes = [n] + [len(s) for s in np.array_split(np.arange(B - n), cfg.rounds - 1)]
    rec.set_total(len(sizes))

    chooser, hidden, texts = None, None, [f"outcome {k}" for k in range(n_out)]
    if cfg.chooser == "synthetic":
        mu0 = rng.standard_normal(n_out)
        hidden = np.concatenate([mu0, probs @ mu0])  # a lottery's utility is its expected utility
        sigma = cfg.noise / cfg.scale * np.exp(cfg.noise_spread * rng.standard_normal(n))
        def ask(i, j, r):
            return synthetic_choices(rng, hidden, sigma, i, j, cfg.samples, cfg.position_bias)
    else:
        from emergelab.worlds import _preferences_llm as L

        texts = [L.OUTCOMES[k] for k in np.sort(rng.choice(N_TEXTS, n_out, replace=False))]
        lotteries = [L.lottery_text(probs[k, o1], texts[o1], texts[o2]) for k, (o1, o2) in enumerate(pair_of)]
        chooser = L.LLMChooser(cfg, rec, texts + lotteries, rng)
        texts = chooser.texts
        if cfg.llm == "scripted":  # its utilities are known: the recovery can be scored
            hidden = np.array([L.utility(t) for t in texts])
        ask = chooser.ask

    rows, fit, asked = [], None, np.zeros(0, np.int64)
    I, J, W, T = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    try:
        exclude = U.pair_index(n, hi, hj)
        for r, k in enumerate(sizes):
            if r == 0:  # the held-out pairs are asked with round 0's cycle: one batch fewer for an LLM
                i, j = perm, np.roll(perm, -1)
                w, t = ask(np.concatenate([hi, i]), np.concatenate([hj, j]), 0)
                hw, ht, w, t = w[:len(hi)], t[:len(hi)], w[len(hi):], t[len(hi):]
                rows.append(pd.DataFrame({"round": -1, "i": hi, "j": hj, "wins": hw, "totals": ht,
                                          "heldout": True}))  # fmt: skip
            elif cfg.sampling == "active":
                deg = np.bincount(np.concatenate([I, J]), minlength=n)
                i, j = U.select_pairs(fit.mu, fit.sigma, deg, np.concatenate([exclude, asked]), k, rng,
                                      cfg.degree_weight)  # fmt: skip
            else:
                free = ~np.isin(U.pair_index(n, a, b), np.concatenate([exclude, asked]))
                pick = rng.choice(np.flatnonzero(free), k, replace=False)
                i, j = a[pick], b[pick]
            if r > 0:
                w, t = ask(i, j, r)
            I, J = np.concatenate([I, i]), np.concatenate([J, j])
            W, T = np.concatenate([W, w]), np.concatenate([T, t])
            asked = np.concatenate([asked, U.pair_index(n, i, j)])
            if T.sum() == 0:
                raise UserError("the chooser gave no valid answer ('A' or 'B') to any question so far: raise "
                                "llm_tokens, or try another model (see the run's llm_transcript)")  # fmt: skip
            rows.append(pd.DataFrame({"round": r, "i": i, "j": j, "wins": w, "totals": t, "heldout": False}))
            fit = U.fit_thurstonian(n, I, J, W, T, ridge=cfg.ridge, init=fit)
            rec.log(r, **measure(cfg, fit, I, J, W, T, hi, hj, hw, ht, hidden, probs))
            if chooser is not None:
                chooser.llm.log(r)
    finally:
        if chooser is not None:
            chooser.close()

    deg = np.bincount(np.concatenate([I, J]), minlength=n)
    rec.artefact("utilities", pd.DataFrame({
        "item": np.arange(n), "text": texts + [f"lottery {k}" for k in range(len(texts), n)],
        "lottery": np.arange(n) >= n_out, "hidden_mu": hidden if hidden is not None else np.nan,
        "mu": fit.mu, "sigma": fit.sigma, "degree": deg}))  # fmt: skip
    rec.artefact("choices", pd.concat(rows, ignore_index=True))
    rec.summarize(chooser=cfg.chooser, sampling=cfg.sampling, scale=cfg.scale, items=n, converged=fit.converged,
                  **summarize(rec.wide()))  # fmt: skip


def measure(cfg, fit, I, J, W, T, hi, hj, hw, ht, hidden, probs) -> dict[str, float]:
    """One round's numbers from the fit and the counts so far."""
    from emergelab.measures import utilities as U
    n = len(fit.mu)
    out = {"pref/pairs": float(len(I)),
           "pref/heldout_acc": U.heldout_accuracy(fit.mu, fit.sigma, hi, hj, hw, ht),
           "pref/cyclic_triads": U.cyclic_triad_share(U.preference_matrix(n, I, J, W, T))}  # fmt: skip
    if hidden is not None:
        out["pref/corr_hidden"] = float(np.corrcoef(fit.mu, hidden)[0, 1])
    if cfg.n_lotteries:
        out["pref/eu_corr"] = U.eu_consistency(fit.mu[cfg.n_outcomes:], probs, fit.mu[:cfg.n_outcomes])["corr"]
    return out


def summarize(curves) -> dict[str, Any]:
    """The last round's numbers (final_*) and the first round's held-out accuracy."""
    out = {}
    for name in ("pref/pairs", "pref/heldout_acc", "pref/cyclic_triads", "pref/corr_hidden", "pref/eu_corr"):
        if name in curves and curves[name].notna().any():
            out["final_" + name.split("/")[1]] = float(curves[name].dropna().iloc[-1])
    if "pref/heldout_acc" in curves and curves["pref/heldout_acc"].notna().any():
        out["first_heldout_acc"] = float(curves["pref/heldout_acc"].dropna().iloc[0])
    return out


def check(configs) -> None:
    """Before anything is written: the LLM backend of every chooser=llm run is usable."""
    if any(c.chooser == "llm" for c in configs):
        from emergelab.worlds._preferences_llm import check_llm

        check_llm([c for c in configs if c.chooser == "llm"])


register(World(
    name="preferences",
    paper="M. Mazeika et al. (2025), Utility Engineering: Analyzing and Controlling Emergent Value Systems in AIs "
          "(arXiv 2502.08640)",
    effect="coherent preferences emerge with scale: Thurstonian utilities fitted from forced choices predict "
           "held-out choices better and cyclic triads vanish as the chooser's noise falls",
    config=PreferencesConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"n_outcomes": 100},
        "lotteries": {"n_outcomes": 100, "n_lotteries": 30},
        "tiny": {"n_outcomes": 10, "n_holdout": 10, "rounds": 3},
        "llm-quick": {"chooser": "llm", "n_outcomes": 8, "n_holdout": 6, "rounds": 2, "samples": 1},
    },
    watch=(),  # a handful of rounds: too short a series for transition detection
    summarize=summarize,
    check=check,
    look_for="pref/heldout_acc rising and pref/cyclic_triads falling over rounds; across a sweep of scale "
             "(-g scale=0.25,0.5,1,2,4,8) cyclic triads fall from ~0.2 (coin flips: 0.25) towards 0 and held-out "
             "accuracy rises: coherence emerging with scale. pref/corr_hidden: recovery of the hidden utilities. Compare "
             "-s sampling=random: active sampling reaches the same held-out accuracy with fewer pairs.",
))
