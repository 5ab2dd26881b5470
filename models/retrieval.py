"""Retrieval mode: pass-key prompts over long real-text haystacks, scored teacher-forced.

Each item (`models.retrieval_prompts`) is a prompt of `length` tokens and a 5-digit answer. The exact
run is one forward of prompt + answer with the exact cache: it keeps every layer's post-RoPE K/V of the
prefill, the last prefill queries (importance weights) and the exact answer log-probs and arg-maxes,
once per item, on disk (`cache_dir/activations/retrieval-<hash of model and token ids>.safetensors`,
file-locked; the items themselves in `cache_dir/retrieval`).
The compressed run: the prefill is the prompt but its last token, compressed by the format when
prefill ends (codebooks / clusters built on it, sinks and window exact); the last prompt token and the
answer tokens are the decode steps, so every answer token is predicted from the compressed cache
(with the whole prompt as prefill, the first answer token would come from exact prefill attention).
An item is answered right when every answer token is the arg-max of its position's logits.
Metrics count only the items the exact cache answers right (`exact_acc` says how many there are).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from .attention import compressed_attention
from .calibration import Calibration
from .capture import tail_queries
from .formats import KvBatch, KvFormat
from .forward import ModelWeights, forward, logits
from .loader import load_tokenizer
from .result import ModeResult
from .retrieval_prompts import DEFAULT_FORM, VERSION, RetrievalItem, build_items, haystack_dump
from .runtime import get_model
from .spec import ProxySpec
from .text import model_path

EXACT_CHUNK = 2048
"""Prefill tokens per exact forward chunk: attention scores stay [9, 2048, L] (~0.6 GB fp32 at 8K)
instead of [9, L, L] (~2.4 GB); each chunk attends to the cache of the earlier ones (same arithmetic
up to summation order)."""


@dataclass(frozen=True)
class ItemScore:
    item: RetrievalItem
    exact_nll: float  # answer NLL per answer token, exact cache (nats)
    nll: float  # the same with the compressed cache
    exact_right: bool  # every answer token is the exact run's arg-max
    right: bool  # the same with the compressed cache


def load_items(spec: ProxySpec, form: str = DEFAULT_FORM) -> tuple[RetrievalItem, ...]:
    """The spec's items, built once (tokenizer load and haystack tokenization, ~15 s) and kept as JSON."""
    dump = haystack_dump(spec)
    r = spec.retrieval
    blob = {"model": spec.model.source + ":" + str(spec.model.path), "dump": [dump.name, dump.stat().st_size],
            "source": spec.text.source, "seq": spec.seq_tokens, "calib": spec.text.calib_seqs,
            "seed": spec.seed, "lengths": list(r.lengths), "depths": list(r.depths_pct), "keys": list(r.keys),
            "per_cell": r.prompts_per_cell, "form": form, "v": VERSION}
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:20]
    path = Path(spec.cache_dir) / "retrieval" / f"items-{digest}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            model = model_path(spec)
            assert model is not None, "validated before: an hf model has a path"
            items = build_items(spec, load_tokenizer(spec.model.source, model), form)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(i) for i in items]))
            tmp.replace(path)
    return tuple(RetrievalItem(**d | {"prompt": tuple(d["prompt"]), "answer": tuple(d["answer"])})
                 for d in json.loads(path.read_text()))


def _capture_path(spec: ProxySpec, item: RetrievalItem) -> Path:
    blob = {"model": spec.model.source + ":" + str(spec.model.path), "prompt": item.prompt,
            "answer": item.answer, "chunk": EXACT_CHUNK, "v": 1}
    digest = hashlib.sha256(json.dumps(blob).encode()).hexdigest()[:20]
    return Path(spec.cache_dir) / "activations" / f"retrieval-{digest}.safetensors"


def exact_run(w: ModelWeights, item: RetrievalItem, device: str) -> dict[str, torch.Tensor]:
    """One exact forward of prompt + answer: the P = prompt - 1 prefill tokens in chunks of EXACT_CHUNK,
    then the last prompt token and the answer.

    Returns k, v [Y, G, P, d] FP16 (the cache stores FP16) of the prefill, q_tail [Y, H, T, d] the last
    T prefill queries, answer_lp [A] the answer tokens' log-probs and answer_top [A] the arg-max token
    at each answer position."""
    ids = torch.tensor(item.prompt + item.answer, device=device)[None]
    p = len(item.prompt) - 1
    n_layers = w.config.n_layers
    ks: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
    vs: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
    qs: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
    t = tail_queries(p)

    def on_qkv(i: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
        ks[i].append(k)
        vs[i].append(v)
        qs[i].append(q[:, :, -t:])  # the decode chunk's queries are dropped below

    bounds = [*range(0, p, EXACT_CHUNK), p, ids.shape[1]]
    hidden = torch.empty(0)
    for start, end in zip(bounds, bounds[1:], strict=False):
        past = [(torch.cat(ks[i], 2), torch.cat(vs[i], 2)) for i in range(n_layers)] if start else None
        hidden = forward(w, ids[:, start:end], past=past, on_qkv=on_qkv)
    lp = torch.log_softmax(logits(w, hidden[0, :-1]).float(), -1)  # positions p .. p + A - 1
    target = ids[0, p + 1:]
    return {
        "k": torch.stack([torch.cat(ks[i], 2)[0, :, :p] for i in range(n_layers)]).half().cpu(),
        "v": torch.stack([torch.cat(vs[i], 2)[0, :, :p] for i in range(n_layers)]).half().cpu(),
        "q_tail": torch.stack([torch.cat(qs[i][:-1], 2)[0, :, -t:] for i in range(n_layers)]).cpu(),
        "answer_lp": lp.gather(-1, target[:, None])[:, 0].cpu(),
        "answer_top": lp.argmax(-1).cpu(),
    }


def load_exact(spec: ProxySpec, item: RetrievalItem) -> dict[str, torch.Tensor]:
    """The item's exact run, computed once per cache_dir (file-locked) and read from disk after."""
    path = _capture_path(spec, item)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            cap = exact_run(get_model(spec.model).weights, item, spec.model.device)
            tmp = path.with_suffix(".tmp")
            save_file(cap, str(tmp))
            tmp.replace(path)
    return load_file(str(path))


def compressed_run(fmt: KvFormat, spec: ProxySpec, item: RetrievalItem, cap: dict[str, torch.Tensor]
                   ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Answer log-probs [A] and arg-max tokens [A] with the format's cache, and its refreshes."""
    w = get_model(spec.model).weights
    dev = spec.model.device
    p, a = len(item.prompt) - 1, len(item.answer)
    q_tail = cap["q_tail"]
    refreshes = [0]

    def attend(i: int, q: torch.Tensor, k_all: torch.Tensor, v_all: torch.Tensor, q_pos: torch.Tensor
               ) -> torch.Tensor:
        out_dev = q.device
        q, k_all, v_all, q_pos = q.cpu(), k_all.cpu(), v_all.cpu(), q_pos.cpu()  # compression runs on CPU
        batch = KvBatch.stored(k_all, v_all, q_tail[i][None], p)
        comp = fmt.compress(batch, fmt.fit(batch, Calibration(spec, (), torch.full((1,), i))))
        refreshes[0] = comp.refreshes
        out, _ = compressed_attention(q, k_all, v_all, comp.k_hat, comp.v_hat, q_pos, comp.region,
                                      comp.read(q, q_pos))
        return out.to(out_dev)

    ids = torch.tensor(item.prompt + item.answer, device=dev)
    past = [(cap["k"][i][None].float().to(dev), cap["v"][i][None].float().to(dev))
            for i in range(w.config.n_layers)]
    hidden = forward(w, ids[None, p:p + a], past=past, attend=attend)
    lp = torch.log_softmax(logits(w, hidden[0]).float(), -1)
    return lp.gather(-1, ids[p + 1:, None])[:, 0].cpu(), lp.argmax(-1).cpu(), refreshes[0]


def score_items(fmt: KvFormat, spec: ProxySpec) -> tuple[list[ItemScore], int]:
    """Every item scored with the exact and the format's cache; refreshes of the format."""
    out, refreshes = [], 0
    for item in load_items(spec):
        cap = load_exact(spec, item)
        answer = torch.tensor(item.answer)
        exact_right = bool((cap["answer_top"] == answer).all())
        lp, top, refreshes = compressed_run(fmt, spec, item, cap)
        out.append(ItemScore(item, -cap["answer_lp"].mean().item(), -lp.mean().item(), exact_right,
                             bool((top == answer).all())))
    return out, refreshes


def retrieval_metrics(scores: Iterable[ItemScore]) -> dict[str, float]:
    """retrieval_acc, answer_nll_increase (nats per answer token), retrieval_items (items the exact cache
    answers right, the ones counted), exact_acc (their share of all items), and retrieval_acc@<length>,
    retrieval_acc@d<depth fraction> (cells where the exact cache answers some item right)."""
    scores = list(scores)
    counted = [s for s in scores if s.exact_right]
    if not counted:
        raise ValueError(f"the exact cache answers none of the {len(scores)} retrieval items right: "
                         "nothing to score (docs/proxy.md Retrieval: exact-cache accuracy per length)")

    def acc(group: list[ItemScore]) -> float:
        return sum(s.right for s in group) / len(group)

    metrics = {"retrieval_acc": acc(counted),
               "answer_nll_increase": sum(s.nll - s.exact_nll for s in counted) / len(counted),
               "retrieval_items": float(len(counted)), "exact_acc": len(counted) / len(scores)}
    for length in sorted({s.item.length for s in counted}):
        metrics[f"retrieval_acc@{length}"] = acc([s for s in counted if s.item.length == length])
    for depth in sorted({s.item.depth_pct for s in counted}):
        metrics[f"retrieval_acc@d{depth / 100:g}"] = acc([s for s in counted if s.item.depth_pct == depth])
    return metrics


def score_retrieval(fmt: KvFormat, spec: ProxySpec) -> ModeResult:
    scores, refreshes = score_items(fmt, spec)
    return ModeResult(retrieval_metrics(scores), refreshes)
