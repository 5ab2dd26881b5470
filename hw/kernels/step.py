"""The shared view of one design point that kernels read: hardware, KV format, model, workload."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from hw.fields import Num
from hw.model_shape import ModelShape
from hw.system import Pe, Pim, System
from hw.workload import Workload

if TYPE_CHECKING:  # the formats build on the kernels, which take a Step
    from hw.formats.base import KvFormat


@dataclass(frozen=True)
class Step:
    system: System
    kv: KvFormat
    workload: Workload

    @property
    def model(self) -> ModelShape:
        return self.workload.model

    @property
    def batch(self) -> Num:
        return self.workload.batch

    @property
    def context(self) -> Num:
        return self.workload.context_tokens

    @property
    def q_heads_total(self) -> Num:
        """Query heads of one layer over the batch."""
        return self.batch * self.model.n_q_heads

    @property
    def kv_heads_total(self) -> Num:
        return self.batch * self.model.n_kv_heads

    @property
    def pim(self) -> Pim:
        assert self.system.pim is not None
        return self.system.pim

    @property
    def attention_pe(self) -> Pe:
        return self.pim.pes[self.pim.attention_pe]

    @cached_property
    def _pe_counts(self) -> dict[str, Num]:
        return {name: self.pim.banks / pe.banks_per_pe for name, pe in self.pim.pes.items()}

    def pes(self, pe: Pe) -> Num:
        """PEs of this class in the whole PIM memory."""
        return self._pe_counts[pe.placement]


def per_bank(total_bytes: Num, banks: Num) -> Num:
    """Bytes each bank holds when `total_bytes` is striped evenly over `banks` banks."""
    return total_bytes / banks
