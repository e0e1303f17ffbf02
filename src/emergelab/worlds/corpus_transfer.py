"""Corpus transfer: pre-training on an emergent language helps a language model learn another.

Effect: a tiny transformer language model pre-trained on the corpus of an emergent language
(the messages a referential game's speaker invented) and then fine-tuned on a small corpus of a
target language reaches a lower held-out perplexity on the target than the same model
pre-trained on the same symbols shuffled, on random symbols, or not pre-trained at all. The
gain needs the code's structure, not just its symbols: the same messages reassigned among the
objects ("holistic", topsim ~ 0) gain nothing here, where the target is compositional by
construction.

Paper: S. Yao, M. Yu, Y. Zhang, K. Narasimhan, J. Tenenbaum, C. Gan (2022), "Linking Emergent
and Natural Languages via Corpus Transfer" (ICLR): pre-training on 2M emergent-language tokens
cut perplexity by 24.6 % on average in a 2M-token low-resource setting over ten natural
languages. The paper's translation-based metric predicted the transfer (rho = 0.83 on Hebrew);
topographic similarity did not (rho = 0.003). Neither is a claim this toy tests across
languages: its target shares the game's objects, so attribute structure is what can transfer.

The small analogue (SCIENCE E4; no data set is downloaded, so the target is in-world):
- Emergent corpus: the referential_game's `corpus` artefact (each object's greedy message),
  read from a stored run (`source_run`) or made here by running the game (`game_preset`,
  `game_set`, seed = `seed`).
- Documents are scene walks (see _corpus_data): `n_sentences` objects, each differing from
  the previous in one attribute, each named by its message and followed by a separator.
- Target: a toy natural language over the same objects, each attribute named by a word of its
  own class in a seeded word order, sentence ended by "."; `target_docs` training documents
  (low resource) and `heldout_docs` held-out documents of fresh walks.
- Conditions (`corpora`): emergent; shuffled (symbol tokens permuted between messages, or
  within each message: `shuffle`); random (uniform symbols); holistic (messages reassigned
  among objects); none (no pre-training). Vocabulary mapping: token tables re-initialised
  (see _corpus_lm): only positions, blocks and the final LayerNorm carry over.
- `n_replicates` model seeds per condition, paired (the same inits and batch orders in
  every condition of a replicate).

Logged per fine-tuning step (every `eval_every`), mean over replicates: target/ppl_<corpus>.
Per pre-training step: pretrain/loss_<corpus> (mean training loss, nats). Summary:
ppl_<corpus>_mean/_sd (held-out perplexity at the fine-tuning step of best validation
perplexity: early stopping on `val_docs` other documents), gain_<corpus>_mean/_sd (1 - ppl /
ppl of none, per replicate), topsim_emergent, topsim_holistic, distinct_messages, and the
artefacts `results` (one row per condition x replicate) and `samples` (a document of each
corpus, as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emergelab.lab.config import check_device, param
from emergelab.lab.registry import World, register

CORPORA = ("emergent", "shuffled", "random", "holistic", "none")


# Measured on 2 shared CPU cores, torch on 1 thread: see docs/worlds/corpus_transfer.md.
@dataclass(frozen=True)
class CorpusTransferConfig:
    seed: int = param(0, "seeds the game (when run here), the walks, the controls, the target language "
                         "and the model replicates")
    source_run: str = param("", "id (or unique prefix) of a stored referential_game run whose corpus to "
                                "use; empty: run the game here")
    source_store: str = param("", "store to read source_run from; empty: $EMERGELAB_STORE, else "
                                  "./emergelab-runs")
    game_preset: str = param("quick", "referential_game preset run here when source_run is empty")
    game_set: tuple[str, ...] = param((), "key=value overrides of that game, comma-separated "
                                          "(e.g. steps=100); its seed is this seed")
    corpora: tuple[str, ...] = param(CORPORA, "pre-training conditions: emergent, shuffled, random, "
                                              "holistic, none")
    shuffle: Literal["between", "within"] = param(
        "within", "shuffled control: symbols permuted within each message (bag kept) or between messages")
    n_sentences: int = param(6, "objects (messages, sentences) per document")
    pretrain_docs: int = param(4000, "documents in each pre-training corpus")
    target_docs: int = param(48, "target training documents (the low-resource corpus)")
    val_docs: int = param(128, "target validation documents: fine-tuning stops at their best perplexity")
    heldout_docs: int = param(512, "held-out target documents perplexity is measured on")
    n_replicates: int = param(5, "model seeds per condition (paired across conditions)")
    d_model: int = param(64, "transformer width")
    n_heads: int = param(4, "attention heads")
    d_mlp: int = param(128, "MLP width")
    n_layers: int = param(2, "transformer blocks")
    lr: float = param(1e-3, "Adam learning rate (pre-training and fine-tuning)")
    batch_size: int = param(32, "documents per step")
    pretrain_steps: int = param(2000, "pre-training steps")
    finetune_steps: int = param(150, "fine-tuning steps on the target documents")
    eval_every: int = param(10, "fine-tuning steps between validation and held-out perplexities")
    device: str = param("auto", "auto (CUDA when available), cpu, cuda or cuda:N")

    def __post_init__(self) -> None:
        for k in ("n_sentences", "pretrain_docs", "target_docs", "val_docs", "heldout_docs", "n_replicates",
                  "d_model", "n_heads", "n_layers", "batch_size", "eval_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be at least 1, got {getattr(self, k)}")
        for k in ("pretrain_steps", "finetune_steps", "d_mlp"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")
        if self.n_sentences < 2:
            raise ValueError(f"n_sentences must be at least 2 (a walk needs a step), got {self.n_sentences}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        bad = [c for c in self.corpora if c not in CORPORA]
        if bad or not self.corpora or len(set(self.corpora)) != len(self.corpora):
            raise ValueError(f"corpora must be distinct names from {', '.join(CORPORA)}, got {self.corpora}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        check_device(self.device, auto=True)
        if not self.source_run:
            _game_config(self)  # an unknown preset or game key fails now, not after the setup


def _game_config(cfg: CorpusTransferConfig):
    """The referential_game config run here: its preset, the game_set overrides, our seed."""
    from emergelab.errors import UserError
    from emergelab.lab.registry import get_world

    over: dict[str, Any] = {}
    for item in cfg.game_set:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UserError(f"game_set item {item!r} is not key=value: write e.g. game_set=steps=100")
        over[key.strip()] = value.strip()
    return get_world("referential_game").make_config(cfg.game_preset, {**over, "seed": cfg.seed})


def source_corpus(cfg: CorpusTransferConfig) -> tuple[np.ndarray, np.ndarray, int, int, str]:
    """(meanings (M, A), messages (M, L), n_values, vocab_size, where from) of the emergent
    corpus: a stored run's `corpus` artefact, or the game run here."""
    import pandas as pd

    from emergelab.errors import UserError
    from emergelab.lab.recorder import Recorder
    from emergelab.lab.registry import get_world
    from emergelab.worlds._corpus_data import corpus_frame

    if cfg.source_run:
        from emergelab.lab.store import open_store

        store = open_store(cfg.source_store or None, create=False)
        kind, run_id = store.resolve(cfg.source_run)
        if kind != "run":
            raise UserError(f"source_run={cfg.source_run!r} is a sweep: give one of its run ids "
                            "(see: emergelab runs)")
        meta = store.run_meta(run_id)
        if meta.get("world") != "referential_game":
            raise UserError(f"run {run_id} is a {meta.get('world')} run: source_run must be a "
                            "referential_game run")
        try:
            frame = pd.read_parquet(store.artefact_path(run_id, "corpus"))
        except (OSError, ValueError) as e:
            raise UserError(f"cannot read the corpus of run {run_id} ({e}): re-run it") from None
        game = meta["config"]
        where = f"run {run_id}"
    else:
        gcfg = _game_config(cfg)
        rec = Recorder(progress=False)
        get_world("referential_game").run(gcfg, rec)
        frame, game = rec.artefacts["corpus"], vars(gcfg)
        where = f"referential_game -p {cfg.game_preset} seed {cfg.seed}"
    meanings, messages = corpus_frame(frame)
    return meanings, messages, int(game["n_values"]), int(game["vocab_size"]), where


def check(configs: list) -> None:
    """Before anything is written: every source_run exists and has a corpus."""
    seen = set()
    for cfg in configs:
        if cfg.source_run and (cfg.source_run, cfg.source_store) not in seen:
            seen.add((cfg.source_run, cfg.source_store))
            source_corpus(cfg)


def run(cfg: CorpusTransferConfig, rec) -> None:
    from emergelab.nn import torch_threads

    with torch_threads(1):  # a 64-wide transformer only pays synchronisation for more threads
        _run(cfg, rec)


def _run(cfg: CorpusTransferConfig, rec) -> None:
    import pandas as pd

    from emergelab.measures.language import meaning_grid, topsim
    from emergelab.nn import resolve_device
    from emergelab.worlds import _corpus_data as cd
    from emergelab.worlds import _corpus_lm as lm

    device = resolve_device(cfg.device)
    meanings, messages, N, S, where = source_corpus(cfg)
    A, L = meanings.shape[1], messages.shape[1]
    table = cd.message_table(meanings, messages, N)  # (M, L) messages by object id
    grid = meaning_grid(A, N)  # (M, A)
    seq = np.random.SeedSequence(cfg.seed)
    s_walk, s_ctrl, s_target, s_rep = (np.random.default_rng(s) for s in seq.spawn(4))
    # per replicate: pre-training init and batches, fine-tuning init and batches; the same in
    # every condition, so conditions are compared pair by pair
    rep_seeds = s_rep.integers(2**31, size=(cfg.n_replicates, 4))

    # Pre-training corpora: one set of walks, rendered by each language. (D, K*(L+1))
    walk = cd.walks(s_walk, cfg.pretrain_docs, cfg.n_sentences, A, N)
    holistic = cd.holistic_table(table, s_ctrl)
    emergent = cd.render(walk, table, sep=S)
    pre = {"emergent": emergent, "shuffled": cd.shuffled(emergent, S, s_ctrl, cfg.shuffle),
           "random": cd.random_tokens(emergent, S, S, s_ctrl), "holistic": cd.render(walk, holistic, sep=S)}
    # Target: the toy natural language on fresh walks (period = id V-1 = its separator)
    sentences, words = cd.target_language(A, N, s_target)
    V = len(words)
    train_docs = cd.render(cd.walks(s_target, cfg.target_docs, cfg.n_sentences, A, N), sentences, sep=V - 1)
    val_docs = cd.render(cd.walks(s_target, cfg.val_docs, cfg.n_sentences, A, N), sentences, sep=V - 1)
    held_docs = cd.render(cd.walks(s_target, cfg.heldout_docs, cfg.n_sentences, A, N), sentences, sep=V - 1)

    # One context for both: messages (max_len) and sentences (n_attributes words) may differ in
    # length, and the position table must have one shape to carry over.
    n_ctx = max(emergent.shape[1], train_docs.shape[1])
    rows, curves, pre_curves = [], {}, {}
    for r, (s_init, s_pre, s_ft_init, s_ft) in enumerate(rep_seeds.tolist()):
        for name in cfg.corpora:
            src, pre_loss = None, float("nan")
            if name != "none":
                src = lm.make_model(cfg, S + 1, n_ctx, s_init, device)
                losses = lm.train(src, pre[name], cfg.pretrain_steps, cfg, s_pre, device,
                                  eval_every=max(1, cfg.pretrain_steps // 10))
                pre_curves.setdefault(name, []).append(losses)
                pre_loss = losses[-1] if losses else pre_loss
            model = lm.transfer(src, lm.make_model(cfg, V, n_ctx, s_ft_init, device))
            ppl: list[float] = []  # held-out perplexity at each evaluation
            val: list[float] = []
            steps: list[int] = []

            def evaluate(step, model=model, ppl=ppl, val=val, steps=steps):
                steps.append(step)
                val.append(lm.perplexity(model, val_docs, device))
                ppl.append(lm.perplexity(model, held_docs, device))

            lm.train(model, train_docs, cfg.finetune_steps, cfg, s_ft, device, on_eval=evaluate,
                     eval_every=cfg.eval_every)
            curves.setdefault(name, []).append(ppl)
            # Early stopping on the validation documents: a low-resource corpus is overfitted
            # long before a fixed step budget ends, and the final step would mostly measure how.
            best = int(np.argmin(val))
            rows.append({"corpus": name, "replicate": r, "ppl": ppl[best], "best_step": steps[best],
                         "ppl_final": ppl[-1], "ppl_start": ppl[0], "pretrain_loss": pre_loss})

    for name, cs in curves.items():  # mean over replicates at each evaluation step
        rec.log_many(f"target/ppl_{name}", steps, np.mean(cs, axis=0))
    every = max(1, cfg.pretrain_steps // 10)
    for name, cs in pre_curves.items():
        if cs and cs[0]:
            rec.log_many(f"pretrain/loss_{name}", np.arange(len(cs[0])) * every, np.mean(cs, axis=0))

    res = pd.DataFrame(rows)
    summ: dict[str, Any] = {}
    by = {n: res[res.corpus == n].sort_values("replicate")["ppl"].to_numpy() for n in cfg.corpora}
    for name, p in by.items():
        summ[f"ppl_{name}_mean"], summ[f"ppl_{name}_sd"] = float(p.mean()), _sd(p)
        if "none" in by and name != "none":
            g = 1.0 - p / by["none"]  # paired: the same replicate's no-pre-training model
            summ[f"gain_{name}_mean"], summ[f"gain_{name}_sd"] = float(g.mean()), _sd(g)
    res["gain"] = 1.0 - res["ppl"] / res["replicate"].map(dict(enumerate(by["none"]))) if "none" in by \
        else np.nan
    rec.artefact("results", res)
    rec.artefact("samples", _samples(pre, held_docs, words, S))
    rec.summarize(**summ, topsim_emergent=topsim(grid, table), topsim_holistic=topsim(grid, holistic),
                  topsim_target=topsim(grid, sentences), n_objects=len(grid), message_len=L, vocab_size=S,
                  distinct_messages=len(np.unique(table, axis=0)),  # < n_objects: some names are ambiguous
                  target_vocab=V, pretrain_tokens=int(emergent.size), target_tokens=int(train_docs.size),
                  source=where, device=str(device))


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if len(x) > 1 else float("nan")


def _samples(pre: dict, held: np.ndarray, words: np.ndarray, S: int) -> str:
    """The first document of each corpus, as text (separator '|', target words as words)."""
    lines = [f"{n:9s} " + " ".join("|" if t == S else str(t) for t in docs[0]) for n, docs in pre.items()]
    lines.append("target    " + " ".join(words[held[0]]))
    return "\n".join(lines) + "\n"


def summarize(curves) -> dict[str, Any]:
    """Final held-out target perplexity of each condition, from the logged curves."""
    return {f"final_{c.replace('/', '_')}": float(curves[c].dropna().iloc[-1])
            for c in curves.columns if c.startswith("target/ppl_") and len(curves[c].dropna())}


register(World(
    name="corpus_transfer",
    paper="S. Yao et al. (2022), Linking Emergent and Natural Languages via Corpus Transfer (ICLR)",
    effect="pre-training a language model on an emergent language lowers its perplexity on another "
           "(compositional) language, more than shuffled or random symbols or no pre-training",
    config=CorpusTransferConfig,
    run=run,
    presets={
        "paper": {},
        "quick": {"n_replicates": 3, "pretrain_steps": 500, "finetune_steps": 100},
        "tiny": {"game_preset": "tiny", "n_sentences": 3, "pretrain_docs": 64, "target_docs": 8,
                 "heldout_docs": 16, "n_replicates": 2, "d_model": 16, "n_heads": 2, "d_mlp": 16,
                 "n_layers": 1, "batch_size": 8, "pretrain_steps": 10, "finetune_steps": 10, "eval_every": 5},
    },
    watch=(),
    summarize=summarize,
    check=check,
    look_for="target/ppl_emergent ends below target/ppl_shuffled, target/ppl_random and target/ppl_none "
             "(summary: gain_<corpus>_mean, the share of perplexity saved against no pre-training, at the "
             "best validation step); target/ppl_holistic, the same messages without their compositional "
             "structure (topsim_holistic ~ 0), gains nothing.",
))
