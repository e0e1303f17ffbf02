"""Intention collapse: what a model's state holds just before it answers, direct vs step by step.

Paper: P. M. Vera (2026), "Intention Collapse: Intention-Level Metrics for Reasoning in
Language Models" (arXiv 2601.01011). Generation compresses a high-dimensional internal state
("intention") into one token sequence. Three metrics of the pre-collapse state
(measures/intention.py): intention entropy H_int (bits over the top-100 next-token
probabilities), effective dimensionality dim_eff (components for 90 % of the PCA variance;
participation ratio beside it) and recoverability Recov (AUROC of a cross-validated L2
logistic probe predicting whether the eventual answer is right). With a 4-bit Mistral-7B on
200 GSM8K problems, chain of thought raised accuracy from 5.5 % to 53 %, lowered H_int from
1.42 to 0.37 bits, and the probe reached AUROC 0.65 (direct answers: about chance).

Effect here: the same metrics, two regimes side by side, on generated addition problems (the
same seeded generator for both kinds of model):
- model=local: the offline SmolLM2-135M-Instruct (emergelab.llm; states through
  llm/states.py); sums and word problems, two solved examples in the prompt; `direct` asks for
  the number only, `step` for a short working-out ending in "Answer: N" (_intention_llm.py);
  with `babble` (the paper's control) also `babble`: unrelated filler, then "Answer: N", on
  the step regime's token budget (more tokens before the answer, no reasoning in them).
  model=checkpoint: the same with any Hugging Face causal LM in a local folder.
- model=own: a small transformer trained here on `digits`-digit addition, with and without a
  scratchpad of column sums (_intention_own.py), one model for both formats.

Logged (step: training step for model=own, 0 for a language model), per regime r in
(direct, step[, babble]) and position (reply: before the model writes anything, the paper's
state; _answer: just before the final answer, after any reasoning):
    intent/acc_{r}                       share of problems answered right
    intent/entropy_{r}[_answer]          mean H_int (bits); entropy_sd_* its spread
    intent/dim_eff_{r}[_answer]          dim_eff of the states of layer `layer`
    intent/pr_{r}[_answer]               participation ratio of those states
    intent/recov_{r}[_answer]            probe AUROC on them (NaN: a regime all right or all wrong)
    intent/recov_question_{r}            the control: the same probe (folds, seed) on question-only
                                         features (operands, kind, bag of characters; no model state)
    intent/recov_gain_{r}[_answer]       recov - recov_question: what the state adds beyond the question
    intent/tokens_{r}                    mean reply length in tokens
    train/loss                           model=own
Summary: the final value of each (without 'intent/'), delta_entropy = entropy_step -
entropy_direct (the paper's dH). Artefacts: regimes (the side-by-side table), layers (dim_eff,
participation ratio and Recov per layer), items (every problem: question, regime, reply,
answer, truth, correct, H_int at both positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register

REGIMES = ("direct", "step")  # every model; language models add "babble" (the control) when asked
METRICS = ("acc", "entropy", "entropy_sd", "dim_eff", "pr", "recov", "recov_question", "recov_gain")


@dataclass(frozen=True)
class IntentionConfig:
    seed: int = param(0, "seeds the problems, the own model's weights and batches, and the probe's folds")
    model: Literal["local", "own", "checkpoint"] = param(
        "local", "local: offline SmolLM2-135M-Instruct; own: a small transformer trained here; checkpoint: a "
                 "Hugging Face causal LM folder")  # fmt: skip
    checkpoint: str = param("", "model=checkpoint: the folder (config.json, weights, tokenizer), read offline")
    device: str = param("cpu", "torch device: cpu, cuda or cuda:N")
    threads: int = param(1, "torch CPU threads while the world runs, restored after (0: leave torch's setting)")
    n_problems: int = param(200, "problems per regime (the paper: 200 GSM8K items); own: the held-out set")
    task: Literal["mix", "arithmetic", "word"] = param(
        "mix", "language models: 'What is a + b?' sums, word problems, or half each at random")
    max_a: int = param(20, "language models: first operand uniform in 1..max_a")
    max_b: int = param(9, "language models: second operand uniform in 1..max_b")
    direct_tokens: int = param(12, "language models: new tokens at most in the direct regime")
    step_tokens: int = param(64, "language models: new tokens at most in the step-by-step regime")
    babble: bool = param(True, "language models: also the babble control (unrelated filler before the "
                               "answer, step_tokens at most)")
    layer: int = param(-1, "layer whose states feed dim_eff and the probe (0: embeddings, -1: last)")
    top_k: int = param(100, "H_int: the largest logits kept (the paper: 100; fewer when the vocabulary is smaller)")
    var_threshold: float = param(0.9, "dim_eff: share of PCA variance the first k components must explain")
    folds: int = param(5, "Recov: cross-validation folds (stratified, shuffled with seed)")
    probe_c: float = param(1.0, "Recov: inverse L2 strength of the logistic probe (features standardised)")
    all_layers: bool = param(True, "also dim_eff, participation ratio and Recov of every layer (the layers "
                                   "artefact; a probe per layer and position)")
    digits: int = param(5, "own: digits per operand")
    d_model: int = param(64, "own: width")
    n_heads: int = param(4, "own: attention heads")
    n_layers: int = param(2, "own: blocks (pre-LayerNorm, MLP 4 x d_model)")
    steps: int = param(800, "own: training steps")
    batch: int = param(64, "own: problems per step, half in each format")
    lr: float = param(3e-3, "own: AdamW learning rate")
    log_every: int = param(100, "own: steps between evaluations on the held-out problems")

    def __post_init__(self) -> None:
        check_device(self.device)
        if self.model == "checkpoint" and not self.checkpoint:
            raise ValueError("model=checkpoint needs a folder: add -s checkpoint=PATH (a Hugging Face causal LM)")
        for k in ("max_a", "max_b", "direct_tokens", "step_tokens", "top_k", "digits", "d_model",
                  "n_heads", "n_layers", "batch", "log_every"):  # fmt: skip
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        if self.n_problems < 2:
            raise ValueError(f"n_problems is {self.n_problems}: an empty or one-problem set has no spread of states "
                             "to measure; give at least 2 (PCA and the probe need several)")  # fmt: skip
        if self.steps < 0 or self.threads < 0:
            raise ValueError("steps and threads must be >= 0")
        if not 0 < self.var_threshold <= 1:
            raise ValueError(f"var_threshold must be in (0, 1], got {self.var_threshold}")
        if self.folds < 2 or not self.probe_c > 0 or not self.lr > 0:
            raise ValueError("folds must be at least 2, probe_c and lr > 0")
        if self.batch < 2 or self.digits > 9:
            raise ValueError("batch must be at least 2 (half per format) and digits at most 9")


def regimes(cfg: IntentionConfig) -> tuple[str, ...]:
    """The regimes a run measures: direct and step, plus babble for a language model when asked."""
    return REGIMES + (("babble",) if cfg.babble and cfg.model != "own" else ())


def measure(cfg: IntentionConfig, out: dict[str, dict], question: np.ndarray,
            layers: bool = False) -> tuple[dict, list[dict]]:
    """Metrics of every regime from {regime: {correct, tokens, reply: (H, logits), answer: (H, logits)}}
    and the question-only features (N, F) of the problems: ({intent/... : value}, per-layer rows
    when `layers`)."""
    from emergelab.measures.intention import intention_metrics, recoverability

    vals: dict[str, float] = {}
    rows: list[dict] = []
    for r, o in out.items():
        vals[f"intent/acc_{r}"] = float(o["correct"].mean())
        vals[f"intent/tokens_{r}"] = float(np.mean(o["tokens"]))
        # the control: the same probe (folds, seed) on the question alone
        vals[f"intent/recov_question_{r}"] = recoverability(question, o["correct"], cfg.folds, cfg.probe_c,
                                                            cfg.seed)  # fmt: skip
        for pos in ("reply", "answer"):
            hidden, logits = o[pos]  # (N, L+1, D), (N, V)
            m = intention_metrics(hidden[:, cfg.layer], logits, o["correct"], cfg.top_k, cfg.var_threshold,
                                  cfg.folds, cfg.probe_c, cfg.seed)  # fmt: skip
            tail = "" if pos == "reply" else "_answer"
            for k, name in (("entropy", "entropy"), ("entropy_sd", "entropy_sd"), ("dim_eff", "dim_eff"),
                            ("participation_ratio", "pr"), ("recov", "recov")):  # fmt: skip
                vals[f"intent/{name}_{r}{tail}"] = m[k]
            vals[f"intent/recov_gain_{r}{tail}"] = m["recov"] - vals[f"intent/recov_question_{r}"]
            if layers:
                for l in range(hidden.shape[1]):
                    ml = intention_metrics(hidden[:, l], logits, o["correct"], cfg.top_k, cfg.var_threshold,
                                           cfg.folds, cfg.probe_c, cfg.seed)  # fmt: skip
                    rows.append({"regime": r, "position": pos, "layer": l, "dim_eff": ml["dim_eff"],
                                 "participation_ratio": ml["participation_ratio"], "recov": ml["recov"]})  # fmt: skip
    return vals, rows


def regimes_table(vals: dict[str, float]):
    """The side-by-side table: one row per regime and position."""
    import pandas as pd

    rows = []
    for r in REGIMES + ("babble",):
        if f"intent/acc_{r}" not in vals:
            continue
        for pos, tail in (("reply", ""), ("answer", "_answer")):
            rows.append({"regime": r, "position": pos, "acc": vals.get(f"intent/acc_{r}"),
                         "tokens": vals.get(f"intent/tokens_{r}"),
                         **{k: vals.get(f"intent/{k}_{r}{tail}") for k in ("entropy", "entropy_sd", "dim_eff",
                                                                            "pr", "recov")},
                         "recov_question": vals.get(f"intent/recov_question_{r}"),
                         "recov_gain": vals.get(f"intent/recov_gain_{r}{tail}")})  # fmt: skip
    return pd.DataFrame(rows)


def run(cfg: IntentionConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(cfg.threads):
        if cfg.model == "own":
            _run_own(cfg, rec)
        else:
            _run_llm(cfg, rec)


def _run_llm(cfg: IntentionConfig, rec) -> None:
    from emergelab.worlds import _intention_llm as L

    rng = np.random.default_rng(cfg.seed)
    a = rng.integers(1, cfg.max_a + 1, cfg.n_problems)  # (N,)
    b = rng.integers(1, cfg.max_b + 1, cfg.n_problems)
    questions = L.texts(rng, a, b, cfg.task)
    backend = L.open_model(cfg)
    # new tokens at most per reply; babble gets step's budget
    budget = {"direct": cfg.direct_tokens, "step": cfg.step_tokens, "babble": cfg.step_tokens}
    out = {r: L.run_regime(backend, questions, a + b, r, budget[r]) for r in regimes(cfg)}
    vals, rows = measure(cfg, out, L.question_features(questions, a, b), layers=cfg.all_layers)
    rec.log(0, **vals)
    items = [{"question": q, "regime": r, "reply": out[r]["replies"][k], "answer": out[r]["answers"][k],
              "truth": int(a[k] + b[k]), "correct": bool(out[r]["correct"][k])}
             for r in out for k, q in enumerate(questions)]  # fmt: skip
    _finish(cfg, rec, vals, rows, items, out, backend.model)


def _run_own(cfg: IntentionConfig, rec) -> None:
    import torch

    from emergelab.worlds import _intention_own as O

    n = cfg.digits
    gen = torch.Generator().manual_seed(cfg.seed)  # init weights
    net = O.build(cfg, gen).to(cfg.device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.01)
    rng = np.random.default_rng(cfg.seed)  # training problems
    ev = np.random.default_rng([cfg.seed, 1])  # held-out problems: their own stream
    ea, eb = ev.integers(0, 10**n, cfg.n_problems), ev.integers(0, 10**n, cfg.n_problems)  # (N,)
    regime_of = {"direct": "direct", "step": "scratch"}
    question = O.question_features(ea, eb, n)  # (N, F) the held-out problems alone: the Recov baseline
    rec.set_total(cfg.steps)
    net.eval()
    for step in range(cfg.steps + 1):
        if step % cfg.log_every == 0 or step == cfg.steps:
            out = {}
            for r in REGIMES:
                correct, st, texts, answers = O.evaluate(net, ea, eb, n, regime_of[r], cfg.device)
                lay = O.layout(n, regime_of[r])
                out[r] = {"correct": correct, "tokens": np.full(len(ea), lay.T - lay.prompt), "texts": texts,
                          "answers": answers, **st}  # fmt: skip
            last = step == cfg.steps
            vals, rows = measure(cfg, out, question, layers=last and cfg.all_layers)
            rec.log(step, **vals)
        if step == cfg.steps:
            break
        net.train()
        a, b = rng.integers(0, 10**n, cfg.batch), rng.integers(0, 10**n, cfg.batch)
        loss = sum(O.loss(net, torch.as_tensor(O.encode(a[i::2], b[i::2], n, regime_of[r])).to(cfg.device), n,
                          regime_of[r]) for i, r in enumerate(REGIMES)) / 2  # fmt: skip
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        net.eval()
        rec.log(step, **{"train/loss": float(loss.detach())})
    items = [{"question": f"{int(ea[k])} + {int(eb[k])}", "regime": r, "reply": out[r]["texts"][k],
              "answer": int(out[r]["answers"][k]), "truth": int(ea[k] + eb[k]),
              "correct": bool(out[r]["correct"][k])}
             for r in REGIMES for k in range(len(ea))]  # fmt: skip
    _finish(cfg, rec, vals, rows, items, out, f"own transformer ({cfg.n_layers} x {cfg.d_model}, {n} digits)")


def _finish(cfg, rec, vals, rows, items, out, name: str) -> None:
    import pandas as pd

    from emergelab.measures.intention import intention_entropy

    # H_int of each problem at both positions (items: every problem of `direct`, then of `step`, ...)
    names = list(out)
    ent = {r: {p: np.atleast_1d(intention_entropy(out[r][p][1], cfg.top_k)) for p in ("reply", "answer")}
           for r in names}  # fmt: skip
    n = len(items) // len(names)
    for j, it in enumerate(items):
        r, k = names[j // n], j % n
        it["entropy_reply"], it["entropy_answer"] = float(ent[r]["reply"][k]), float(ent[r]["answer"][k])
    rec.artefact("regimes", regimes_table(vals))
    rec.artefact("layers", pd.DataFrame(rows))
    rec.artefact("items", pd.DataFrame(items))
    rec.summarize(model=name, n_problems=cfg.n_problems, **summarize(rec.wide()))


def check(configs) -> None:
    """Before anything is written: the model of every run is there (cheap, nothing imported)."""
    from pathlib import Path

    for c in configs:
        if c.model == "checkpoint":
            from emergelab.llm.states import check_checkpoint

            check_checkpoint(Path(c.checkpoint).expanduser())
        elif c.model == "local":
            from emergelab.llm.local import check_installed

            check_installed()


def summarize(curves) -> dict[str, Any]:
    """The last value of every intent/* metric (name without 'intent/': recov_question_{r} and
    recov_gain_{r}[_answer] among them) and delta_entropy = entropy_step - entropy_direct (the
    paper's dH; negative: step by step is surer)."""
    out: dict[str, Any] = {}
    for name in curves.columns:
        if name.startswith("intent/"):
            c = curves[name].dropna()
            out[name.split("/", 1)[1]] = float(c.iloc[-1]) if len(c) else None
    if out.get("entropy_step") is not None and out.get("entropy_direct") is not None:
        out["delta_entropy"] = out["entropy_step"] - out["entropy_direct"]
    return out


register(World(
    name="intention",
    paper="P. M. Vera (2026), Intention Collapse: Intention-Level Metrics for Reasoning in Language Models "
          "(arXiv 2601.01011)",
    effect="step-by-step reasoning changes the state a model answers from: accuracy up, intention entropy down, "
           "correctness linearly recoverable from the pre-answer state",
    config=IntentionConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"n_problems": 48, "step_tokens": 48, "all_layers": False},
        "own": {"model": "own", "n_problems": 200},
        "tiny": {"model": "own", "n_problems": 16, "digits": 2, "d_model": 16, "n_heads": 2, "n_layers": 1,
                 "steps": 6, "batch": 8, "log_every": 3, "folds": 2},
    },
    watch=("intent/acc_step", "intent/acc_direct"),
    summarize=summarize,
    check=check,
    look_for="the regimes table side by side: with SmolLM2 (-p quick) acc_step far above acc_direct, and "
             "entropy_step_answer (H_int just before the answer, after the working-out) well below "
             "entropy_direct_answer (0.23 vs 1.92 bits on 200 problems); recov (probe AUROC) above 0.5 where "
             "both right and wrong answers occur, read against recov_question (the same probe on the "
             "question alone: much of recov is the question's difficulty) and recov_gain, the difference; "
             "the babble control shows whether step's gains come from the reasoning or from the extra tokens. "
             "With the own model (-p own) intent/acc_step rises before intent/acc_direct during training and "
             "entropy_step_answer falls far below entropy_direct: the scratchpad leaves less to decide at the "
             "answer. The layers artefact shows where correctness becomes linearly readable.",
))
