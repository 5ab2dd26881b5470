"""Validate a conf/hw dict and build the typed System: every check, one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from hw.errors import SpecError
from hw.fields import Num, choice, flag, number, only, require, section, text
from hw.system import (
    DEVICES,
    KV_HOMES,
    OPERATORS,
    PLACEMENTS,
    PQ_LOOKUPS,
    PQ_VALUES,
    SOFTMAX_SITES,
    Crossbar,
    Gpu,
    HostMemory,
    Link,
    OpMapping,
    Pe,
    Pim,
    PimEnergy,
    System,
    Timings,
)

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
        # One copy (shared) by default: AQPIM counts one codebook per layer, KV head and tensor.
        pq_codebook_copies=number(cfg, "pq_codebook_copies", path, ge=1, integer=True, default=1.0),
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
