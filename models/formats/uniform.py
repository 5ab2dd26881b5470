"""uniform (KIVI): int-b keys per channel over token groups, values per token over channel groups."""

from __future__ import annotations

from spec.algo import Uniform

from ..uniform import quantize_kivi
from .base import Compressed, KvBatch, KvFormat


class UniformFormat(KvFormat[Uniform, None]):
    algorithm = "uniform"
    # The proxy quantizes with float scales; the bytes a scale takes change the footprint only.
    cost_only = ("scale_bytes",)

    def compress(self, batch: KvBatch, fitted: None) -> Compressed:
        n, g, length, d = batch.k16.shape
        kh, vh = quantize_kivi(batch.k16.reshape(n * g, length, d), batch.v16.reshape(n * g, length, d),
                               self.algo.bits, self.algo.group_size)
        return Compressed(kh.reshape(batch.k16.shape), vh.reshape(batch.v16.shape), self.region(batch), 0)
