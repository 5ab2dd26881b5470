"""A PIM GEMV issued as Samsung HBM2-PIM's register tiles (`pim.gemv_kernel: register_tiles`).

The stock GEMV kernel of Samsung's public PIMSimulator (docs/sources.md [pimsim]) works on every
pseudo-channel in lockstep, with a PE (PCU) per two banks holding `input_registers` (GRF_A) and
`output_registers` (GRF_B) column-wide registers:

- outputs are tiled in blocks of output_registers x PEs a pCH x pCHs rows (8 x 8 x 64 = 4096 on the
  simulator's 64 pCHs) and padded up to whole tiles; inputs in tiles of input_registers columns
  (8 x 16 FP16 = 128); even input tiles' weights sit in each PE's even bank, odd ones' in the odd
  bank, which also holds the register row;
- for every output tile and batch element: a mode write (all-bank -> all-bank-PIM); for each input
  tile (all even ones, then all odd ones) input_registers writes of the inputs into the registers,
  then input_registers x output_registers MAC reads of the weights (64 reads, two 1 KiB rows); the
  output registers written back to the odd bank; a mode write back;
- once: park-in of every bank, single-bank -> all-bank mode and command-register programming
  before; all-bank -> single-bank and park-out after.

The controller issues one command a cycle, lets no command pass a barrier (every group above ends in
one) and closes a row as soon as nothing up to the next barrier needs it. Counted with the device's
turnarounds (`Timings.read_to_write`, `write_to_read`, `read_to_precharge`, `write_to_precharge`),
in cycles of one pseudo-channel (`TileCycles`); benchmarks/hw_pimsim_gemv_count.py replays the
kernel command by command and checks these closed forms (docs/validation.md section 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw import dram
from hw.energy import combine, move_energy, ops_energy, read_energy
from hw.fields import Num
from hw.system import Pe, Pim


@dataclass(frozen=True)
class TileCycles:
    """Cycles of the kernel's repeating pieces on one pseudo-channel (tCK)."""

    macs: Num  # one input tile's MAC reads, first to last
    even_tile: Num  # last MAC of the previous tile to the last MAC of an even tile
    first_odd_tile: Num  # the same for the first odd tile (after the even ones)
    odd_tile: Num  # the same for the other odd tiles
    tile_lead: Num  # last MAC of an output tile to the first MAC of the next one
    entry: Num  # kernel start to the first MAC
    exit: Num  # last MAC to the last write's data


def tile_cycles(pim: Pim, pe: Pe) -> TileCycles:
    """The kernel's pieces under `pim.timings` (all its commands go to one bank group: tCCD_L)."""
    t = pim.timings
    ccd = t.t_ccd_l_cycles
    reads = pe.input_registers * pe.output_registers
    rows = np.ceil(reads * pim.column_bytes / pim.row_bytes)
    # Next row of the same bank: precharge after the read, activate, read.
    row_switch = t.read_to_precharge + t.t_rp_cycles + t.t_rcd_cycles
    macs = (reads - 1) * ccd + (rows - 1) * (row_switch - ccd)
    input_writes = (pe.input_registers - 1) * ccd
    # The register row is idle (closed while the MACs ran) and activates under the read->write turnaround.
    writes_after_read = np.maximum(t.t_rcd_wr_cycles, t.read_to_write)
    # The register row closes behind a read of a weight row in the same bank.
    writes_after_own_read = np.maximum(
        t.read_to_precharge + t.t_rp_cycles + t.t_rcd_wr_cycles, t.read_to_write
    )
    # Weights in the other bank activate under the write->read turnaround; in the same bank they wait
    # for the register row to close after its last write.
    macs_other_bank = np.maximum(t.t_rcd_cycles, t.write_to_read)
    macs_same_bank = np.maximum(t.write_to_precharge + t.t_rp_cycles + t.t_rcd_cycles, t.write_to_read)
    reopen_register_row = t.write_to_precharge + t.t_rp_cycles + t.t_rcd_wr_cycles
    write_back = writes_after_own_read + (pe.output_registers - 1) * ccd
    first_inputs = input_writes + macs_other_bank
    return TileCycles(
        macs=macs,
        even_tile=writes_after_read + first_inputs + macs,
        first_odd_tile=writes_after_read + input_writes + macs_same_bank + macs,
        odd_tile=writes_after_own_read + input_writes + macs_same_bank + macs,
        # write-back, the two mode writes (hidden), the register row reopened, the next inputs
        tile_lead=write_back + reopen_register_row + first_inputs,
        # park-in (one activation per tRRD_S), mode and CRF writes (two register-row reopenings)
        entry=pim.banks_per_pch * t.t_rrd_s_cycles + 2 * reopen_register_row + first_inputs,
        # write-back, all-bank -> single-bank and park-out (two reopenings), the last write's data
        exit=write_back + 2 * reopen_register_row + t.wl_cycles + t.burst_cycles,
    )


@dataclass(frozen=True)
class RegisterGemv:
    """One GEMV kernel call: seconds (refresh included), energy parts, and the MACs the PEs issue and
    the weight bytes they read (padded tiles included: the work the timing and energy price)."""

    seconds: Num
    energy: dict[str, Num]
    cycles: Num  # one pseudo-channel, refresh excluded
    macs: Num
    read_bytes: Num


def register_gemv(pim: Pim, pe: Pe, outputs: Num, inputs: Num, bits: Num, batch: Num) -> RegisterGemv:
    """An `outputs` x `inputs` GEMV of `bits`-bit weights for `batch` tokens, issued as register tiles.

    Tiles are padded: a 1024-row output on the simulator's 64 pCHs costs what 4096 rows cost. Every
    batch element re-runs every output tile (the kernel loops tokens inside output tiles).
    """
    t = pim.timings
    pes_per_pch = pim.banks_per_pch / pe.banks_per_pe
    per_column = pim.column_bytes * 8 / bits
    out_tiles = np.ceil(outputs / (pe.output_registers * pes_per_pch * pim.pchs))
    in_tiles = np.ceil(inputs / (pe.input_registers * per_column))
    even, odd = np.ceil(in_tiles / 2), np.floor(in_tiles / 2)
    c = tile_cycles(pim, pe)
    odd_part = np.where(odd > 0, c.first_odd_tile + np.maximum(odd - 1, 0) * c.odd_tile, 0.0)
    per_output_tile = c.macs + (even - 1) * c.even_tile + odd_part
    runs = out_tiles * batch
    cycles = c.entry + runs * per_output_tile + (runs - 1) * c.tile_lead + c.exit
    reads_per_pch = runs * in_tiles * pe.input_registers * pe.output_registers
    macs_per_pe = reads_per_pch * per_column
    seconds = np.maximum(cycles * t.tck_s, dram.compute_s(pim, pe, macs_per_pe)) * dram.refresh_factor(pim)
    read_bytes = reads_per_pch * pes_per_pch * pim.pchs * pim.column_bytes
    rows_opened = read_bytes / pim.row_bytes
    input_bytes = runs * in_tiles * pe.input_registers * pim.column_bytes * pim.pchs
    macs = macs_per_pe * pes_per_pch * pim.pchs
    energy = combine(
        read_energy(pim, pe.placement, read_bytes, rows_opened),
        move_energy(pim, pe.placement, input_bytes),
        ops_energy(macs, pe.energy_pj_per_mac),
    )
    return RegisterGemv(seconds=seconds, energy=energy, cycles=cycles, macs=macs, read_bytes=read_bytes)
