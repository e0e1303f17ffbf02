"""The training loop and evaluation of the `concept_space` world (see concept_space.py for what is
logged, _concept_flow.py for the data, classifier and generator). Imported only inside
`concept_space.run`, so torch stays out of `emergelab worlds`."""

from __future__ import annotations

import numpy as np


def prompts(cfg, model, device):
    """The conditioning embeddings of every evaluated prompt group -> (labels, e (G, E)):
    the four classes as prompted, then the held-out class over-prompted, then steered."""
    import torch

    from emergelab.worlds._concept_flow import CLASSES, class_label, steering

    c = torch.tensor(CLASSES, dtype=torch.float32, device=device)  # (4, 2)
    h = torch.tensor(cfg.held_out, dtype=torch.float32, device=device)  # (2,)
    over = h + cfg.over_prompt * (2 * h - 1)  # pushed away from the other value: 1 -> 1 + d, 0 -> -d
    e = model.embed(torch.cat([c, over[None], h[None]]))  # (6, E)
    e[5] = e[5] + cfg.steer_scale * steering(model, cfg.held_out, device)
    return [class_label(k) for k in CLASSES] + ["over", "steer"], e


def evaluate(cfg, model, Q, x0) -> dict[str, float]:
    """Generate n_eval samples per prompt group from the fixed noise x0 (N, D), classify them,
    and return every logged evaluation metric."""
    import torch

    from emergelab.worlds._concept_flow import CLASSES, class_label, concept_logits, generate

    N, device = len(x0), x0.device
    labels, e = prompts(cfg, model, device)
    G = len(labels)
    x = generate(model, x0.repeat(G, 1), e.repeat_interleave(N, 0), cfg.sample_steps)  # (G*N, D)
    logits = concept_logits(x, cfg, Q).view(G, N, 2)
    p = torch.sigmoid(logits).mean(1)  # (G, 2) the position in concept space
    target = torch.tensor([*CLASSES, cfg.held_out, cfg.held_out], device=device).bool()  # (G, 2)
    right = (logits > 0) == target[:, None]  # (G, N, 2)
    acc = right.float().mean(1)  # (G, 2) per concept
    joint = right.all(-1).float().mean(1)  # (G,) both concepts
    p, acc, joint = p.cpu().numpy(), acc.cpu().numpy(), joint.cpu().numpy()

    out: dict[str, float] = {}
    for g, lab in enumerate(labels[:4]):
        out[f"concept/p_colour_{lab}"], out[f"concept/p_size_{lab}"] = map(float, p[g])
    h = labels.index(class_label(cfg.held_out))
    train = [g for g in range(4) if g != h]
    groups = {"heldout": (acc[h], joint[h], None), "train": (acc[train].mean(0), joint[train].mean(), None),
              "over": (acc[4], joint[4], p[4]), "steer": (acc[5], joint[5], p[5])}
    for name, (a, j, pos) in groups.items():
        out[f"{name}/acc_colour"], out[f"{name}/acc_size"] = float(a[0]), float(a[1])
        out[f"{name}/acc"] = float(j)
        if pos is not None:
            out[f"{name}/p_colour"], out[f"{name}/p_size"] = map(float, pos)
    return out


def train(cfg, rec) -> None:
    import torch

    from emergelab.nn import resolve_device
    from emergelab.worlds._concept_flow import CLASSES, basis, build, flow_loss, sample_data
    from emergelab.worlds.concept_space import summary

    device = resolve_device(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)  # every training draw, on CPU
    egen = torch.Generator().manual_seed(cfg.seed + 10_007)  # the evaluation noise: its own stream
    Q = basis(cfg).to(device)  # (D, 2)
    x0 = torch.randn(cfg.n_eval, cfg.obs_dim, generator=egen).to(device)  # (N, D) shared by every prompt
    train_c = torch.tensor([c for c in CLASSES if c != tuple(cfg.held_out)], dtype=torch.float32)  # (3, 2)

    model = build(cfg, device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rec.set_total(cfg.steps)
    logged: dict[str, list[float]] = {}
    steps: list[int] = []
    loss = None
    for step in range(cfg.steps + 1):
        if step % cfg.log_every == 0 or step == cfg.steps:
            with torch.no_grad():
                vals = evaluate(cfg, model, Q, x0)
            if loss is not None:  # the last training batch's loss (none before the first step)
                vals["train/loss"] = loss.item()
            rec.log(step, **vals)
            steps.append(step)
            for k, v in vals.items():
                logged.setdefault(k, []).append(v)
        if step == cfg.steps:
            break
        c = train_c[torch.randint(len(train_c), (cfg.batch_size,), generator=gen)]  # (B, 2)
        x1 = sample_data(c, cfg, Q.cpu(), gen)  # (B, D), drawn on CPU from gen
        loss = flow_loss(model, c.to(device), x1.to(device), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    curves = {k: np.asarray(v) for k, v in logged.items() if k != "train/loss"}
    final = {f"final_{k.replace('/', '_')}": v[-1] for k, v in curves.items()
             if k.split("/")[0] in ("heldout", "train", "over", "steer")}
    rec.summarize(**summary(cfg, np.asarray(steps), curves), **final, steps=cfg.steps, device=str(device))
