r"""Count a GEMV on AttAcc!-style HBM3-PIM bank PEs command by command (a scripted hand count written
from the public trace conventions; AttAcc!'s simulator has no GEMV trace generator, and no simulator
was run) and set it beside `hw`'s GEMV on `attacc_hbm3_bank`.

    .venv/bin/python benchmarks/hw_attacc_gemv_count.py    # 1K-16K x 1K-4K, 1 and 16 channels, nCCDAB 6 and 4
    .venv/bin/python benchmarks/hw_attacc_gemv_count.py --rows 1024 --cols 4096 --channels 16 --interval 6

The GEMV is issued as the bank-level attention generator issues its score phase (docs/sources.md
[attacc-sim]), with the weight matrix in place of K and the input vector in place of the query:
an output row is a token (rows spread over the channels, then over the 16 bank groups of a channel,
16 outputs a token group), its inputs split over the 4 banks of a bank group (each bank's GEMV buffer
holds its quarter of the inputs, the bank group's adder tree sums the 4 partial dot products). Per
channel: the inputs written by WR_GB into bank group 0's buffers (32 B a command, each pCH its own),
a barrier, then groups of 16 token groups of MAC_AB (cols / 64 MACs a token group), each followed by
the previous group's MV_SB of the outputs (one per rank and bank group) and a barrier; the last
group's MV_SB end the kernel. Where a bank's quarter of the inputs outgrows its 512 B buffer (more
than 1024 inputs), the inputs go in tiles of 1024, one after another, each with its own WR_GB and
its own MAC stream over the rows (weights laid out tile by tile, so a tile starts a new DRAM row);
each tile's partial outputs move out by MV_SB like the last tile's (the buffer die adds them; not
timed). The stream is replayed by `hw_attacc_bank_count.count`, the controller and HBM3_5.2Gbps
timings the attention count uses (32-request buffer, barriers, row commands passing them, one
column and one row command a cycle, all-bank refresh from cycle 5070). Every channel runs the same
stream, so one channel's cycles are the kernel's.
"""

from __future__ import annotations

import argparse
import math

import hw_attacc_bank_count as attacc

import hw
from hw.presets import isolated_mapping
from hw.presets import load_preset as load

BUFFER_BYTES = 512  # a bank PE's GEMV buffer (16 x 256 bit)
FP16_BYTES = 2
TILE_INPUTS = BUFFER_BYTES // FP16_BYTES * attacc.BANKS  # inputs a bank group's 4 buffers hold: 1024
GROUP_TOKENS = attacc.PCHS * attacc.RANKS * attacc.BGS  # outputs a token group covers on a channel: 16


def gemv_trace(rows: int, cols: int, channels: int) -> list[attacc.Req]:
    """One channel's requests for a `rows` x `cols` FP16 GEMV spread over `channels` channels."""
    outputs = math.ceil(rows / channels)
    out: list[attacc.Req] = []
    first_row = 0
    for start in range(0, cols, TILE_INPUTS):
        width = min(TILE_INPUTS, cols - start)
        tile = attacc.head(outputs, first_row, 0, "bank", dim=width)
        out += attacc.score_phase(tile)
        columns = sum(len(g) for g in tile["smac"])
        first_row += math.ceil(columns / attacc.COLS_PER_ROW)
    return out


def model_cycles(rows: int, cols: int, channels: int, ccd: int, refresh: bool = True) -> float:
    """hw's GEMV on attacc_hbm3_bank shrunk to one stack of `channels` channels, in tCK."""
    cfg = load("hw", "attacc_hbm3_bank")
    cfg["pim"] |= {"stacks": 1, "channels_per_stack": channels, "refresh": refresh, "gemv_pe": "bank"}
    cfg["pim"]["pe"]["bank"]["cmd_interval_cycles"] = ccd
    cfg["mapping"] = isolated_mapping(lm_head="pim")
    model = load("model", "llama2_7b") | {
        "n_layers": 1,
        "hidden_size": cols,
        "vocab_size": rows,
        "weight_bits": 16,
    }
    workload = {"context_tokens": 1, "batch": 1, "decode_steps": 1}
    system, kv, wl = hw.build(cfg, {"name": "fp16"}, model, workload)
    cost = hw.evaluate(system, kv, wl)
    return cost.kernels["lm_head"].seconds / system.pim.timings.tck_s


GRID = [(r, c, ch) for ch in (1, 16) for r in (1024, 4096, 16384) for c in (1024, 4096)]
INTERVALS = (6, 4)  # nCCDAB with AttAcc!'s power limit and without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int)
    parser.add_argument("--cols", type=int)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--interval", type=int, choices=INTERVALS, help="nCCDAB (default: both)")
    parser.add_argument("--no-refresh", action="store_true")
    args = parser.parse_args()
    cases = [(args.rows, args.cols, args.channels)] if args.rows else GRID
    print("| rows x cols | channels | MAC interval | counted cycles | model cycles | model / count |")
    print("|---|---|---|---|---|---|")
    for ccd in [args.interval] if args.interval else INTERVALS:
        for rows, cols, channels in cases:
            counted = attacc.count(gemv_trace(rows, cols, channels), ccd, refresh=not args.no_refresh)
            model = model_cycles(rows, cols, channels, ccd, refresh=not args.no_refresh)
            cells = f"{rows} x {cols} | {channels} | {ccd} | {counted} | {model:.0f}"
            print(f"| {cells} | {model / counted:.3f} |")


if __name__ == "__main__":
    main()
