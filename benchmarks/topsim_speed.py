"""Speed and agreement of language.topsim against EGG's way of computing it.

    .venv/bin/python benchmarks/topsim_speed.py [--n 5000] [--length 10] [--vocab 40] [--continuous]

The corpus: n random objects with 4 attributes of 8 values each, and messages of `length`
symbols that name each attribute with its own symbols at its own position, the other
positions and 15% of all symbols random (so topsim lies strictly between 0 and 1).

The baseline is EGG's TopographicSimilarity.compute_topsim (facebookresearch/EGG,
egg/core/language_analysis.py): pdist(meanings, "hamming"), pdist(messages, callback) with the
C++ `editdistance.eval` per pair divided by the mean length, then scipy.stats.spearmanr. When
the editdistance package is missing, the baseline is scipy's spearmanr alone on the lab's own
distance arrays (a lower bound on EGG's time), and the output says so.
--continuous: meanings with real values and Euclidean distances, so the lab takes its sorting
path (ranks) instead of the joint histogram.

Times are CPU seconds of this process (time.process_time), best of 3 for the lab, one run of
the baseline: on a shared machine wall time mostly measures the neighbours. The values must
agree to 1e-12; a ratio above 1 means topsim is faster.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _result import print_result  # benchmarks/_result.py: the RESULT line run_all.py reads
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from emergelab.measures.language import edit_distances, topsim


def corpus(n: int, length: int, vocab: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    meanings = rng.integers(0, 8, (n, 4))
    messages = rng.integers(0, vocab, (n, length))  # filler
    pos = rng.permutation(length)[:4]  # where each attribute goes: the same in every message
    messages[:, pos] = (meanings + 8 * np.arange(4)) % vocab
    noise = rng.random((n, length)) < 0.15
    messages[noise] = rng.integers(0, vocab, noise.sum())
    return meanings, messages


def egg_baseline(meanings, messages, meaning_distance: str) -> tuple[float, float, str]:
    """(rho, CPU seconds, what was timed)."""
    try:
        import editdistance
    except ImportError:
        dm = pdist(meanings, meaning_distance)
        dx = edit_distances(messages, normalise=True)
        t0 = time.process_time()
        rho = float(spearmanr(dm, dx).correlation)
        return rho, time.process_time() - t0, "scipy spearmanr only (editdistance not installed)"
    t0 = time.process_time()
    dm = pdist(meanings, meaning_distance)
    dx = pdist(messages, lambda x, y: editdistance.eval(x, y) / ((len(x) + len(y)) / 2))
    rho = float(spearmanr(dm, dx, nan_policy="raise").correlation)
    return rho, time.process_time() - t0, "EGG: pdist + editdistance.eval per pair + spearmanr"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="messages in the corpus")
    ap.add_argument("--length", type=int, default=10, help="symbols per message")
    ap.add_argument("--vocab", type=int, default=40, help="vocabulary size")
    ap.add_argument("--continuous", action="store_true", help="real-valued meanings, Euclidean distance")
    args = ap.parse_args()

    meanings, messages = corpus(args.n, args.length, args.vocab)
    dist = "hamming"
    if args.continuous:  # every meaning distance distinct: the sorting path
        meanings = meanings + np.random.default_rng(1).normal(0, 0.3, meanings.shape)
        dist = "euclidean"
    pairs = args.n * (args.n - 1) // 2
    print(f"corpus: {args.n} messages of length {args.length}, vocab {args.vocab}, {dist} meaning "
          f"distance: {pairs:,} pairs")
    topsim(meanings[:50], messages[:50], meaning_distance=dist)  # warm up (first-call imports)
    times = []
    for _ in range(3):
        t0 = time.process_time()
        fast = topsim(meanings, messages, meaning_distance=dist)
        times.append(time.process_time() - t0)
    t_fast = min(times)
    ref, t_ref, what = egg_baseline(meanings, messages, dist)
    print(f"lab topsim                      {t_fast * 1e3:10.1f} ms CPU   rho = {fast:.15f}")
    print(f"{what}\n                                {t_ref * 1e3:10.1f} ms CPU   rho = {ref:.15f}")
    print(f"ratio baseline/lab = {t_ref / t_fast:,.1f}x   |diff| = {abs(fast - ref):.1e}")
    assert abs(fast - ref) <= 1e-12, f"topsim disagrees with the baseline by {abs(fast - ref):.2e}"
    print_result("topsim_speed", f"topsim vs {what.split(':')[0]}, n={args.n}, {dist}", t_fast * 1e3,
                 t_ref * 1e3, "ms")  # fmt: skip


if __name__ == "__main__":
    main()
