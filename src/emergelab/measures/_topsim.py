"""Edit distances between messages and topographic similarity (part of language.py's API).

topsim = Spearman rho between pairwise meaning distances and message distances (Brighton &
Kirby 2006; EGG's TopographicSimilarity). With Hamming meaning distances both sides take few
distinct values, so rho (midranks for ties) comes from their joint histogram without sorting;
edit distances use Myers' bit-parallel algorithm on many pairs at once
(benchmarks/topsim_speed.py: 117x EGG's C++ editdistance + scipy at 5,000 messages).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist

from emergelab.errors import UserError
from emergelab.measures._language_inputs import _meanings, _messages

PAIR_CHUNK = 1 << 13  # pairs per edit-distance block: (max_len, chunk) int16 arrays stay in cache


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

