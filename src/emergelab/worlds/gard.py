"""GARD: compositional inheritance in mutually catalytic assemblies, and group selection of molecules.

Effect: an assembly of molecules that grows by mutual catalysis and splits in two passes its
composition on for many generations without any template (long runs of "non-drift"
generations whose composition resembles the previous one, falling into a few recurring
compotypes). Treating the molecules as individuals and the assemblies as groups, the
multilevel Price equation splits the change in a molecular trait into between-assembly
(group) selection and within-assembly change.

Papers:
- "Chemical Heredity as Group Selection at the Molecular Level" (2018): molecules are the
  replicating individuals, protocells (assemblies) the groups; the multilevel Price
  equation quantifies both levels of selection (`emergelab.measures.price`).
- D. Segré, D. Ben-Eli, D. Lancet (2000), "Compositional genomes: prebiotic information
  transfer in mutually catalytic noncovalent assemblies" (PNAS 97:4112): the GARD model.
- O. Markovitch, D. Lancet (2012), Artificial Life 18:3, and their MATLAB code
  (github.com/ModelingOriginsofLife/GARD, GARD10): the `paper` preset (= the defaults)
  follows its choices: 500 generations (tgs_parameters_v10.m), a first assembly of
  Nmax/2 = 50 random molecules (tgs_agard_v10.m), compotypes by cosine k-means over
  k = 1..10 with the best mean silhouette (tgs_acluster.m, tgs_kmeans.m), and a Moran
  population whose dead assemblies are reseeded (population_gard_nmin_v10.m). The `lab`
  preset keeps the lab's earlier choices (2,000 generations, 10 seed molecules, the
  threshold rule for k, no reseeding). Not followed: the authors' population has
  p.gen = 500 assemblies; ours has n_assemblies = 16.

Model (SCIENCE C2). T = n_types molecule types, environment concentration rho_i = 1/T;
the chemistry beta (T, T) ~ lognormal(beta_mu, beta_sigma), drawn once per run: beta[i, j]
is how much one molecule of type j speeds up the joining and leaving of type i. With n the
counts (T,) and N = sum n:
    join rate of type i   kf rho_i N (1 + (beta n)_i / N)
    leave rate of type i  kb n_i (1 + (beta n)_i / N)
simulated event by event (exact Gillespie SSA). At N = n_max the assembly splits: n_max/2
molecules sampled without replacement seed the next generation, the rest is its sibling.
The first generation grows from `seed_molecules` molecules drawn from the environment.
Compotypes: `measures.compotypes.find_compotypes` under both rules each run (summary:
n_compotypes_silhouette, n_compotypes_threshold); `compotype_rule` picks the one that labels
the generations (gard/compotype, n_compotypes, compotype_sizes).

Two experiments per run, both on the same chemistry:
1. One lineage for `generations` generations: the composition at each split is a row of
   the `compositions` artefact (generations, T); compotypes via `measures.compotypes`.
2. Price: a population of n_assemblies assemblies in continuous time (a Moran process):
   all grow at once; when one splits, its second half replaces a random other assembly.
   A window lasts n_assemblies splits. Individuals = the molecules present at the start of
   a window, groups = their assemblies, trait z = a molecule type's catalytic power
   g_j = sum_i rho_i beta[i, j]; an assembly's join rate is exactly kf (N + sum_m g_m),
   so z is each molecule's share of its assembly's growth. Parent -> offspring is the
   reactant -> product relation: the join rate of type i splits exactly into one term
   kf rho_i (1 + beta[i, t_m]) per molecule m present, so every joining molecule is
   credited to one molecule present, drawn with those weights (its "parent"); a
   molecule's offspring at the window's end = itself if still there, plus everything
   credited to it and to its offspring, in assemblies that were not replaced. With
   reseed, an assembly that loses its last molecule is replaced by seed_molecules fresh
   ones, which descend from nobody (worlds/_gard_price.py).

Logged per generation g (lineage): gard/similarity (H with generation g-1; from g=1),
gard/events, gard/time (Gillespie time to grow), gard/richness (types present at the
split), and at the end gard/non_drift (0/1) and gard/compotype (-1: drift).
Logged per Price window w: price/total (w̄Δz̄), price/between (Cov_k(W_k, Z_k)),
price/within (E_k[W_k Δz_k]), price/within_selection, price/transmission,
price/residual (total - between - within), price/trait (mean z), price/reseeded (dead
assemblies replaced), price/alive (assemblies with molecules at the window's end).

Measured (docs/worlds/gard.md has the 20-seed tables and the command that makes them).
`lab` preset, seeds 0-3: mean consecutive H 0.93, 0.90, 0.90, 0.88 (SCIENCE checked ~0.91),
non-drift 81%, 59%, 55%, 51% (checked ~63%); compotypes 2, 4, 4, 4 by the threshold rule,
1, 3, 3, 4 by the silhouette rule. Without catalysis (beta_mu=-20): H 0.75, no non-drift
generation. Price: the between-assembly term is positive on average in every chemistry whose
lineage drifts between compotypes (17 of 20 seeds), in 60-95% of windows (median 80%):
assemblies rich in catalysts leave more molecules. Chemistries that lock (>= 95% non-drift
generations: seeds 4, 5, 11) give 35-55%, a coin toss: their assemblies all look alike.
Within assemblies, catalysts leave many offspring (within_selection >> 0) that are less
catalytic than they are (transmission << 0), so the mean trait stays put (total ~ 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.measures.compotypes import consecutive_similarity, find_compotypes, non_drift
from emergelab.measures.price import price_equation
from emergelab.worlds._gard_price import Assembly, Uniforms, price_window


@dataclass(frozen=True)
class GardConfig:
    seed: int = param(0, "seeds the chemistry beta, the seed molecules and every event (numpy default_rng)")
    n_types: int = param(100, "NG: molecule types in the environment (rho_i = 1/NG each)")
    beta_mu: float = param(-4.0, "chemistry: beta ~ lognormal(beta_mu, beta_sigma), the mean of log beta")
    beta_sigma: float = param(4.0, "chemistry: the standard deviation of log beta")
    kf: float = param(0.01, "join (forward) rate constant")
    kb: float = param(1e-4, "leave (backward) rate constant")
    n_max: int = param(100, "an assembly splits in two halves when it reaches n_max molecules")
    seed_molecules: int = param(50, "molecules drawn from the environment to start an assembly (the "
                                "lineage's first, each of the population's, each reseed); authors: "
                                "Nmax/2 = 50, the lab had 10")
    generations: int = param(500, "generations of the single lineage (one composition per split); "
                             "authors: 500, the lab had 2000")
    threshold: float = param(0.9, "non-drift: mean H with the neighbouring generations > threshold")
    compotype_rule: Literal["silhouette", "threshold"] = param(
        "silhouette", "how many compotypes: silhouette = the authors' (cosine k-means, k in "
        "1..max_compotypes with the best mean silhouette); threshold = the lab's (smallest k with "
        "mean member-centre H >= threshold). Both counts are in the summary either way")
    max_compotypes: int = param(10, "largest number of compotypes tried (authors: k = 1..10)")
    reseed: bool = param(True, "Price population: an assembly that loses all its molecules is "
                         "replaced by seed_molecules fresh ones (authors: yes); false: it stays dead")
    n_assemblies: int = param(16, "Price: assemblies (groups) in the Moran population")
    price_windows: int = param(20, "Price: measured windows of n_assemblies splits each (0: skip)")
    price_burn_in: int = param(4, "Price: windows run before measuring, to forget the seeds")

    def __post_init__(self) -> None:
        for k, lo in (("n_types", 2), ("n_max", 4), ("generations", 3), ("n_assemblies", 2),
                      ("price_windows", 0), ("price_burn_in", 0), ("max_compotypes", 1)):
            if getattr(self, k) < lo:
                raise ValueError(f"{k} must be at least {lo}, got {getattr(self, k)}")
        if not (self.kf > 0 and self.kb >= 0 and math.isfinite(self.kf) and math.isfinite(self.kb)):
            raise ValueError(f"need kf > 0 and kb >= 0 (finite), got kf={self.kf}, kb={self.kb}")
        if not (math.isfinite(self.beta_mu) and self.beta_sigma >= 0 and math.isfinite(self.beta_sigma)):
            raise ValueError(f"need finite beta_mu and beta_sigma >= 0, got {self.beta_mu}, "
                             f"{self.beta_sigma}")
        if not 1 <= self.seed_molecules < self.n_max:
            raise ValueError(f"seed_molecules must be in [1, n_max), got {self.seed_molecules}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


# -- chemistry -----------------------------------------------------------------------------
class Chemistry:
    """beta and the per-molecule increments that keep the rates up to date in O(T).

    The total rate of events on type i (join or leave) is P_i Q_i / N with
        P = N + beta n          Q = kf rho N + kb n
    (join_i = kf rho_i P_i, leave_i = kb n_i P_i / N). One more molecule of type j adds
    1 + beta[:, j] to P and kf rho + kb e_j to Q: rows[j] (2, T) holds both, so an event
    updates the state with one vector addition instead of a (T, T) product.
    """

    def __init__(self, beta: np.ndarray, kf: float, kb: float) -> None:
        T = len(beta)
        self.T, self.beta, self.kb = T, beta, kb
        self.kr = kf / T  # kf rho_i, the same for every type
        self.rows = np.empty((T, 2, T))  # (T, 2, T)
        self.rows[:, 0, :] = 1.0 + beta.T
        self.rows[:, 1, :] = self.kr
        self.rows[np.arange(T), 1, np.arange(T)] += kb
        self.beta1 = 1.0 + beta  # (T, T): weight of a catalyst of type j for a join of type i
        self.power = beta.mean(axis=0)  # (T,) g_j = sum_i rho_i beta[i, j]: catalytic power

    def state(self, n: np.ndarray) -> np.ndarray:
        """(2, T) [P; Q], computed exactly from the counts n (T,)."""
        N = n.sum()
        return np.stack([N + self.beta @ n, self.kr * N + self.kb * n])


def draw_chemistry(cfg: GardConfig, rng: np.random.Generator) -> Chemistry:
    beta = rng.lognormal(cfg.beta_mu, cfg.beta_sigma, size=(cfg.n_types, cfg.n_types))  # (T, T)
    return Chemistry(beta, cfg.kf, cfg.kb)


# -- one lineage ---------------------------------------------------------------------------
def lineage(chem: Chemistry, n0: np.ndarray, generations: int, n_max: int, rng: np.random.Generator):
    """Grow-and-split one assembly for `generations` generations, from the counts n0 (T,).

    Yields, per generation, (composition (T,) int at the split, events, growth time).
    The inner loop is the whole cost: per event four numpy calls on (T,) vectors and a
    few Python scalars (~7 us at T=100, ~60 events per generation).
    """
    T, kr, kb, rows = chem.T, chem.kr, chem.kb, chem.rows
    add, accumulate, multiply = np.add, np.add.accumulate, np.multiply
    w, cs = np.empty(T), np.empty(T)  # rates (T,) and their running sum
    us: list[float] = []
    k = 0
    n = n0
    for _ in range(generations):
        PQ = chem.state(n)  # exact each generation: no rounding drift from the += below
        P, Q = PQ[0], PQ[1]
        nl, N, t, ev = n.tolist(), int(n.sum()), 0.0, 0
        while N < n_max:
            if k + 3 > len(us):  # uniforms in chunks: Python floats are cheap to index
                us, k = rng.random(3 * 4 * n_max).tolist(), 0
            multiply(P, Q, out=w)
            accumulate(w, out=cs)
            R = cs.item(-1)  # = N x total rate; 0 only once N = 0
            if R <= 0:
                raise RuntimeError("the assembly lost all its molecules: lower kb or raise kf")
            j = int(cs.searchsorted(us[k] * R))  # the type the event happens to
            t -= math.log(1.0 - us[k + 2]) * N / R  # exponential waiting time
            if us[k + 1] * (kr * N + kb * nl[j]) < kr * N:  # join with prob kf rho N / Q_j
                add(PQ, rows[j], out=PQ)
                nl[j] += 1
                N += 1
            else:
                np.subtract(PQ, rows[j], out=PQ)
                nl[j] -= 1
                N -= 1
            k += 3
            ev += 1
        comp = np.array(nl)
        yield comp, ev, t
        n = rng.multivariate_hypergeometric(comp, n_max // 2)  # the next generation's seed


# -- run -----------------------------------------------------------------------------------
PRICE_TERMS = ("total", "between", "within", "within_selection", "transmission", "residual")


def run(cfg: GardConfig, rec) -> None:
    rng = np.random.default_rng(cfg.seed)  # every draw below comes from it, in this order
    chem = draw_chemistry(cfg, rng)
    T = cfg.n_types
    rec.set_total(cfg.generations)

    # 1. one lineage: composition at each split
    comps = np.empty((cfg.generations, T), dtype=np.int64)  # (G, T)
    events = np.empty(cfg.generations)  # (G,)
    n0 = np.bincount(rng.integers(T, size=cfg.seed_molecules), minlength=T)
    for g, (comp, ev, t) in enumerate(lineage(chem, n0, cfg.generations, cfg.n_max, rng)):
        comps[g], events[g] = comp, ev
        rec.log(g, **{"gard/events": ev, "gard/time": t, "gard/richness": int(np.count_nonzero(comp))})
    H = consecutive_similarity(comps)  # (G-1,)
    nd = non_drift(comps, cfg.threshold)  # (G,)
    # both rules every run, so a sweep can compare them; the config's rule labels the generations
    cts = {rule: find_compotypes(comps, cfg.threshold, seed=cfg.seed, k_max=cfg.max_compotypes, rule=rule)
           for rule in ("silhouette", "threshold")}
    ct = cts[cfg.compotype_rule]
    steps = np.arange(cfg.generations)
    rec.log_many("gard/similarity", steps[1:], H)
    rec.log_many("gard/non_drift", steps, nd)
    rec.log_many("gard/compotype", steps, ct.labels)
    rec.artefact("compositions", comps)
    rec.artefact("compotype_centroids", ct.centroids)
    # the first eight numbers are the ones `emergelab run/sweep` print per run (its closing table)
    head = dict(
        mean_similarity=float(H.mean()), non_drift_fraction=float(nd.mean()),
        n_compotypes_silhouette=cts["silhouette"].k, n_compotypes_threshold=cts["threshold"].k,
        # locked (1/0): the lineage (almost) never drifts: >= 95% non-drift generations, it stays
        # in the compotype it first falls into. Its assemblies then look alike, so selection
        # between them has little to act on (docs/worlds/gard.md, seed table)
        locked=int(nd.mean() >= 0.95),
    )
    rest = dict(
        n_compotypes=ct.k, similar_fraction=float((H > cfg.threshold).mean()), compotype_sizes=ct.sizes,
        compotype_coherence=ct.coherence, compotype_silhouette=ct.silhouette,
        largest_compotype_fraction=float(ct.sizes[0] / cfg.generations) if ct.k else 0.0,
        events_per_generation=float(events.mean()),
    )
    rec.summarize(**head)

    # 2. the Moran population: multilevel Price equation per window
    if cfg.price_windows == 0:
        rec.summarize(**rest)
        return
    u = Uniforms(rng)
    pop = []
    for _ in range(cfg.n_assemblies):  # independent seeds: each finds its own compotype
        types = rng.integers(T, size=cfg.seed_molecules)
        pop.append(Assembly(chem, types, np.zeros_like(types), cfg.n_max))
        pop[-1].schedule(0.0, u())
    t, rows = 0.0, []
    for win in range(cfg.price_burn_in + cfg.price_windows):
        t, inputs, reseeds = price_window(chem, pop, t, cfg.n_max, u, rng,
                                          cfg.seed_molecules if cfg.reseed else 0)
        if win < cfg.price_burn_in:
            continue
        p = price_equation(*inputs)
        rows.append({"window": win - cfg.price_burn_in, "time": t, "trait": p.z_bar, "w_bar": p.w_bar,
                     **{k: getattr(p, k) for k in PRICE_TERMS}, "reseeded": reseeds,
                     "alive": sum(a.N > 0 for a in pop)})
        rec.log(win - cfg.price_burn_in,
                **{f"price/{k}": rows[-1][k] for k in ("trait", *PRICE_TERMS, "reseeded", "alive")})
    import pandas as pd  # lazily: listing the worlds stays instant

    df = pd.DataFrame(rows)
    rec.artefact("price", df)
    rec.summarize(
        price_between_positive_fraction=float((df["between"] > 0).mean()),
        **{f"price_{k}": float(df[k].mean()) for k in PRICE_TERMS if k != "residual"}, **rest,
        price_residual_max=float(df["residual"].abs().max()),
        price_trait=float(df["trait"].mean()), price_windows=len(df),
        price_reseeded=int(df["reseeded"].sum()), price_alive_min=int(df["alive"].min()),
    )


def summarize(curves) -> dict[str, Any]:
    """Mean consecutive similarity and the non-drift fraction, from the logged curves."""
    out: dict[str, Any] = {}
    if "gard/similarity" in curves:
        out["mean_similarity"] = float(curves["gard/similarity"].dropna().mean())
    if "gard/non_drift" in curves:
        out["non_drift_fraction"] = float(curves["gard/non_drift"].dropna().mean())
    return out


register(World(
    name="gard",
    paper="Chemical Heredity as Group Selection at the Molecular Level (2018); D. Segre, D. Ben-Eli, "
          "D. Lancet (2000), Compositional genomes: prebiotic information transfer in mutually "
          "catalytic noncovalent assemblies",
    effect="compositional inheritance without templates (non-drift generations, compotypes) and "
           "between-assembly selection of catalytic molecules (multilevel Price equation)",
    config=GardConfig,
    run=run,
    presets={
        # the authors' MATLAB code (tgs_parameters_v10.m, tgs_agard_v10.m, tgs_acluster.m,
        # population_gard_nmin_v10.m): the defaults, spelled out
        "paper": {"seed_molecules": 50, "generations": 500, "compotype_rule": "silhouette", "reseed": True},
        # the lab's earlier choices (SCIENCE C2's checked signature is at 2,000 generations)
        "lab": {"seed_molecules": 10, "generations": 2000, "compotype_rule": "threshold", "reseed": False},
        "quick": {"price_windows": 10, "price_burn_in": 2, "n_assemblies": 12},
        "tiny": {"generations": 60, "price_windows": 2, "price_burn_in": 1, "n_assemblies": 4},
    },
    watch=("gard/similarity",),
    summarize=summarize,
    look_for="gard/similarity sits near 1 for long stretches (a compotype is inherited), broken by "
             "drops when the lineage drifts to another composition; non_drift_fraction and the "
             "compotype counts under both rules in the summary; price_between > 0 in most windows: "
             "assemblies rich in catalysts split more, unless the chemistry is locked into one "
             "compotype (locked=1), where its sign is a coin toss.",
))
