"""The parts of the `concept_space` world: the data-generating process, the fixed classifier and
the conditional flow-matching generator.

Imported only inside `concept_space.run` (the leading underscore keeps the registry from
importing it), so torch stays out of `emergelab worlds`.

Data (two binary concepts, "colour" c1 and "size" c2, in a 2-d concept space embedded in D dims):
    z = (s1 (c1 - 1/2), s2 (c2 - 1/2))        (2,)   s_i: the separation = the concept signal
    x = Q z + noise_sd * eps                    (D,)   Q (D, 2) orthonormal columns, eps ~ N(0, I_D)
Classifier (analytic, fixed, Bayes-optimal for this process: equal priors, shared isotropic noise):
    logit_i(x) = s_i (Q^T x)_i / noise_sd^2     concept i is 1 when (Q^T x)_i > 0 (nearest mean)
Generator (conditional flow matching, Lipman et al. 2023, straight paths):
    x_t = (1 - t) x0 + t x1,  x0 ~ N(0, I_D),  x1 ~ data(c)    loss = ||v(x_t, t, c) - (x1 - x0)||^2
    v(x, t, c) = MLP([x, fourier(t), e(c)]),   e(c) = SiLU(W c + b)   (the conditioning embedding:
    where the linear latent intervention adds its steering vector)
Sampling: Euler from x0 over `sample_steps` steps (a loop over time steps, never over samples).
"""

from __future__ import annotations

import math

CLASSES = ((0, 0), (0, 1), (1, 0), (1, 1))  # every combination of (colour, size)
N_FREQ = 4  # Fourier features of t: sin/cos(2 pi k t), k = 1..4


def class_label(c) -> str:
    """(1, 0) -> '10'."""
    return "".join(str(int(v)) for v in c)


def basis(cfg):
    """Q (D, 2): two orthonormal directions of R^D carrying colour and size, drawn from the seed
    (its own stream: the data's geometry does not move when the training draws change)."""
    import torch

    g = torch.Generator().manual_seed(cfg.seed + 7919)
    q, _ = torch.linalg.qr(torch.randn(cfg.obs_dim, 2, generator=g))  # (D, 2)
    return q


def seps(cfg):
    import torch

    return torch.tensor([cfg.colour_sep, cfg.size_sep])  # (2,)


def sample_data(c, cfg, Q, gen):
    """Observations for concept vectors c (B, 2) in {0, 1}: x (B, D), noise from gen (CPU)."""
    import torch

    z = (c - 0.5) * seps(cfg)  # (B, 2)
    return z @ Q.T + cfg.noise_sd * torch.randn(len(c), cfg.obs_dim, generator=gen)


def concept_logits(x, cfg, Q):
    """The fixed classifier: log-odds that each concept is 1, x (B, D) -> (B, 2)."""
    s = seps(cfg).to(x.device)
    return (x @ Q.to(x.device)) * s / cfg.noise_sd**2


def data_accuracy(cfg) -> tuple[float, float]:
    """What the classifier scores on real data, per concept: Phi(s_i / (2 noise_sd)); the
    ceiling a perfect generator reaches."""
    phi = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))  # noqa: E731
    return phi(cfg.colour_sep / (2 * cfg.noise_sd)), phi(cfg.size_sep / (2 * cfg.noise_sd))


def build(cfg, device):
    """The velocity MLP, initialised from cfg.seed without moving the global RNG (fork_rng)."""
    import torch
    from torch import nn

    D, H, E = cfg.obs_dim, cfg.hidden, cfg.embed_dim

    class Velocity(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Sequential(nn.Linear(2, E), nn.SiLU())  # c (B, 2) -> e (B, E)
            self.net = nn.Sequential(nn.Linear(D + 2 * N_FREQ + E, H), nn.SiLU(), nn.Linear(H, H), nn.SiLU(),
                                     nn.Linear(H, D))
            self.register_buffer("freq", 2 * math.pi * torch.arange(1, N_FREQ + 1, dtype=torch.float32))

        def forward(self, x, t, e):
            """x (B, D), t (B,), e (B, E) the conditioning embedding -> velocity (B, D)."""
            ft = t[:, None] * self.freq  # (B, N_FREQ)
            return self.net(torch.cat([x, ft.sin(), ft.cos(), e], 1))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return Velocity().to(device)


def flow_loss(model, c, x1, gen):
    """Flow-matching loss on a batch: c (B, 2), x1 (B, D) data; x0 and t from gen (CPU)."""
    import torch

    x0 = torch.randn(x1.shape, generator=gen).to(x1.device)  # (B, D)
    t = torch.rand(len(x1), generator=gen).to(x1.device)  # (B,)
    xt = (1 - t[:, None]) * x0 + t[:, None] * x1
    return (model(xt, t, model.embed(c)) - (x1 - x0)).pow(2).sum(1).mean()


def generate(model, x0, e, n_steps: int):
    """Euler integration of dx/dt = v(x, t, e) from x0 (B, D) at t = 0 to t = 1 -> (B, D)."""
    import torch

    x, dt = x0, 1.0 / n_steps
    for k in range(n_steps):  # over time steps; every sample moves at once
        x = x + dt * model(x, torch.full((len(x),), k * dt, device=x.device), e)
    return x


def steering(model, held_out, device):
    """Linear latent intervention directions in the conditioning embedding, from training
    classes only: for concept i, e(c_i = h_i) - e(c_i = 1 - h_i) with the other concept at
    1 - h_j (so both prompts are training classes). Summed over both concepts -> (E,)."""
    import torch

    h = list(held_out)
    prompts = []
    for i in range(2):
        on, off = [0, 0], [0, 0]
        on[i], off[i] = h[i], 1 - h[i]
        on[1 - i] = off[1 - i] = 1 - h[1 - i]
        prompts += [on, off]
    e = model.embed(torch.tensor(prompts, dtype=torch.float32, device=device))  # (4, E)
    return (e[0] - e[1]) + (e[2] - e[3])
