"""Full mode: the model runs over held-out text with the compressed KV cache in the loop.

Each evaluation sequence is prefilled exactly (positions < prefill are unaffected by compression, so
the captured exact prefix K/V is reused); the decode positions then run through every layer, each
layer compressing its cache (prefix + the decode tokens' own, already perturbed, K/V) as the
algorithm would after streaming the sequence, and attending with sinks/window exact.
Metrics over decode positions p (which predict token p + 1): next-token KL(exact || compressed),
perplexity with and without compression, and top-1 agreement.
The model (forward, logits) runs on proxy.model.device; compression and compressed attention run on
the CPU, as in quick mode.
"""

from __future__ import annotations

import math

import torch

from .attention import compressed_attention
from .calibration import Calibration
from .capture import CaptureKey, load_capture
from .formats import KvBatch, KvFormat
from .llama import LlamaWeights, forward, logits
from .result import ModeResult
from .runtime import get_model
from .spec import ProxySpec


def score_full(fmt: KvFormat, spec: ProxySpec) -> ModeResult:
    cap = load_capture(spec, CaptureKey("eval", (), decode_queries=False))
    model = get_model(spec.model)
    w = model.weights
    p = spec.prefill_tokens
    k, v, q_tail = cap["k"], cap["v"], cap["q_tail"]  # [S, Y, G, L, d], [S, Y, H, T, d]
    n_seq, n_layers = k.shape[:2]
    refreshes = [0]

    def attend(i: int, q: torch.Tensor, k_all: torch.Tensor, v_all: torch.Tensor, q_pos: torch.Tensor
               ) -> torch.Tensor:
        dev = q.device
        q, k_all, v_all, q_pos = q.cpu(), k_all.cpu(), v_all.cpu(), q_pos.cpu()  # compression runs on CPU
        batch = KvBatch.stored(k_all, v_all, q_tail[:, i], p)
        comp = fmt.compress(batch, fmt.fit(batch, Calibration(spec, (), torch.full((n_seq,), i))))
        refreshes[0] = comp.refreshes
        out, _ = compressed_attention(q, k_all, v_all, comp.k_hat, comp.v_hat, q_pos, comp.region,
                                      comp.read(q, q_pos))
        return out.to(dev)

    dev = spec.model.device
    ids = cap["ids"].to(dev)
    past = [(k[:, i, :, :p].to(dev), v[:, i, :, :p].to(dev)) for i in range(n_layers)]
    hidden = forward(w, ids[:, p:], past=past, attend=attend)
    return ModeResult(next_token_metrics(w, hidden[:, :-1], cap["hidden"][:, :-1].to(dev), ids[:, p + 1:]),
                       refreshes[0])


POSITION_CHUNK = 1024
"""Positions whose vocab-sized logits are held at once: ~0.2 GB per fp32 [1024, 49152] tensor for
SmolLM2, so an 8K sequence stays bounded (unchunked its logits and log-softmax peak at ~3 GB). A
sequence of at most this many scored positions is one chunk, summed in the same order as unchunked."""


def next_token_metrics(w: LlamaWeights, hidden: torch.Tensor, ref_hidden: torch.Tensor, targets: torch.Tensor
                       ) -> dict[str, float]:
    """hidden/ref_hidden [S, T, D] final normed states, targets [S, T] -> KL, perplexities, top-1."""
    kl_sum = nll_sum = ref_nll_sum = agree = 0.0
    n = targets.numel()
    for s in range(hidden.shape[0]):  # one sequence and one chunk of positions at a time
        for a in range(0, hidden.shape[1], POSITION_CHUNK):
            b = a + POSITION_CHUNK
            lp = torch.log_softmax(logits(w, hidden[s, a:b]).float(), -1)
            ref_lp = torch.log_softmax(logits(w, ref_hidden[s, a:b]).float(), -1)
            kl_sum += (ref_lp.exp() * (ref_lp - lp)).sum(-1).clamp_min(0).sum().item()
            tgt = targets[s, a:b][:, None]
            nll_sum -= lp.gather(-1, tgt).sum().item()
            ref_nll_sum -= ref_lp.gather(-1, tgt).sum().item()
            agree += (lp.argmax(-1) == ref_lp.argmax(-1)).sum().item()
    ppl, ppl_ref = math.exp(nll_sum / n), math.exp(ref_nll_sum / n)
    return {"kl": kl_sum / n, "ppl": ppl, "ppl_ref": ppl_ref, "ppl_ratio": ppl / ppl_ref,
            "top1_agree": agree / n}
