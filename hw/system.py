"""What the hardware is: the typed specs of a system (built and validated by hw.system_build).

A system is a host GPU, host CPU memory, a host link, optionally a PIM memory described at DRAM
level, optionally an analog crossbar, and a mapping of decode operators to devices. All numeric
fields are `Num` (scalar or broadcastable ndarray) so one System can describe a whole grid of designs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from hw.fields import Num

PLACEMENTS = ("bank", "bank_group", "buffer_die")
"""Where a PIM PE can sit, from the cells outwards."""

DEVICES = ("gpu", "pim", "xbar", "none")
OPERATORS = ("qkv_proj", "attention", "o_proj", "ffn", "lm_head")
KV_HOMES = ("gpu", "pim", "host")
PQ_LOOKUPS = ("intra_row", "per_lookup_activation", "pe_buffer")
PQ_VALUES = ("histogram", "reconstruct")
INT_MAC_AREA_FACTOR = 126 / 50
"""Adding INT32 MACs grows PE logic area from 50 % to 126 % of the FP16-only design (DOMAIN.md
section 3, citing prior work via AQPIM)."""
SOFTMAX_SITES = ("buffer_die", "gpu")


@dataclass(frozen=True)
class Gpu:
    """Host accelerator: rooflines for FC layers and for attention when it runs there."""

    peak_flops: Num  # FP16 FLOP/s (dense)
    mem_bw_bytes_per_s: Num  # its own HBM
    mem_capacity_bytes: Num
    flops_efficiency: Num  # achievable fraction of peak_flops
    bw_efficiency: Num  # achievable fraction of mem_bw_bytes_per_s
    energy_pj_per_flop: Num
    mem_energy_pj_per_bit: Num  # reading its own HBM
    static_power_w: Num


@dataclass(frozen=True)
class HostMemory:
    """CPU DRAM that holds offloaded or spilled KV."""

    bw_bytes_per_s: Num
    capacity_bytes: Num
    energy_pj_per_bit: Num


@dataclass(frozen=True)
class Link:
    """A point-to-point link (PCIe, NVLink, CXL): sustained bandwidth, per-transfer latency, energy."""

    kind: str
    bw_bytes_per_s: Num
    latency_s: Num
    energy_pj_per_bit: Num


@dataclass(frozen=True)
class Timings:
    """DRAM timings in memory-clock cycles (tCK), as in a simulator's timing preset."""

    tck_s: Num
    t_rcd_cycles: Num
    t_rp_cycles: Num
    t_ras_cycles: Num
    t_rc_cycles: Num
    t_ccd_s_cycles: Num
    t_ccd_l_cycles: Num
    t_rtp_cycles: Num
    t_wr_cycles: Num
    t_refi_cycles: Num
    t_rfc_cycles: Num


@dataclass(frozen=True)
class Pe:
    """A class of PIM processing elements at one placement.

    One PE serves `banks_per_pe` banks; it issues (or is driven by) one column command every
    `cmd_interval_cycles` (the all-bank MAC command interval at bank level, which also carries the
    power limit as in AttAcc!'s nCCDAB); it does `lanes` FP16 MACs per PE cycle at `clock_hz`.
    """

    placement: str
    banks_per_pe: Num
    lanes: Num
    clock_hz: Num
    cmd_interval_cycles: Num
    buffer_bytes: Num  # PE-local register/buffer capacity (bounds the PQ inner-product table)
    energy_pj_per_mac: Num
    area_mm2_per_lane: Num  # PE logic area per lane in the DRAM process (area model)
    cycles_per_mac: Num  # PE cycles one lane needs for an FP16 MAC (>1 when emulated in software)
    row_interleave: bool  # the PE reads one of its banks while the others activate/precharge
    int_mac: bool  # integer MACs beside FP16: int-k KV needs no dequantisation op, lanes cost more area
    lookups_per_cmd: Num  # table lookups one column command serves from an open row (indirection width)
    head_split: Num  # PEs one K/V vector is split across (partial dot products summed in the bank group)


@dataclass(frozen=True)
class PimEnergy:
    """Energy per bit along each data path (pJ/bit), AttAcc!/FGDRAM breakdown."""

    act_pre_pj_per_bit: Num  # activate + precharge, per bit of the opened row
    cell_pj_per_bit: Num  # cell array read/write
    bank_to_bg_pj_per_bit: Num  # column path to the bank-group mux
    bg_to_gio_pj_per_bit: Num  # bank-group mux to global I/O
    tsv_pj_per_bit: Num
    interposer_pj_per_bit: Num
    static_power_w_per_stack: Num


@dataclass(frozen=True)
class Pim:
    """A PIM memory at DRAM level: organisation, timings, PEs, energy, capacity and its area cost."""

    kind: str
    stacks: Num
    channels_per_stack: Num
    pseudo_channels: Num
    ranks: Num
    bank_groups: Num
    banks_per_group: Num
    row_bytes: Num
    column_bytes: Num
    capacity_bytes_per_stack: Num  # DRAM capacity of a stack (DIMM, chip) before the PIM logic's area cost
    die_area_mm2: Num  # core-die (cell array) area of a stack that PE logic displaces (area model)
    timings: Timings
    pes: dict[str, Pe]
    attention_pe: str
    gemv_pe: str
    softmax_on: str
    softmax_ops_per_score: Num  # softmax PE lane-cycles per score (5 for max/sub/exp/sum/div; 1 pipelined)
    move_interval_cycles: (
        Num  # bank <-> buffer-die move commands (scores, probabilities, queries): one column each
    )
    pq_lookup: str  # where PQ tables are read: open DRAM row, a row per lookup, or PE registers
    pq_value: str  # p.V on codes: K-bin histogram then codebook GEMV, or per-token reconstruction
    pq_codebook_copies: Num  # copies of each PQ subspace codebook among the banks holding its tokens
    refresh: bool
    energy: PimEnergy
    link: Link  # GPU <-> PIM (q/k/v in, outputs back)

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


@dataclass(frozen=True)
class Crossbar:
    """Analog crossbar PIM for low-bit projection weights (PIM-LLM style), weight-stationary.

    A matrix of R x C weights takes ceil(R / rows) x ceil(C x cells_per_weight / cols) tiles; all
    tiles of a matrix fire together, one bit-serial input bit per `t_mvm_s` (ADC included).
    """

    tiles: Num
    rows_per_tile: Num
    cols_per_tile: Num
    cells_per_weight: Num  # e.g. 2 for a ternary weight on a differential cell pair
    input_bits: Num  # activations fed bit-serially
    t_mvm_s: Num  # one input bit through a tile, ADC conversion included
    energy_pj_per_tile_mvm: Num  # one tile, one input bit


@dataclass(frozen=True)
class OpMapping:
    """Which device runs each decode operator, and whether GPU and PIM work may overlap."""

    devices: dict[str, str]
    overlap: bool
    kv_home: str
    prefill_overlap: bool  # PIM clustering may run under the GPU's prefill (only the excess shows)


@dataclass(frozen=True)
class System:
    name: str
    gpu: Gpu
    host: HostMemory
    host_link: Link
    pim: Pim | None
    xbar: Crossbar | None
    mapping: OpMapping
