"""Which documents of a long-text source give the calibration and the evaluation sequences.

A document is one coherent text (an article of a wiki dump, a play). A sequence never crosses a
document boundary: each document gives `tokens // seq_tokens` sequences cut back to back from its
start, and the calibration and evaluation splits are disjoint sets of documents, so a sequence of up
to the model's context reads one coherent text and no evaluation token was seen in calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spec.errors import SpecError


@dataclass(frozen=True)
class DocumentCut:
    document: int  # index in the source's document order
    seqs: int  # sequences cut back to back from the document's start


@dataclass(frozen=True)
class DocumentPlan:
    calib: tuple[DocumentCut, ...]
    eval: tuple[DocumentCut, ...]


def _take(cuts: Sequence[DocumentCut], n: int) -> tuple[DocumentCut, ...]:
    """The first `n` sequences of `cuts` (the last document used may give fewer than all of its own)."""
    out, left = [], n
    for c in cuts:
        if left == 0:
            break
        out.append(DocumentCut(c.document, min(c.seqs, left)))
        left -= out[-1].seqs
    return tuple(out)


def plan_documents(lengths: Sequence[int], seq_tokens: int, calib_seqs: int, n_seqs: int, name: str
                   ) -> DocumentPlan:
    """Which documents give the calibration and the evaluation sequences.

    `lengths` are the documents' token counts in the source's order; `name` names the source in
    errors. Documents shorter than `seq_tokens` are skipped; calibration takes whole documents first,
    evaluation the documents after them. Raises a SpecError naming the first of proxy.seq_tokens,
    proxy.text.calib_seqs, proxy.n_seqs that does not fit.
    """
    cuts = [DocumentCut(i, n // seq_tokens) for i, n in enumerate(lengths) if n >= seq_tokens]
    if len(cuts) < 2:
        longest = sorted(lengths)[-2:]
        limit = longest[0] if len(longest) == 2 else 0
        raise SpecError("proxy.seq_tokens", seq_tokens, f"must be <= {limit}: "
                        f"a calibration and an evaluation document of {name} must each hold one sequence "
                        f"(its two longest documents have {longest} tokens)")
    n_calib_documents = len(_take(cuts, calib_seqs))
    if sum(c.seqs for c in cuts[:n_calib_documents]) < calib_seqs or n_calib_documents == len(cuts):
        most = sum(c.seqs for c in cuts[:-1])
        raise SpecError("proxy.text.calib_seqs", calib_seqs, f"must be <= {most}: calibration documents "
                        f"of {name} must leave an evaluation document of >= {seq_tokens} tokens")
    rest = cuts[n_calib_documents:]
    available = sum(c.seqs for c in rest)
    if n_seqs > available:
        raise SpecError("proxy.n_seqs", n_seqs, f"must be <= {available}: {name} holds {available} sequences "
                        f"of {seq_tokens} tokens in the documents after the calibration split")
    return DocumentPlan(_take(cuts, calib_seqs), _take(rest, n_seqs))
