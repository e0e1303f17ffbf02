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

Model (SCIENCE C2). T = n_types molecule types, environment concentration rho_i = 1/T;
the chemistry beta (T, T) ~ lognormal(beta_mu, beta_sigma), drawn once per run: beta[i, j]
is how much one molecule of type j speeds up the joining and leaving of type i. With n the
counts (T,) and N = sum n:
    join rate of type i   kf rho_i N (1 + (beta n)_i / N)
    leave rate of type i  kb n_i (1 + (beta n)_i / N)
simulated event by event (exact Gillespie SSA). At N = n_max the assembly splits: n_max/2
molecules sampled without replacement seed the next generation, the rest is its sibling.
The first generation grows from `seed_molecules` molecules drawn from the environment.

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
   credited to it and to its offspring, in assemblies that were not replaced.

Logged per generation g (lineage): gard/similarity (H with generation g-1; from g=1),
gard/events, gard/time (Gillespie time to grow), gard/richness (types present at the
split), and at the end gard/non_drift (0/1) and gard/compotype (-1: drift).
Logged per Price window w: price/total (w̄Δz̄), price/between (Cov_k(W_k, Z_k)),
price/within (E_k[W_k Δz_k]), price/within_selection, price/transmission,
price/residual (total - between - within), price/trait (mean z).

Measured (paper preset, seeds 0-3; tests/science/test_gard_science.py): mean consecutive H
0.93, 0.90, 0.90, 0.88 (mean 0.90; SCIENCE checked ~0.91), non-drift 81%, 59%, 55%, 51%
(mean 61%; checked ~63%), 2, 4, 4, 4 compotypes. Some chemistries lock into one compotype
(seeds 4, 5: H 0.98, >99% non-drift). Without catalysis (beta_mu=-20): H 0.75, no non-drift
generation. Price: the between-assembly term is positive (mean over windows 0.66, 5.1, 1.1,
9.4; positive in 75-95% of windows): assemblies rich in catalysts leave more molecules.
Within assemblies, catalysts leave many offspring (within_selection >> 0) that are less
catalytic than they are (transmission << 0), so the mean trait stays put (total ~ 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from emergelab.lab.config import param
from emergelab.lab.registry import World, register
from emergelab.measures.compotypes import consecutive_similarity, find_compotypes, non_drift
from emergelab.measures.price import price_equation


@dataclass(frozen=True)
class GardConfig:
    seed: int = param(0, "seeds the chemistry beta, the seed molecules and every event (numpy default_rng)")
    n_types: int = param(100, "NG: molecule types in the environment (rho_i = 1/NG each)")
    beta_mu: float = param(-4.0, "chemistry: beta ~ lognormal(beta_mu, beta_sigma), the mean of log beta")
    beta_sigma: float = param(4.0, "chemistry: the standard deviation of log beta")
    kf: float = param(0.01, "join (forward) rate constant")
    kb: float = param(1e-4, "leave (backward) rate constant")
    n_max: int = param(100, "an assembly splits in two halves when it reaches n_max molecules")
    seed_molecules: int = param(10, "molecules drawn from the environment to start the first generation")
    generations: int = param(2000, "generations of the single lineage (one composition per split)")
    threshold: float = param(0.9, "non-drift: mean H with the neighbouring generations > threshold")
    n_assemblies: int = param(16, "Price: assemblies (groups) in the Moran population")
    price_windows: int = param(20, "Price: measured windows of n_assemblies splits each (0: skip)")
    price_burn_in: int = param(4, "Price: windows run before measuring, to forget the seeds")

    def __post_init__(self) -> None:
        for k, lo in (("n_types", 2), ("n_max", 4), ("generations", 3), ("n_assemblies", 2),
                      ("price_windows", 0), ("price_burn_in", 0)):
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


# -- a population of assemblies, for the Price equation ------------------------------------
class Uniforms:
    """Uniform [0, 1) floats from rng, drawn 4,096 at a time (one numpy call per chunk)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.buf, self.k = rng, [], 0

    def __call__(self) -> float:
        if self.k == len(self.buf):
            self.buf, self.k = self.rng.random(4096).tolist(), 0
        self.k += 1
        return self.buf[self.k - 1]


class Assembly:
    """One assembly that knows each molecule's type and tag (the molecule present at the
    start of the window that it descends from). Slots 0..N-1 of types/tags are in use."""

    __slots__ = ("N", "nl", "PQ", "w", "cs", "types", "tags", "t_next")

    def __init__(self, chem: Chemistry, types: np.ndarray, tags: np.ndarray, n_max: int) -> None:
        self.N = N = len(types)
        self.types = np.zeros(n_max, dtype=np.int64)
        self.tags = np.zeros(n_max, dtype=np.int64)
        self.types[:N], self.tags[:N] = types, tags
        n = np.bincount(types, minlength=chem.T)
        self.nl = n.tolist()
        self.PQ = chem.state(n)  # (2, T) [P; Q] as in Chemistry
        self.w, self.cs = np.empty(chem.T), np.empty(chem.T)
        self.t_next = math.inf

    def schedule(self, t: float, u: float) -> None:
        """Rates for the current state and the time of the next event after t."""
        np.multiply(self.PQ[0], self.PQ[1], out=self.w)
        np.add.accumulate(self.w, out=self.cs)
        R = self.cs.item(-1) / self.N if self.N else 0.0  # total rate; 0: an empty assembly is dead
        self.t_next = t - math.log(1.0 - u) / R if R > 0 else math.inf

    def event(self, chem: Chemistry, u: Uniforms) -> None:
        """One Gillespie event, with the molecule-level parentage of a join."""
        N, types, tags = self.N, self.types, self.tags
        j = int(self.cs.searchsorted(u() * self.cs.item(-1)))
        if u() * (chem.kr * N + chem.kb * self.nl[j]) < chem.kr * N:  # join of type j
            # its parent: a molecule m present, with weight 1 + beta[j, type_m]
            c = np.add.accumulate(chem.beta1[j][types[:N]])  # (N,)
            m = int(c.searchsorted(u() * c.item(-1)))
            types[N], tags[N] = j, tags[m]
            np.add(self.PQ, chem.rows[j], out=self.PQ)
            self.nl[j] += 1
            self.N = N + 1
        else:  # one molecule of type j, any of them, leaves
            idx = np.flatnonzero(types[:N] == j)
            m = int(idx[int(u() * len(idx))])
            types[m], tags[m] = types[N - 1], tags[N - 1]  # the last slot fills the gap
            np.subtract(self.PQ, chem.rows[j], out=self.PQ)
            self.nl[j] -= 1
            self.N = N - 1


def price_window(chem: Chemistry, pop: list[Assembly], t: float, n_max: int, u: Uniforms,
                 rng: np.random.Generator) -> tuple[float, tuple]:
    """Run the Moran population until len(pop) splits; return (time, Price inputs).

    Price inputs: (groups, traits, offspring, offspring_traits), one entry per molecule
    present at the start (the census), as measures.price.price_equation takes them.
    """
    A, h = len(pop), n_max // 2
    groups = np.concatenate([np.full(a.N, k) for k, a in enumerate(pop)])  # (M,) assembly at census
    z = chem.power[np.concatenate([a.types[: a.N] for a in pop])]  # (M,) catalytic power
    start = 0
    for a in pop:  # every molecule at the census is its own tag
        a.tags[: a.N] = np.arange(start, start + a.N)
        start += a.N
    times = np.array([a.t_next for a in pop])  # (A,) each assembly's next event
    for _ in range(A):
        while True:  # events, earliest first, until some assembly reaches n_max
            k = int(times.argmin())
            a = pop[k]
            t = a.t_next
            if t == math.inf:
                raise RuntimeError("every assembly lost all its molecules: lower kb or raise kf")
            a.event(chem, u)
            if a.N == n_max:
                break
            a.schedule(t, u())
            times[k] = a.t_next
        # split: one half stays in slot k, the other replaces a random other assembly
        perm = rng.permutation(n_max)
        r = int(rng.integers(A - 1))
        r += r >= k
        for slot, half in ((k, perm[:h]), (r, perm[h:])):
            pop[slot] = Assembly(chem, a.types[half], a.tags[half], n_max)
            pop[slot].schedule(t, u())
            times[slot] = pop[slot].t_next
    # end census: whom each molecule now present descends from
    tags = np.concatenate([a.tags[: a.N] for a in pop])
    zs = chem.power[np.concatenate([a.types[: a.N] for a in pop])]
    w = np.bincount(tags, minlength=len(z)).astype(float)  # (M,) offspring per census molecule
    z_off = np.bincount(tags, weights=zs, minlength=len(z)) / np.maximum(w, 1)
    z_off[w == 0] = np.nan  # no offspring: no offspring trait
    return t, (groups, z, w, z_off)


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
    ct = find_compotypes(comps, cfg.threshold, seed=cfg.seed)
    steps = np.arange(cfg.generations)
    rec.log_many("gard/similarity", steps[1:], H)
    rec.log_many("gard/non_drift", steps, nd)
    rec.log_many("gard/compotype", steps, ct.labels)
    rec.artefact("compositions", comps)
    rec.artefact("compotype_centroids", ct.centroids)
    rec.summarize(
        mean_similarity=float(H.mean()), similar_fraction=float((H > cfg.threshold).mean()),
        non_drift_fraction=float(nd.mean()), n_compotypes=ct.k, compotype_sizes=ct.sizes,
        compotype_coherence=ct.coherence, events_per_generation=float(events.mean()),
    )

    # 2. the Moran population: multilevel Price equation per window
    if cfg.price_windows == 0:
        return
    u = Uniforms(rng)
    pop = []
    for _ in range(cfg.n_assemblies):  # independent seeds: each finds its own compotype
        types = rng.integers(T, size=cfg.seed_molecules)
        pop.append(Assembly(chem, types, np.zeros_like(types), cfg.n_max))
        pop[-1].schedule(0.0, u())
    t, rows = 0.0, []
    for win in range(cfg.price_burn_in + cfg.price_windows):
        t, inputs = price_window(chem, pop, t, cfg.n_max, u, rng)
        if win < cfg.price_burn_in:
            continue
        p = price_equation(*inputs)
        rows.append({"window": win - cfg.price_burn_in, "time": t, "trait": p.z_bar, "w_bar": p.w_bar,
                     **{k: getattr(p, k) for k in PRICE_TERMS}})
        rec.log(win - cfg.price_burn_in, **{f"price/{k}": rows[-1][k] for k in ("trait", *PRICE_TERMS)})
    import pandas as pd  # lazily: listing the worlds stays instant

    df = pd.DataFrame(rows)
    rec.artefact("price", df)
    rec.summarize(
        **{f"price_{k}": float(df[k].mean()) for k in PRICE_TERMS if k != "residual"},
        price_residual_max=float(df["residual"].abs().max()),
        price_between_positive_fraction=float((df["between"] > 0).mean()),
        price_trait=float(df["trait"].mean()), price_windows=len(df),
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
        "paper": {},
        "quick": {"generations": 1000, "price_windows": 10, "price_burn_in": 2, "n_assemblies": 12},
        "tiny": {"generations": 60, "price_windows": 2, "price_burn_in": 1, "n_assemblies": 4},
    },
    watch=("gard/similarity",),
    summarize=summarize,
    look_for="gard/similarity sits near 1 for long stretches (a compotype is inherited), broken by "
             "drops when the lineage drifts to another composition; non_drift_fraction and "
             "n_compotypes in the summary; price_between > 0: assemblies rich in catalysts split more.",
))
