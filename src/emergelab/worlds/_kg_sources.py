"""Where the knowledge graph's local graphs come from: a hidden concept graph, a word
co-occurrence graph of a text corpus, or a language model.

concept_graph  a hidden graph of labelled concepts ("solar lattice", "neural circuit", ...; two
               word lists, so labels are distinct in meaning) of a chosen shape: ba
               (Barabási-Albert, scale-free), er (Erdős-Rényi, not scale-free) or ws
               (Watts-Strogatz). Asked about a concept, it reveals the concept and up to
               `reveal` of its neighbours with the edges among them; each label is written
               as a surface variant (plural, title case, "N of A", hyphenated) with
               probability `variant_rate`, as a language model would vary its wording. Since
               the truth is known, coverage, duplicates and false merges can be scored.
cooccurrence   the same oracle over the co-occurrence graph of content words within sentences
               of the Python reference documentation, the text corpus every Python ships
               (pydoc_data.topics); a word's strongest co-occurrences are revealed first.
llm            a language model asked for a JSON graph around a concept (schema below);
               `scripted` answers from the concept graph, so the prompt/parse path is tested.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np

ADJ = ("quantum", "optical", "neural", "thermal", "magnetic", "genetic", "social", "urban", "marine", "solar",
       "digital", "chemical", "acoustic", "seismic", "cellular", "economic", "linguistic", "glacial", "volcanic",
       "tropical", "medieval", "orbital", "nuclear", "viral", "legal", "musical", "financial", "agricultural",
       "electric", "robotic", "cognitive", "mechanical", "botanical", "coastal", "cosmic", "molecular",
       "statistical", "culinary", "military", "athletic")  # fmt: skip
NOUN = ("lattice", "network", "memory", "signal", "cascade", "pattern", "engine", "circuit", "model", "field",
        "sensor", "protocol", "pathway", "archive", "gradient", "cycle", "theory", "map", "filter", "market",
        "language", "vessel", "membrane", "storm", "crystal", "garden", "bridge", "clock", "code", "ladder",
        "mirror", "swarm", "tower", "river", "spiral", "canvas", "compass", "furnace", "harbor", "library")  # fmt: skip
RELATIONS = ("relates to", "enables", "is part of", "influences", "contrasts with", "depends on")
SCHEMA = {"type": "object", "properties": {
    "nodes": {"type": "array", "items": {"type": "string"}},
    "edges": {"type": "array", "items": {"type": "object", "properties": {
        "source": {"type": "string"}, "target": {"type": "string"}, "relation": {"type": "string"}},
        "required": ["source", "target"]}}}, "required": ["nodes", "edges"]}  # fmt: skip
_STOP = set("""this that with from have been were which when where what there their they them then than
also into only other such more most some these those each will would should could about after before
under over same used uses using must does done make made many much very just like your yours ours here
between through because while both either neither whether first last next following""".split())


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


class Oracle:
    """A hidden graph with a label per node; reveals local graphs around asked nodes."""

    def __init__(self, labels: list[str], edges: np.ndarray, weights: np.ndarray | None, rng, variant_rate: float,
                 reveal: int) -> None:  # fmt: skip
        self.labels = labels
        n = len(labels)
        self.adj: list[np.ndarray] = [np.zeros(0, int)] * n
        e = np.concatenate([edges, edges[:, ::-1]])  # both directions
        w = np.concatenate([weights, weights]) if weights is not None else None
        order = np.lexsort((-w if w is not None else rng.random(len(e)), e[:, 0]))  # by node, strongest first
        e = e[order]
        starts = np.searchsorted(e[:, 0], np.arange(n + 1))
        self.adj = [e[starts[i]:starts[i + 1], 1] for i in range(n)]
        self.edge_set = {(min(a, b), max(a, b)) for a, b in edges.tolist()}
        self.ranked = weights is not None  # co-occurrence: strongest first; else a random sample
        self.rng, self.variant_rate, self.reveal = rng, variant_rate, reveal
        self.index = {lab: i for i, lab in enumerate(labels)}  # every form written so far -> hidden id

    def variant(self, i: int) -> str:
        lab = self.labels[i]
        if self.rng.random() >= self.variant_rate or " " not in lab:
            return lab
        a, n = lab.split(" ", 1)
        out = (f"{a} {_plural(n)}", lab.title(), f"{n} of {a}", f"{a}-{n}")[self.rng.integers(4)]
        self.index.setdefault(out, i)
        return out

    def local(self, hidden: list[int]) -> tuple[list[tuple[str, int]], list[tuple[int, int, str]]]:
        """(nodes as (label as written, hidden id), edges as (i, j, relation) over those nodes)."""
        ids: list[int] = []
        for h in hidden:
            nb = self.adj[h]
            if len(nb) > self.reveal:
                nb = nb[:self.reveal] if self.ranked else self.rng.choice(nb, self.reveal, replace=False)
            ids += [h, *nb.tolist()]
        ids = list(dict.fromkeys(ids))
        pos = {h: k for k, h in enumerate(ids)}
        edges = [(pos[a], pos[b], RELATIONS[(a + b) % len(RELATIONS)]) for a in ids for b in self.adj[a]
                 if b in pos and a < b]  # fmt: skip
        return [(self.variant(h), h) for h in ids], edges


def concept_oracle(shape: str, n: int, m: int, rng, variant_rate: float, reveal: int) -> Oracle:
    import igraph as ig

    from emergelab.measures.networks import seeded

    if n > len(ADJ) * len(NOUN):
        raise ValueError(f"hidden_nodes must be <= {len(ADJ) * len(NOUN)} (the concept vocabulary)")
    pick = rng.permutation(len(ADJ) * len(NOUN))[:n]
    labels = [f"{ADJ[k // len(NOUN)]} {NOUN[k % len(NOUN)]}" for k in pick]
    with seeded(int(rng.integers(2**31))):
        if shape == "ba":
            g = ig.Graph.Barabasi(n, m)
        elif shape == "er":
            g = ig.Graph.Erdos_Renyi(n, m=n * m)
        else:  # ws: a ring lattice of mean degree 2m with 10 % of edges rewired
            g = ig.Graph.Watts_Strogatz(1, n, m, 0.1)
    g.simplify()
    return Oracle(labels, np.asarray(g.get_edgelist(), dtype=int).reshape(-1, 2), None, rng, variant_rate, reveal)


def cooccurrence_oracle(n: int, rng, reveal: int) -> Oracle:
    """Content words of the Python reference documentation linked by sentence co-occurrence;
    the n most frequent words, edges weighted by how many sentences hold both."""
    from pydoc_data.topics import topics

    sentences = re.split(r"[.!?]\s", " ".join(topics.values()).lower())
    words = [[w for w in dict.fromkeys(re.findall(r"[a-z]{4,}", s)) if w not in _STOP] for s in sentences]
    freq = Counter(w for s in words for w in s)
    vocab = [w for w, _ in freq.most_common(n)]
    index = {w: i for i, w in enumerate(vocab)}
    pairs: Counter = Counter()
    for s in words:
        ids = sorted(index[w] for w in s if w in index)
        pairs.update((a, b) for k, a in enumerate(ids) for b in ids[k + 1:])
    keep = [(p, c) for p, c in pairs.items() if c >= 3]  # a pair seen in >= 3 sentences
    edges = np.array([p for p, _ in keep], dtype=int).reshape(-1, 2)
    return Oracle(vocab, edges, np.array([c for _, c in keep], dtype=float), rng, 0.0, reveal)


def prompt(labels: list[str], reveal: int) -> list[dict]:
    about = labels[0] if len(labels) == 1 else " and ".join(labels)
    return [{"role": "system", "content": "You build knowledge graphs. Answer with JSON only: "
             '{"nodes": [concept, ...], "edges": [{"source": concept, "target": concept, "relation": verb}]}.'},
            {"role": "user", "content": f"List up to {reveal} concepts closely related to {about}, and the "
             "relations between them and it."}]  # fmt: skip


def parse_local(value) -> tuple[list[str], list[tuple[int, int, str]]]:
    """A parsed JSON graph -> (labels, edges as index pairs); edges to unnamed nodes add them."""
    if not isinstance(value, dict):
        return [], []
    labels = [str(x).strip() for x in value.get("nodes", []) if str(x).strip()]
    pos = {lab: k for k, lab in enumerate(dict.fromkeys(labels))}
    labels = list(pos)
    edges = []
    for e in value.get("edges", []) if isinstance(value.get("edges"), list) else []:
        if not isinstance(e, dict):
            continue
        a, b = str(e.get("source", "")).strip(), str(e.get("target", "")).strip()
        if not a or not b or a == b:
            continue
        for x in (a, b):
            if x not in pos:
                pos[x] = len(labels)
                labels.append(x)
        edges.append((pos[a], pos[b], str(e.get("relation", "relates to"))[:40]))
    return labels, edges


def scripted_policy(oracle: Oracle):
    """A stand-in 'model' that answers from the hidden concept graph, in the schema's JSON."""

    def policy(req) -> str:
        text = req.messages[-1]["content"]
        about = text.split("closely related to ", 1)[-1].split(", and the relations")[0]
        hidden = [oracle.index[x] for x in about.split(" and ") if x in oracle.index]
        nodes, edges = oracle.local(hidden)
        labels = [lab for lab, _ in nodes]
        return json.dumps({"nodes": labels, "edges": [{"source": labels[a], "target": labels[b], "relation": r}
                                                      for a, b, r in edges]})  # fmt: skip

    policy.__name__ = "concept_oracle"
    return policy
