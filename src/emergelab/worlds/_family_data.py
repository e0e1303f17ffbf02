"""The task of the `familial_models` world: one seeded classification task whose items span a
ladder of difficulty (see familial_models.py). Imported only inside `run`, so torch stays out of
`emergelab worlds`.

An item of kind k has parity order o_k = cfg.orders[k]: its 4-way label is two bits, each the
parity (XOR) of the signs of o_k random projections of a Gaussian input z:
    label = 2 * parity(sign(z @ A_k)) + parity(sign(z @ B_k))      A_k, B_k: (D, o_k)
Order 1 is linearly separable (two half-spaces); order 2 is XOR, order 3 needs more hidden units
still, so the small members of a family get the low orders right and only the big ones the high.
The kind is visible in the input (a one-hot, like a task prompt): a member that cannot solve a
kind can at least learn that it cannot, which is what makes its confidence a useful exit signal.
"""

from __future__ import annotations

N_CLASSES = 4  # two parity bits


def rules(cfg):
    """The task's fixed random projections, from cfg.seed alone (the same for every family and
    for the training and evaluation draws): one (D, 2 * o_k) matrix per item kind, its columns
    orthonormal, so that the sign bits are independent and the 4 classes equally likely."""
    import torch

    g = torch.Generator().manual_seed(cfg.seed + 7_919)
    return [torch.linalg.qr(torch.randn(cfg.input_dim, 2 * o, generator=g))[0] for o in cfg.orders]


def draw(n: int, cfg, proj, gen):
    """n items -> x (n, input_dim + n_kinds), y (n,) labels in 0..3, kind (n,) index into cfg.orders.
    Kinds are drawn uniformly; z ~ N(0, I)."""
    import torch

    K = len(cfg.orders)
    z = torch.randn(n, cfg.input_dim, generator=gen)  # (n, D)
    kind = torch.randint(0, K, (n,), generator=gen)  # (n,)
    y = torch.zeros(n, dtype=torch.long)
    for k, (o, P) in enumerate(zip(cfg.orders, proj)):
        m = kind == k
        s = (z[m] @ P > 0).long()  # (n_k, 2o) sign bits
        y[m] = 2 * (s[:, :o].sum(1) % 2) + s[:, o:].sum(1) % 2
    x = torch.cat([z, torch.nn.functional.one_hot(kind, K).float()], 1)  # (n, D + K)
    return x, y, kind
