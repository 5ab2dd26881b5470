"""What the hardware is: typed, validated specs built from a conf/hw/*.yaml dict.

A system is a host GPU, host CPU memory, a host link, optionally a PIM memory described at DRAM
level, and a mapping of decode operators to devices. All numeric fields are `Num` (scalar or
broadcastable ndarray) so one System can describe a whole grid of designs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from hw.errors import SpecError
from hw.fields import Num, choice, flag, number, only, require, section, text

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


PCIE_LANE_BYTES_PER_S = {3: 0.985e9, 4: 1.969e9, 5: 3.938e9, 6: 7.563e9}
"""One PCIe lane, one direction, after line coding (PCI-SIG: 8, 16, 32 GT/s with 128b/130b; 64 GT/s
PAM4 with FLIT)."""


def _link_bw(cfg: Mapping[str, Any], path: str) -> Num:
    """`bw_bytes_per_s`, or `pcie_generation` and `lanes` (one direction), but not both."""
    if "pcie_generation" not in cfg:
        return number(cfg, "bw_bytes_per_s", path, gt=0)
    if "bw_bytes_per_s" in cfg:
        raise SpecError(
            f"{path}.bw_bytes_per_s", cfg["bw_bytes_per_s"], "give it or pcie_generation + lanes, not both"
        )
    generation = cfg["pcie_generation"]
    if isinstance(generation, bool) or generation not in PCIE_LANE_BYTES_PER_S:
        allowed = ", ".join(str(g) for g in PCIE_LANE_BYTES_PER_S)
        raise SpecError(f"{path}.pcie_generation", generation, f"must be one of {allowed}")
    return PCIE_LANE_BYTES_PER_S[generation] * number(cfg, "lanes", path, ge=1, integer=True)


def _keys(cls: type, *extra: str, drop: tuple[str, ...] = ()) -> list[str]:
    """Config keys of a section: its dataclass's fields, plus `extra`, minus `drop`."""
    return [f.name for f in fields(cls) if f.name not in drop] + list(extra)


def _link(cfg: Mapping[str, Any], path: str) -> Link:
    only(cfg, path, _keys(Link, "pcie_generation", "lanes"))
    return Link(
        kind=text(cfg, "kind", path, default="link"),
        bw_bytes_per_s=_link_bw(cfg, path),
        latency_s=number(cfg, "latency_s", path, ge=0),
        energy_pj_per_bit=number(cfg, "energy_pj_per_bit", path, ge=0),
    )


def _gpu(cfg: Mapping[str, Any], path: str) -> Gpu:
    only(cfg, path, _keys(Gpu))
    return Gpu(
        peak_flops=number(cfg, "peak_flops", path, gt=0),
        mem_bw_bytes_per_s=number(cfg, "mem_bw_bytes_per_s", path, gt=0),
        mem_capacity_bytes=number(cfg, "mem_capacity_bytes", path, gt=0),
        flops_efficiency=number(cfg, "flops_efficiency", path, gt=0, le=1),
        bw_efficiency=number(cfg, "bw_efficiency", path, gt=0, le=1),
        energy_pj_per_flop=number(cfg, "energy_pj_per_flop", path, ge=0),
        mem_energy_pj_per_bit=number(cfg, "mem_energy_pj_per_bit", path, ge=0),
        static_power_w=number(cfg, "static_power_w", path, ge=0, default=0.0),
    )


def _timings(cfg: Mapping[str, Any], path: str) -> Timings:
    only(cfg, path, _keys(Timings))

    def cyc(key: str, **kw: Any) -> Num:
        return number(cfg, key, path, integer=True, **kw)

    t = Timings(
        tck_s=number(cfg, "tck_s", path, gt=0),
        t_rcd_cycles=cyc("t_rcd_cycles", gt=0),
        t_rp_cycles=cyc("t_rp_cycles", gt=0),
        t_ras_cycles=cyc("t_ras_cycles", gt=0),
        t_rc_cycles=cyc("t_rc_cycles", gt=0),
        t_ccd_s_cycles=cyc("t_ccd_s_cycles", gt=0),
        t_ccd_l_cycles=cyc("t_ccd_l_cycles", gt=0),
        t_rtp_cycles=cyc("t_rtp_cycles", ge=0),
        t_wr_cycles=cyc("t_wr_cycles", ge=0),
        t_refi_cycles=cyc("t_refi_cycles", gt=0),
        t_rfc_cycles=cyc("t_rfc_cycles", ge=0),
    )
    # tRC = tRAS + tRP; published presets round to cycles and lose up to one (AttAcc! HBM3: 63 < 45 + 19).
    require(
        t.t_rc_cycles >= t.t_ras_cycles + t.t_rp_cycles - 1,
        f"{path}.t_rc_cycles",
        t.t_rc_cycles,
        "must be >= t_ras_cycles + t_rp_cycles - 1 (one cycle of rounding allowed)",
    )
    require(
        t.t_ras_cycles >= t.t_rcd_cycles, f"{path}.t_ras_cycles", t.t_ras_cycles, "must be >= t_rcd_cycles"
    )
    require(
        t.t_ccd_l_cycles >= t.t_ccd_s_cycles,
        f"{path}.t_ccd_l_cycles",
        t.t_ccd_l_cycles,
        "must be >= t_ccd_s_cycles",
    )
    require(
        t.t_refi_cycles > t.t_rfc_cycles, f"{path}.t_refi_cycles", t.t_refi_cycles, "must be > t_rfc_cycles"
    )
    return t


def _pe(cfg: Mapping[str, Any], path: str, placement: str, max_banks: Num) -> Pe:
    only(cfg, path, _keys(Pe, drop=("placement",)))
    pe = Pe(
        placement=placement,
        banks_per_pe=number(cfg, "banks_per_pe", path, ge=1, integer=True),
        lanes=number(cfg, "lanes", path, ge=1, integer=True),
        clock_hz=number(cfg, "clock_hz", path, gt=0),
        cmd_interval_cycles=number(cfg, "cmd_interval_cycles", path, gt=0),
        buffer_bytes=number(cfg, "buffer_bytes", path, ge=0),
        energy_pj_per_mac=number(cfg, "energy_pj_per_mac", path, ge=0),
        area_mm2_per_lane=number(cfg, "area_mm2_per_lane", path, ge=0, default=0.0),
        cycles_per_mac=number(cfg, "cycles_per_mac", path, gt=0, default=1.0),
        row_interleave=flag(cfg, "row_interleave", path, default=False),
        int_mac=flag(cfg, "int_mac", path, default=False),
        lookups_per_cmd=number(cfg, "lookups_per_cmd", path, ge=1, integer=True, default=1),
        head_split=number(cfg, "head_split", path, ge=1, integer=True, default=1),
    )
    require(
        pe.banks_per_pe <= max_banks,
        f"{path}.banks_per_pe",
        pe.banks_per_pe,
        "must not exceed the banks of one pseudo-channel",
    )
    return pe


def _pim(cfg: Mapping[str, Any], path: str) -> Pim:
    only(cfg, path, _keys(Pim, "pe", drop=("pes",)))

    def count(key: str) -> Num:
        return number(cfg, key, path, ge=1, integer=True)

    stacks = count("stacks")
    ranks, bgs, banks = count("ranks"), count("bank_groups"), count("banks_per_group")
    banks_per_pch = ranks * bgs * banks
    pe_cfg = section(cfg.get("pe"), f"{path}.pe")
    if not pe_cfg:
        raise SpecError(f"{path}.pe", dict(pe_cfg), f"needs at least one of {', '.join(PLACEMENTS)}")
    pes = {}
    for placement, sub in pe_cfg.items():
        if placement not in PLACEMENTS:
            raise SpecError(
                f"{path}.pe.{placement}", sub, f"placement must be one of {', '.join(PLACEMENTS)}"
            )
        pes[placement] = _pe(
            section(sub, f"{path}.pe.{placement}"), f"{path}.pe.{placement}", placement, banks_per_pch
        )
    present = tuple(pes)

    def placed(key: str) -> str:
        where = choice(cfg, key, path, PLACEMENTS)
        if where not in pes:
            raise SpecError(f"{path}.{key}", where, f"the device has PEs only at {', '.join(present)}")
        return where

    energy_cfg = section(cfg.get("energy"), f"{path}.energy")
    ep = f"{path}.energy"
    only(energy_cfg, ep, _keys(PimEnergy))
    row_bytes = number(cfg, "row_bytes", path, gt=0, integer=True)
    column_bytes = number(cfg, "column_bytes", path, gt=0, integer=True)
    require(column_bytes <= row_bytes, f"{path}.column_bytes", column_bytes, "must be <= row_bytes")
    softmax_on = choice(cfg, "softmax_on", path, SOFTMAX_SITES)
    if softmax_on == "buffer_die" and "buffer_die" not in pes:
        raise SpecError(f"{path}.softmax_on", softmax_on, f"the device has PEs only at {', '.join(present)}")
    timings = _timings(section(cfg.get("timings"), f"{path}.timings"), f"{path}.timings")
    pim = Pim(
        kind=text(cfg, "kind", path),
        stacks=stacks,
        channels_per_stack=count("channels_per_stack"),
        pseudo_channels=count("pseudo_channels"),
        ranks=ranks,
        bank_groups=bgs,
        banks_per_group=banks,
        row_bytes=row_bytes,
        column_bytes=column_bytes,
        capacity_bytes_per_stack=number(cfg, "capacity_bytes_per_stack", path, gt=0),
        die_area_mm2=number(cfg, "die_area_mm2", path, gt=0, default=1.0),
        timings=timings,
        pes=pes,
        attention_pe=placed("attention_pe"),
        gemv_pe=placed("gemv_pe") if "gemv_pe" in cfg else placed("attention_pe"),
        softmax_on=softmax_on,
        softmax_ops_per_score=number(cfg, "softmax_ops_per_score", path, gt=0, default=5.0),
        move_interval_cycles=number(cfg, "move_interval_cycles", path, gt=0, default=timings.t_ccd_s_cycles),
        pq_lookup=choice(cfg, "pq_lookup", path, PQ_LOOKUPS, default="intra_row"),
        pq_value=choice(cfg, "pq_value", path, PQ_VALUES, default="histogram"),
        refresh=flag(cfg, "refresh", path, default=True),
        energy=PimEnergy(
            act_pre_pj_per_bit=number(energy_cfg, "act_pre_pj_per_bit", ep, ge=0),
            cell_pj_per_bit=number(energy_cfg, "cell_pj_per_bit", ep, ge=0),
            bank_to_bg_pj_per_bit=number(energy_cfg, "bank_to_bg_pj_per_bit", ep, ge=0),
            bg_to_gio_pj_per_bit=number(energy_cfg, "bg_to_gio_pj_per_bit", ep, ge=0),
            tsv_pj_per_bit=number(energy_cfg, "tsv_pj_per_bit", ep, ge=0),
            interposer_pj_per_bit=number(energy_cfg, "interposer_pj_per_bit", ep, ge=0),
            static_power_w_per_stack=number(energy_cfg, "static_power_w_per_stack", ep, ge=0, default=0.0),
        ),
        link=_link(section(cfg.get("link"), f"{path}.link"), f"{path}.link"),
    )
    require(
        pim.pe_area_mm2_per_stack < pim.die_area_mm2,
        f"{path}.die_area_mm2",
        pim.die_area_mm2,
        "must exceed the PE area per stack (banks / banks_per_pe x lanes x area_mm2_per_lane)",
    )
    return pim


def _xbar(cfg: Mapping[str, Any], path: str) -> Crossbar:
    only(cfg, path, _keys(Crossbar))

    def count(key: str) -> Num:
        return number(cfg, key, path, ge=1, integer=True)

    return Crossbar(
        tiles=count("tiles"),
        rows_per_tile=count("rows_per_tile"),
        cols_per_tile=count("cols_per_tile"),
        cells_per_weight=count("cells_per_weight"),
        input_bits=count("input_bits"),
        t_mvm_s=number(cfg, "t_mvm_s", path, gt=0),
        energy_pj_per_tile_mvm=number(cfg, "energy_pj_per_tile_mvm", path, ge=0),
    )


def build_system(cfg: Mapping[str, Any]) -> System:
    """Validate a conf/hw dict and return the typed System; raise SpecError on bad input."""
    cfg = section(cfg, "hw")
    only(cfg, "hw", ("name", "gpu", "host", "host_link", "pim", "xbar", "mapping"))
    pim_cfg = cfg.get("pim")
    pim = None if pim_cfg is None else _pim(section(pim_cfg, "hw.pim"), "hw.pim")
    xbar_cfg = cfg.get("xbar")
    xbar = None if xbar_cfg is None else _xbar(section(xbar_cfg, "hw.xbar"), "hw.xbar")
    map_cfg = section(cfg.get("mapping"), "hw.mapping")
    devices = {}
    for op in OPERATORS:
        dev = choice(map_cfg, op, "hw.mapping", DEVICES)
        if dev == "pim" and pim is None:
            raise SpecError(f"hw.mapping.{op}", dev, "the system has no PIM memory (hw.pim is null)")
        if dev == "xbar" and (xbar is None or op == "attention"):
            raise SpecError(f"hw.mapping.{op}", dev, "needs hw.xbar, and only weight operators run there")
        devices[op] = dev
    unknown = sorted(set(map_cfg) - set(OPERATORS) - {"overlap", "kv_home", "prefill_overlap"})
    if unknown:
        raise SpecError(
            f"hw.mapping.{unknown[0]}", map_cfg[unknown[0]], f"operators are {', '.join(OPERATORS)}"
        )
    kv_home = choice(map_cfg, "kv_home", "hw.mapping", KV_HOMES)
    if kv_home == "pim" and pim is None:
        raise SpecError("hw.mapping.kv_home", kv_home, "the system has no PIM memory (hw.pim is null)")
    if devices["attention"] == "pim" and kv_home != "pim":
        raise SpecError("hw.mapping.kv_home", kv_home, "attention on pim needs kv_home: pim")
    host_cfg = section(cfg.get("host"), "hw.host")
    only(host_cfg, "hw.host", _keys(HostMemory))
    return System(
        name=text(cfg, "name", "hw"),
        gpu=_gpu(section(cfg.get("gpu"), "hw.gpu"), "hw.gpu"),
        host=HostMemory(
            bw_bytes_per_s=number(host_cfg, "bw_bytes_per_s", "hw.host", gt=0),
            capacity_bytes=number(host_cfg, "capacity_bytes", "hw.host", gt=0),
            energy_pj_per_bit=number(host_cfg, "energy_pj_per_bit", "hw.host", ge=0),
        ),
        host_link=_link(section(cfg.get("host_link"), "hw.host_link"), "hw.host_link"),
        pim=pim,
        xbar=xbar,
        mapping=OpMapping(
            devices=devices,
            overlap=flag(map_cfg, "overlap", "hw.mapping", default=False),
            kv_home=kv_home,
            prefill_overlap=flag(map_cfg, "prefill_overlap", "hw.mapping", default=True),
        ),
    )
