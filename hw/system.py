"""What the hardware is: the typed specs of a system, every conf/hw key declared beside its field with
its unit, default, bounds and a doc line (`spec.fields.build(System, cfg, "hw")` reads a dict in).

A system is a host GPU, host CPU memory, a host link, optionally a PIM memory described at DRAM
level, optionally an analog crossbar, and a mapping of decode operators to devices. All numeric
fields are `Num` (scalar or broadcastable ndarray) so one System can describe a whole grid of designs.

Bounds are generous (orders of magnitude around real devices); they keep every result of an
accepted input finite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from hw.fields import Num, count, cycles, require
from spec.errors import SpecError
from spec.fields import choice, flag, number, section, sections, text

PLACEMENTS = ("bank", "bank_group", "buffer_die")
"""Where a PIM PE can sit, from the cells outwards."""

DEVICES = ("gpu", "pim", "xbar", "none")
OPERATORS = ("qkv_proj", "attention", "o_proj", "ffn", "lm_head")
KV_HOMES = ("gpu", "pim", "host")
PQ_LOOKUPS = ("intra_row", "per_lookup_activation", "pe_buffer")
PQ_VALUES = ("histogram", "reconstruct")
INT_MAC_AREA_FACTOR = 126 / 50
"""Adding INT32 MACs grows PE logic area from 50 % to 126 % of the FP16-only design (AQPIM, citing
prior work; docs/sources.md [aqpim])."""
SOFTMAX_SITES = ("buffer_die", "gpu")
GEMV_KERNELS = ("stream", "register_tiles")
REFRESH_MODES = ("all_bank", "per_bank")
PCIE_LANE_BYTES_PER_S = {3: 0.985e9, 4: 1.969e9, 5: 3.938e9, 6: 7.563e9}
"""One PCIe lane, one direction, after line coding (PCI-SIG: 8, 16, 32 GT/s with 128b/130b; 64 GT/s
PAM4 with FLIT)."""

MAX_BW = 1e16
"""Upper bound of any bandwidth (B/s): 10 PB/s, ~3000 H100s' HBM."""
MAX_PJ = 1e4
"""Upper bound of any energy per bit, FLOP or MAC (pJ): 10 nJ, ~1000x a DRAM access."""


def _bandwidth(doc: str, **kw: Any) -> Any:
    return number(doc, unit="B/s", ge=1e6, le=MAX_BW, **kw)


def _energy(doc: str, unit: str = "pJ/bit") -> Any:
    return number(doc, unit=unit, ge=0, le=MAX_PJ)


@dataclass(frozen=True, kw_only=True)
class Gpu:
    """Host accelerator (or host CPU, or systolic array): rooflines for FC layers and for attention
    when it runs there."""

    peak_flops: Num = number("dense FP16 peak", unit="FLOP/s", ge=1e6, le=1e18)
    mem_bw_bytes_per_s: Num = _bandwidth("bandwidth of its own memory (HBM, DDR, LPDDR)")
    mem_capacity_bytes: Num = number(
        "its own memory: the weights of operators mapped to it live here", unit="B", ge=1, le=1e16
    )
    flops_efficiency: Num = number("achievable fraction of peak_flops", ge=1e-4, le=1)
    bw_efficiency: Num = number("achievable fraction of mem_bw_bytes_per_s", ge=1e-4, le=1)
    energy_pj_per_flop: Num = _energy("dynamic energy of one FLOP", unit="pJ")
    mem_energy_pj_per_bit: Num = _energy("reading its own memory")
    static_power_w: Num = number("static power, charged over the step", unit="W", ge=0, le=1e6, default=0.0)


@dataclass(frozen=True, kw_only=True)
class HostMemory:
    """CPU DRAM that holds offloaded or spilled KV."""

    bw_bytes_per_s: Num = _bandwidth("read bandwidth")
    capacity_bytes: Num = number("capacity", unit="B", ge=1, le=1e18)
    energy_pj_per_bit: Num = _energy("reading it, I/O included")


@dataclass(frozen=True, kw_only=True)
class Link:
    """A point-to-point link (PCIe, NVLink, CXL): sustained bandwidth, per-transfer latency, energy.

    The bandwidth is given as `bw_bytes_per_s`, or as `pcie_generation` and `lanes` (one direction,
    after line coding), not both.
    """

    kind: str = text("what the link is (a label)", default="link")
    bw_bytes_per_s: Num = _bandwidth(
        "sustained bandwidth, one direction", default=None, default_doc="pcie_generation x lanes"
    )
    pcie_generation: int | None = choice(
        "PCIe generation whose lane rate gives bw_bytes_per_s", tuple(PCIE_LANE_BYTES_PER_S), default=None
    )
    lanes: Num | None = count("PCIe lanes (with pcie_generation)", le=32, default=None)
    latency_s: Num = number("latency of one transfer", unit="s", ge=0, le=1)
    energy_pj_per_bit: Num = _energy("moving one bit across")

    @classmethod
    def derive(cls, kw: dict[str, Any], path: str) -> dict[str, Any]:
        """`bw_bytes_per_s` from `pcie_generation` x `lanes` when those are given instead."""
        generation, lanes = kw.get("pcie_generation"), kw.get("lanes")
        if generation is None:
            if lanes is not None:
                raise SpecError(f"{path}.lanes", lanes, "needs pcie_generation")
            if "bw_bytes_per_s" not in kw:
                raise SpecError(f"{path}.bw_bytes_per_s", None, "required (or pcie_generation + lanes)")
            return kw
        if "bw_bytes_per_s" in kw:
            raise SpecError(
                f"{path}.bw_bytes_per_s", kw["bw_bytes_per_s"], "give it or pcie_generation + lanes, not both"
            )
        if lanes is None:
            raise SpecError(f"{path}.lanes", None, "required with pcie_generation")
        return kw | {"bw_bytes_per_s": PCIE_LANE_BYTES_PER_S[generation] * lanes}


@dataclass(frozen=True, kw_only=True)
class Timings:
    """DRAM timings in memory-clock cycles (tCK), as in a simulator's timing preset."""

    tck_s: Num = number("memory clock period tCK", unit="s", ge=1e-11, le=1e-6)
    t_rcd_cycles: Num = cycles("tRCD: activate to column command")
    t_rp_cycles: Num = cycles("tRP: precharge")
    t_ras_cycles: Num = cycles("tRAS: activate to precharge")
    t_rc_cycles: Num = cycles("tRC: activate to activate, same bank")
    t_ccd_s_cycles: Num = cycles("tCCD_S: column to column, different bank groups")
    t_ccd_l_cycles: Num = cycles("tCCD_L: column to column, same bank group")
    t_rtp_cycles: Num = cycles("tRTP: read to precharge", ge=0)
    t_wr_cycles: Num = cycles("tWR: write recovery", ge=0)
    t_refi_cycles: Num = cycles("tREFI: refresh interval")
    t_rfc_cycles: Num = cycles("tRFC: one refresh", ge=0)
    # Bus turnarounds and activation limits; the defaults leave each out (0, or the value it refines).
    burst_cycles: Num = cycles(
        "data-bus cycles of one column burst (BL/2)", default=None, default_doc="t_ccd_s_cycles"
    )
    rl_cycles: Num = cycles("RL: read command to data", ge=0, default=0.0)
    wl_cycles: Num = cycles("WL: write command to data", ge=0, default=0.0)
    t_rcd_wr_cycles: Num = cycles("tRCDWR: activate to write", default=None, default_doc="t_rcd_cycles")
    t_wtr_l_cycles: Num = cycles("tWTR_L: end of write data to a read, same bank group", ge=0, default=0.0)
    t_rtrs_cycles: Num = cycles("tRTRS: data-bus turnaround between read and write bursts", ge=0, default=0.0)
    t_rrd_s_cycles: Num = cycles("tRRD_S: activate to activate, different bank groups", ge=0, default=0.0)
    t_faw_cycles: Num = cycles(
        "tFAW: window holding at most four activates of a pseudo-channel", ge=0, default=0.0
    )
    t_refi_pb_cycles: Num = cycles(
        "tREFIpb: interval between per-bank refreshes of one pseudo-channel (refresh_mode: per_bank)",
        default=None,
        default_doc="t_refi_cycles",
    )
    t_rfc_pb_cycles: Num = cycles("tRFCpb: one per-bank refresh", ge=0, default=0.0)

    @classmethod
    def derive(cls, kw: dict[str, Any], path: str) -> dict[str, Any]:
        """burst_cycles defaults to tCCD_S (one burst per column slot), t_rcd_wr_cycles to tRCD,
        t_refi_pb_cycles to tREFI."""
        derived = {"burst_cycles": kw["t_ccd_s_cycles"], "t_rcd_wr_cycles": kw["t_rcd_cycles"]}
        return derived | {"t_refi_pb_cycles": kw["t_refi_cycles"]} | kw

    @property
    def read_to_precharge(self) -> Num:
        """Cycles from a read to its bank's precharge: BL/2 + max(tRTP, tCCD_L) - tCCD_L (JEDEC's
        read-to-precharge as DRAMSim2 and PIMSimulator compute it)."""
        return self.burst_cycles + np.maximum(self.t_rtp_cycles, self.t_ccd_l_cycles) - self.t_ccd_l_cycles

    @property
    def write_to_precharge(self) -> Num:
        """Cycles from a write to its bank's precharge: WL + BL/2 + tWR."""
        return self.wl_cycles + self.burst_cycles + self.t_wr_cycles

    @property
    def read_to_write(self) -> Num:
        """Cycles from a read to a write on the same data bus: RL + BL/2 + tRTRS - WL, at least a burst."""
        turnaround = self.rl_cycles + self.burst_cycles + self.t_rtrs_cycles - self.wl_cycles
        return np.maximum(turnaround, self.burst_cycles)

    @property
    def write_to_read(self) -> Num:
        """Cycles from a write to a read in the same bank group: WL + BL/2 + tWTR_L."""
        return self.wl_cycles + self.burst_cycles + self.t_wtr_l_cycles

    def check(self, path: str) -> None:
        # tRC = tRAS + tRP; published presets round to cycles and lose up to one (AttAcc! HBM3: 63 < 45 + 19).
        require(
            self.t_rc_cycles >= self.t_ras_cycles + self.t_rp_cycles - 1,
            f"{path}.t_rc_cycles",
            self.t_rc_cycles,
            "must be >= t_ras_cycles + t_rp_cycles - 1 (one cycle of rounding allowed)",
        )
        require(
            self.t_ras_cycles >= self.t_rcd_cycles,
            f"{path}.t_ras_cycles",
            self.t_ras_cycles,
            "must be >= t_rcd_cycles",
        )
        require(
            self.t_ccd_l_cycles >= self.t_ccd_s_cycles,
            f"{path}.t_ccd_l_cycles",
            self.t_ccd_l_cycles,
            "must be >= t_ccd_s_cycles",
        )
        require(
            self.t_refi_cycles > self.t_rfc_cycles,
            f"{path}.t_refi_cycles",
            self.t_refi_cycles,
            "must be > t_rfc_cycles",
        )


@dataclass(frozen=True, kw_only=True)
class Pe:
    """A class of PIM processing elements at one placement (its key under `pim.pe`).

    One PE serves `banks_per_pe` banks; it issues (or is driven by) one column command every
    `cmd_interval_cycles` (the all-bank MAC command interval at bank level, which also carries the
    power limit as in AttAcc!'s nCCDAB); it does `lanes` FP16 MACs per PE cycle at `clock_hz`.
    """

    placement: str  # the key under pim.pe; not a config key
    banks_per_pe: Num = count("banks one PE serves (at most one pseudo-channel's)", le=1 << 16)
    lanes: Num = count("FP16 MAC lanes of one PE", le=1 << 16)
    clock_hz: Num = number("PE clock", unit="Hz", ge=1e6, le=1e11)
    cmd_interval_cycles: Num = number(
        "tCK between the column commands a PE consumes (all-bank interval; carries the power limit)",
        unit="cycle",
        ge=0.1,
        le=1e4,
    )
    buffer_bytes: Num = number(
        "PE-local register/buffer capacity (bounds the PQ inner-product table)", unit="B", ge=0, le=1 << 30
    )
    energy_pj_per_mac: Num = _energy("one FP16 MAC (or comparable op)", unit="pJ")
    area_mm2_per_lane: Num = number(
        "PE logic area per lane in the DRAM process (area model; 0 on the logic die)",
        unit="mm2",
        ge=0,
        le=100,
        default=0.0,
    )
    cycles_per_mac: Num = number(
        "PE cycles one lane needs for an FP16 MAC (> 1 when emulated in software)",
        unit="cycle",
        ge=0.01,
        le=1e4,
        default=1.0,
    )
    row_interleave: bool = flag("the PE reads one bank while its others activate/precharge", default=False)
    int_mac: bool = flag(
        "integer MACs beside FP16: int-k KV needs no dequantisation op; a lane costs 126/50 the area",
        default=False,
    )
    lookups_per_cmd: Num = count(
        "table lookups one column command serves from an open row", le=4096, default=1.0
    )
    head_split: Num = count(
        "PEs one K/V vector is split across (partial dot products summed in the bank group)",
        le=4096,
        default=1.0,
    )
    input_registers: Num = count(
        "column-wide registers holding a GEMV's inputs (gemv_kernel register_tiles: Samsung's GRF_A)",
        le=4096,
        default=8.0,
    )
    output_registers: Num = count(
        "column-wide registers accumulating a GEMV's outputs (gemv_kernel register_tiles: GRF_B)",
        le=4096,
        default=8.0,
    )


@dataclass(frozen=True, kw_only=True)
class PimEnergy:
    """Energy per bit along each data path (pJ/bit), AttAcc!/FGDRAM breakdown."""

    act_pre_pj_per_bit: Num = _energy("activate + precharge, per bit of the opened row")
    cell_pj_per_bit: Num = _energy("cell array read/write")
    bank_to_bg_pj_per_bit: Num = _energy("column path from a bank to its bank-group mux")
    bg_to_gio_pj_per_bit: Num = _energy("bank-group mux to global I/O")
    tsv_pj_per_bit: Num = _energy("through-silicon vias to the buffer die")
    interposer_pj_per_bit: Num = _energy("buffer die to the GPU")
    static_power_w_per_stack: Num = number(
        "static power of one stack, charged over the step", unit="W", ge=0, le=1e4, default=0.0
    )


@dataclass(frozen=True, kw_only=True)
class Pim:
    """A PIM memory at DRAM level: organisation, timings, PEs, energy, capacity and its area cost."""

    kind: str = text("what the memory is (a label)")
    stacks: Num = count("stacks (or DIMMs, chips)", le=4096)
    channels_per_stack: Num = count("channels of one stack", le=1024)
    pseudo_channels: Num = count("pseudo-channels of one channel", le=64)
    ranks: Num = count("ranks (stack IDs) of one pseudo-channel", le=64)
    bank_groups: Num = count("bank groups of one rank", le=1024)
    banks_per_group: Num = count("banks of one bank group", le=1024)
    row_bytes: Num = count("one DRAM row (page)", unit="B", le=1 << 20)
    column_bytes: Num = count("one column access (burst)", unit="B", le=1 << 16)
    capacity_bytes_per_stack: Num = number(
        "DRAM capacity of a stack before the PIM logic's area cost", unit="B", ge=1 << 20, le=1e16
    )
    die_area_mm2: Num = number(
        "core-die (cell array) area of a stack that PE logic displaces (area model)",
        unit="mm2",
        ge=0.01,
        le=1e5,
        default=1.0,
    )
    timings: Timings = section("DRAM timings", Timings)
    pe: dict[str, Pe] = sections(
        "PE classes by placement (several may coexist)", Pe, keys=PLACEMENTS, name_field="placement"
    )
    attention_pe: str = choice("placement of the PEs running attention", PLACEMENTS)
    gemv_pe: str = choice(
        "placement of the PEs running projections mapped to pim",
        PLACEMENTS,
        default=None,
        default_doc="attention_pe",
    )
    gemv_kernel: str = choice(
        "how a PIM GEMV is issued: stream the weights past inputs held in the PE buffer, or Samsung "
        "HBM2-PIM's register tiles (inputs written into PE registers per tile, mode switches, write-back)",
        GEMV_KERNELS,
        default="stream",
    )
    softmax_on: str = choice("where softmax runs", SOFTMAX_SITES)
    softmax_ops_per_score: Num = number(
        "softmax PE lane-cycles per score (5: max/sub/exp/sum/div; 1 pipelined)",
        ge=0.01,
        le=1000,
        default=5.0,
    )
    move_interval_cycles: Num = number(
        "tCK per column moved between banks and the buffer die (scores, probabilities, queries)",
        unit="cycle",
        ge=0.1,
        le=1e4,
        default=None,
        default_doc="timings.t_ccd_s_cycles",
    )
    move_overlap: bool = flag(
        "bank <-> buffer-die moves use their own data path beside the MACs (AttAcc!'s MV_SB/MV_GB): "
        "only what no MAC hides shows, at tCCD_S when moves alternate bank groups, tCCD_L in one",
        default=False,
    )
    move_window: Num = count(
        "move requests the controller can reorder: a same-bank-group run of moves at least this long "
        "cannot alternate bank groups (with move_overlap)",
        le=1 << 16,
        default=32.0,
    )
    pq_lookup: str = choice(
        "where PQ tables are read: open DRAM row, a row per lookup, or PE registers",
        PQ_LOOKUPS,
        default="intra_row",
    )
    pq_value: str = choice(
        "p.V on codes: K-bin histogram then codebook GEMV, or per-token reconstruction",
        PQ_VALUES,
        default="histogram",
    )
    # One copy (shared) by default: AQPIM counts one codebook per layer, KV head and tensor.
    pq_codebook_copies: Num = count(
        "copies of a PQ subspace codebook among the banks holding its tokens (1 shared; >= banks replicated)",
        le=1 << 24,
        default=1.0,
    )
    power_budget_w_per_stack: Num | None = number(
        "power a stack may draw on PE column commands: caps the all-bank command rate "
        "(energy.column_command_j x PEs a stack / interval <= this)",
        unit="W",
        ge=0.01,
        le=1e5,
        default=None,
        default_doc="no cap",
    )
    refresh: bool = flag("refresh stretches busy time (refresh_mode says how)", default=True)
    refresh_mode: str = choice(
        "all_bank: every tREFI all banks stop for tRFC; per_bank: every tREFIpb one bank stops for "
        "tRFCpb, which stalls lockstep all-bank PIM commands too",
        REFRESH_MODES,
        default="all_bank",
    )
    energy: PimEnergy = section("energy per bit along each data path", PimEnergy)
    link: Link = section("GPU <-> PIM link (q/k/v in, outputs back)", Link)

    @classmethod
    def derive(cls, kw: dict[str, Any], path: str) -> dict[str, Any]:
        """gemv_pe defaults to attention_pe, move_interval_cycles to the timings' tCCD_S."""
        return {
            "gemv_pe": kw["attention_pe"],
            "move_interval_cycles": kw["timings"].t_ccd_s_cycles,
        } | kw

    def check(self, path: str) -> None:
        if not self.pe:
            raise SpecError(f"{path}.pe", {}, f"needs at least one of {', '.join(PLACEMENTS)}")
        where = ", ".join(self.pe)
        for key in ("attention_pe", "gemv_pe"):
            if getattr(self, key) not in self.pe:
                raise SpecError(f"{path}.{key}", getattr(self, key), f"the device has PEs only at {where}")
        if self.softmax_on == "buffer_die" and "buffer_die" not in self.pe:
            raise SpecError(f"{path}.softmax_on", self.softmax_on, f"the device has PEs only at {where}")
        t = self.timings
        if self.refresh and self.refresh_mode == "per_bank":
            require(
                t.t_refi_pb_cycles > t.t_rfc_pb_cycles,
                f"{path}.timings.t_refi_pb_cycles",
                t.t_refi_pb_cycles,
                "must be > t_rfc_pb_cycles (per-bank refreshes would stall all-bank PIM commands for good)",
            )
        two_bank_pcus = self.gemv_pe == "bank" and not np.any(self.pe[self.gemv_pe].banks_per_pe != 2)
        if self.gemv_kernel == "register_tiles" and not two_bank_pcus:
            raise SpecError(
                f"{path}.gemv_kernel",
                self.gemv_kernel,
                "needs bank PEs of two banks each (gemv_pe: bank, banks_per_pe: 2)",
            )
        for placement, pe in self.pe.items():
            require(
                pe.banks_per_pe <= self.banks_per_pch,
                f"{path}.pe.{placement}.banks_per_pe",
                pe.banks_per_pe,
                "must not exceed the banks of one pseudo-channel",
            )
        require(
            self.column_bytes <= self.row_bytes,
            f"{path}.column_bytes",
            self.column_bytes,
            "must be <= row_bytes",
        )
        require(
            self.pe_area_mm2_per_stack < self.die_area_mm2,
            f"{path}.die_area_mm2",
            self.die_area_mm2,
            "must exceed the PE area per stack (banks / banks_per_pe x lanes x area_mm2_per_lane)",
        )

    @property
    def pes(self) -> dict[str, Pe]:
        """The PE classes by placement (the `pe` config key)."""
        return self.pe

    @cached_property
    def banks_per_pch(self) -> Num:
        return self.ranks * self.bank_groups * self.banks_per_group

    @cached_property
    def pchs(self) -> Num:
        """Pseudo-channels in the whole PIM memory (each has its own data bus to the buffer die)."""
        return self.stacks * self.channels_per_stack * self.pseudo_channels

    @cached_property
    def banks(self) -> Num:
        return self.pchs * self.banks_per_pch

    @cached_property
    def pe_area_mm2_per_stack(self) -> Num:
        """Area of the PEs on the core dies of one stack; buffer-die PEs sit on the logic die."""
        banks_per_stack = self.channels_per_stack * self.pseudo_channels * self.banks_per_pch
        area = 0.0
        for pe in self.pes.values():
            if pe.placement != "buffer_die":
                lane_mm2 = pe.area_mm2_per_lane * (INT_MAC_AREA_FACTOR if pe.int_mac else 1.0)
                area = area + banks_per_stack / pe.banks_per_pe * pe.lanes * lane_mm2
        return area

    @cached_property
    def capacity_bytes(self) -> Num:
        """Usable capacity: the cell area the PE logic takes is capacity lost (area model)."""
        kept = 1.0 - self.pe_area_mm2_per_stack / self.die_area_mm2
        return self.stacks * self.capacity_bytes_per_stack * kept


ADC_KINDS = ("sar", "flash")
"""How an ADC's conversion time scales with its resolution: a SAR resolves one bit per step, a flash
all bits in one step (Walden's and Murmann's surveys compare both)."""


@dataclass(frozen=True, kw_only=True)
class Crossbar:
    """Analog crossbar PIM for low-bit projection weights (PIM-LLM style), weight-stationary, built
    from its parts: the cell array, the input DACs/drivers, the column ADCs and the digital
    shift-and-add and partial-sum adders (hw.kernels.xbar; docs/hw.md "Crossbar").

    A matrix of R x C weights takes ceil(R / rows) x ceil(C x cells_per_weight / cols) tiles, all of
    which fire together. A token needs ceil(input_bits / dac_bits) input cycles; in each, a tile
    reads its array (`t_read_s`) and then converts its columns on `adcs_per_tile` shared ADCs, one
    after another. An ADC conversion costs `adc_fom_fj_per_step` x 2^adc_bits (Walden FOM) and takes
    adc_bits steps (SAR) or one (flash) of `adc_step_s`.
    """

    tiles: Num | None = number(
        "crossbar tiles provisioned",
        ge=1,
        le=1 << 40,
        integer=True,
        as_float=True,
        default=None,
        default_doc="as many as the mapped weights need",
    )
    rows_per_tile: Num = count("rows (inputs) of one tile", le=1 << 16)
    cols_per_tile: Num = count("columns (cells per row) of one tile", le=1 << 16)
    cells_per_weight: Num = count("cells one weight takes (2 for a ternary differential pair)", le=64)
    input_bits: Num = count("activation bits of one input", unit="bit", le=64)
    dac_bits: Num = count(
        "input bits applied per input cycle (1: bit-serial; input_bits: one multi-bit DAC step)",
        unit="bit",
        le=16,
        default=1.0,
    )
    adc_bits: Num = count("ADC resolution", unit="bit", le=16)
    adcs_per_tile: Num = count("ADCs of one tile; its columns share them in turn", le=1 << 16)
    adc_kind: str = choice("ADC architecture: sar (adc_bits steps a conversion) | flash (one)", ADC_KINDS)
    adc_step_s: Num = number(
        "one ADC step: a SAR bit decision or a whole flash conversion", unit="s", ge=1e-13, le=1e-3
    )
    adc_fom_fj_per_step: Num = number(
        "ADC Walden figure of merit: energy per conversion step (x 2^adc_bits a conversion)",
        unit="fJ",
        ge=0.01,
        le=1e6,
    )
    adc_area_um2_per_level: Num = number(
        "ADC area per quantisation level (x 2^adc_bits an ADC)", unit="um2", ge=0, le=1e6
    )
    t_read_s: Num = number(
        "array read of one input cycle: drive, settle, sample-and-hold", unit="s", ge=1e-12, le=1e-3
    )
    drive_pj_per_row_level: Num = number(
        "driving one row for one input cycle, per DAC level (2^dac_bits - 1 levels)", unit="pJ", ge=0, le=1e6
    )
    cell_pj_per_read: Num = number("one cell in one input cycle (I x V x t)", unit="pJ", ge=0, le=1e6)
    shift_add_pj: Num = number("shift-and-add of one conversion result", unit="pJ", ge=0, le=1e6)
    psum_add_pj: Num = number(
        "adding one output's partial sums of two row tiles (digital)", unit="pJ", ge=0, le=1e6
    )
    cell_area_um2: Num = number("one cell", unit="um2", ge=0, le=1e6)
    periphery_area_mm2_per_tile: Num = number(
        "drivers, sample-and-hold, shift-and-add of one tile (ADCs excluded)", unit="mm2", ge=0, le=1e3
    )

    def check(self, path: str) -> None:
        require(
            self.dac_bits <= self.input_bits,
            f"{path}.dac_bits",
            self.dac_bits,
            "must be <= input_bits",
        )
        require(
            self.adcs_per_tile <= self.cols_per_tile,
            f"{path}.adcs_per_tile",
            self.adcs_per_tile,
            "must be <= cols_per_tile (one ADC a column at most)",
        )

    @cached_property
    def input_cycles(self) -> Num:
        """Input cycles a token needs: its bits applied dac_bits at a time."""
        return np.ceil(self.input_bits / self.dac_bits)

    @cached_property
    def conversions_per_adc(self) -> Num:
        """Conversions one ADC makes per input cycle (the columns sharing it)."""
        return np.ceil(self.cols_per_tile / self.adcs_per_tile)

    @cached_property
    def conversion_s(self) -> Num:
        """One ADC conversion (s): adc_bits steps for a SAR, one for a flash."""
        return self.adc_step_s * (self.adc_bits if self.adc_kind == "sar" else 1.0)

    @cached_property
    def cycle_s(self) -> Num:
        """One input cycle of a tile (s): the array read, then every column converted."""
        return self.t_read_s + self.conversions_per_adc * self.conversion_s

    @cached_property
    def conversion_pj(self) -> Num:
        """Energy of one ADC conversion (pJ): Walden FOM x 2^adc_bits."""
        return self.adc_fom_fj_per_step * 1e-3 * 2.0**self.adc_bits

    @cached_property
    def lossless_adc_bits(self) -> Num:
        """ADC bits that resolve every column sum of a full tile without clipping (binary cells):
        ceil(log2(rows x (2^dac_bits - 1) + 1)). Fewer bits clip or round partial sums: the
        accuracy cost the analog-datapath emulation is to measure."""
        return np.ceil(np.log2(self.rows_per_tile * (2.0**self.dac_bits - 1.0) + 1.0))

    @cached_property
    def tile_area_mm2(self) -> Num:
        """One tile: cells, ADCs (area per level x 2^adc_bits) and periphery (mm2)."""
        cells_um2 = self.rows_per_tile * self.cols_per_tile * self.cell_area_um2
        adcs_um2 = self.adcs_per_tile * self.adc_area_um2_per_level * 2.0**self.adc_bits
        return (cells_um2 + adcs_um2) * 1e-6 + self.periphery_area_mm2_per_tile


@dataclass(frozen=True, kw_only=True)
class Systolic:
    """A weight-stationary digital systolic array (rows x cols MAC PEs at `clock_hz`, `mac_bits`
    operands) with an on-chip SRAM buffer; with it, the kernels mapped to `gpu` run on this array
    and `gpu` supplies only the memory side (LPDDR). hw.kernels.systolic; docs/hw.md "Systolic array".

    MAC energy and PE area scale with (mac_bits / 8)^2 from their 8-bit values (an array
    multiplier's size grows with the square of its width). A share of the buffer may hold KV
    (`kv_buffer_share`): those tokens are read from SRAM instead of LPDDR.
    """

    rows: Num = count("PE rows (the reduction dimension of a loaded weight tile)", le=1 << 12)
    cols: Num = count("PE columns (outputs of a loaded weight tile)", le=1 << 12)
    clock_hz: Num = number("array clock", unit="Hz", ge=1e6, le=1e11)
    mac_bits: Num = count("operand width of a MAC", unit="bit", le=32)
    mac_pj_8b: Num = number("one 8-bit MAC (multiply + add)", unit="pJ", ge=0, le=1e4)
    pe_area_mm2_8b: Num = number("one 8-bit MAC PE with its registers", unit="mm2", ge=0, le=10)
    buffer_bytes: Num = number("on-chip SRAM buffer", unit="B", ge=0, le=1 << 34)
    buffer_pj_per_bit: Num = number("reading or writing the buffer", unit="pJ/bit", ge=0, le=1e4)
    buffer_area_mm2_per_mib: Num = number("SRAM area per MiB", unit="mm2", ge=0, le=1e4)
    kv_buffer_share: Num = number(
        "share of the buffer holding KV (those tokens are read from SRAM, the rest from memory)",
        ge=0,
        le=1,
        default=0.0,
    )

    @cached_property
    def mac_pj(self) -> Num:
        """One MAC at mac_bits (pJ)."""
        return self.mac_pj_8b * (self.mac_bits / 8.0) ** 2

    @cached_property
    def area_mm2(self) -> Num:
        """PEs plus buffer (mm2)."""
        pes = self.rows * self.cols * self.pe_area_mm2_8b * (self.mac_bits / 8.0) ** 2
        return pes + self.buffer_bytes / (1 << 20) * self.buffer_area_mm2_per_mib


def _device(op: str) -> Any:
    return choice(f"device running {op}", DEVICES)


@dataclass(frozen=True, kw_only=True)
class OpMapping:
    """Which device runs each decode operator, and whether GPU and PIM work may overlap."""

    qkv_proj: str = _device("the Q, K, V projections")
    attention: str = _device("attention over the KV cache (not xbar)")
    o_proj: str = _device("the output projection")
    ffn: str = _device("the gated FFN")
    lm_head: str = _device("the LM head")
    overlap: bool = flag(
        "GPU, PIM and link work overlap: the step takes the busiest device's time (else the sum)",
        default=False,
    )
    kv_home: str = choice("memory holding the KV cache", KV_HOMES)
    prefill_overlap: bool = flag(
        "PIM k-means at the end of prefill runs under the GPU's prefill (only its excess shows)", default=True
    )

    @cached_property
    def devices(self) -> dict[str, str]:
        """Operator (OPERATORS) -> device."""
        return {op: getattr(self, op) for op in OPERATORS}

    def check(self, path: str) -> None:
        if all(dev == "none" for dev in self.devices.values()):
            raise SpecError(path, self.devices, "at least one operator must run on a device")
        if self.attention == "pim" and self.kv_home != "pim":
            raise SpecError(f"{path}.kv_home", self.kv_home, "attention on pim needs kv_home: pim")


@dataclass(frozen=True, kw_only=True)
class System:
    """A whole system: the devices and which operator runs where."""

    name: str = text("preset name")
    gpu: Gpu = section("host accelerator", Gpu)
    host: HostMemory = section("CPU memory for offloaded or spilled KV", HostMemory)
    host_link: Link = section("GPU <-> host link", Link)
    pim: Pim | None = section("PIM memory (null: none)", Pim, optional=True, default=None)
    xbar: Crossbar | None = section(
        "analog crossbar for low-bit projections", Crossbar, optional=True, default=None
    )
    systolic: Systolic | None = section(
        "digital systolic array running the gpu-mapped operators (gpu keeps the memory side)",
        Systolic,
        optional=True,
        default=None,
    )
    mapping: OpMapping = section("operators on devices, KV home, overlap", OpMapping)

    def check(self, path: str) -> None:
        for op, dev in self.mapping.devices.items():
            if dev == "pim" and self.pim is None:
                raise SpecError(f"{path}.mapping.{op}", dev, "the system has no PIM memory (hw.pim is null)")
            if dev == "xbar" and (self.xbar is None or op == "attention"):
                raise SpecError(
                    f"{path}.mapping.{op}", dev, "needs hw.xbar, and only weight operators run there"
                )
        if self.systolic is not None and self.pim is not None:
            raise SpecError(f"{path}.systolic", "(section)", "modelled only without PIM (hw.pim: null)")
        if self.mapping.kv_home == "pim" and self.pim is None:
            raise SpecError(
                f"{path}.mapping.kv_home",
                self.mapping.kv_home,
                "the system has no PIM memory (hw.pim is null)",
            )
