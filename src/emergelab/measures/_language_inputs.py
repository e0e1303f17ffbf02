"""Input checks shared by the language measures (language.py, _topsim.py): meanings,
messages and label arrays, each rejected with one line saying what to pass."""

from __future__ import annotations

import numpy as np

from emergelab.errors import UserError


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

