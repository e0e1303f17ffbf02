"""The Metropolis-Hastings naming game: two agents agree on signs for categories they each form.

Effect: symbol emergence. Two agents look at the same objects, each through its own noisy
view, and each clusters what it sees with a Gaussian mixture, one component per sign. Neither
sees the other's view, nor the true categories. They only talk: the speaker names each object
with a sign sampled from its own posterior, and the listener accepts the name with the
Metropolis-Hastings probability computed from its OWN likelihoods only,
    r = min(1, p_L(x_L | mu_L[sign_speaker], Lambda_L[sign_speaker])
               / p_L(x_L | mu_L[sign_current], Lambda_L[sign_current])),
then re-samples its mixture from the Gaussian-Wishart posterior given the signs it holds.
Roles alternate. Together this is a Gibbs / MH sampler of ONE joint model over both views,
split across two heads: the shared signs come to mean the same categories for both (Cohen's
kappa well above 0) and the categories are better than either agent finds alone (ARI).

Papers:
- Y. Hagiwara, H. Kobayashi, A. Taniguchi, T. Taniguchi (2019), "Symbol Emergence as an
  Interpersonal Multimodal Categorization" (Frontiers in Robotics and AI): the inter-GMM
  naming game with the "no communication" and "all acceptance" controls.
- Y. Hagiwara, K. Furukawa, A. Taniguchi, T. Taniguchi (2022), "Multiagent multimodal
  categorization for symbol emergence: emergent communication via interpersonal
  cross-modal inference" (Advanced Robotics); and "Symbol emergence as interpersonal
  cross-situational learning: the emergence of lexical knowledge with combinatoriality".
- T. Taniguchi et al. (2023), "Emergent communication through Metropolis-Hastings naming game
  with deep generative models" (Advanced Robotics).

Modes (`mode`): mh (the game); no_comm (the listener always rejects: two independent
mixture samplers); all_accept (the listener always adopts the speaker's sign).
As in Hagiwara et al.'s inter-GMM, an agent's "current" sign for an object is the one it
last spoke itself; it learns from the signs it keeps (accepted proposals, else its own).

Measured (paper preset, seeds 0-9, value at the last round, mean ± sd over seeds; ARI and
kappa on the signs each agent kept and learns from):
    mh          ARI A 0.79 ± 0.05, B 0.79 ± 0.08   kappa 0.79 ± 0.06   acceptance 0.75
    no_comm     ARI A 0.58 ± 0.11, B 0.57 ± 0.12   kappa -0.01 ± 0.03
    all_accept  ARI A 0.06 ± 0.07, B 0.05 ± 0.07   kappa 0.05 ± 0.07
mh converges in ~25 rounds where no_comm is still climbing at 100. A kept sign has passed
both views (sampled from the speaker's posterior, accepted by the hearer's likelihood), which
is why it names the category better than either agent's view alone; the signs merely spoken
score lower (ARI ~0.7, kappa ~0.6: one view's posterior samples).
(SCIENCE.md's check, other data: mh 0.64 / 0.74, no_comm 0.36 / 0.05, all_accept 0.28 / 0.)
all_accept collapses: each agent fits its mixture to signs that carry the other's view, which
are noise in its own, so the categories dissolve into a few broad components.

Data: n_objects objects, true category c uniform over n_categories. Agent v in {A, B} has
its own category means m_v[c] ~ U[-spread, spread]^dim (its own "sensor") and sees object d
as x_v[d] = m_v[c_d] + noise_v * N(0, I).

Logged at step i = the i-th round (A speaks, B listens and learns; B speaks, A listens and learns):
    naming/ari_a       ARI of A's signs (those it kept as hearer and learns from) against the truth
    naming/ari_b       same for B
    naming/kappa       Cohen's kappa between A's and B's kept signs (sign k vs sign k)
    naming/acceptance  fraction of proposals the listeners accepted (mean of both directions)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register

METRICS = ("naming/ari_a", "naming/ari_b", "naming/kappa", "naming/acceptance")


@dataclass(frozen=True)
class NamingGameConfig:
    seed: int = param(0, "seeds everything: the objects, both views, the initial mixtures, every sample")
    mode: Literal["mh", "no_comm", "all_accept"] = param(
        "mh", "mh: Metropolis-Hastings acceptance; no_comm: always reject; all_accept: always accept")
    n_categories: int = param(10, "true categories, and signs (mixture components) per agent")
    n_objects: int = param(1000, "objects both agents observe")
    dim: int = param(2, "features per view")
    n_iterations: int = param(100, "rounds of the game (each agent speaks once per round)")
    spread: float = param(10.0, "category means of each view ~ U[-spread, spread]^dim")
    noise_a: float = param(1.1, "sd of agent A's observation noise")
    noise_b: float = param(1.1, "sd of agent B's observation noise")
    beta: float = param(1.0, "prior: precision scale of the means, mu ~ N(0, (beta Lambda)^-1)")
    wishart_scale: float = param(0.1, "prior: Lambda ~ Wishart(wishart_scale * I, nu)")
    nu: float | None = param(None, "prior: Wishart degrees of freedom (> dim - 1); None: dim")

    def __post_init__(self) -> None:
        for k in ("n_categories", "n_objects", "dim", "n_iterations"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.n_categories < 2 or self.n_objects < self.n_categories:
            raise ValueError(f"need 2 <= n_categories <= n_objects, "
                             f"got {self.n_categories} and {self.n_objects}")
        for k in ("spread", "noise_a", "noise_b", "beta", "wishart_scale"):
            if not getattr(self, k) > 0:
                raise ValueError(f"{k} must be > 0, got {getattr(self, k)}")
        if self.nu is not None and not self.nu > self.dim - 1:
            raise ValueError(f"nu must be > dim - 1 = {self.dim - 1}, got {self.nu}")


# -- one agent: a Gaussian mixture with one component per sign ------------------------------
def _loglik(x: np.ndarray, mu: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """log N(x_d | mu_k, lam_k^-1) for every object and sign: x (N, D), mu (K, D), lam (K, D, D) -> (N, K)."""
    diff = x[None] - mu[:, None]  # (K, N, D)
    maha = ((diff @ lam) * diff).sum(-1).T  # (N, K): batched matmul, much faster than einsum here
    logdet = np.linalg.slogdet(lam)[1]  # (K,)
    return 0.5 * (logdet - maha - x.shape[1] * np.log(2 * np.pi))


def _speak(rng, ll: np.ndarray) -> np.ndarray:
    """A sign for each object from the posterior p(k | x_d) ∝ N(x_d | mu_k, lam_k^-1) (uniform
    prior over signs): ll (N, K) -> (N,) ints, by inverse-CDF sampling, all objects at once."""
    p = np.exp(ll - ll.max(1, keepdims=True))
    cdf = np.cumsum(p, 1)
    u = rng.random(len(ll))[:, None] * cdf[:, -1:]
    return np.minimum((cdf < u).sum(1), ll.shape[1] - 1)


def _learn(rng, x, signs, K, prior) -> tuple[np.ndarray, np.ndarray]:
    """(mu (K, D), lam (K, D, D)) sampled from the Gaussian-Wishart posterior given the signs.

    With N_k objects of sign k, sums S1 = sum x, S2 = sum x x^T, and prior (m0 = 0, beta, W0, nu):
    beta_k = beta + N_k,  m_k = S1 / beta_k,  W_k^-1 = W0^-1 + S2 - beta_k m_k m_k^T,
    nu_k = nu + N_k;  lam_k ~ Wishart(W_k, nu_k),  mu_k ~ N(m_k, (beta_k lam_k)^-1).
    """
    beta, w0_inv, nu = prior
    D = x.shape[1]
    onehot = np.eye(K)[signs]  # (N, K)
    n = onehot.sum(0)  # (K,)
    s1 = onehot.T @ x  # (K, D)
    s2 = (onehot.T @ (x[:, :, None] * x[:, None, :]).reshape(len(x), D * D)).reshape(K, D, D)
    beta_k = beta + n
    m = s1 / beta_k[:, None]
    w_inv = w0_inv + s2 - beta_k[:, None, None] * m[:, :, None] * m[:, None, :]
    # Wishart by Bartlett's decomposition: lam = L A A^T L^T, L = chol(W), A lower triangular
    # with A_ii = sqrt(chi2(nu_k - i)) and N(0, 1) below the diagonal; all K at once.
    L = np.linalg.cholesky(np.linalg.inv(w_inv))  # (K, D, D)
    A = np.tril(rng.standard_normal((K, D, D)), -1)
    A[:, np.arange(D), np.arange(D)] = np.sqrt(rng.chisquare((nu + n)[:, None] - np.arange(D)))
    LA = L @ A
    lam = LA @ LA.transpose(0, 2, 1)
    # mu = m + U^-T z with U U^T = beta_k lam (U lower): covariance (beta_k lam)^-1
    U = np.linalg.cholesky(beta_k[:, None, None] * lam)
    z = rng.standard_normal((K, D, 1))
    mu = m + np.linalg.solve(U.transpose(0, 2, 1), z)[..., 0]
    return mu, lam


def _listen(rng, mode: str, ll_listener: np.ndarray, proposed: np.ndarray, current: np.ndarray):
    """The signs the listener keeps and whether it accepted each proposal: MH with its own
    likelihoods ll_listener (N, K), or the controls."""
    if mode == "no_comm":
        accept = np.zeros(len(proposed), dtype=bool)
    elif mode == "all_accept":
        accept = np.ones(len(proposed), dtype=bool)
    else:
        idx = np.arange(len(proposed))
        log_r = ll_listener[idx, proposed] - ll_listener[idx, current]
        accept = np.log(rng.random(len(proposed))) < log_r  # accept with prob min(1, r)
    return np.where(accept, proposed, current), accept


# -- run -------------------------------------------------------------------------------------
def run(cfg: NamingGameConfig, rec) -> None:
    from emergelab.measures.language import adjusted_rand_index, cohen_kappa  # scipy: import lazily

    rng = np.random.default_rng(cfg.seed)
    K, N, D = cfg.n_categories, cfg.n_objects, cfg.dim
    rec.set_total(cfg.n_iterations)

    # The world: true categories and each agent's own view of every object.
    truth = rng.integers(0, K, N)  # (N,)
    views = []
    for noise in (cfg.noise_a, cfg.noise_b):
        means = rng.uniform(-cfg.spread, cfg.spread, (K, D))  # this agent's "sensor" layout
        views.append(means[truth] + noise * rng.standard_normal((N, D)))  # (N, D)

    # Each agent starts from the prior: parameters drawn from it, signs uniform at random.
    nu = float(D) if cfg.nu is None else cfg.nu
    prior = (cfg.beta, np.eye(D) / cfg.wishart_scale, nu)
    no_signs = np.zeros(0, dtype=np.int64)
    params = [_learn(rng, np.zeros((0, D)), no_signs, K, prior) for _ in range(2)]  # no data: the prior
    spoken = [rng.integers(0, K, N) for _ in range(2)]  # each agent's last spoken signs
    held = [spoken[0].copy(), spoken[1].copy()]  # the signs each agent kept as hearer: its names

    acceptance = np.zeros(2)
    for it in range(cfg.n_iterations):
        for s, h in ((0, 1), (1, 0)):  # speaker s, hearer h: A speaks to B, then B to A
            spoken[s] = _speak(rng, _loglik(views[s], *params[s]))
            ll_h = _loglik(views[h], *params[h])  # the hearer judges with its own view only
            held[h], accept = _listen(rng, cfg.mode, ll_h, spoken[s], spoken[h])
            params[h] = _learn(rng, views[h], held[h], K, prior)
            acceptance[s] = accept.mean()
        # An agent's name for an object is the sign it kept and learned from: under MH that
        # sign has passed both views (sampled from the speaker's, accepted by the hearer's)
        rec.log(it, **{"naming/ari_a": adjusted_rand_index(truth, held[0]),
                       "naming/ari_b": adjusted_rand_index(truth, held[1]),
                       "naming/kappa": cohen_kappa(held[0], held[1]),
                       "naming/acceptance": acceptance.mean()})

    final = {name.split("/")[1]: float(rec.series(name)[1][-1]) for name in METRICS}
    tail = summarize(rec.wide())
    rec.summarize(mode=cfg.mode, n_categories=K, n_objects=N,
                  **{f"final_{k}": v for k, v in final.items()}, **tail)
    rec.artefact("signs", np.stack([truth, held[0], held[1]]))  # (3, N): truth, A's, B's kept signs
    rec.artefact("views", np.stack(views))  # (2, N, D)


def summarize(curves) -> dict[str, Any]:
    """Means over the last 10% of the rounds (at least one): the signs are samples, so a
    single round is noisy."""
    out: dict[str, Any] = {}
    for name in METRICS:
        if name in curves:
            v = curves[name].dropna().to_numpy()
            out[f"{name.split('/')[1]}_tail"] = float(v[-max(1, len(v) // 10):].mean()) if len(v) else None
    return out


register(World(
    name="naming_game",
    paper="Y. Hagiwara, H. Kobayashi, A. Taniguchi, T. Taniguchi (2019), Symbol Emergence as an "
          "Interpersonal Multimodal Categorization; Symbol emergence as interpersonal cross-situational "
          "learning (Metropolis-Hastings naming game)",
    effect="symbol emergence: two agents that only accept names their own view supports come to share "
           "signs (kappa >> 0) for categories better than either finds alone",
    config=NamingGameConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"n_iterations": 50},
        "tiny": {"n_categories": 3, "n_objects": 60, "n_iterations": 5},
    },
    watch=("naming/kappa",),
    summarize=summarize,
    look_for="mh: naming/kappa climbs from 0 to ~0.7 within a few dozen rounds while the acceptance "
             "rate settles; naming/ari_a and ari_b end above the no_comm control (-s mode=no_comm: "
             "kappa stays ~0, each agent alone) and the all_accept control (-s mode=all_accept).",
))
