"""fp16: the uncompressed cache (the AttAcc! baseline): K and V as stored, every token exact."""

from __future__ import annotations

from spec.algo import Fp16

from ..attention import ExactRegion
from .base import Compressed, KvBatch, KvFormat


class Fp16Format(KvFormat[Fp16, None]):
    algorithm = "fp16"

    def compress(self, batch: KvBatch, fitted: None) -> Compressed:
        return Compressed(batch.k16, batch.v16, ExactRegion(0, 0, 0), 0)
