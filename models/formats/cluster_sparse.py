"""cluster_sparse (STARC): K/V stay FP16; queries read whole key clusters up to a token budget."""

from __future__ import annotations

from functools import partial

from spec.algo import ClusterSparse
from spec.errors import SpecError

from ..calibration import Calibration
from ..cluster_sparse import Clusters, build_clusters, read_mask
from .base import Compressed, KvBatch, KvFormat


class ClusterSparseFormat(KvFormat[ClusterSparse, Clusters]):
    algorithm = "cluster_sparse"

    def check_geometry(self) -> None:
        available = self.proxy.prefill_tokens - self.sink_tokens
        if self.algo.cluster_tokens > available:
            raise SpecError("algo.cluster_tokens", self.algo.cluster_tokens,
                            f"must be <= prefill tokens ({available})")

    def fit(self, batch: KvBatch, calibration: Calibration) -> Clusters:
        """Prefill keys clustered at the end of prefill, decode buffers as they are re-clustered."""
        return build_clusters(batch.k16, batch.prefill, self.algo, self.proxy.seed)

    def compress(self, batch: KvBatch, fitted: Clusters) -> Compressed:
        reader = partial(read_mask, cl=fitted, prefill=batch.prefill, spec=self.algo)
        return Compressed(batch.k16, batch.v16, self.region(batch), fitted.reclusters, reader)
