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
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special, stats
from scipy.spatial.distance import pdist

from emergelab.errors import UserError  # a ValueError that the CLI prints as one line

PAIR_CHUNK = 1 << 13  # pairs per edit-distance block: (max_len, chunk) int16 arrays stay in cache


# ------------------------------------------------------------------ input checks

def _labels(name: str, x) -> np.ndarray:
    """Any 1-D labelling (ints, strings) as codes 0..k-1, or a 2-D array's rows as codes."""
    arr = np.asarray(x)
    if arr.ndim not in (1, 2) or len(arr) == 0:
        raise UserError(f"{name} must be a non-empty 1-D array of labels (or 2-D, one row each), "
                        f"got shape {arr.shape}")
    return np.unique(arr, axis=0 if arr.ndim == 2 else None, return_inverse=True)[1].ravel()


def _meanings(meanings, n_min: int = 2) -> np.ndarray:
    try:
        m = np.asarray(meanings, dtype=float)
    except (TypeError, ValueError):
        raise UserError("meanings must be numeric, shape (n, n_attributes); encode categorical "
                        "attributes as integers") from None
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or len(m) < n_min or not np.isfinite(m).all():
        raise UserError(f"meanings must be a finite (n, n_attributes) array with n >= {n_min}, "
                        f"got shape {m.shape}")
    return m


def _messages(messages, eos: int | None = None, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(padded (n, L) int64 with -1 after each message's end, lengths (n,))."""
    if isinstance(messages, np.ndarray) and messages.ndim == 2:
        rows, lengths = messages, np.full(len(messages), messages.shape[1])
    else:  # a list of sequences, maybe of different lengths: pad with -1
        seqs = [np.atleast_1d(np.asarray(s)).ravel() for s in messages]
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        rows = np.full((len(seqs), max(lengths.max(initial=0), 1)), -1, dtype=np.int64)
        for i, s in enumerate(seqs):  # one copy per message, not per pair
            rows[i, :len(s)] = s
    if not (np.issubdtype(rows.dtype, np.integer) or np.issubdtype(rows.dtype, np.floating)) or (
            rows.size and not np.all(rows == np.round(rows))):
        raise UserError("messages must hold integer symbols; map your tokens to ints 0, 1, ... first")
    rows = rows.astype(np.int64)
    if (n is not None and len(rows) != n) or len(rows) == 0:
        raise UserError(f"got {len(rows)} messages for {n} meanings; pass one message per meaning")
    inside = np.arange(rows.shape[1]) < lengths[:, None]  # (n, L)
    if (rows[inside] < 0).any():
        raise UserError("messages must hold non-negative symbols (-1 is the padding); shift them first")
    if eos is not None:  # a message ends before its first eos
        lengths = np.argmax(np.c_[np.where(inside, rows, eos), np.full(len(rows), eos)] == eos, 1)
        inside = np.arange(rows.shape[1]) < lengths[:, None]
    return np.where(inside, rows, -1), lengths


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


# ------------------------------------------------------------------ edit distance and topsim

def _pair_blocks(n: int, chunk: int | None = None):
    """Yield (i, j) index arrays of all pairs i < j in pdist's condensed order, ~chunk at a time."""
    chunk = chunk or PAIR_CHUNK
    per_row = n - 1 - np.arange(n - 1)  # pairs that row i starts
    ends = np.cumsum(per_row)
    r0 = 0
    while r0 < n - 1:
        done = ends[r0 - 1] if r0 else 0
        r1 = max(r0 + 1, int(np.searchsorted(ends, done + chunk, side="right")))
        rows = np.arange(r0, r1)
        i = np.repeat(rows, per_row[rows])
        first = np.repeat(np.cumsum(per_row[rows]) - per_row[rows], per_row[rows])
        yield i, i + 1 + (np.arange(len(i)) - first)
        r0 = r1


def _levenshtein(a, la, b, lb) -> np.ndarray:
    """Edit distances of P pairs at once: a (L, P), b (M, P) padded symbols, la, lb (P,) lengths.

    The textbook dynamic programme, D[i, j] = min(D[i-1, j] + 1, D[i, j-1] + 1,
    D[i-1, j-1] + [a_i != b_j]), run for all P pairs together: each cell is one operation on a
    (P,) vector. Pairs lie along the last axis so every operation reads contiguous memory
    (np.minimum.accumulate along the short axis would be ~50x slower).
    """
    M, P = b.shape
    prev = np.repeat(np.arange(M + 1, dtype=np.int16)[:, None], P, axis=1)  # D[0, j] = j: (M + 1, P)
    out = prev[lb, np.arange(P)]  # right for la == 0
    for i in range(1, a.shape[0] + 1):
        cur = np.empty_like(prev)
        cur[0] = i
        np.minimum(prev[:-1] + (a[i - 1] != b), prev[1:] + 1, out=cur[1:])  # substitute or delete
        for j in range(1, M + 1):  # insert: needs the cell to the left, so runs along j
            np.minimum(cur[j], cur[j - 1] + 1, out=cur[j])
        done = np.flatnonzero(la == i)
        out[done] = cur[lb[done], done]
        prev = cur
    return out


def paired_edit_distances(a, b, la, lb) -> np.ndarray:
    """Levenshtein distance of each pair (a[p], b[p]) at once: a (P, L), b (P, M) integer
    symbols, la, lb (P,) their lengths (symbols past a row's length are never read) -> (P,)."""
    a, b = np.asarray(a), np.asarray(b)
    big = max(int(np.abs(a).max(initial=0)), int(np.abs(b).max(initial=0)))
    dt = np.int16 if big < 32000 else np.int64
    d = _levenshtein(a.T.astype(dt), np.asarray(la), b.T.astype(dt), np.asarray(lb))
    return d.astype(np.int64)


def edit_distances(messages, eos: int | None = None, normalise: bool = False) -> np.ndarray:
    """Levenshtein distance of every pair of messages, condensed like scipy's pdist: shape
    (n(n-1)/2,). normalise=True divides each by the mean length of its two messages."""
    return _edit_distances(*_messages(messages, eos), normalise=normalise)


def _edit_distances(rows: np.ndarray, lengths: np.ndarray, normalise: bool) -> np.ndarray:
    n = len(rows)
    out = np.empty(n * (n - 1) // 2)
    scale = lambda d, i, j: d / np.maximum((lengths[i] + lengths[j]) / 2, 1) if normalise else d  # noqa: E731
    if rows.shape[1] > 64:  # too long for one machine word: the cell-by-cell DP
        for start, i, j, d in _edit_blocks(rows, lengths):
            out[start:start + len(i)] = scale(d, i, j)
        return out
    dt, codes, peq, pv0 = _bit_tables(rows, lengths)  # Myers' bit vectors, T rows of pairs at a time
    bcodes = np.ascontiguousarray(codes.T.astype(np.intp))  # (L, n)
    T = max(1, PAIR_CHUNK * 16 // n)
    for r0 in range(0, n - 1, T):
        i, j = np.arange(r0, min(r0 + T, n - 1)), np.arange(r0 + 1, n)
        d = _myers(peq[i], pv0[i], lengths[i], bcodes[:, j], lengths[j], dt)  # (K, T)
        for t, a in enumerate(i):  # row a's pairs (a, a+1..n-1), contiguous in pdist order
            start = a * n - a * (a + 1) // 2
            out[start:start + n - 1 - a] = scale(d[t:, t], a, np.arange(a + 1, n))
    return out


def _edit_blocks(rows: np.ndarray, lengths: np.ndarray):
    """Yield (start, i, j, edit distances) block by block, pairs in pdist's condensed order."""
    cols = rows.T.astype(np.int16 if rows.max(initial=0) < 32000 else np.int64)  # (L, n)
    other = np.where(cols < 0, -2, cols)  # pads (-1 / -2) never match each other
    start = 0
    for i, j in _pair_blocks(len(rows)):
        yield start, i, j, _levenshtein(cols[:, i], lengths[i], other[:, j], lengths[j])
        start += len(i)


MEANING_DISTANCES = ("hamming", "euclidean", "cosine")
MESSAGE_DISTANCES = ("edit", "hamming")
MAX_BINS = 1 << 20  # joint-histogram cells beyond which topsim ranks by sorting instead


def _spearman_binned(hist: np.ndarray) -> float:
    """Spearman rho with ties (midranks, as scipy's spearmanr) from the joint histogram of two
    variables: hist[k, l] = pairs whose first value is the k-th smallest distinct value and whose
    second is the l-th. No sorting: ranks follow from the marginal counts. Computed on exact
    integers (twice the centred midranks) so the only rounding is the final division."""
    h = hist.astype(np.int64)
    a, b = h.sum(1), h.sum(0)
    n = int(a.sum())
    # 2 * (midrank - (n + 1) / 2) = 2 * cumcount - count - n: integers up to 2n
    x = (2 * np.cumsum(a) - a - n).astype(object)  # Python ints: sums of products overflow int64
    y = (2 * np.cumsum(b) - b - n).astype(object)
    nz = np.nonzero(h)
    cov = int((h[nz].astype(object) * x[nz[0]] * y[nz[1]]).sum())
    vx, vy = int((a.astype(object) * x * x).sum()), int((b.astype(object) * y * y).sum())
    return float("nan") if vx == 0 or vy == 0 else cov / math.sqrt(vx * vy)


def _merge_ties(hist: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Columns of hist labelled by (unsorted, possibly equal) float values -> one column per
    distinct value, in increasing order. Equal floats merge exactly as a sort would tie them."""
    uniq, inv = np.unique(values, return_inverse=True)
    out = np.zeros((hist.shape[0], len(uniq)), dtype=np.int64)
    np.add.at(out.T, inv, hist.T)
    return out


def _bit_tables(rows: np.ndarray, lengths: np.ndarray):
    """For Myers' bit-parallel edit distance: (dtype, symbol codes (n, L), match tables (n, V):
    bit W - la + k set where a message's k-th symbol is v, so its last symbol sits on the top bit,
    and first-column vectors (n,): the la top bits). Below a message sit phantom rows that match
    nothing and start at 0: they copy the top row (D = j) down to the message's first symbol."""
    n, L = rows.shape
    W = next(w for w in (16, 32, 64) if L <= w)
    dt = np.dtype(f"uint{W}")
    codes = np.unique(rows, return_inverse=True)[1].reshape(n, L)  # symbols -> 0..V-1 (pads too)
    peq = np.zeros((n, int(codes.max()) + 1), dtype=dt)
    r, k = np.nonzero(np.arange(L) < lengths[:, None])
    np.bitwise_or.at(peq, (r, codes[r, k]), np.left_shift(1, k + W - lengths[r]).astype(dt))
    ones = np.array([(1 << int(x)) - 1 for x in lengths], dtype=object)  # exact up to 64 bits
    pv0 = np.array([int(o) << (W - int(x)) for o, x in zip(ones, lengths)], dtype=object).astype(dt)
    return dt, codes, peq, pv0


def _myers(peq, pv0, la, bcodes, lb, dt):
    """Edit distances (K, T) between K messages given by their symbol codes bcodes (L, K) and
    lengths lb (K,), and T messages given by their bit tables peq (T, V), pv0, la (T,): Myers
    (1999) / Hyyrö (2001) bit-vector algorithm, one DP column per step, each a dozen bitwise
    operations on a (K, T) array. The T messages' tables are the rows of a small (V, T) table, so
    a step's matches are one np.take of whole rows (~10x faster than gathering pair by pair)."""
    K, T = bcodes.shape[1], len(la)
    table = np.ascontiguousarray(peq.T)  # (V, T)
    one, top = dt.type(1), dt.type(dt.itemsize * 8 - 1)
    pv, mv = np.repeat(pv0[None, :], K, 0), np.zeros((K, T), dt)
    ragged = lb.min() < bcodes.shape[0]
    # Equal lengths: the distance is read off the last column's vertical deltas at the end
    # (D[last][L] = L + ones(pv) - ones(mv); phantom rows' deltas are 0), saving 4 of ~21
    # operations per column; ragged lengths (or numpy < 2) track the last row's score instead.
    track = ragged or not hasattr(np, "bitwise_count")
    score = np.repeat(la.astype(dt)[None, :], K, 0) if track else None  # D[last row][0] = la
    res = np.where(lb[:, None] == 0, score, 0).astype(dt) if ragged else None
    eq, xv, xh, ph, mh = (np.empty((K, T), dt) for _ in range(5))
    for c in range(bcodes.shape[0]):
        np.take(table, bcodes[c], axis=0, out=eq)  # (K, T): where b's c-th symbol occurs in each a
        np.bitwise_or(eq, mv, out=xv)
        np.bitwise_and(eq, pv, out=xh)
        xh += pv; xh ^= pv; xh |= eq  # noqa: E702  (the carry runs along a diagonal of matches)
        np.bitwise_or(xh, pv, out=ph); np.invert(ph, out=ph); ph |= mv  # noqa: E702
        np.bitwise_and(pv, xh, out=mh)
        if track:
            score += ph >> top  # horizontal delta +1 / -1 on the last row
            score -= mh >> top
        ph <<= one; ph |= one  # noqa: E702  (the top row D[0][j] = j grows by 1 each column)
        mh <<= one
        np.bitwise_or(xv, ph, out=pv); np.invert(pv, out=pv); pv |= mh  # noqa: E702
        np.bitwise_and(ph, xv, out=mv)
        if ragged:
            res += score * (lb[:, None] == c + 1)
    if not track:
        d = np.bitwise_count(pv).astype(np.int16)  # L <= 64: int16 is plenty
        d -= np.bitwise_count(mv)
        d += lb.astype(np.int16)[:, None]
        return d
    return res if ragged else score


def _labels_per_column(m: np.ndarray) -> np.ndarray:
    """Each column's values as codes 0..k-1 in the smallest int type (comparisons get cheaper)."""
    out = np.stack([np.unique(col, return_inverse=True)[1].ravel() for col in m.T], 1)
    return out.astype(np.int16 if out.max(initial=0) < 1 << 15 else np.int64)


def _topsim_binned(m: np.ndarray, rows: np.ndarray, lengths: np.ndarray, message_distance: str) -> float:
    """topsim for Hamming meaning distances: both distances take few values (k / n_attributes;
    edit / mean length), so rho comes from their joint histogram, built rows of pairs at a time."""
    n, A, L = len(m), m.shape[1], rows.shape[1]
    if message_distance == "hamming":
        cm = np.rint(pdist(m, "hamming") * A).astype(np.int64)  # differing attributes, 0..A
        cx = np.rint(pdist(rows, "hamming") * L).astype(np.int64)  # differing positions, 0..L
        return _spearman_binned(np.bincount(cm * (L + 1) + cx, minlength=(A + 1) * (L + 1)).reshape(A + 1, -1))
    S = 2 * L + 1  # a pair's summed length: 0..2L
    bins = (L + 1) * S  # message code d * S + (l_i + l_j)
    dump = (A + 1) * bins  # the last bin takes the pairs j <= i of a step's first rows
    hist = np.zeros(dump + 1, dtype=np.int64)
    dt, codes, peq, pv0 = _bit_tables(rows, lengths)
    bcodes = np.ascontiguousarray(codes.T.astype(np.intp))  # (L, n)
    ct = np.uint16 if dump < 1 << 16 else np.int32  # small codes: half the memory traffic
    lens, same = lengths.astype(ct), bool(lengths.min() == lengths.max())
    mt = np.ascontiguousarray(_labels_per_column(m).T)  # (A, n) small ints
    T = max(1, PAIR_CHUNK * 16 // n)  # rows of pairs per step: (n, T) arrays stay in cache
    for r0 in range(0, n - 1, T):
        i, j = np.arange(r0, min(r0 + T, n - 1)), np.arange(r0 + 1, n)  # pairs (i, j > i)
        code = _myers(peq[i], pv0[i], lengths[i], bcodes[:, j], lengths[j], dt).astype(ct)
        code *= ct(S)
        if same:  # one summed length for every pair
            code += ct(2 * lengths[0])
        else:
            code += lens[j, None]
            code += lens[None, i]
        cm = np.not_equal(mt[0][j, None], mt[0][None, i]).view(np.uint8)  # differing attributes
        cm = cm.astype(np.uint16) if A > 255 else cm  # a byte counts up to 255 attributes
        for a in range(1, A):  # counted in bytes: a quarter of int32 traffic
            cm += np.not_equal(mt[a][j, None], mt[a][None, i]).view(np.uint8)
        code += cm * ct(bins)
        head = code[:len(i)]  # j - r0 - 1 < T: the only rows that can hold pairs j <= i
        head[np.arange(len(i))[:, None] < np.arange(len(i))[None, :]] = dump
        hist += np.bincount(code.ravel(), minlength=len(hist))
    d, s = np.divmod(np.arange(bins), S)
    values = d / np.maximum(s / 2, 1)  # the same float the sorting path computes for each code
    return _spearman_binned(_merge_ties(hist[:-1].reshape(A + 1, bins), values))


def topsim(meanings, messages, meaning_distance: str = "hamming", message_distance: str = "edit",
           eos: int | None = None) -> float:
    """Topographic similarity: Spearman rho between pairwise meaning and message distances.

    meaning_distance: hamming (share of differing attributes), euclidean or cosine.
    message_distance: edit (Levenshtein / mean length of the two messages) or hamming (share of
    differing positions of the padded messages). NaN when either set of distances is constant.
    With Hamming meaning distances both distances take few distinct values and rho comes from
    their joint histogram (no ranking of n(n-1)/2 values); other meaning distances can take
    many values, and are ranked by sorting, as scipy does.
    """
    m = _meanings(meanings, n_min=3)
    if meaning_distance not in MEANING_DISTANCES or message_distance not in MESSAGE_DISTANCES:
        raise UserError(f"unknown distance ({meaning_distance!r}, {message_distance!r}); use "
                        f"meaning_distance in {MEANING_DISTANCES}, message_distance in {MESSAGE_DISTANCES}")
    rows, lengths = _messages(messages, eos, n=len(m))
    L = rows.shape[1]
    if meaning_distance == "hamming" and L <= 64 and (m.shape[1] + 1) * (L + 1) * (2 * L + 1) <= MAX_BINS:
        return _topsim_binned(m, rows, lengths, message_distance)
    dm = pdist(m, meaning_distance)
    if message_distance == "edit":
        dx = _edit_distances(rows, lengths, normalise=True)
    else:
        dx = pdist(rows, "hamming")
    if np.ptp(dm) == 0 or np.ptp(dx) == 0:
        return float("nan")
    return float(np.corrcoef(stats.rankdata(dm), stats.rankdata(dx))[0, 1])


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


# ------------------------------------------------------------------ power law of symbol usage

@dataclass(frozen=True)
class PowerLawFit:
    alpha: float          # exponent: p(x) = x^-alpha / zeta(alpha, xmin) for x >= xmin
    alpha_se: float       # its standard error, (alpha - 1) / sqrt(n_tail)
    xmin: int             # the xmin whose fit is closest to the data in KS distance
    ks: float             # that KS distance
    n_tail: int           # samples >= xmin
    lognormal_mu: float   # the discretised lognormal fitted to the same tail
    lognormal_sigma: float
    loglik_ratio: float   # R = sum log p_powerlaw - log p_lognormal over the tail: > 0 favours the power law
    p_value: float        # Vuong's two-sided p for R != 0
    preferred: str        # 'power_law' or 'lognormal' when p < 0.1, else 'undecided'

    def to_dict(self) -> dict:
        return asdict(self)


def _pl_alphas(n: np.ndarray, logsum: np.ndarray, xmin: np.ndarray) -> np.ndarray:
    """MLE of alpha for every candidate xmin at once: n, logsum = tail size and sum of log x.
    The negative log-likelihood n log zeta(alpha, xmin) + alpha logsum is convex in alpha, so a
    golden-section search (vectorised over candidates) on [1, 10] finds it; 60 steps: 1e-11."""
    nll = lambda a: n * np.log(special.zeta(a, xmin)) + a * logsum  # noqa: E731
    lo, hi = np.full(len(xmin), 1.0 + 1e-9), np.full(len(xmin), 10.0)
    g = (np.sqrt(5.0) - 1) / 2
    for _ in range(60):
        c, d = hi - g * (hi - lo), lo + g * (hi - lo)
        left = nll(c) < nll(d)  # the minimum lies in [lo, d]
        lo, hi = np.where(left, lo, c), np.where(left, d, hi)
    return (lo + hi) / 2


def _ln_logpmf(x: np.ndarray, xmin: int, mu: float, sigma: float) -> np.ndarray:
    """log p(x) of a lognormal binned to integers ([x - 1/2, x + 1/2)) and cut at xmin."""
    logsf = lambda t: special.log_ndtr((mu - np.log(t)) / sigma)  # noqa: E731  log P(X > t)
    lo, hi = logsf(x - 0.5), logsf(x + 0.5)
    return lo + np.log1p(-np.exp(hi - lo)) - logsf(xmin - 0.5)


def powerlaw_fit(symbol_counts, xmin: int | None = None, min_tail: int = 10) -> PowerLawFit:
    """Discrete power law fitted by maximum likelihood (Clauset et al. 2009), not by a line on
    log-log axes. symbol_counts: positive integers, e.g. how often each symbol was used.
    xmin=None tries every distinct value leaving >= min_tail samples and keeps the one with the
    smallest KS distance; the tail is then compared with a discretised lognormal (Vuong test)."""
    x = np.asarray(symbol_counts, dtype=float).ravel()
    if len(x) < min_tail or not np.all(np.isfinite(x) & (x >= 1) & (x == np.round(x))):
        raise UserError(f"symbol_counts must be >= {min_tail} positive integers; drop zero counts first")
    vals, counts = np.unique(x, return_counts=True)  # sorted distinct values
    n_tail = np.cumsum(counts[::-1])[::-1]  # samples >= vals[k]
    log_tail = np.cumsum((counts * np.log(vals))[::-1])[::-1]  # their sum of log x
    if xmin is None:  # every distinct value that leaves enough samples
        ks_idx = np.flatnonzero(n_tail >= min_tail)
        us = vals[ks_idx]
    else:
        ks_idx, us = np.array([np.searchsorted(vals, xmin)]), np.array([float(xmin)])
        if xmin < 1 or ks_idx[0] == len(vals) or n_tail[ks_idx[0]] < min_tail:
            raise UserError(f"xmin={xmin} leaves fewer than {min_tail} samples (or is < 1); "
                            "pick a smaller one")
    alphas = _pl_alphas(n_tail[ks_idx], log_tail[ks_idx], us)
    best = None
    for k, u, a in zip(ks_idx, us, alphas):  # one candidate per distinct value, not per sample
        emp = np.cumsum(counts[k:]) / n_tail[k]  # empirical P(X <= v) over the tail
        model = 1 - special.zeta(a, vals[k:] + 1) / special.zeta(a, u)
        ks = float(np.abs(emp - model).max())
        if best is None or ks < best[2]:
            best = (int(u), float(a), ks, x[x >= u])
    u, a, ks, tail = best
    # The lognormal fitted to the same tail, its likelihood summed over distinct values (fast).
    tv, tc = np.unique(tail, return_counts=True)
    nll = lambda p: -tc @ _ln_logpmf(tv, u, p[0], np.exp(p[1]))  # noqa: E731
    logs = np.log(tail)
    mu, log_sigma = optimize.minimize(nll, [logs.mean(), np.log(logs.std() + 0.1)], method="Nelder-Mead").x
    # Vuong's test on the pointwise log-likelihood ratios
    diff = (-a * logs - np.log(special.zeta(a, u))) - _ln_logpmf(tail, u, mu, np.exp(log_sigma))
    R, sd = float(diff.sum()), float(diff.std())
    p = float(special.erfc(abs(R) / (sd * np.sqrt(2 * len(tail))))) if sd > 0 else 1.0
    preferred = "undecided" if p >= 0.1 else ("power_law" if R > 0 else "lognormal")
    return PowerLawFit(alpha=a, alpha_se=float((a - 1) / np.sqrt(len(tail))), xmin=u, ks=ks, n_tail=len(tail),
                       lognormal_mu=float(mu), lognormal_sigma=float(np.exp(log_sigma)),
                       loglik_ratio=R, p_value=p, preferred=preferred)


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
