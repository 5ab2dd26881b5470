"""Transfers over links (GPU <-> PIM, GPU <-> host) and host-memory reads."""

from __future__ import annotations

import numpy as np

from hw.energy import PJ
from hw.fields import Num
from hw.roofline import BOUND, KernelCost, limit
from hw.system import HostMemory, Link


def link_transfer(link: Link, total_bytes: Num, transfers: Num, host: HostMemory | None = None) -> KernelCost:
    """Move `total_bytes` in `transfers` separate transfers (each pays the link latency).

    With `host`, the data also has to be read from host memory, which may be the slower side.
    """
    link_s = total_bytes / link.bw_bytes_per_s + transfers * link.latency_s
    energy = {"link": total_bytes * 8 * link.energy_pj_per_bit * PJ}
    if host is None:
        return KernelCost.of(link_s, energy, BOUND["link"], "link", bytes=total_bytes)
    seconds, bound = limit(link=link_s, memory_bw=total_bytes / host.bw_bytes_per_s)
    energy["host_memory"] = total_bytes * 8 * host.energy_pj_per_bit * PJ
    return KernelCost.of(seconds, energy, bound, "link", bytes=total_bytes)


def nonzero_transfers(total_bytes: Num, transfers: Num) -> Num:
    """No latency is paid for transfers that carry nothing."""
    return np.where(np.asarray(total_bytes) > 0, transfers, 0.0)
