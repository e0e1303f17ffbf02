"""Language measures for any corpus of (meaning, message) pairs, and agreement between labellings.

Papers:
- "Linking Emergent and Natural Languages via Corpus Transfer" (Yao et al. 2022): topographic
  similarity, the popular compositionality metric (there it barely predicts transfer, rho=0.003).
- Chaabouni, Kharitonov, Bouchacourt, Dupoux, Baroni (2020), "Compositionality and
  Generalization in Emergent Languages": posdis and bosdis, and held-out attribute combinations.
- "AI Mother Tongue" (2025): symbol usage follows a power law. Fitted here as Clauset,
  Shalizi & Newman (2009) do: maximum likelihood, xmin by KS distance, Vuong test vs lognormal.
- Hagiwara et al. / Taniguchi et al., the Metropolis-Hastings naming game: ARI against the true
  categories and Cohen's kappa between two agents' signs.

Inputs. meanings: (n, n_attributes), one row per object. messages: (n, max_len) ints, or a list
of n int sequences of any lengths. With eos given, a message ends before its first eos symbol.
All entropies and mutual informations are plug-in estimates in bits.

    topsim    Spearman rho between the n(n-1)/2 pairwise meaning distances (Hamming by default)
              and message distances (edit distance / mean length of the two messages). With
              Hamming meaning distances both take few values, so rho (midranks for ties, as
              scipy's) comes exactly from their joint histogram, and edit distances from Myers'
              bit-parallel algorithm: ~100x EGG's editdistance + spearmanr at 5,000 messages
              (benchmarks/topsim_speed.py); other distances are ranked by sorting.
    posdis    for each position j whose symbol is not constant: (I(s_j; a_first) - I(s_j; a_second))
              / H(s_j), a_first and a_second the attributes sharing most and second most
              information with s_j; averaged over those positions (1: each position names one
              attribute). NaN when every position is constant.
    bosdis    the same on n_v = how often symbol v occurs in the message, for every symbol v
              but eos (1: each symbol names one attribute value wherever it appears); symbols
              after the first eos ignored, or (convention="egg") counted as EGG does.
Also: entropy, mutual_information, message_entropy (of whole messages); edit_distances (all
pairs in pdist order, vectorised: one numpy operation per DP cell for thousands of pairs at
once); powerlaw_fit; adjusted_rand_index and cohen_kappa; meaning_grid and
holdout_combinations for held-out attribute combinations.
"""

from __future__ import annotations

import itertools

import numpy as np

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line
from emergelab.measures._language_inputs import _labels, _meanings, _messages
# edit distances and topsim live in _topsim.py, the power-law fit in powerlaw.py (it serves
# graph degrees too); they are part of this module's API
from emergelab.measures._topsim import (PAIR_CHUNK, edit_distances, paired_edit_distances,  # noqa: F401
                                        topsim)
from emergelab.measures.powerlaw import PowerLawFit, powerlaw_fit  # noqa: F401


# ------------------------------------------------------------------ entropy and information

def _h(codes: np.ndarray) -> float:
    p = np.bincount(codes) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def entropy(labels) -> float:
    """Entropy in bits of the empirical distribution of `labels` (1-D values or 2-D rows)."""
    return _h(_labels("labels", labels))


def mutual_information(x, y) -> float:
    """I(x; y) = H(x) + H(y) - H(x, y) in bits, plug-in, for two labellings of the same items."""
    a, b = _labels("x", x), _labels("y", y)
    if len(a) != len(b):
        raise UserError(f"x and y label {len(a)} and {len(b)} items; pass one label per item in each")
    return _h(a) + _h(b) - _h(a * (b.max() + 1) + b)


def message_entropy(messages, eos: int | None = None) -> float:
    """Entropy in bits of the distribution of whole messages (log2 of the number of distinct
    messages when all are equally frequent)."""
    rows, _ = _messages(messages, eos)
    return _h(_labels("messages", rows))


def _gap(meanings: np.ndarray, reps: np.ndarray) -> float:
    """Mean over non-constant columns r of reps of (top MI - second MI with an attribute) / H(r)."""
    atts = [_labels("meanings", col) for col in meanings.T]
    gaps = []
    for col in reps.T:  # a handful of positions or symbols: the loop is not over items
        r = _labels("messages", col)
        h = _h(r)
        if h > 1e-12:
            mi = sorted((h + _h(a) - _h(r * (a.max() + 1) + a) for a in atts), reverse=True)
            gaps.append((mi[0] - mi[1]) / h)
    return float(np.mean(gaps)) if gaps else float("nan")


def posdis(meanings, messages) -> float:
    """Positional disentanglement (Chaabouni et al. 2020), see the module docstring."""
    m = _meanings(meanings)
    if m.shape[1] < 2:
        raise UserError("posdis needs at least 2 attributes (it compares the best and second-best)")
    rows, _ = _messages(messages, n=len(m))
    return _gap(m, rows)


BOSDIS_CONVENTIONS = ("truncate", "egg")


def bosdis(meanings, messages, eos: int | None = 0, convention: str = "truncate",
           vocab_size: int | None = None) -> float:
    """Bag-of-symbols disentanglement (Chaabouni et al. 2020): posdis on per-symbol counts.

    convention="truncate" (the default): a message ends before its first `eos`; only the symbols
    before it are counted, and eos itself is not a column. It is the default because it counts
    what a listener reads (EGG's own receivers stop at the first 0), and with eos=None every
    symbol, 0 included, is content (fixed-length codes such as the referential game's).
    convention="egg": exactly EGG's Disent.bosdis (egg/core/language_analysis.py): every symbol
    in every position is counted, also those after an eos, and the column of symbol `eos`
    (EGG: always 0, the default) is dropped, so 0 is never content. The two differ only when
    symbols follow the first eos or 0 is a content symbol; on Chaabouni et al.'s appendix 8.2
    example (EGG's doctest) egg gives 1.0 and truncate 0.76.
    vocab_size: count symbols 0..vocab_size-1 only, as EGG does (default: up to the largest).
    """
    m = _meanings(meanings)
    if m.shape[1] < 2:
        raise UserError("bosdis needs at least 2 attributes (it compares the best and second-best)")
    if convention not in BOSDIS_CONVENTIONS:
        raise UserError(f"unknown bosdis convention {convention!r}; use one of {BOSDIS_CONVENTIONS}")
    if vocab_size is not None and vocab_size < 1:
        raise UserError(f"vocab_size must be >= 1, got {vocab_size}")
    rows, _ = _messages(messages, eos if convention == "truncate" else None, n=len(m))
    vocab = vocab_size or (int(rows.max()) + 1 if (rows >= 0).any() else 1)
    counts = np.zeros((len(rows), vocab), dtype=np.int64)  # (n, V)
    r, c = np.nonzero((rows >= 0) & (rows < vocab))  # EGG counts symbols below vocab_size only
    np.add.at(counts, (r, rows[r, c]), 1)
    return _gap(m, np.delete(counts, eos, axis=1) if eos is not None and eos < vocab else counts)


# ------------------------------------------------------------------ agreement between labellings

def adjusted_rand_index(labels_true, labels_pred) -> float:
    """Hubert & Arabie's ARI: 1 for identical partitions (up to renaming), ~0 for random ones."""
    a, b = _labels("labels_true", labels_true), _labels("labels_pred", labels_pred)
    if len(a) != len(b):
        raise UserError(f"labellings of {len(a)} and {len(b)} items; pass one label per item in each")
    table = np.bincount(a * (b.max() + 1) + b, minlength=(a.max() + 1) * (b.max() + 1))
    pairs = lambda c: (c * (c - 1) / 2).sum()  # noqa: E731  (pairs inside each cell/row/column)
    rows = pairs(table.reshape(a.max() + 1, -1).sum(1))
    cols = pairs(table.reshape(a.max() + 1, -1).sum(0))
    expected = rows * cols / (len(a) * (len(a) - 1) / 2) if len(a) > 1 else 0.0
    denom = (rows + cols) / 2 - expected
    return 1.0 if denom == 0 else float((pairs(table) - expected) / denom)


def cohen_kappa(a, b) -> float:
    """Cohen's kappa between two labellings over the same label set: (p_o - p_e) / (1 - p_e)."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if len(a) != len(b) or len(a) == 0:
        raise UserError(f"labellings of {len(a)} and {len(b)} items; pass one label per item in each")
    codes = _labels("labels", np.concatenate([a, b]))  # one shared label set
    ca, cb = codes[:len(a)], codes[len(a):]
    k = codes.max() + 1
    p_o = np.mean(ca == cb)
    p_e = float(np.bincount(ca, minlength=k) @ np.bincount(cb, minlength=k)) / len(a) ** 2
    return 1.0 if p_e == 1 else float((p_o - p_e) / (1 - p_e))


# ------------------------------------------------------------------ held-out attribute combinations

def meaning_grid(n_attributes: int, n_values: int) -> np.ndarray:
    """All n_values ** n_attributes objects, shape (n_values ** n_attributes, n_attributes)."""
    if n_attributes < 1 or n_values < 1:
        raise UserError("n_attributes and n_values must be >= 1")
    return np.array(list(itertools.product(range(n_values), repeat=n_attributes)), dtype=np.int64)


def holdout_combinations(meanings, test_fraction: float = 0.1,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, test_idx): a random test set of about test_fraction of the rows such that every
    (attribute, value) of the test rows still occurs in training, so a test row is a new
    combination of known values (Chaabouni et al. 2020's generalisation split)."""
    m = _meanings(meanings).astype(np.int64)
    if not 0 < test_fraction < 1:
        raise UserError(f"test_fraction must be in (0, 1), got {test_fraction}")
    codes = np.stack([_labels("meanings", col) for col in m.T], 1)  # (n, A) values 0..k_a-1
    left = [np.bincount(c) for c in codes.T]  # training rows holding each value, per attribute
    test = []
    for r in np.random.default_rng(seed).permutation(len(m)):  # greedy over rows, in random order
        if len(test) >= round(test_fraction * len(m)):
            break
        if all(left[a][codes[r, a]] > 1 for a in range(m.shape[1])):
            for a in range(m.shape[1]):
                left[a][codes[r, a]] -= 1
            test.append(r)
    test_idx = np.sort(np.array(test, dtype=np.int64))
    return np.setdiff1d(np.arange(len(m)), test_idx), test_idx
