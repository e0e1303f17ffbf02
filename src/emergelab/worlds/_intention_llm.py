"""The intention world's language-model side: problems as text, the two regimes' prompts,
answers parsed from replies, and the states read before the reply and before the answer.

Both regimes show the same two solved examples (one sum, one word problem) as earlier chat
turns, so a small instruct model sees the reply format it must follow: in `direct` the bare
number, in `step` a short working-out ending with "Answer: N", in `babble` (the control)
unrelated filler with no numbers, then "Answer: N", on the same token budget as `step`.
Greedy decoding throughout.

Positions read (llm/states.py), the state whose logits give the next token:
  reply   the end of the templated prompt: before the model writes anything (the paper's
          pre-collapse state; in `step` that is before the reasoning)
  answer  the reply up to the number parsed as the answer (`aligned`): the state just before
          the answer is written; a reply without a number: its end
"""

from __future__ import annotations

import re

import numpy as np

from emergelab.llm.types import Request

SYSTEM = {"direct": "Answer with the number only.",
          "step": "Think step by step, then give the answer on the last line as 'Answer: N'.",
          "babble": "First write a sentence about something unrelated, such as the weather or animals, "
                    "with no numbers; then give the answer on the last line as 'Answer: N'."}  # fmt: skip
SHOTS = {
    "direct": [("What is 2 + 3?", "5"),
               ("Ann has 14 stamps and gets 5 more. How many stamps does Ann have now?", "19")],
    "step": [("What is 2 + 3?", "Start at 2 and add 3: 2 + 3 = 5.\nAnswer: 5"),
             ("Ann has 14 stamps and gets 5 more. How many stamps does Ann have now?",
              "Ann starts with 14 stamps and gets 5 more, so 14 + 5 = 19.\nAnswer: 19")],
    "babble": [("What is 2 + 3?",
                "The sky is grey today and the birds are singing in the old oak tree.\nAnswer: 5"),
               ("Ann has 14 stamps and gets 5 more. How many stamps does Ann have now?",
                "Cats like to sleep in the sun, while dogs would rather run in the park.\nAnswer: 19")],
}  # fmt: skip
NAMES = ("Tom", "Mia", "Leo", "Sara", "Ravi", "Lena", "Omar", "Yuki")
THINGS = ("apples", "marbles", "books", "coins", "shells", "pencils", "cards", "eggs")
WORD = ("{n} has {a} {t} and gets {b} more. How many {t} does {n} have now?",
        "There are {a} {t} in a box. {n} puts in {b} more. How many {t} are in the box now?",
        "{n} found {a} {t} on Monday and {b} {t} on Tuesday. How many {t} did {n} find in all?")  # fmt: skip
KINDS = ("What is", "and gets", "in a box", "on Monday")  # a phrase only the bare sum / that template has
# the number that answers: after 'Answer:', else after 'answer is', else after the last '=',
# else the last number in the reply
_PATTERNS = (r"answer:\s*(-?\d+)", r"answer is\s*(-?\d+)", r"=\s*(-?\d+)", r"(-?\d+)")


def texts(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, task: str) -> list[str]:
    """One question per problem (a + b): a sum, a word problem, or (mix) either at random."""
    out = []
    for x, y in zip(a.tolist(), b.tolist()):
        word = task == "word" or (task == "mix" and rng.random() < 0.5)
        if word:
            tpl, who, what = (w[rng.integers(len(w))] for w in (WORD, NAMES, THINGS))
            out.append(tpl.format(n=who, a=x, b=y, t=what))
        else:
            out.append(f"What is {x} + {y}?")
    return out


def question_features(questions: list[str], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Question-only features for the recoverability baseline, no model state: (N, F) = a, b,
    a + b, a two-digit sum, a carry out of the units, the kind one-hot (bare sum or one of the
    word templates), and the bag of characters of the question (the rest of the prompt is the
    same for every problem)."""
    from emergelab.measures.intention import char_counts

    s = a + b
    kind = np.array([[m in q for m in KINDS] for q in questions], float)  # (N, 4)
    base = np.stack([a, b, s, s >= 10, a % 10 + b % 10 >= 10], 1).astype(float)  # (N, 5)
    return np.concatenate([base, kind, char_counts(questions)], 1)


def request(question: str, regime: str, max_tokens: int) -> Request:
    msgs = [{"role": "system", "content": SYSTEM[regime]}]
    for q, r in SHOTS[regime]:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": r}]
    msgs.append({"role": "user", "content": question})
    return Request(messages=tuple(msgs), max_tokens=max_tokens, temperature=0.0, tag=regime)


def parse(reply: str) -> tuple[int | None, int]:
    """(the answer, where it starts in the reply); (None, len(reply)) when there is none."""
    text = reply.replace(",", "")  # 1,000 -> 1000; positions below refer to `text`
    for pat in _PATTERNS:
        hits = list(re.finditer(pat, text, flags=re.IGNORECASE))
        if hits:
            m = hits[-1]
            start = m.start(1)
            # map back to the reply with its commas: count the commas removed before `start`
            k, seen = 0, 0
            while seen < start:
                if reply[k] != ",":
                    seen += 1
                k += 1
            return int(m.group(1)), k
    return None, len(reply)


def aligned(tok, text: str, cut: int) -> str:
    """text[:cut] when the tokenizer splits `text` there (SmolLM2 writes ' ' and each digit as
    tokens of their own), else without its trailing spaces (a tokenizer with ' 23' as one
    token): the prefix ends where the model's own tokens ended before it wrote the answer."""
    pre = tok(text[:cut], add_special_tokens=False)["input_ids"]
    full = tok(text, add_special_tokens=False)["input_ids"]
    return text[:cut] if full[: len(pre)] == pre else text[:cut].rstrip()


def run_regime(backend, questions: list[str], truth: np.ndarray, regime: str, max_tokens: int) -> dict:
    """Generate, score and read states for one regime -> {correct (N,), replies, answers,
    tokens (N,), reply: (hidden, logits), answer: (hidden, logits)}."""
    reqs = [request(q, regime, max_tokens) for q in questions]
    raws = backend.generate(reqs)
    parsed = [parse(r.text) for r in raws]
    answers = [p[0] for p in parsed]
    correct = np.array([v is not None and v == t for v, t in zip(answers, truth.tolist())])
    at_reply = backend.states(reqs)  # (N, L+1, D), (N, V)
    tok = backend.load().tokenizer
    prefixes = [aligned(tok, r.text, start) for r, (_, start) in zip(raws, parsed)]
    at_answer = backend.states(reqs, prefixes) if any(prefixes) else at_reply
    return {"correct": correct, "replies": [r.text for r in raws], "answers": answers,
            "tokens": np.array([r.tokens_out for r in raws]), "reply": at_reply, "answer": at_answer}  # fmt: skip


def open_model(cfg):
    """The backend whose states are read: the offline SmolLM2 or a checkpoint folder."""
    if cfg.model == "checkpoint":
        from emergelab.llm.states import CheckpointBackend

        return CheckpointBackend(cfg.checkpoint, cfg.device)
    from emergelab.llm.local import LocalBackend

    b = LocalBackend(device=cfg.device)
    b.check()
    return b
