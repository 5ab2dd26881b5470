r"""Count AttAcc!'s bank-level attention command by command (a scripted hand count, not a run of
Ramulator2) and set it beside `hw`'s attention on `attacc_hbm3_bank` (one channel, one stack).

    .venv/bin/python benchmarks/hw_attacc_bank_count.py                   # 1K-64K tokens
    .venv/bin/python benchmarks/hw_attacc_bank_count.py --tokens 4096 --heads 2 --no-power-limit

What is replayed (read in AttAcc!'s public simulator, docs/sources.md [attacc-sim], [hbm3pim-spec];
written here from that reading, no simulator code): the bank-level trace generator's commands for
one channel (`--heads` heads on it: 1, or 2 in its paired schedule, where one head's softmax and
probability moves run beside the other head's MACs): WR_GB of the query, groups of 16 MAC rows
(32 MAC_AB) each followed by the previous group's MV_SB and a barrier, SFM and the MV_GB of the
probabilities, the value MAC_AB and their MV_SB. The controller: a 32-request PIM buffer filled in
trace order; requests in order up to a barrier (activates and precharges of later ones may pass
it), the earliest ready one first, a precharge held while a queued request hits the open row; one
column command (MAC or move) and one row command a cycle. The HBM3_5.2Gbps timings: MAC_AB every
nCCDAB (6; 4 without the power limit), ACTAB -> MAC nRCDRD 19, MAC -> PREA nRTPL 8, ACTAB -> PREA
nRAS 45, PREA -> ACTAB nRP 19, ACTAB -> ACTAB nRC 63; moves nBL 2 on their pseudo-channel, nCCDS 2
in a rank, nCCDL 4 in a bank group; all-bank refresh of both pseudo-channels every nREFI 5070
from cycle 5070 (rows closed first, nRFC 455, nothing else issued while it waits).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

import hw
from hw.presets import isolated_mapping
from hw.presets import load_preset as load

T = {"CCDAB": 6, "RCDRD": 19, "RTPL": 8, "RAS": 45, "RP": 19, "RC": 63, "BL": 2, "CCDS": 2, "CCDL": 4}
REFI, RFC = 5070, 455
DHEAD, N_MAC, BANKS, BGS, RANKS, PCHS = 128, 16, 4, 4, 2, 2
COLS_PER_ROW, V_ROW_OFFSET = 32, 1 << 13
BUFFER = 32
PRESETS = {
    "bank": "attacc_hbm3_bank",
    "bank_group": "attacc_hbm3_bankgroup",
    "buffer_die": "attacc_hbm3_bufferdie",
}


@dataclass
class Req:
    kind: str  # mac | wrgb | mvsb | mvgb | sfm | barrier
    row: int = 0  # mac: row of the access
    unit: tuple[int, int] = (0, 0)  # moves: (rank, bank group) on pseudo-channel 0
    bank: int = -1  # mac: the bank of a same-bank MAC (bank-group PEs); -1 all banks


def mac(placement: str, base_row: int, idx: int) -> Req:
    """The MAC of column `idx` of a head's K or V: all-bank MACs walk one row after another; a bank-
    group PE's same-bank MACs take a row of one bank, then the same row of the next bank; the buffer
    die's per-bank MACs rotate over the 8 (rank, bank group) pairs, then the 4 banks, then columns."""
    if placement == "bank":
        return Req("mac", base_row + idx // COLS_PER_ROW)
    if placement == "bank_group":
        rows_done = idx // COLS_PER_ROW
        return Req("mac", base_row + rows_done // BANKS, bank=rows_done % BANKS)
    pair, rest = idx % (RANKS * BGS), idx // (RANKS * BGS)
    bank, col_steps = rest % BANKS, rest // BANKS
    unit = (pair // BGS, pair % BGS)
    return Req("mac", base_row + col_steps // COLS_PER_ROW, unit=unit, bank=pair * BANKS + bank)


def head(length: int, k_row: int, v_row: int, placement: str = "bank", dim: int = DHEAD) -> dict[str, list]:
    """One head's command groups on one channel, as the generator for `placement` builds them (`dim`:
    the head dim, the length of the vector the MACs multiply K's rows by)."""
    if placement == "buffer_die":
        return buffer_die_head(length, k_row, v_row)
    split = BANKS if placement == "bank" else 1  # bank PEs split the head dim over a bank group's banks
    k_cols = math.ceil(dim / split / N_MAC)  # columns of a head's K per token group: 2, or 8
    n_rows = math.ceil(length / (PCHS * RANKS * BGS))  # token groups (16 tokens each)
    score_mac = [[mac(placement, k_row, k + n * k_cols) for k in range(k_cols)] for n in range(n_rows)]
    score_mvsb = [
        [Req("mvsb", unit=(r, g)) for g in range(BGS) for r in range(RANKS)]
        for n in range(n_rows)
        if n % 16 == 15 or n == n_rows - 1
    ]
    per_unit = math.ceil(length / (PCHS * RANKS * BGS * N_MAC))
    mvgb = [Req("mvgb", unit=(r, g)) for r in range(RANKS) for g in range(BGS) for _ in range(per_unit)]
    out_groups = math.ceil(dim / (split * N_MAC))
    context_mac = [[mac(placement, v_row, k + n * n_rows) for k in range(n_rows)] for n in range(out_groups)]
    outputs = [Req("mvsb", unit=(r, 0)) for _ in range(split) for r in range(RANKS)]
    context_mvsb = [list(outputs) for _ in range(out_groups)]
    wrgb = [Req("wrgb", unit=(0, 0)) for _ in range(split * k_cols)]
    return {"wrgb": wrgb, "smac": score_mac, "smvsb": score_mvsb, "sfm": [Req("sfm")], "mvgb": mvgb,
            "cmac": context_mac, "cmvsb": context_mvsb}  # fmt: skip


def buffer_die_head(length: int, k_row: int, v_row: int) -> dict[str, list]:
    """The buffer-die generator: per-bank MACs (MAC_PB, both pseudo-channels at once), 8 a token of
    a pseudo-channel, tokens over the 2 pCHs; one MV_SB per 16 tokens and per output slice, L/32
    MV_GB, all on bank group 0 of rank 0."""
    k_cols = math.ceil(DHEAD / N_MAC)
    n_rows = math.ceil(length / PCHS)
    score_mac = [[mac("buffer_die", k_row, k + n * k_cols) for k in range(k_cols)] for n in range(n_rows)]
    score_mvsb = [[Req("mvsb")] for n in range(n_rows) if n % 16 == 15 or n == n_rows - 1]
    mvgb = [Req("mvgb") for _ in range(math.ceil(length / (PCHS * N_MAC)))]
    out_groups = math.ceil(DHEAD / N_MAC)
    context_mac = [
        [mac("buffer_die", v_row, k + n * n_rows) for k in range(n_rows)] for n in range(out_groups)
    ]
    context_mvsb = [[Req("mvsb")] for _ in range(out_groups)]
    wrgb = [Req("wrgb") for _ in range(k_cols)]
    return {"wrgb": wrgb, "smac": score_mac, "smvsb": score_mvsb, "sfm": [Req("sfm")], "mvgb": mvgb,
            "cmac": context_mac, "cmvsb": context_mvsb}  # fmt: skip


def score_phase(h: dict[str, list]) -> list[Req]:
    """One head's query writes and score MACs as the generator issues them alone: WR_GB, a barrier,
    then groups of 16 MAC rows, each followed by the previous group's MV_SB and a barrier (the last
    group's MV_SB end the phase, with no barrier after them)."""
    bar = Req("barrier")
    groups = math.ceil(len(h["smac"]) / 16)
    out = h["wrgb"] + [bar]
    for j in range(groups + 1):
        if j < groups:
            out += [r for g in h["smac"][j * 16 : j * 16 + 16] for r in g]
        if j:
            out += h["smvsb"][j - 1]
        if j < groups:
            out.append(bar)
    return out


def trace(length: int, heads: int, placement: str = "bank") -> list[Req]:
    """The channel's requests in trace order (one head, or two in the generator's paired schedule)."""
    bar = Req("barrier")
    rows_per_head = math.ceil(4096 * DHEAD / (PCHS * RANKS * BGS * BANKS)) // (COLS_PER_ROW * 32)
    hs = [head(length, i * rows_per_head, V_ROW_OFFSET + i * rows_per_head, placement) for i in range(heads)]
    out: list[Req] = []
    groups = math.ceil(len(hs[0]["smac"]) / 16)

    def macs(h: dict, j: int) -> list[Req]:
        return [r for g in h["smac"][j * 16 : j * 16 + 16] for r in g]

    def context(h: dict, other: dict | None) -> None:
        n = len(h["cmac"])
        for j in range(n + 1):
            if j < n:
                out.extend(h["cmac"][j])
            if j:
                out.extend(h["cmvsb"][j - 1])
            if other is not None and j == 0:
                out.extend(other["sfm"])
            if other is not None and j < n and j >= n // 2:
                stride = len(other["mvgb"]) // math.ceil(n / 2)
                k = (j - n // 2) * stride
                out.extend(other["mvgb"][k : k + stride])
            if j < n:
                out.append(bar)

    if heads == 1:
        h = hs[0]
        out += score_phase(h)
        out += h["sfm"] + h["mvgb"] + [bar]
        context(h, None)
        return out
    h0, h1 = hs
    out += h0["wrgb"] + h0["smac"][0][:1] + [bar]  # the generator's dummy MAC
    stride = len(h1["wrgb"]) // groups
    for j in range(groups + 1):
        if j < groups:
            out += macs(h0, j)
        if j:
            out += h0["smvsb"][j - 1]
        if j < groups:
            out += h1["wrgb"][j * stride : j * stride + stride] + [bar]
    half = math.ceil(groups / 2)
    mv_stride = len(h0["mvgb"]) // half
    for j in range(groups + 1):
        if j < groups:
            out += macs(h1, j)
        if j:
            out += h1["smvsb"][j - 1]
        if j == 0:
            out += h0["sfm"]
        if groups > j >= groups // 2:
            k = (j - groups // 2) * mv_stride
            out += h0["mvgb"][k : k + mv_stride]
        if j < groups:
            out.append(bar)
    context(h0, h1)
    context(h0, None)  # the generator's last phase repeats head 0's context indices
    return out


@dataclass
class Channel:
    """What the controller's checks read: open rows (bank -1: all banks, for all-bank MACs) and the
    last command times, per bank and for the channel."""

    ccd: int  # nCCDAB for all-bank MACs, nCCDSB for same-bank ones, nBL for per-bank ones
    per_bank: bool = False  # per-bank MACs also keep nCCDS in a rank and nCCDL in a bank group
    now: int = 0
    open_rows: dict = field(default_factory=dict)
    mac_b: dict = field(default_factory=dict)
    act_b: dict = field(default_factory=dict)
    pre_b: dict = field(default_factory=dict)
    mac: int = -99
    act: int = -99
    ref: int = -999
    bus: int = -99
    rank_t: dict = field(default_factory=lambda: {0: -99, 1: -99})
    bg_t: dict = field(default_factory=dict)
    mac_rank: dict = field(default_factory=dict)
    mac_bg: dict = field(default_factory=dict)

    def command(self, r: Req) -> str:
        """The command a request needs next (a MAC to a closed or other row needs an activate or a
        precharge of its bank, or of all banks)."""
        if r.kind != "mac":
            return r.kind
        row = self.open_rows.get(r.bank)
        if row == r.row:
            return "mac"
        return "act" if row is None else "pre"

    def hits_open_row(self, r: Req) -> bool:
        return r.kind == "mac" and self.open_rows.get(r.bank) == r.row

    def ready(self, cmd: str, r: Req) -> bool:
        t, b = self.now, r.bank
        if cmd == "mac":
            ready = t >= max(self.mac + self.ccd, self.act_b.get(b, -99) + T["RCDRD"])
            if self.per_bank:
                rank_free = self.mac_rank.get(r.unit[0], -99) + T["CCDS"]
                ready = ready and t >= max(rank_free, self.mac_bg.get(r.unit, -99) + T["CCDL"])
            return ready
        if cmd == "act":
            bank = max(self.pre_b.get(b, -99) + T["RP"], self.act_b.get(b, -99) + T["RC"])
            return t >= max(bank, self.ref + RFC, self.act + 2)
        if cmd == "pre":
            return t >= max(
                self.mac_b.get(b, -99) + T["RTPL"], self.act_b.get(b, -99) + T["RAS"], self.act + 2
            )
        rank, _ = r.unit
        return t >= max(
            self.bus + T["BL"], self.rank_t[rank] + T["CCDS"], self.bg_t.get(r.unit, -99) + T["CCDL"]
        )

    def issue(self, cmd: str, r: Req) -> None:
        t, b = self.now, r.bank
        if cmd == "act":
            self.open_rows[b], self.act_b[b], self.act = r.row, t, t
        elif cmd == "pre":
            self.open_rows.pop(b)
            self.pre_b[b] = t
        elif cmd == "mac":
            self.mac, self.mac_b[b] = t, t
            self.mac_rank[r.unit[0]], self.mac_bg[r.unit] = t, t
        else:
            self.bus, self.rank_t[r.unit[0]], self.bg_t[r.unit] = t, t, t

    def close_all(self) -> bool:
        """Precharge every open bank at once (PREA, before a refresh) if their timings allow."""
        banks = list(self.open_rows)
        if not all(self.ready("pre", Req("mac", bank=b)) for b in banks):
            return False
        for b in banks:
            self.issue("pre", Req("mac", bank=b))
        return True


def count(reqs: list[Req], ccd: int, refresh: bool = True, placement: str = "bank") -> int:
    """Cycles until the channel has issued every request."""
    feed = iter(reqs)
    buf: list[Req] = []
    pending = True
    ch = Channel(ccd, per_bank=placement == "buffer_die")
    next_ref = REFI if refresh else None
    ref_wait = False
    done = 0
    while pending or buf:
        while pending and len(buf) < BUFFER:
            nxt = next(feed, None)
            if nxt is None:
                pending = False
            else:
                buf.append(nxt)
        while buf and buf[0].kind == "barrier":
            buf.pop(0)
        if next_ref is not None and ch.now >= next_ref:
            ref_wait, next_ref = True, next_ref + REFI
        if ref_wait:  # nothing else issues until both pseudo-channels' REFab have
            if ch.open_rows:
                ch.close_all()
            elif ch.now >= max([ch.act + T["RC"]] + [p + T["RP"] for p in ch.pre_b.values()]):
                ch.ref, ref_wait = ch.now + 1, False
            ch.now += 1
            continue
        window = []
        for r in buf:
            if r.kind == "barrier":
                break
            window.append(r)
        later = [r for r in buf[len(window) :] if r.kind == "mac" and ch.command(r) in ("act", "pre")]
        row_issued = col_issued = False
        for r in window + later:
            cmd = ch.command(r)
            is_row = cmd in ("act", "pre")
            if (row_issued if is_row else col_issued) or not ch.ready(cmd, r):
                continue
            if cmd == "pre" and any(q.bank == r.bank and ch.hits_open_row(q) for q in buf):
                continue  # a queued request still hits the bank's open row
            ch.issue(cmd, r)
            if is_row:
                row_issued = True
            else:
                buf.remove(r)
                col_issued, done = True, ch.now
            if row_issued and col_issued:
                break
        ch.now += 1
    return done + 1


def model_cycles(length: int, heads: int, ccd: int, refresh: bool = True, placement: str = "bank") -> float:
    """hw's PIM attention kernels (KV append left out: the trace has none) on one channel, in tCK."""
    cfg = load("hw", PRESETS[placement])
    cfg["pim"] |= {"stacks": 1, "channels_per_stack": 1, "refresh": refresh}
    cfg["pim"]["pe"][placement]["cmd_interval_cycles"] = ccd
    cfg["mapping"] = isolated_mapping(attention="pim")
    shape = {"n_layers": 1, "n_q_heads": heads, "n_kv_heads": heads, "head_dim": DHEAD}
    workload = {"context_tokens": length, "batch": 1, "decode_steps": 1}
    system, kv, wl = hw.build(cfg, {"name": "fp16"}, load("model", "llama2_7b") | shape, workload)
    cost = hw.evaluate(system, kv, wl)
    seconds = sum(k.seconds for n, k in cost.kernels.items() if k.device == "pim" and n != "kv_append")
    return seconds / system.pim.timings.tck_s


def mac_interval(placement: str, power_limit: bool) -> int:
    """Cycles between MACs: nCCDAB / nCCDSB (6 under the power limit, 4 without) or, for the buffer
    die's per-bank MACs, nBL on the channel (2; the power limit does not touch them)."""
    if placement == "buffer_die":
        return T["BL"]
    return T["CCDAB"] if power_limit else 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int)
    parser.add_argument("--heads", type=int, default=1, choices=[1, 2])
    parser.add_argument("--placement", default="bank", choices=sorted(PRESETS))
    parser.add_argument("--no-power-limit", action="store_true")
    parser.add_argument("--no-refresh", action="store_true")
    args = parser.parse_args()
    ccd = mac_interval(args.placement, not args.no_power_limit)
    cases = [args.tokens] if args.tokens else [1024, 4096, 16384, 65536]
    print("| placement | tokens | heads | MAC interval | counted | model | model / count |")
    print("|---|---|---|---|---|---|---|")
    for length in cases:
        reqs = trace(length, args.heads, args.placement)
        counted = count(reqs, ccd, refresh=not args.no_refresh, placement=args.placement)
        model = model_cycles(length, args.heads, ccd, refresh=not args.no_refresh, placement=args.placement)
        cells = f"{args.placement} | {length} | {args.heads} | {ccd} | {counted} | {model:.0f}"
        print(f"| {cells} | {model / counted:.3f} |")


if __name__ == "__main__":
    main()
