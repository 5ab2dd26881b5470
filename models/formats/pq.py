"""pq (AQPIM): product quantization of K and V, codebooks per layer, KV head, tensor and subspace.

fit: the head-dim order (calibrated channel sort, or the proxy's fixed layout), importance weights
from the last prefill queries, and the codebooks built on the prefill. compress: the decode stream
encoded under the refresh policy, reconstructions back in the original channel order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from spec.algo import Pq
from spec.errors import SpecError

from ..calibration import Calibration
from ..capture import Q_TAIL, tail_queries
from ..channel_sort import VERSION as SORT_VERSION
from ..channel_sort import paired_layout
from ..importance import importance_weights
from ..kmeans import KMeansConfig
from ..pq import (
    StreamGeometry,
    build_codebooks,
    encode_stream,
    from_subspaces,
    to_subspaces,
    training_weights,
)
from .base import Compressed, KvBatch, KvFormat


@dataclass(frozen=True, eq=False)
class PqFit:
    perm_k: torch.Tensor  # [N, G, d] head-dim order of the keys (subvector j = channels j*s .. j*s+s-1)
    perm_v: torch.Tensor
    w_train: torch.Tensor | None  # [N * G * m, prefill - sinks] importance of each training token
    codebooks_k: torch.Tensor  # [N * G * m, K, s] built at the end of prefill
    codebooks_v: torch.Tensor


class PqFormat(KvFormat[Pq, PqFit]):
    algorithm = "pq"

    def check_geometry(self) -> None:
        a, prefill = self.algo, self.proxy.prefill_tokens
        available = prefill - self.sink_tokens
        if a.n_centroids > available:
            raise SpecError("algo.n_centroids", a.n_centroids,
                            f"must be <= prefill tokens available for k-means ({available})")
        captured = tail_queries(prefill)
        if a.importance_weighted and a.importance_queries > captured:
            raise SpecError("algo.importance_queries", a.importance_queries,
                            f"must be <= {captured} (the last prefill queries the proxy captures: "
                            f"min(proxy.prefill_tokens, {Q_TAIL}))")

    def cache_key(self) -> dict[str, Any]:
        key = super().cache_key()
        if self.algo.channel_sort:
            key["channel_sort"] = SORT_VERSION  # only sorted points change when the sort does
        return key

    def fit(self, batch: KvBatch, calibration: Calibration) -> PqFit:
        a = self.algo
        if a.channel_sort:
            perm_k, perm_v = calibration.channel_orders(a.subvector_dim)
        else:
            perm_k, perm_v = self._fixed_order(batch.k16), self._fixed_order(batch.v16)
        weights = None
        if a.importance_weighted:
            weights = importance_weights(batch.q_tail, batch.k16, batch.prefill, a.importance_queries)
            weights = weights.flatten(0, 1)
        m = batch.k16.shape[-1] // a.subvector_dim
        w_train = training_weights(weights, self._geometry(batch), m)
        cb_k = build_codebooks(self._subspaces(batch.k16, perm_k), self._kmeans(0), self._geometry(batch),
                               w_train)
        cb_v = build_codebooks(self._subspaces(batch.v16, perm_v), self._kmeans(1), self._geometry(batch),
                               w_train)
        return PqFit(perm_k, perm_v, w_train, cb_k, cb_v)

    def compress(self, batch: KvBatch, fitted: PqFit) -> Compressed:
        kh, refreshes = self._stream(batch, batch.k16, fitted.perm_k, fitted.codebooks_k, fitted, 0)
        vh, _ = self._stream(batch, batch.v16, fitted.perm_v, fitted.codebooks_v, fitted, 1)
        return Compressed(kh, vh, self.region(batch), refreshes)

    def _stream(self, batch: KvBatch, x: torch.Tensor, perm: torch.Tensor, cb: torch.Tensor, fitted: PqFit,
                tensor: int) -> tuple[torch.Tensor, int]:
        """x [N, G, L, d] streamed through the refresh policy -> reconstruction [N, G, L, d], refreshes."""
        a = self.algo
        n, g, length, d = x.shape
        recon, refreshes = encode_stream(self._subspaces(x, perm), cb, self._kmeans(tensor),
                                         self._geometry(batch), a.refresh, fitted.w_train,
                                         a.refresh_window_tokens, a.refresh_interval)
        recon = from_subspaces(recon, n * g).reshape(n, g, length, d)
        inv = perm.argsort(-1)
        return recon.gather(-1, inv[:, :, None, :].expand(-1, -1, length, -1)), refreshes

    def _subspaces(self, x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
        """x [N, G, L, d] in the order perm [N, G, d], cut into subspaces [N * G * m, L, s]."""
        n, g, length, d = x.shape
        xp = x.gather(-1, perm[:, :, None, :].expand(-1, -1, length, -1)).reshape(n * g, length, d)
        return to_subspaces(xp, self.algo.subvector_dim)

    def _fixed_order(self, x: torch.Tensor) -> torch.Tensor:
        """The proxy's head-dim layout without channel sorting, [N, G, d]."""
        n, g, _, d = x.shape
        base = paired_layout(d) if self.proxy.pq_layout == "paired" else torch.arange(d)
        return base.expand(n, g, d)

    def _kmeans(self, tensor: int) -> KMeansConfig:
        """k-means settings of the keys (tensor 0) or values (tensor 1), each with its own seed."""
        p = self.proxy
        return KMeansConfig(self.algo.n_centroids, self.algo.kmeans_iters, p.seed + tensor, p.kmeans_tol,
                            p.kmeans_train_tokens)

    def _geometry(self, batch: KvBatch) -> StreamGeometry:
        return StreamGeometry(batch.prefill, self.sink_tokens)
