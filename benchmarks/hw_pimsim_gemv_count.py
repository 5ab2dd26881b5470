r"""Count PIMSimulator's stock HBM2-PIM GEMV command by command (a scripted hand count, not a run of
the simulator) and set it beside `hw`'s `register_tiles` GEMV on `hbm2_pim_pimsim`.

    .venv/bin/python benchmarks/hw_pimsim_gemv_count.py            # the validation grid
    .venv/bin/python benchmarks/hw_pimsim_gemv_count.py --rows 4096 --cols 4096 --pchs 64

What is replayed (read in Samsung's public PIMSimulator, docs/sources.md [pimsim]; written here
from that reading, no simulator code): the GEMV kernel's transactions on one pseudo-channel (park
in, single-bank -> all-bank mode, CRF programming; per output tile and batch element: all-bank ->
all-bank-PIM, for each input tile 8 input writes into the PE registers then 8 barriered groups of 8
MAC reads, even input tiles in the even bank and odd ones in the odd bank, the output registers
written back, back to all-bank; finally all-bank -> single-bank and park out) and the DRAMSim2-style
controller the simulator uses: one command a cycle, barriers (no command passes a barriered
transaction, which issues last of its group), open rows closed as soon as no transaction up to the
next barrier needs them, activations for queued transactions up to the barrier, and the per-bank
timing rules of its device ini (HBM2_samsung_2M_16B_x64: RL 20, WL 8, BL 4, tCCDL 4, tCCDS 2,
tRCDRD 14, tRCDWR 10, tRAS 33, tRC 47, tRP 14, tRRDL 6, tRRDS 4, tRTPL 5, tWR 16, tWTRL 9,
tRTRS 1, tREFI 3900, tRFC 350) with its derived read->precharge (BL/2 + max(tRTPL, tCCDL) -
tCCDL), write->precharge (WL + BL/2 + tWR), read->write (RL + BL/2 + tRTRS - WL) and write->read
(WL + BL/2 + tWTRL) delays; all-bank refresh every tREFI (open rows precharged, tRFC). Every
pseudo-channel runs the same stream in parallel, so one pseudo-channel's cycles are the kernel's.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

import hw
from hw.presets import isolated_mapping
from hw.presets import load_preset as load

INI = {
    "RL": 20, "WL": 8, "BL": 4, "tCCDL": 4, "tCCDS": 2, "tRCDRD": 14, "tRCDWR": 10, "tRAS": 33,
    "tRC": 47, "tRP": 14, "tRRDL": 6, "tRRDS": 4, "tRTPL": 5, "tWR": 16, "tWTRL": 9, "tRTRS": 1,
    "tREFI": 3900, "tRFC": 350,
}  # fmt: skip
COLS_PER_ROW = 32  # 1 KiB row / 32 B burst
REG_ROW, SB_TO_AB_ROW, AB_TO_SB_ROW, PARK_ROW = 0x3FFF, 0x17FF, 0x1FFF, 1 << 12
GRF_A = GRF_B = 8  # input and output registers of a PE
PIM_BLOCKS = 8  # PEs (two banks each) of a pseudo-channel
LANES = 16  # FP16 values in a 32 B column


@dataclass
class Txn:
    write: bool
    bank: tuple[int, int]  # (bank group, bank)
    row: int
    col: int
    barrier: bool = False


def kernel(rows: int, cols: int, pchs: int, batch: int) -> list[Txn]:
    """The transactions one pseudo-channel receives for an `rows` x `cols` FP16 GEMV over `pchs`."""
    out_tiles = math.ceil(rows / (PIM_BLOCKS * pchs) / GRF_B)
    in_tiles = math.ceil(cols / LANES / GRF_A)
    even, odd = (0, 0), (0, 1)
    txns: list[Txn] = []

    def group(items: list[Txn]) -> None:
        items[-1].barrier = True
        txns.extend(items)

    def at(bank: tuple[int, int], col: int, write: bool) -> Txn:
        return Txn(write, bank, col // COLS_PER_ROW, col % COLS_PER_ROW)

    group([Txn(True, (bg, ba), PARK_ROW, 0) for ba in range(4) for bg in range(4)])
    group([Txn(True, b, SB_TO_AB_ROW, 0x1F) for b in [(0, 0), (0, 1), (2, 0), (2, 1)]])
    group([Txn(True, odd, REG_ROW, 4)])  # CRF: the GEMV program fits one column
    for j in range(out_tiles):
        for b in range(batch):
            group([Txn(True, even, REG_ROW, 0)])  # all-bank -> all-bank-PIM
            for i in list(range(0, in_tiles, 2)) + list(range(1, in_tiles, 2)):
                group([Txn(True, odd, REG_ROW, 8 + g) for g in range(GRF_A)])
                base = GRF_A * GRF_B * (i // 2 + j * in_tiles // 2)
                for c in range(0, 64, 8):
                    group([at(odd if i % 2 else even, base + c + k, False) for k in range(GRF_B)])
            wb = out_tiles * in_tiles // 2 * GRF_A * GRF_B + (j + b) * GRF_B
            group([at(odd, wb + k, True) for k in range(GRF_A)])
            group([Txn(True, even, REG_ROW, 0)])  # all-bank-PIM -> all-bank
    group([Txn(True, b, AB_TO_SB_ROW, 0x1F) for b in [even, odd]])
    group([Txn(True, b, PARK_ROW, 0) for b in [even, odd]])
    return txns


@dataclass
class Bank:
    open_row: int | None = None
    busy_until: int = 0  # precharging or refreshing until
    next_act: int = 0
    next_pre: int = 0
    next_rd: int = 0
    next_wr: int = 0


@dataclass
class Controller:
    t: dict = field(default_factory=lambda: dict(INI))

    def run(self, txns: list[Txn], refresh: bool = True) -> int:
        t = self.t
        rd2pre = t["BL"] // 2 + max(t["tRTPL"], t["tCCDL"]) - t["tCCDL"]
        wr2pre = t["WL"] + t["BL"] // 2 + t["tWR"]
        rd2wr = t["RL"] + t["BL"] // 2 + t["tRTRS"] - t["WL"]
        wr2rd = t["WL"] + t["BL"] // 2 + t["tWTRL"]
        banks = {(bg, ba): Bank() for bg in range(4) for ba in range(4)}
        queue: list[Txn] = []
        feed = iter(txns)
        pending = True
        now, last_done, next_ref, ref_waiting = 0, 0, t["tREFI"], False
        while pending or queue:
            if refresh and now >= next_ref:
                ref_waiting, next_ref = True, next_ref + t["tREFI"]
            issued = False
            if ref_waiting:
                active = [b for b in banks.values() if b.open_row is not None]
                ready = [b for b in active if now >= b.next_pre]
                if ready:
                    self._precharge(ready[0], now)
                elif not active:
                    for b in banks.values():
                        b.busy_until = b.next_act = max(b.next_act, now + t["tRFC"])
                    ref_waiting = False
                issued = bool(ready) or not active
            window = self._window(queue)
            if not issued:
                for i, x in enumerate(window):
                    b = banks[x.bank]
                    if b.open_row != x.row or now < (b.next_wr if x.write else b.next_rd):
                        continue
                    if x.barrier and i != 0:
                        break
                    queue.remove(x)
                    self._column(banks, x, now, rd2pre, wr2pre, rd2wr, wr2rd)
                    last_done = max(last_done, now + (t["WL"] if x.write else t["RL"]) + t["BL"] // 2)
                    issued = True
                    break
            if not issued:
                scan = window[:-1] if len(window) > 1 and window[-1].barrier else window
                for x in scan:
                    b = banks[x.bank]
                    if b.open_row is None and now >= b.busy_until and now >= b.next_act:
                        self._activate(banks, x, now)
                        issued = True
                        break
            if not issued:
                needed = {(x.bank, x.row) for x in window}
                for key, b in banks.items():
                    if b.open_row is not None and (key, b.open_row) not in needed and now >= b.next_pre:
                        self._precharge(b, now)
                        break
            if pending and len(queue) < 64:
                nxt = next(feed, None)
                if nxt is None:
                    pending = False
                else:
                    queue.append(nxt)
            now += 1
        return last_done

    @staticmethod
    def _window(queue: list[Txn]) -> list[Txn]:
        """The queued transactions up to and including the first barrier."""
        for i, x in enumerate(queue):
            if x.barrier:
                return queue[: i + 1]
        return queue

    def _precharge(self, b: Bank, now: int) -> None:
        b.open_row = None
        b.busy_until = now + self.t["tRP"]
        b.next_act = max(b.next_act, now + self.t["tRP"])

    def _activate(self, banks: dict, x: Txn, now: int) -> None:
        t = self.t
        b = banks[x.bank]
        b.open_row = x.row
        b.next_act = max(b.next_act, now + t["tRC"])
        b.next_pre = max(b.next_pre, now + t["tRAS"])
        b.next_rd = max(b.next_rd, now + t["tRCDRD"])
        b.next_wr = max(b.next_wr, now + t["tRCDWR"])
        for key, other in banks.items():
            if key != x.bank:
                rrd = t["tRRDL"] if key[0] == x.bank[0] else t["tRRDS"]
                other.next_act = max(other.next_act, now + rrd)

    def _column(
        self, banks: dict, x: Txn, now: int, rd2pre: int, wr2pre: int, rd2wr: int, wr2rd: int
    ) -> None:
        t = self.t
        b = banks[x.bank]
        b.next_pre = max(b.next_pre, now + (wr2pre if x.write else rd2pre))
        for key, other in banks.items():
            ccd = max(t["tCCDL"] if key[0] == x.bank[0] else t["tCCDS"], t["BL"] // 2)
            other.next_rd = max(other.next_rd, now + (wr2rd if x.write else ccd))
            other.next_wr = max(other.next_wr, now + (ccd if x.write else rd2wr))


def model_cycles(
    rows: int, cols: int, pchs: int, batch: int, refresh: bool = True, kernel: str = "register_tiles"
) -> float:
    """hw's GEMV (`kernel`) on hbm2_pim_pimsim shrunk to `pchs` pseudo-channels, in tCK."""
    cfg = load("hw", "hbm2_pim_pimsim")
    shape = {"stacks": max(1, pchs // 16), "channels_per_stack": min(8, pchs // 2)}
    cfg["pim"] |= shape | {"refresh": refresh, "gemv_kernel": kernel}
    cfg["mapping"] = isolated_mapping(lm_head="pim")
    model = load("model", "llama2_7b") | {
        "n_layers": 1,
        "hidden_size": cols,
        "vocab_size": rows,
        "weight_bits": 16,
    }
    workload = {"context_tokens": 1, "batch": batch, "decode_steps": 1}
    system, kv, wl = hw.build(cfg, {"name": "fp16"}, model, workload)
    cost = hw.evaluate(system, kv, wl)
    return cost.kernels["lm_head"].seconds / system.pim.timings.tck_s


GRID = [(r, c, p) for p in (16, 64) for r in (1024, 4096, 16384) for c in (1024, 4096)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int)
    parser.add_argument("--cols", type=int)
    parser.add_argument("--pchs", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--no-refresh", action="store_true")
    args = parser.parse_args()
    cases = [(args.rows, args.cols, args.pchs)] if args.rows else GRID
    print("| rows x cols | pCHs | stacks | counted | model | model / count | streamed / count |")
    print("|---|---|---|---|---|---|---|")
    for rows, cols, pchs in cases:
        counted = Controller().run(kernel(rows, cols, pchs, args.batch), refresh=not args.no_refresh)
        model = model_cycles(rows, cols, pchs, args.batch, refresh=not args.no_refresh)
        streamed = model_cycles(rows, cols, pchs, args.batch, refresh=not args.no_refresh, kernel="stream")
        ratios = f"{model / counted:.3f} | {streamed / counted:.3f}"
        print(f"| {rows} x {cols} | {pchs} | {pchs // 16} | {counted} | {model:.0f} | {ratios} |")


if __name__ == "__main__":
    main()
