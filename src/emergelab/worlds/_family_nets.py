"""The members, the feature hand-off, the training and the compute count of the `familial_models`
world (see familial_models.py). Imported only inside `run`, so torch stays out of `emergelab worlds`.

Compute is counted analytically in multiply-adds (MACs) of the dense layers a query actually
passes through: a Linear(n_in, n_out) costs n_in * n_out (biases, ReLUs and the softmax of an exit
are not counted: they are O(width), the products are O(width^2)).
"""

from __future__ import annotations

import numpy as np


def exit_macs(width: int, n_classes: int, n_exits: int, entry_macs: int,
              head_every: bool = True) -> np.ndarray:
    """Cumulative MACs (n_exits,) of a member's exits: the first hidden state costs `entry_macs`
    (d_in * width from the input, or a hand-off's projections), every further hidden layer
    width^2, every exit head evaluated width * n_classes. head_every=False: only the last head runs
    (no early exit), so only the last entry is meaningful and it counts a single head."""
    j = np.arange(1, n_exits + 1)
    heads = j if head_every else np.ones_like(j)
    return (entry_macs + (j - 1) * width * width + heads * width * n_classes).astype(float)


def build(cfg, d_in: int, n_classes: int, device):
    """The family: one Member per (width, depth); member m > 0 reads the shared feature space
    into its layer entry_layer(cfg, m), member m < last sends its last hidden state there."""
    import torch

    class Member(torch.nn.Module):
        def __init__(self, width: int, depth: int, send: bool, entry: int | None):
            super().__init__()
            self.width, self.depth, self.entry = width, depth, entry
            self.layers = torch.nn.ModuleList(
                [torch.nn.Linear(d_in, width)] + [torch.nn.Linear(width, width) for _ in range(depth - 1)])
            self.heads = torch.nn.ModuleList(torch.nn.Linear(width, n_classes) for _ in range(depth))
            # P: hidden (w) -> shared feature space (s); Q: shared space (s) -> hidden at `entry`
            self.send = torch.nn.Linear(width, cfg.feature_dim) if send else None
            self.recv = torch.nn.Linear(cfg.feature_dim, width) if entry is not None else None

        def hidden(self, x):
            """Hidden states (each (B, w)) of layers 1..depth from the input x (B, d_in)."""
            return self.resume(torch.relu(self.layers[0](x)), 1)

        def resume(self, h, start: int):
            """Hidden states of layers start..depth, given h (B, w), the state of layer start."""
            hs = [h]
            for layer in self.layers[start:]:
                hs.append(torch.relu(layer(hs[-1])))
            return hs

        def logits(self, hs, start: int = 1):
            return [self.heads[start - 1 + i](h) for i, h in enumerate(hs)]  # each (B, n_classes)

    n = len(cfg.widths)
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(cfg.seed)  # the weights: from the seed alone, restored afterwards
    try:
        members = torch.nn.ModuleList(
            Member(w, d, m < n - 1, entry_layer(cfg, m) if m > 0 else None)
            for m, (w, d) in enumerate(zip(cfg.widths, cfg.depths)))
    finally:
        torch.random.set_rng_state(gen_state)
    return members.to(device)


def entry_layer(cfg, m: int) -> int:
    """The layer of member m (1-based) that a hand-off from member m - 1 writes: cfg.entry, or with
    entry = 0 the depth the sender has already computed; at most depth - 1, so that the receiver
    keeps at least one layer of its own (and at least layer 1)."""
    return max(1, min(cfg.entry or cfg.depths[m - 1], cfg.depths[m] - 1))


def handoff(sender, receiver, h_last, mapping=None):
    """The receiver's hidden state at its entry layer from the sender's last one (B, w_s) ->
    (B, w_r): through the shared feature space, relu(Q_r(P_s h)), or a fitted linear `mapping`
    (W (w_s, w_r), b (w_r,)): the post-hoc stitch of the unaligned control."""
    import torch

    if mapping is not None:
        W, b = mapping
        return torch.relu(h_last @ W + b)
    return torch.relu(receiver.recv(sender.send(h_last)))


def handoff_macs(sender, receiver, cfg, stitched: bool) -> int:
    """MACs of one hand-off: P (w_s * s) + Q (s * w_r), or the stitch's w_s * w_r."""
    if stitched:
        return sender.width * receiver.width
    return cfg.feature_dim * (sender.width + receiver.width)


def chain(members, x, mappings=None):
    """The collaborating family on x: member 0 from the input, every next member continuing from
    the previous one's last hidden state. Returns per member (start layer, hidden states, own-entry
    hidden state or None for member 0 ... not needed) as a list of (start, hs)."""
    out = [(1, members[0].hidden(x))]
    for m in range(1, len(members)):
        r = members[m]
        h = handoff(members[m - 1], r, out[-1][1][-1], None if mappings is None else mappings[m - 1])
        out.append((r.entry, r.resume(h, r.entry)))
    return out


def train(cfg, family, data, log, aligned: bool):
    """Train one family for cfg.steps steps on fresh batches from `data(step)` -> (x, y).
    Every member learns from all its exit heads (the mean of their cross-entropies). aligned:
    also the collaboration terms, the cross-entropy of the chain's continued exits
    (handoff_weight) and the alignment of the handed-off features with the receiver's own hidden
    state at its entry layer (align_weight; MSE over the target's mean square, the target not
    moved by it). log(step, losses) is called every log_every steps."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.Adam(family.parameters(), lr=cfg.lr)
    for step in range(cfg.steps):
        x, y = data(step)
        own = [m.hidden(x) for m in family]
        ce = lambda logits: torch.stack([F.cross_entropy(z, y) for z in logits]).mean()  # noqa: E731
        loss_own = sum(ce(m.logits(hs)) for m, hs in zip(family, own))
        loss = loss_own
        parts = {"own": loss_own.detach()}
        if aligned:
            h_last, l_hand, l_align = own[0][-1], [], []
            for m in range(1, len(family)):
                s, r = family[m - 1], family[m]
                h_in = handoff(s, r, h_last)  # (B, w_r)
                target = own[m][r.entry - 1].detach()  # (B, w_r): the receiver's own features there
                l_align.append(F.mse_loss(h_in, target) / (target.pow(2).mean() + 1e-6))
                hs = r.resume(h_in, r.entry)
                l_hand.append(ce(r.logits(hs, start=r.entry)))
                h_last = hs[-1]
            l_hand, l_align = torch.stack(l_hand).sum(), torch.stack(l_align).sum()
            loss = loss + cfg.handoff_weight * l_hand + cfg.align_weight * l_align
            parts.update(handoff=l_hand.detach(), align=l_align.detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            log(step + 1, {"loss": loss.detach(), **parts})


def fit_stitches(family, x):
    """The unaligned control's mappings: for every pair (m - 1, m), least squares (with a bias)
    from member m - 1's last hidden state to member m's own hidden state at its entry layer,
    on the inputs x (n, d_in). Returns [(W (w_s, w_r), b (w_r,)), ...]."""
    import torch

    out = []
    with torch.no_grad():
        own = [m.hidden(x) for m in family]
        for m in range(1, len(family)):
            src = torch.cat([own[m - 1][-1], torch.ones(len(x), 1, device=x.device)], 1)  # (n, w_s + 1)
            tgt = own[m][family[m].entry - 1]  # (n, w_r)
            # ridge-stabilised normal equations: dead units make src rank-deficient
            A = src.T @ src + 1e-3 * torch.eye(src.shape[1], device=x.device)
            Wb = torch.linalg.solve(A, src.T @ tgt)  # (w_s + 1, w_r)
            out.append((Wb[:-1], Wb[-1]))
    return out
