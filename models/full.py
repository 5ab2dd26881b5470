"""Full mode: the model runs over held-out text with the compressed KV cache in the loop.

Each evaluation sequence is prefilled exactly (positions < prefill are unaffected by compression, so
the captured exact prefix K/V is reused); the decode positions then run through every layer, each
layer compressing its cache (prefix + the decode tokens' own, already perturbed, K/V) as the
algorithm would after streaming the sequence, and attending with sinks/window exact.
Metrics over decode positions p (which predict token p + 1): the next-token loss increase over the
exact cache (nats/token) and the perplexity increase (%), the loss increase on long-range positions
(`models.longrange`), next-token KL(exact || compressed), and top-1 agreement.
The model (forward, logits) runs on proxy.model.device; compression and compressed attention run on
the CPU, as in quick mode.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .attention import compressed_attention
from .calibration import Calibration
from .capture import CaptureKey, load_capture
from .formats import KvBatch, KvFormat
from .forward import ModelWeights, forward, logits
from .longrange import POSITION_CHUNK, LongRangeRule, long_range
from .result import ModeResult
from .runtime import get_model
from .spec import ProxySpec


def score_full(fmt: KvFormat, spec: ProxySpec) -> ModeResult:
    key = CaptureKey("eval", (), decode_queries=False)
    cap = load_capture(spec, key)
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
    ref_hidden = cap["hidden"].to(dev)
    metrics, nll, ref_nll = next_token_metrics(w, hidden[:, :-1], ref_hidden[:, :-1], ids[:, p + 1:])
    far = long_range(w, cap["ids"], cap["hidden"], p, LongRangeRule(), Path(spec.cache_dir), key.digest(spec))
    return ModeResult(metrics | long_range_metrics(nll, ref_nll, far.mask), refreshes[0])


def long_range_metrics(nll: torch.Tensor, ref_nll: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """Loss increase (nats/token) on the long-range positions (mask [S, T]) and their count and share."""
    n = int(mask.sum())
    increase = float((nll - ref_nll)[mask].sum()) / n if n else 0.0
    return {"long_range_loss_increase": increase, "long_range_tokens": float(n),
            "long_range_share": n / mask.numel()}


def next_token_metrics(w: ModelWeights, hidden: torch.Tensor, ref_hidden: torch.Tensor, targets: torch.Tensor
                       ) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """hidden/ref_hidden [S, T, D] final normed states, targets [S, T] -> (KL, perplexities, loss increase,
    top-1 agreement; NLL [S, T] with and without compression, nats)."""
    kl_sum = agree = 0.0
    nll = torch.empty(targets.shape, dtype=torch.float64)
    ref_nll = torch.empty(targets.shape, dtype=torch.float64)
    for s in range(hidden.shape[0]):  # one sequence and one chunk of positions at a time
        for a in range(0, hidden.shape[1], POSITION_CHUNK):
            b = a + POSITION_CHUNK
            lp = torch.log_softmax(logits(w, hidden[s, a:b]).float(), -1)
            ref_lp = torch.log_softmax(logits(w, ref_hidden[s, a:b]).float(), -1)
            kl_sum += (ref_lp.exp() * (ref_lp - lp)).sum(-1).clamp_min(0).sum().item()
            tgt = targets[s, a:b][:, None]
            nll[s, a:b] = -lp.gather(-1, tgt)[:, 0].cpu().double()
            ref_nll[s, a:b] = -ref_lp.gather(-1, tgt)[:, 0].cpu().double()
            agree += (lp.argmax(-1) == ref_lp.argmax(-1)).sum().item()
    n = targets.numel()
    loss, ref_loss = nll.mean().item(), ref_nll.mean().item()
    ppl, ppl_ref = math.exp(loss), math.exp(ref_loss)
    metrics = {"kl": kl_sum / n, "ppl": ppl, "ppl_ref": ppl_ref, "ppl_ratio": ppl / ppl_ref,
               "top1_agree": agree / n, "loss_increase": loss - ref_loss,
               "ppl_increase_pct": 100.0 * (ppl / ppl_ref - 1.0)}
    return metrics, nll, ref_nll
