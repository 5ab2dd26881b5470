"""Energy by data path (AttAcc!/FGDRAM pJ/bit breakdown): where the bits travel decides the cost."""

from __future__ import annotations

from hw.fields import Num
from hw.system import Pim

PJ = 1e-12


def read_pj_per_bit(pim: Pim, placement: str) -> Num:
    """Cell read plus the path from the bank to a PE at `placement` ("gpu": off the stack)."""
    e = pim.energy
    pj = e.cell_pj_per_bit
    if placement in ("bank_group", "buffer_die", "gpu"):
        pj = pj + e.bank_to_bg_pj_per_bit
    if placement in ("buffer_die", "gpu"):
        pj = pj + e.bg_to_gio_pj_per_bit + e.tsv_pj_per_bit
    if placement == "gpu":
        pj = pj + e.interposer_pj_per_bit
    return pj


def move_pj_per_bit(pim: Pim, placement: str) -> Num:
    """Moving data (not from cells) between a PE at `placement` and the buffer die."""
    e = pim.energy
    if placement == "buffer_die":
        return 0.0
    pj = e.bg_to_gio_pj_per_bit + e.tsv_pj_per_bit
    return pj + e.bank_to_bg_pj_per_bit if placement == "bank" else pj


def activation_j(pim: Pim, activations: Num) -> Num:
    """Activate + precharge energy: the per-bit figure applies to every bit of the opened row."""
    return activations * pim.row_bytes * 8 * pim.energy.act_pre_pj_per_bit * PJ


def read_j(pim: Pim, placement: str, total_bytes: Num, activations: Num) -> Num:
    """Reading `total_bytes` from cells to a PE at `placement`, with `activations` rows opened."""
    return total_bytes * 8 * read_pj_per_bit(pim, placement) * PJ + activation_j(pim, activations)


def move_j(pim: Pim, placement: str, total_bytes: Num) -> Num:
    return total_bytes * 8 * move_pj_per_bit(pim, placement) * PJ
