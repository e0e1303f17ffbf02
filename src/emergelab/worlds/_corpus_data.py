"""Corpora for the corpus-transfer world: the emergent corpus, its controls, the target.

Numpy only. Every corpus is a (D, T) int64 array of documents of equal length. A document
describes a *scene walk*: a sequence of `n_sentences` objects of the game's world
(n_attributes x n_values), each differing from the one before in one attribute, chosen at
random, set to another random value. The walk is what the two languages have in common: the
pre-training documents name each object with its emergent message, the target documents with
a sentence of the toy natural language. A separator (id vocab, one past the symbols) follows
every message, as the period follows every sentence, so a document is
    m_1 SEP m_2 SEP ... m_k SEP      (k * (max_len + 1) tokens)
Why walks and not a list of the 256 objects: a language model over isolated fixed-length
messages of uniformly drawn objects can learn little beyond per-position symbol counts; in a
walk, the next message is predictable from the last one exactly in so far as the code names
each attribute by its own part (compositionality), which is the structure the paper argues
emergent and natural languages share.
"""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError

# The toy natural language's lexicon: one word class per attribute, up to 8 values each;
# beyond that (or beyond 6 attributes) words are named by class and index, e.g. "w6_3".
_LEXICON = (
    ("tiny", "small", "mid", "big", "huge", "vast", "wee", "giant"),
    ("red", "green", "blue", "grey", "pink", "black", "white", "brown"),
    ("wooden", "metal", "glass", "paper", "stone", "cloth", "clay", "rubber"),
    ("ball", "box", "cone", "ring", "cube", "disc", "star", "rod"),
    ("left", "right", "top", "bottom", "front", "back", "middle", "edge"),
    ("still", "moving", "falling", "rolling", "spinning", "sliding", "floating", "bouncing"),
)


def walks(rng: np.random.Generator, n_docs: int, n_sentences: int, n_attributes: int,
          n_values: int) -> np.ndarray:
    """Scene walks: (n_docs, n_sentences, n_attributes) attribute values. The first object is
    uniform; each next one changes one uniformly chosen attribute to another value."""
    out = np.empty((n_docs, n_sentences, n_attributes), dtype=np.int64)
    out[:, 0] = rng.integers(n_values, size=(n_docs, n_attributes))
    for k in range(1, n_sentences):
        cur = out[:, k - 1].copy()  # (D, A)
        a = rng.integers(n_attributes, size=n_docs)  # which attribute changes
        shift = rng.integers(1, n_values, size=n_docs)  # never back to the same value
        rows = np.arange(n_docs)
        cur[rows, a] = (cur[rows, a] + shift) % n_values
        out[:, k] = cur
    return out


def object_ids(objs: np.ndarray, n_values: int) -> np.ndarray:
    """Row-major object ids of attribute tuples (..., A), as measures.language.meaning_grid
    enumerates them (attribute 0 varies slowest)."""
    A = objs.shape[-1]
    return (objs * n_values ** np.arange(A - 1, -1, -1)).sum(-1)


def render(walk: np.ndarray, table: np.ndarray, sep: int) -> np.ndarray:
    """Documents (D, K * (L + 1)): each object of a walk (D, K, A) replaced by its row of
    `table` (M, L) (messages or sentences by object id), each followed by `sep`."""
    D, K, _ = walk.shape
    msgs = table[object_ids(walk, _n_values(walk, table))]  # (D, K, L)
    docs = np.concatenate([msgs, np.full((D, K, 1), sep, dtype=np.int64)], axis=2)  # (D, K, L+1)
    return docs.reshape(D, -1)


def _n_values(walk: np.ndarray, table: np.ndarray) -> int:
    # the table has one row per object: M = n_values ** A
    A = walk.shape[-1]
    n = round(len(table) ** (1.0 / A))
    if n ** A != len(table):
        raise ValueError(f"table of {len(table)} rows is not n_values ** {A} objects")
    return n


def message_table(meanings: np.ndarray, messages: np.ndarray, n_values: int) -> np.ndarray:
    """(n_values ** A, L) messages by object id from a corpus's (meaning, message) rows; a
    UserError when an object of the grid has no message."""
    M = n_values ** meanings.shape[1]
    table = np.full((M, messages.shape[1]), -1, dtype=np.int64)
    table[object_ids(meanings, n_values)] = messages
    if (table < 0).any():
        raise UserError(f"the emergent corpus names {int((table[:, 0] >= 0).sum())} of the {M} objects: "
                        "use a referential_game run whose corpus artefact has every object")
    return table


def shuffled(docs: np.ndarray, sep: int, rng: np.random.Generator, how: str) -> np.ndarray:
    """The shuffled control: the same symbols, the separators in place. between: every
    symbol token of the corpus permuted at random (unigram counts kept, all order gone);
    within: the symbols of each message permuted (each message's bag of symbols kept, the
    positions that carry an attribute in a compositional code lost)."""
    out = docs.copy()
    if how == "between":
        sym = out != sep
        out[sym] = rng.permutation(out[sym])
        return out
    D, T = docs.shape
    L = int(np.flatnonzero(docs[0] == sep)[0])  # message length: every message is max_len long
    msgs = out.reshape(D, T // (L + 1), L + 1)[:, :, :L]  # (D, K, L) view of the symbols
    order = rng.random(msgs.shape).argsort(-1)  # an independent permutation per message
    out.reshape(D, T // (L + 1), L + 1)[:, :, :L] = np.take_along_axis(msgs, order, -1)
    return out


def random_tokens(docs: np.ndarray, sep: int, vocab: int, rng: np.random.Generator) -> np.ndarray:
    """The random control: uniform symbols in place of every symbol, separators kept."""
    out = docs.copy()
    sym = out != sep
    out[sym] = rng.integers(vocab, size=int(sym.sum()))
    return out


def holistic_table(table: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The holistic control: the emergent messages reassigned among the objects at random.
    The same messages and symbol counts, but a message no longer shares parts with the
    messages of similar objects (topsim ~ 0): a language of unanalysable names."""
    return table[rng.permutation(len(table))]


def target_language(n_attributes: int, n_values: int, rng: np.random.Generator):
    """The toy natural language: (sentences (M, A) word ids by object id, words (V,) str).
    A sentence names each attribute by a word of its own class, in a seeded word order
    (e.g. "big red glass ball", or "ball red big glass"), and ends with "." (id V - 1 is
    the period; it is the separator of `render`). Word ids: class-major, then the period."""
    from emergelab.measures.language import meaning_grid

    order = rng.permutation(n_attributes)  # slot j of a sentence names attribute order[j]
    words = [(_LEXICON[a][v] if a < len(_LEXICON) and v < len(_LEXICON[a]) else f"w{a}_{v}")
             for a in range(n_attributes) for v in range(n_values)] + ["."]
    meanings = meaning_grid(n_attributes, n_values)  # (M, A)
    sentences = order * n_values + meanings[:, order]  # (M, A): word id of slot j
    return sentences.astype(np.int64), np.array(words, dtype=object)


def corpus_frame(frame) -> tuple[np.ndarray, np.ndarray]:
    """(meanings (M, A), messages (M, L)) from a referential_game `corpus` artefact frame
    (columns attr_*, sym_*); a UserError when it has no rows or no such columns."""
    attrs = sorted((c for c in frame.columns if str(c).startswith("attr_")), key=lambda c: int(c[5:]))
    syms = sorted((c for c in frame.columns if str(c).startswith("sym_")), key=lambda c: int(c[4:]))
    if len(frame) == 0 or not attrs or not syms:
        raise UserError("the emergent corpus is empty (no rows, or no attr_*/sym_* columns): use a "
                        "referential_game run that finished and stored its corpus artefact")
    return frame[attrs].to_numpy(np.int64), frame[syms].to_numpy(np.int64)
