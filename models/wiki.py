"""Long coherent text: the articles of a MediaWiki XML dump (the documents `models.documents` cuts).

The default dump is the shortened English Wikipedia dump in gensim's test data (106 articles, ~720K
SmolLM2 tokens, 40 articles of >= 8,192 tokens; Wikipedia text, CC BY-SA 3.0, read in place from the
installed gensim package, not redistributed).
"""

from __future__ import annotations

import bz2
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
