"""Pass-key retrieval prompts built in code over real-text haystacks (retrieval mode's items).

One item = one prompt of exactly `length` tokens and its answer, a 5-digit pass key (5 digit tokens:
SmolLM2 tokenizes digits one by one). The prompt is an instruction, a haystack of real text (one
Wikipedia article from its start, cut to the token budget), one or more needle sentences inserted
between two sentences of it, and a question ending in an answer lead ("The pass key is "), in the
model's chat template (form "chat") or as plain text (form "plain"). Single-key prompts hold one
needle; multi-key prompts hold `keys` needles, each the pass key of a differently coloured door, and
ask for one (the target, at the requested depth; the others at seeded random sentence boundaries).

Haystacks come from the articles of the wiki dump (proxy.text.path with text.source wiki, gensim's
shortened enwiki dump otherwise) outside the proxy's calibration split, long enough for the budget.
Every random choice of an item (article, keys, door colours, distractor positions) is drawn from a
generator seeded by (proxy.seed, length, depth, keys, index), so an item does not change when other
cells are added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from spec.errors import SpecError

from .documents import plan_documents
from .spec import ProxySpec
from .text import corpus_path, document_tokens
from .wiki import read_articles

FORMS = ("chat", "plain")
DEFAULT_FORM = "chat"
"""The form SmolLM2-135M-Instruct answers best (docs/proxy.md Retrieval: exact-cache accuracy of both)."""
KEY_DIGITS = 5
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "orange", "purple", "brown", "grey", "pink",
           "gold", "silver", "violet", "cyan", "ivory")
"""Door labels of multi-key prompts (spec: at most 16 keys a prompt)."""
SENTENCE_ENDS = (".", "!", "?")
VERSION = 1  # bump when the prompts a spec builds change


@dataclass(frozen=True)
class RetrievalItem:
    """One prompt and its answer, as token ids."""

    length: int  # prompt tokens
    depth_pct: int  # % of the haystack's tokens before the target needle
    keys: int  # needles in the prompt
    index: int  # prompt number inside its (length, depth, keys) cell
    article: int  # haystack article, index in dump order
    key: str  # the answer: KEY_DIGITS digits
    needle_pos: int  # token index of the target needle's first token in the prompt
    hay_start: int  # token index of the haystack's first token
    hay_tokens: int  # haystack tokens (needles excluded)
    prompt: tuple[int, ...]
    answer: tuple[int, ...]


@dataclass(frozen=True)
class Wording:
    """The texts of one prompt; the haystack goes between `before` and `after`."""

    before: str
    after: str
    target: str  # the needle holding the asked key
    distractors: tuple[str, ...]


def wording(keys: tuple[str, ...], colours: tuple[str, ...], form: str, tokenizer: Any) -> Wording:
    """Instruction, question and needles for pass keys `keys` (the first is asked) with door labels."""
    if len(keys) == 1:
        task = ("There is a pass key hidden inside a lot of irrelevant text. Find it and memorize it. "
                "I will quiz you about the pass key.")
        needles = [f" The pass key is {keys[0]}. Remember it. {keys[0]} is the pass key."]
        question, lead = "What is the pass key?", "The pass key is "
    else:
        task = (f"There are {len(keys)} pass keys hidden inside a lot of irrelevant text, each for a door "
                "of a different colour. Find them and memorize them. I will quiz you about one of them.")
        needles = [f" The pass key of the {c} door is {k}." for k, c in zip(keys, colours, strict=True)]
        question = f"What is the pass key of the {colours[0]} door?"
        lead = f"The pass key of the {colours[0]} door is "
    if form == "plain":
        before, after = task + "\n\n", f"\n\n{question}\n{lead}"
    else:
        marker = "\x00HAYSTACK\x00"
        user = {"role": "user", "content": f"{task}\n\n{marker}\n\n{question}"}
        chat = tokenizer.apply_chat_template([user], tokenize=False, add_generation_prompt=True)
        before, rest = chat.split(marker)
        after = rest + lead
    return Wording(before, after, needles[0], tuple(needles[1:]))


def sentence_starts(pieces: list[str]) -> np.ndarray:
    """Token indices i where a sentence starts: token i-1 ends a sentence, token i starts a word
    (`pieces` are the byte-level BPE strings, 'Ġ' a leading space)."""
    ok = [i for i in range(1, len(pieces))
          if pieces[i - 1].endswith(SENTENCE_ENDS) and pieces[i].startswith("Ġ") and len(pieces[i]) > 1]
    return np.array(ok, dtype=np.int64)


def build_item(hay_ids: list[int], article: int, length: int, depth_pct: int, n_keys: int, index: int,
               form: str, tokenizer: Any, rng: np.random.Generator) -> RetrievalItem:
    """One prompt of exactly `length` tokens from the article's tokens `hay_ids` (see the module doc)."""
    keys = tuple(str(k) for k in rng.choice(np.arange(10 ** (KEY_DIGITS - 1), 10 ** KEY_DIGITS), n_keys,
                                            replace=False))
    colours = tuple(str(c) for c in rng.choice(COLOURS, n_keys, replace=False))
    words = wording(keys, colours, form, tokenizer)

    def tok(s: str) -> list[int]:
        return list(tokenizer(s).input_ids)

    before, after, target = tok(words.before), tok(words.after), tok(words.target)
    distractors = [tok(s) for s in words.distractors]
    budget = length - len(before) - len(after) - len(target) - sum(map(len, distractors))
    if budget < len(target) * max(n_keys, 4):
        raise SpecError("proxy.retrieval.lengths", length, f"too short for {n_keys} pass keys: the haystack "
                        f"would keep {budget} tokens")
    if len(hay_ids) < budget:
        raise ValueError(f"article {article} holds {len(hay_ids)} tokens, the haystack needs {budget}")
    hay = hay_ids[:budget]
    starts = sentence_starts(tokenizer.convert_ids_to_tokens(hay))
    want = round(budget * depth_pct / 100)
    # the target goes to the sentence start nearest the depth, unless none lies within a sentence's
    # reach (then exactly at the depth, between two words)
    near = starts[np.abs(starts - want) <= max(32, budget // 20)] if len(starts) else starts
    at = int(near[np.argmin(np.abs(near - want))]) if len(near) else want
    others = np.setdiff1d(starts if len(starts) > n_keys else np.arange(1, budget), [at])
    spots = sorted([(at, target)] + list(zip(rng.choice(others, n_keys - 1, replace=False).tolist(),
                                              distractors, strict=True)))
    ids, last, needle_pos = list(before), 0, -1
    for pos, needle in spots:
        ids += hay[last:pos]
        if needle is target:
            needle_pos = len(ids)
        ids += needle
        last = pos
    ids += hay[last:] + after
    answer = tok(keys[0])
    assert len(ids) == length and len(answer) == KEY_DIGITS, (len(ids), length, answer)
    return RetrievalItem(length, depth_pct, n_keys, index, article, keys[0], needle_pos, len(before), budget,
                         tuple(ids), tuple(answer))


def _wiki(spec: ProxySpec) -> ProxySpec:
    """The spec reading the haystack dump: itself with text.source wiki, else the shipped dump."""
    return spec if spec.text.source == "wiki" else replace(spec, text=replace(spec.text, source="wiki",
                                                                              path=None))


def haystack_dump(spec: ProxySpec) -> Path:
    """The MediaWiki dump the haystacks come from (see the module doc)."""
    return corpus_path(_wiki(spec))


def haystack_articles(spec: ProxySpec) -> tuple[tuple[int, int], ...]:
    """(article index, tokens) of every article the haystacks may use: outside the calibration split."""
    lengths = document_tokens(_wiki(spec))
    calib: set[int] = set()
    if spec.text.source == "wiki":
        plan = plan_documents(lengths, spec.seq_tokens, spec.text.calib_seqs, 1, corpus_path(spec).name)
        calib = {c.document for c in plan.calib}
    return tuple((i, n) for i, n in enumerate(lengths) if i not in calib)


@cache
def _article_ids(tokenizer: Any, dump: Path, article: int) -> tuple[int, ...]:
    return tuple(tokenizer(read_articles(dump)[article]).input_ids)


def build_items(spec: ProxySpec, tokenizer: Any, form: str = DEFAULT_FORM) -> tuple[RetrievalItem, ...]:
    """Every item of the spec's retrieval cells, in (length, depth, keys, index) order."""
    r = spec.retrieval
    dump, articles = haystack_dump(spec), haystack_articles(spec)
    items = []
    for length in r.lengths:
        eligible = [i for i, n in articles if n >= length]
        if not eligible:
            raise SpecError("proxy.retrieval.lengths", length, "no article outside the calibration split of "
                            f"{dump.name} holds that many tokens")
        for depth in r.depths_pct:
            for n_keys in r.keys:
                for index in range(r.prompts_per_cell):
                    rng = np.random.default_rng([spec.seed, length, depth, n_keys, index])
                    article = int(rng.choice(eligible))
                    hay = list(_article_ids(tokenizer, dump, article))
                    items.append(build_item(hay, article, length, depth, n_keys, index, form, tokenizer, rng))
    return tuple(items)
