"""The agents of the `vq_symbols` world: a speaker that is a VQ-VAE over its observations, and a
listener that reads the speaker's codes and picks the target among candidates.

Imported only inside `vq_symbols.run` (the leading underscore keeps the registry from importing
it), so torch stays out of `emergelab worlds`.

Speaker (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning"):
    z_e = enc(x)                       (B, L, d)   L latent slots of dimension d
    ids = argmin_k ||z_e - e_k||^2     (B, L)      nearest of the K codebook vectors e (K, d)
    z_q = e[ids]                       (B, L, d)
    x^  = dec(z_e + sg(z_q - z_e))     (B, D)      straight-through: the decoder's gradient reaches enc
    loss = ||x^ - x||^2 + ||sg(z_e) - z_q||^2 + beta ||z_e - sg(z_q)||^2
The message is `ids`: the code indices of the L slots. Nothing in it was designed for talking.
"""

from __future__ import annotations


def build(cfg, device):
    """(speaker, listener) torch modules, initialised from cfg.seed without moving the global
    RNG's stream (fork_rng)."""
    import torch
    from torch import nn

    D = cfg.n_attributes * cfg.n_values  # observation size
    K, L, d, H = cfg.n_codes, cfg.n_slots, cfg.code_dim, cfg.hidden

    def mlp(i: int, o: int) -> nn.Module:
        return nn.Sequential(nn.Linear(i, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, o))

    class Speaker(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = mlp(D, L * d), mlp(L * d, D)
            # U(-s/K, s/K), s = 1 as the reference implementations: every code starts near 0 and the
            # encoder's outputs (order 0.1-1) recruit only some of them: unused codes stay dead
            self.codebook = nn.Parameter((torch.rand(K, d) * 2 - 1) * cfg.codebook_scale / K)  # (K, d)

        def forward(self, x):
            """x (B, D) -> ids (B, L), z_q straight-through (B, L, d), recon (B, D), vq loss ()."""
            z_e = self.enc(x).view(-1, L, d)  # (B, L, d)
            flat = z_e.reshape(-1, d)  # (B*L, d)
            dist = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T
                    + self.codebook.pow(2).sum(1))  # (B*L, K) squared distances
            ids = dist.argmin(1).view(-1, L)  # (B, L)
            z_q = self.codebook[ids]  # (B, L, d)
            vq = (z_q - z_e.detach()).pow(2).mean() + cfg.beta * (z_e - z_q.detach()).pow(2).mean()
            z_st = z_e + (z_q - z_e).detach()  # value z_q, gradient to z_e
            return ids, z_st, self.dec(z_st.flatten(1)), vq

    class Listener(nn.Module):
        def __init__(self):
            super().__init__()
            # indices: its own embedding of every (slot, code) pair, a table the speaker never
            # sees (no gradient reaches the speaker); codebook: the speaker's vectors themselves
            self.emb = nn.Embedding(L * K, d) if cfg.listener_reads == "indices" else None
            self.read = mlp(L * d, H)  # message -> query (B, H)
            self.see = mlp(D, H)  # its own view of a candidate -> key (B, C, H)

        def forward(self, ids, z_st, cands):
            """ids (B, L), z_st (B, L, d), cands (B, C, D) -> scores (B, C)."""
            if cfg.channel == "none":  # the no-message control: the listener gets nothing
                m = torch.zeros(len(cands), L * d, device=cands.device)
            elif self.emb is not None:
                m = self.emb(ids + K * torch.arange(L, device=ids.device)).flatten(1)  # (B, L*d)
            else:
                m = z_st.flatten(1)  # (B, L*d)
            return torch.einsum("bh,bch->bc", self.read(m), self.see(cands))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return Speaker().to(device), Listener().to(device)


def observe(objs, cfg, gen):
    """Noisy observations of objects: objs (B, A) attribute values -> (B, A*N) float, the
    concatenated one-hots plus Gaussian noise of sd cfg.obs_noise (drawn from gen, on CPU)."""
    import torch
    import torch.nn.functional as F

    x = F.one_hot(objs, cfg.n_values).flatten(-2).float()  # (..., A*N)
    return x + cfg.obs_noise * torch.randn(x.shape, generator=gen)


def draw_round(n: int, k: int, cfg, gen):
    """n rounds of the game: targets (n, A), the speaker's view (n, D), the candidates (n, k+1, D)
    (a fresh view of the target and k distractor objects, each a different object from the
    target, in random order) and the target's position (n,)."""
    import torch

    A, N = cfg.n_attributes, cfg.n_values
    M = N ** A
    powers = N ** torch.arange(A - 1, -1, -1)  # (A,) object id -> attribute values, row-major
    # every attribute value v is drawn with p ~ (v + 1)^-zipf (0: uniform), independently
    p = (torch.arange(N) + 1.0) ** -cfg.zipf  # (N,)

    def draw(m: int):  # (m,) object ids
        return (torch.multinomial(p, m * A, replacement=True, generator=gen).view(m, A) * powers).sum(1)

    tid = draw(n)  # (n,) object ids
    did = draw(n * k).view(n, k)  # (n, k) distractors from the same distribution ...
    # ... but never the target: a clash becomes target + offset (mod M), offset in [1, M)
    clash = did == tid[:, None]
    did = torch.where(clash, (tid[:, None] + torch.randint(1, M, (n, k), generator=gen)) % M, did)
    ids = torch.cat([tid[:, None], did], 1)  # (n, k+1), target first
    order = torch.rand(n, k + 1, generator=gen).argsort(1)
    ids = ids.gather(1, order)  # shuffled
    pos = (order == 0).long().argmax(1)  # (n,) where the target went
    digits = lambda i: (i[..., None] // powers) % N  # noqa: E731  (..., A)
    targets = digits(tid)  # (n, A)
    return targets, observe(targets, cfg, gen), observe(digits(ids), cfg, gen), pos
