"""Long coherent text: the articles of a MediaWiki XML dump, and how sequences are cut from them.

The default dump is the shortened English Wikipedia dump in gensim's test data (106 articles, ~720K
SmolLM2 tokens, 40 articles of >= 8,192 tokens; Wikipedia text, CC BY-SA 3.0, read in place from the
installed gensim package, not redistributed). A sequence never crosses an article boundary, and the
calibration and evaluation splits are disjoint sets of articles, so a sequence of up to the model's
context reads one coherent document.
"""

from __future__ import annotations

import bz2
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from spec.errors import SpecError

DEFAULT_WIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


@cache  # a dump is parsed once per process (~3.5 s CPU for the default)
def read_articles(path: Path) -> tuple[str, ...]:
    """Plain text of every main-namespace, non-redirect page, in dump order: title, blank line, body.

    Markup is removed by gensim's `filter_wiki`; bold/italic quote marks ('' and ''') are dropped too,
    section headings (== Heading ==) stay as text lines."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki  # gensim import costs ~1 s

    out = []
    try:
        with bz2.open(path) as f:
            for title, raw, _ in extract_pages(f, filter_namespaces=("0",)):
                if not raw or raw.lstrip()[:9].upper() == "#REDIRECT":
                    continue
                body = filter_wiki(raw).replace("'''", "").replace("''", "").strip()
                out.append(f"{title}\n\n{body}")
    except (OSError, EOFError, ValueError, SyntaxError) as e:  # SyntaxError: ElementTree's ParseError
        raise SpecError("proxy.text.path", str(path), f"not a readable MediaWiki XML .bz2 dump ({e})"
                        ) from None
    if not out:
        raise SpecError("proxy.text.path", str(path), "the dump holds no article")
    return tuple(out)


@dataclass(frozen=True)
class ArticleCut:
    article: int  # index in dump order
    seqs: int  # sequences cut back to back from the article's start


@dataclass(frozen=True)
class ArticlePlan:
    calib: tuple[ArticleCut, ...]
    eval: tuple[ArticleCut, ...]


def _take(cuts: Sequence[ArticleCut], n: int) -> tuple[ArticleCut, ...]:
    """The first `n` sequences of `cuts` (the last article used may give fewer than all of its own)."""
    out, left = [], n
    for c in cuts:
        if left == 0:
            break
        out.append(ArticleCut(c.article, min(c.seqs, left)))
        left -= out[-1].seqs
    return tuple(out)


def plan_articles(lengths: Sequence[int], seq_tokens: int, calib_seqs: int, n_seqs: int, name: str
                  ) -> ArticlePlan:
    """Which articles give the calibration and the evaluation sequences.

    `lengths` are the articles' token counts in dump order. Articles shorter than `seq_tokens` are
    skipped; calibration takes whole articles first, evaluation the articles after them. Raises a
    SpecError naming the first of proxy.seq_tokens, proxy.text.calib_seqs, proxy.n_seqs that does not fit.
    """
    cuts = [ArticleCut(i, n // seq_tokens) for i, n in enumerate(lengths) if n >= seq_tokens]
    if len(cuts) < 2:
        longest = sorted(lengths)[-2:]
        limit = longest[0] if len(longest) == 2 else 0
        raise SpecError("proxy.seq_tokens", seq_tokens, f"must be <= {limit}: "
                        f"a calibration and an evaluation article of {name} must each hold one sequence "
                        f"(its two longest articles have {longest} tokens)")
    n_calib_articles = len(_take(cuts, calib_seqs))
    if sum(c.seqs for c in cuts[:n_calib_articles]) < calib_seqs or n_calib_articles == len(cuts):
        most = sum(c.seqs for c in cuts[:-1])
        raise SpecError("proxy.text.calib_seqs", calib_seqs, f"must be <= {most}: calibration articles of "
                        f"{name} must leave an evaluation article of >= {seq_tokens} tokens")
    rest = cuts[n_calib_articles:]
    available = sum(c.seqs for c in rest)
    if n_seqs > available:
        raise SpecError("proxy.n_seqs", n_seqs, f"must be <= {available}: {name} holds {available} sequences "
                        f"of {seq_tokens} tokens in the articles after the calibration split")
    return ArticlePlan(_take(cuts, calib_seqs), _take(rest, n_seqs))
