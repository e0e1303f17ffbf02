"""Speed and agreement of language.topsim against scipy pdist with a pure-Python edit distance.

    .venv/bin/python benchmarks/topsim_speed.py [--n 1000] [--length 10] [--vocab 20]

The corpus: n random objects with 4 attributes of 8 values each, and messages of `length`
symbols that name each attribute with its own symbols at its own position, the other
positions and 15% of all symbols random (so topsim lies strictly between 0 and 1). The reference computes the
same definition the textbook way: pdist(messages, callback) calls a two-row Levenshtein
written in plain Python once per pair (n(n-1)/2 calls), then Spearman rho via
scipy.stats.spearmanr. The values must agree to 1e-12; the ratio above 1 means topsim is faster.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from emergelab.measures.language import topsim


def levenshtein(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def reference(meanings, messages) -> float:
    length = messages.shape[1]  # all messages have the same length: mean length = length
    dm = pdist(meanings, "hamming")
    dx = pdist(messages, lambda u, v: levenshtein(u.tolist(), v.tolist()) / length)
    return float(spearmanr(dm, dx).statistic)


def corpus(n: int, length: int, vocab: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    meanings = rng.integers(0, 8, (n, 4))
    messages = rng.integers(0, vocab, (n, length))  # filler
    pos = rng.permutation(length)[:4]  # where each attribute goes: the same in every message
    messages[:, pos] = (meanings + 8 * np.arange(4)) % vocab
    noise = rng.random((n, length)) < 0.15
    messages[noise] = rng.integers(0, vocab, noise.sum())
    return meanings, messages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="messages in the corpus")
    ap.add_argument("--length", type=int, default=10, help="symbols per message")
    ap.add_argument("--vocab", type=int, default=40, help="vocabulary size")
    args = ap.parse_args()

    meanings, messages = corpus(args.n, args.length, args.vocab)
    pairs = args.n * (args.n - 1) // 2
    print(f"corpus: {args.n} messages of length {args.length}, vocab {args.vocab}: {pairs:,} pairs")
    topsim(meanings[:50], messages[:50])  # warm up (first-call imports)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fast = topsim(meanings, messages)
        times.append(time.perf_counter() - t0)
    t_fast = min(times)
    t0 = time.perf_counter()
    ref = reference(meanings, messages)
    t_ref = time.perf_counter() - t0
    print(f"topsim (numpy DP)              {t_fast * 1e3:9.1f} ms   rho = {fast:.12f}")
    print(f"pdist + Python edit distance   {t_ref * 1e3:9.1f} ms   rho = {ref:.12f}")
    print(f"ratio reference/topsim = {t_ref / t_fast:,.1f}x   |diff| = {abs(fast - ref):.1e}")
    assert abs(fast - ref) <= 1e-12, f"topsim disagrees with the reference by {abs(fast - ref):.2e}"
    print_result("topsim_speed", f"topsim vs pdist + Python edit distance, n={args.n}", t_fast * 1e3, t_ref * 1e3,
                 "ms")  # fmt: skip


if __name__ == "__main__":
    main()
