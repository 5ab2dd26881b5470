"""Energy by data path (AttAcc!/FGDRAM pJ/bit breakdown): where the bits travel decides the cost.

Energies are kept split by component (`Parts`: component name -> J) so a step's energy can be
reported per component; a kernel's total is the sum of its parts.
"""

from __future__ import annotations

from collections.abc import Mapping

from hw.fields import Num
from hw.system import Pe, Pim

PJ = 1e-12

COMPONENTS = (
    "act_pre",  # DRAM row activate + precharge
    "cell",  # cell array read/write
    "bank_to_bg",  # column path from a bank to its bank-group mux
    "bg_to_gio",  # bank-group mux to the channel's global I/O
    "tsv",  # through-silicon vias to the buffer die
    "interposer",  # buffer die to the GPU
    "fp16_ops",  # PIM PE operations (MACs, adds, compares, softmax)
    "link",  # GPU <-> PIM and GPU <-> host links
    "host_memory",  # host DRAM reads of offloaded or spilled KV
    "gpu",  # GPU FLOPs and its own HBM reads
    "xbar",  # analog crossbar MVMs
    "static",  # static power x step latency
)
"""Energy components, from the cells outwards; `Cost.energy_by_component` reports these keys."""

Parts = dict[str, Num]


def combine(*parts: Mapping[str, Num]) -> Parts:
    """Sum energy parts component by component."""
    out: Parts = {}
    for p in parts:
        for name, joules in p.items():
            out[name] = out[name] + joules if name in out else joules
    return out


def scale(parts: Mapping[str, Num], factor: Num) -> Parts:
    """Every component times `factor` (per layer -> all layers, per window -> per step, ...)."""
    return {name: joules * factor for name, joules in parts.items()}


def total_j(parts: Mapping[str, Num]) -> Num:
    """The energy of all components together (J)."""
    return sum(parts.values(), start=0.0)


def path_pj_per_bit(pim: Pim, placement: str) -> dict[str, Num]:
    """pJ/bit per component on the path from the bank's column to a PE at `placement` ("gpu": off
    the stack), the cell read excluded."""
    e = pim.energy
    path: dict[str, Num] = {}
    if placement in ("bank_group", "buffer_die", "gpu"):
        path["bank_to_bg"] = e.bank_to_bg_pj_per_bit
    if placement in ("buffer_die", "gpu"):
        path["bg_to_gio"] = e.bg_to_gio_pj_per_bit
        path["tsv"] = e.tsv_pj_per_bit
    if placement == "gpu":
        path["interposer"] = e.interposer_pj_per_bit
    return path


def read_pj_per_bit(pim: Pim, placement: str) -> Num:
    """Cell read plus the path from the bank to a PE at `placement` ("gpu": off the stack)."""
    return pim.energy.cell_pj_per_bit + sum(path_pj_per_bit(pim, placement).values(), start=0.0)


def column_command_j(pim: Pim, pe: Pe) -> Num:
    """Energy of one column command at one PE (J): a column from each of its banks through the cells,
    its row's activation amortised over a fully used row, the path to the PE, and the PE's FP16 MACs
    on it (two bytes a weight)."""
    bits = pe.banks_per_pe * pim.column_bytes * 8
    pj_per_bit = read_pj_per_bit(pim, pe.placement) + pim.energy.act_pre_pj_per_bit
    macs = pe.banks_per_pe * pim.column_bytes / 2
    return (bits * pj_per_bit + macs * pe.energy_pj_per_mac) * PJ


def activation_energy(pim: Pim, activations: Num) -> Parts:
    """Activate + precharge: the per-bit figure applies to every bit of the opened row."""
    return {"act_pre": activations * pim.row_bytes * 8 * pim.energy.act_pre_pj_per_bit * PJ}


def cell_energy(pim: Pim, total_bytes: Num) -> Parts:
    """Reading or writing `total_bytes` in the cell array (a column access moves whole columns)."""
    return {"cell": total_bytes * 8 * pim.energy.cell_pj_per_bit * PJ}


def read_energy(pim: Pim, placement: str, total_bytes: Num, activations: Num) -> Parts:
    """Reading `total_bytes` from cells to a PE at `placement`, with `activations` rows opened."""
    bits = total_bytes * 8
    path = {name: bits * pj * PJ for name, pj in path_pj_per_bit(pim, placement).items()}
    return combine(activation_energy(pim, activations), cell_energy(pim, total_bytes), path)


def move_energy(pim: Pim, placement: str, total_bytes: Num) -> Parts:
    """Moving data (not from cells) between a PE at `placement` and the buffer die."""
    if placement == "buffer_die":
        return {}
    e = pim.energy
    bits = total_bytes * 8
    parts = {"bg_to_gio": bits * e.bg_to_gio_pj_per_bit * PJ, "tsv": bits * e.tsv_pj_per_bit * PJ}
    if placement == "bank":
        parts["bank_to_bg"] = bits * e.bank_to_bg_pj_per_bit * PJ
    return parts


def ops_energy(ops: Num, pj_per_op: Num) -> Parts:
    """`ops` PIM PE operations at `pj_per_op` each."""
    return {"fp16_ops": ops * pj_per_op * PJ}
