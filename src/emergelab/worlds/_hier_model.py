"""The hierarchical_contrastive world's models: an image-side MLP encoder and a text side that
embeds the taxonomic string, with the CLIP-style loss that ties them.

Text side ("text-like label embeddings"): a bag-of-tokens text encoder over the label string.
    hierarchical: the species' text is "<genus> <species>": normalise(E_genus[g] + E_species[s]),
        so species of a genus share a token (their texts start ~0.5 cosine apart, as the texts of a
        real text encoder would), and every image is also contrasted against the genus-rank texts
        normalise(E_genus) with weight genus_weight: the hierarchy is in the labels and in the loss.
    flat: the species' text is one token: normalise(E_species[s]); no genus anywhere (the control).
Loss: cross-entropy of each image's cosine similarities to *all* species texts / temperature
(with a few dozen species every text is a negative in every batch, as CLIP's in-batch texts
would be at scale)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Encoder(nn.Module):
    """x (B, D) -> unit-norm embedding (B, d): Linear-GELU-Linear-GELU-Linear."""

    def __init__(self, obs_dim: int, hidden: int, embed_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=-1)


class LabelTexts(nn.Module):
    """Token embeddings of the taxonomic strings; species_texts() (S, d), genus_texts() (G, d)."""

    def __init__(self, genus_of: torch.Tensor, embed_dim: int, mode: str):
        super().__init__()
        self.mode = mode
        self.register_buffer("genus_of", genus_of)  # (S,)
        self.species_tok = nn.Parameter(torch.randn(len(genus_of), embed_dim))
        # the flat control has no genus token: its parameters must not exist, not merely go unused
        n_genera = int(genus_of.max()) + 1
        self.genus_tok = nn.Parameter(torch.randn(n_genera, embed_dim)) if mode == "hierarchical" else None

    def species_texts(self) -> torch.Tensor:
        t = self.species_tok if self.genus_tok is None else self.genus_tok[self.genus_of] + self.species_tok
        return F.normalize(t, dim=-1)

    def genus_texts(self) -> torch.Tensor | None:
        return None if self.genus_tok is None else F.normalize(self.genus_tok, dim=-1)


def build(cfg, genus_of, device) -> tuple[Encoder, LabelTexts]:
    """Both towers, initialised from cfg.seed (its own stream: the data's draws do not move it)."""
    torch.manual_seed(cfg.seed + 7_919)
    enc = Encoder(cfg.obs_dim, cfg.hidden, cfg.embed_dim).to(device)
    texts = LabelTexts(torch.as_tensor(genus_of, dtype=torch.long), cfg.embed_dim, cfg.label_mode).to(device)
    return enc, texts


def contrastive_loss(img: torch.Tensor, sp: torch.Tensor, texts: LabelTexts, temperature: float,
                     genus_weight: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """img (B, d) unit vectors, sp (B,) species -> (loss, parts). The genus-rank term exists only
    in the hierarchical mode."""
    species_l = F.cross_entropy(img @ texts.species_texts().T / temperature, sp)
    parts = {"species": species_l.detach()}
    loss = species_l
    gt = texts.genus_texts()
    if gt is not None and genus_weight > 0:
        genus_l = F.cross_entropy(img @ gt.T / temperature, texts.genus_of[sp])
        parts["genus"] = genus_l.detach()
        loss = loss + genus_weight * genus_l
    parts["loss"] = loss.detach()
    return loss, parts
