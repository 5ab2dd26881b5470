"""DRAM-level timing of PIM work: streaming rows through PEs, lookups in open rows, refresh, and
data movement between bank-side PEs and the buffer die.

All functions work per PE (every PE of the device runs the same work in lockstep, as under
all-bank PIM commands); they take and return `Num`, so grids broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.energy import column_command_j
from hw.fields import Num
from hw.roofline import BOUND, where_bound
from hw.system import Pe, Pim


@dataclass(frozen=True)
class StreamTime:
    """Time for every PE to read `bytes_per_bank` from each of its banks (s), and its parts."""

    seconds: Num  # includes refresh
    column_s: Num  # command-interval-limited column reads
    activation_s: Num  # exposed activate/precharge time
    activations_per_bank: Num


def cmd_s(pim: Pim, pe: Pe) -> Num:
    """Seconds between consecutive column commands a PE can consume: the all-bank command interval,
    stretched where `pim.power_budget_w_per_stack` caps it (every PE of a stack takes a column per
    command, at `energy.column_command_j` each, so a stack draws PEs x that / interval)."""
    interval = pe.cmd_interval_cycles * pim.timings.tck_s
    if pim.power_budget_w_per_stack is None:
        return interval
    pes_per_stack = pim.banks / pim.stacks / pe.banks_per_pe
    return np.maximum(interval, pes_per_stack * column_command_j(pim, pe) / pim.power_budget_w_per_stack)


def refresh_factor(pim: Pim) -> Num:
    """Stretch of busy time by refresh (1 when refresh is off). All-bank: each tREFI loses tRFC.
    Per-bank: each tREFIpb one bank of the pseudo-channel is refreshed for tRFCpb, and an all-bank
    PIM command needs every bank, so lockstep PEs lose tRFCpb each tREFIpb."""
    if not pim.refresh:
        return 1.0
    t = pim.timings
    if pim.refresh_mode == "per_bank":
        return 1.0 / (1.0 - t.t_rfc_pb_cycles / t.t_refi_pb_cycles)
    return 1.0 / (1.0 - t.t_rfc_cycles / t.t_refi_cycles)


def stream(pim: Pim, pe: Pe, bytes_per_bank: Num, *, write: bool = False) -> StreamTime:
    """Stream `bytes_per_bank` from each bank through its PE (or from the PE into the banks), row by row.

    A round opens one row in each of the PE's banks and reads its columns, one every command
    interval. Without interleaving all banks activate together and precharge tRTP after the round's
    last column, which waits no interval (tRCD + (columns - 1) intervals + tRTP, as nRTPL after the
    last MAC in AttAcc!'s HBM3-PIM spec), the row cycle bounded by tRAS + tRP; with interleaving the
    PE reads one bank while the others activate, so a round is the longer of the PE's column time
    and one bank's own row cycle (>= tRC), plus one exposed tRCD, and no shorter than the
    pseudo-channel's activates allow (one per tRRD_S, four per tFAW).
    Writes wait the write recovery tWR before precharging instead of the read-to-precharge tRTP.
    """
    t = pim.timings
    tck = t.tck_s
    cols = np.ceil(bytes_per_bank / pim.column_bytes)
    rows = np.ceil(bytes_per_bank / pim.row_bytes)
    t_col = cmd_s(pim, pe)
    # rows x (per-row overhead + that row's columns), without dividing by rows (rows may be 0).
    column_s = cols * (pe.banks_per_pe * t_col)
    t_rcd, t_rp = t.t_rcd_cycles * tck, t.t_rp_cycles * tck
    t_rtp = (t.t_wr_cycles if write else t.t_rtp_cycles) * tck
    if pe.row_interleave:
        own_cycles = np.maximum(cols * t_col + rows * (t_rcd + t_rtp + t_rp), rows * (t.t_rc_cycles * tck))
        # Every bank of the pseudo-channel opens its rows with its own activate: at most one per
        # tRRD_S and four per tFAW (all-bank activates of lockstep PEs are one command and exempt).
        activates = rows * pim.banks_per_pch * np.maximum(t.t_rrd_s_cycles, t.t_faw_cycles / 4) * tck
        total = np.maximum(np.maximum(column_s, own_cycles), activates) + np.minimum(rows, 1.0) * t_rcd
    else:
        last_column_wait = rows * t_col
        opened = rows * (t_rcd + t_rtp) + column_s - last_column_wait
        total = np.maximum(opened, rows * (t.t_ras_cycles * tck)) + rows * t_rp
    return StreamTime(
        seconds=total * refresh_factor(pim),
        column_s=column_s,
        activation_s=total - column_s,
        activations_per_bank=rows,
    )


def compute_s(pim: Pim, pe: Pe, macs_per_pe: Num) -> Num:
    """Seconds for one PE to do `macs_per_pe` FP16 MACs (or comparable ops) at its lane rate."""
    return macs_per_pe * pe.cycles_per_mac / (pe.lanes * pe.clock_hz)


def external_bw_bytes_per_s(pim: Pim) -> Num:
    """The device's external bandwidth: one column per tCCD_S on every pseudo-channel."""
    return pim.pchs * pim.column_bytes / (pim.timings.t_ccd_s_cycles * pim.timings.tck_s)


def bus_bw_bytes_per_s(pim: Pim) -> Num:
    """Bank <-> buffer-die bandwidth of the whole device: one column per move command interval on
    each pseudo-channel (tCCD_S by default; AttAcc!'s move commands take 4 tCK)."""
    return pim.pchs * pim.column_bytes / (pim.move_interval_cycles * pim.timings.tck_s)


def bus_s(pim: Pim, total_bytes: Num) -> Num:
    """Seconds to move `total_bytes` between bank-side PEs and the buffer die (spread over all pCHs)."""
    return total_bytes / bus_bw_bytes_per_s(pim) * refresh_factor(pim)


def move_columns(pim: Pim, total_bytes: Num) -> Num:
    """Move commands each pseudo-channel issues for `total_bytes` spread over all pCHs (one column each)."""
    return np.ceil(total_bytes / (pim.pchs * pim.column_bytes))


def query_writes_s(pim: Pim, total_bytes: Num) -> Num:
    """Seconds to write `total_bytes` (spread over all pCHs) into one bank group's PE buffers of each
    pCH, one column per tCCD_L (AttAcc!'s WR_GB; refresh included)."""
    t = pim.timings
    return move_columns(pim, total_bytes) * (t.t_ccd_l_cycles * t.tck_s * refresh_factor(pim))


@dataclass(frozen=True)
class IssuedMoves:
    """Exposed seconds of a channel's attention round trips' bank <-> buffer-die moves, as a
    controller issues them beside the MACs (`pim.move_overlap`); every pCH moves its own share on its
    own bus. Refresh included."""

    query_s: Num  # the query writes before the first MAC, less the activation they hide
    middle_s: Num  # last scores up and the probabilities down, less the row switch they hide
    outputs_s: Num  # the last group of partial outputs, less the precharge they hide
    broadcast_s: Num  # one round's probability broadcast, whole (the softmax unit streams into it)

    @property
    def seconds(self) -> Num:
        return self.query_s + self.middle_s + self.outputs_s


def broadcast_cycles(pim: Pim, columns: Num) -> Num:
    """Cycles a pCH takes to move `columns` probability columns issued in runs of `columns / (ranks x
    bank groups)` per bank group (AttAcc!'s MV_GB order). The controller picks the earliest ready
    request among the `move_window` it holds: while they all belong to one bank group the moves go at
    tCCD_L, once the next group's run has entered the window they alternate at tCCD_S. So the first
    run pays tCCD_L for all but its last `move_window` moves, every later run for all but its first
    and last `move_window`."""
    t = pim.timings
    groups = pim.ranks * pim.bank_groups
    run, window = columns / groups, pim.move_window
    slow = np.maximum(0.0, run - window) + (groups - 1) * np.maximum(0.0, run - 2 * window)
    return columns * t.t_ccd_s_cycles + slow * (t.t_ccd_l_cycles - t.t_ccd_s_cycles)


def issued_moves(
    pim: Pim,
    q_bytes: Num,
    up_bytes: Num,
    down_bytes: Num,
    out_bytes: Num,
    out_group_cols: Num,
    rounds: Num = 1.0,
    mac_interval_s: Num = 0.0,
) -> IssuedMoves:
    """The moves of `rounds` score/softmax/value round trips a channel runs one after another (its
    heads) that no MAC hides.

    Moves use the data path, MACs the all-bank command slots, so a move issued while MACs stream is
    free (AttAcc!'s HBM3-PIM timing spec couples no move to a MAC), and the controller lets the
    activates and precharges of the next phase pass a barrier, so row switches hide under the moves
    that wait for it (docs/sources.md [hbm3pim-spec]). Per round: the query writes into one bank
    group's buffers (tCCD_L each) less the first activation (tRCD); the last row's scores (one column
    per bank-group adder tree at tCCD_S) and the probabilities (`broadcast_cycles`) less the switch
    from the last score row to the first value row (tRTP + tRP + tRCD); the last group of
    `out_group_cols` partial-output columns (tCCD_S each) less the last precharge (tRTP + tRP).
    AttAcc!'s trace generator pairs heads on a channel: the second head's query, the first head's
    scores, probabilities and outputs move under the other head's MACs, so of `rounds` heads
    ceil(rounds / 2) show their query and outputs and an unpaired one its middle; the second head of
    a pair queues its probabilities behind the first head's value MACs, so they show but for the last
    `move_window` MACs (one every `mac_interval_s`) they reach the controller's window beside. Assumes
    each row's moves fit under the next row's MACs (AttAcc!: 8 moves x 2 tCK against >= 32 MACs).
    """
    t = pim.timings
    cycle_s = t.tck_s * refresh_factor(pim)
    per_round = 1.0 / rounds
    query = move_columns(pim, q_bytes * per_round) * t.t_ccd_l_cycles
    up = np.minimum(move_columns(pim, up_bytes * per_round), pim.ranks * pim.bank_groups) * t.t_ccd_s_cycles
    broadcast = broadcast_cycles(pim, move_columns(pim, down_bytes * per_round))
    outputs = np.minimum(move_columns(pim, out_bytes * per_round), out_group_cols) * t.t_ccd_s_cycles
    row_switch = t.t_rtp_cycles + t.t_rp_cycles + t.t_rcd_cycles
    shown_rounds = np.ceil(rounds / 2)
    unpaired = np.maximum(0.0, up + broadcast - row_switch) * np.mod(rounds, 2)
    paired = np.maximum(0.0, broadcast - pim.move_window * mac_interval_s / t.tck_s) * np.floor(rounds / 2)
    return IssuedMoves(
        query_s=np.maximum(0.0, query - t.t_rcd_cycles) * shown_rounds * cycle_s,
        middle_s=(unpaired + paired) * cycle_s,
        outputs_s=np.maximum(0.0, outputs - t.t_rtp_cycles - t.t_rp_cycles) * shown_rounds * cycle_s,
        broadcast_s=broadcast * cycle_s,
    )


def lookup_s(
    pim: Pim, pe: Pe, lookups_per_pe: Num, table_rows: Num, switches_per_pe: Num, mode: str
) -> tuple[Num, Num]:
    """Seconds and activations for table lookups per PE under lookup `mode`.

    intra_row: each column command in the open table row serves `lookups_per_cmd` lookups (1 for a
    plain column path; wider with indirection hardware); a table wider than a row
    misses the open row with probability 1 - 1/table_rows; `switches_per_pe` row switches (code row
    <-> table rows) are paid on top. per_lookup_activation: every lookup opens, reads and closes a
    row. pe_buffer: the table sits in PE registers, `lanes` lookups per PE cycle.
    Returns (seconds, activations per PE).
    """
    t = pim.timings
    tck = t.tck_s
    t_col = cmd_s(pim, pe)
    row_cycle = np.maximum(
        (t.t_rcd_cycles + t.t_rtp_cycles + t.t_rp_cycles) * tck + t_col, t.t_rc_cycles * tck
    )
    if mode == "per_lookup_activation":
        return lookups_per_pe * row_cycle * refresh_factor(pim), lookups_per_pe
    if mode == "pe_buffer":
        return lookups_per_pe / (pe.lanes * pe.clock_hz), 0.0 * lookups_per_pe
    misses = lookups_per_pe * (1.0 - 1.0 / table_rows) + switches_per_pe
    seconds = lookups_per_pe / pe.lookups_per_cmd * t_col + misses * (t.t_rp_cycles + t.t_rcd_cycles) * tck
    return seconds * refresh_factor(pim), misses


def with_compute(pim: Pim, st: StreamTime, compute_s: Num) -> tuple[Num, int | np.ndarray]:
    """A PE overlaps its MACs with the column stream: time is the slower of the two.

    Bound code: "compute" when the MACs are slower, else "internal_bw" or "activation", whichever
    of the column reads and the exposed row overheads is larger.
    """
    busy = compute_s * refresh_factor(pim)
    memory = where_bound(st.activation_s > st.column_s, "activation", BOUND["internal_bw"])
    return np.maximum(st.seconds, busy), where_bound(busy > st.seconds, "compute", memory)
