"""The crossbar datapath in torch: a weight matrix programmed onto binary cells, inputs applied
bit-serially, every tile's column sums converted by a finite ADC, then digital shift-and-add.

One projection y = x @ w.T (x [N, R], w [C, R]) on tiles of `rows` rows:
  weights  w ~ s_w[c] x q[c, r], q integer in [-L, L], L = 2^m - 1, m = cells_per_weight / 2; q's
           positive and negative parts are each stored as m binary cells (bit j in column (sign, j, c)),
           so a matrix is R x (2 m C) cells, cut into ceil(R / rows) row tiles.
  inputs   x ~ s_x[n] x a[n, r], a integer in [-A, A], A = 2^(input_bits - 1) - 1 (per-token absmax);
           applied offset-binary, u = a + 2^(input_bits - 1) in [1, 2^input_bits - 1], in K =
           ceil(input_bits / dac_bits) slices of dac_bits bits (slice k: digit u_k in [0, 2^dac_bits - 1]).
  column   per row tile, slice and cell column: Y = sum over the tile's rows of u_k x g, g the cell's
           conductance (1 when on, 0 off; times (1 + sigma x N(0, 1)) with conductance variation).
  ADC      code = clamp(round(Y / D), 0, 2^adc_bits - 1), read back as code x D; D is a power of two:
           2^max(0, ceil(log2(F + 1)) - adc_bits), F the range (full scale rows x (2^dac_bits - 1), or a
           calibrated column-sum maximum), so enough bits (2^adc_bits - 1 >= F) is exact.
  digital  sum over row tiles, x 2^(k dac_bits) over slices, x (+/-) 2^j over cells, minus the offset
           2^(input_bits - 1) x sum_r q[c, r] (a programmed constant), times s_x[n] s_w[c].
Everything is batched (tiles, slices, cells and tokens in one bmm); tokens go in chunks that bound memory.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .spec import CrossbarGeometry

CHUNK_ELEMENTS = 1 << 25
"""Column sums held at once (x 4 bytes: 128 MB): the token chunk is sized to it."""


@dataclass(frozen=True)
class Programmed:
    """One weight matrix as the crossbar holds it."""

    cells: torch.Tensor  # [tiles, rows, 2 m C] conductances: int8 0/1 when ideal, float32 when varied
    levels: torch.Tensor  # [C, R] integer weight levels q (float)
    scale: torch.Tensor  # [C] weight scale s_w
    level_sum: torch.Tensor  # [C] sum_r q[c, r], float64: the digital offset correction

    @property
    def ideal(self) -> bool:
        """Every cell exactly on (1) or off (0): no conductance variation."""
        return self.cells.dtype == torch.int8


def weight_levels(w: torch.Tensor, mapping: str, top: int) -> tuple[torch.Tensor, torch.Tensor]:
    """w [C, R] -> (q [C, R] integers in [-top, top], s_w [C]) with w ~ s_w[:, None] x q.

    per_channel: s_w = max |w[c]| / top (symmetric, per output channel).
    absmean: BitNet b1.58's ternary quantizer, s_w = mean |w| for the whole matrix, q in {-1, 0, 1}."""
    if mapping == "absmean":
        s = w.abs().mean().clamp_min(1e-12).expand(w.shape[0])
        return torch.round(w / s[:, None]).clamp(-1, 1), s.clone()
    s = (w.abs().amax(1) / top).clamp_min(1e-12)
    return torch.round(w / s[:, None]).clamp(-top, top), s


def cell_planes(levels: torch.Tensor, cells_per_sign: int) -> torch.Tensor:
    """q [C, R] -> binary cells [R, 2 x m x C]: column (sign, j, c) holds bit j of q's + or - part."""
    parts = torch.stack([levels.clamp_min(0), (-levels).clamp_min(0)]).long()  # [2, C, R]
    bits = torch.arange(cells_per_sign, device=levels.device)
    planes = (parts[:, None] >> bits[None, :, None, None]) & 1  # [2, m, C, R]
    return planes.permute(3, 0, 1, 2).reshape(levels.shape[1], -1).float()


def variation(shape: torch.Size, sigma: float, seed: int, tag: str) -> torch.Tensor:
    """Relative conductance factors 1 + sigma x N(0, 1), one per cell, from a generator seeded by
    (seed, tag): the same matrix gets the same devices in every run."""
    digest = hashlib.sha256(f"{seed}:{tag}".encode()).digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)
    return 1.0 + sigma * torch.randn(shape, generator=gen)


def program(w: torch.Tensor, geom: CrossbarGeometry, mapping: str, sigma: float = 0.0, seed: int = 0,
            tag: str = "") -> Programmed:
    """Map w [C, R] onto tiles; with sigma > 0 every on cell's conductance varies (seeded by seed, tag)."""
    levels, scale = weight_levels(w.float().cpu(), mapping, geom.weight_levels)
    cells = cell_planes(levels, geom.cells_per_sign)
    if sigma > 0:
        cells = cells * variation(cells.shape, sigma, seed, tag)
    rows = geom.rows_per_tile
    tiles = -(-cells.shape[0] // rows)
    padded = torch.zeros(tiles * rows, cells.shape[1], dtype=cells.dtype if sigma > 0 else torch.int8)
    padded[:cells.shape[0]] = cells
    return Programmed(padded.view(tiles, rows, -1), levels, scale, levels.double().sum(1))


def input_digits(x: torch.Tensor, geom: CrossbarGeometry) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x [N, R] -> (a [N, R] signed integers, s_x [N], digits [K, N, R] offset-binary DAC slices, int16)."""
    top = (1 << (geom.input_bits - 1)) - 1
    s = (x.abs().amax(-1) / top).clamp_min(1e-12)
    a = torch.round(x / s[:, None]).clamp(-top, top)
    u = (a + (1 << (geom.input_bits - 1))).long()
    shifts = torch.arange(geom.input_cycles) * geom.dac_bits
    digits = (u[None] >> shifts[:, None, None]) & ((1 << geom.dac_bits) - 1)
    return a, s, digits.to(torch.int16)


def adc_step(full_scale: float, adc_bits: int) -> int:
    """The ADC's step: the power of two that spreads 2^adc_bits codes over [0, full_scale] (1 at least)."""
    needed = math.ceil(math.log2(full_scale + 1.0)) if full_scale > 0 else 0
    return 2 ** max(0, needed - adc_bits)


def adc_codes(y: torch.Tensor, step: int, adc_bits: int) -> torch.Tensor:
    """Convert column sums in place: round half up to the step, saturate at 0 and the top code; returns
    the codes (each worth `step`). Integer sums shift; analog (varied) sums are floored after + 1/2."""
    top = (1 << adc_bits) - 1
    if y.is_floating_point():
        return y.mul_(1.0 / step).add_(0.5).floor_().clamp_(0, top)
    shift = step.bit_length() - 1
    if shift:
        y.add_(step >> 1).bitwise_right_shift_(shift)
    return y.clamp_(0, top)


def token_chunks(n: int, prog: Programmed, geom: CrossbarGeometry) -> list[slice]:
    """Token ranges whose column sums of all tiles fit CHUNK_ELEMENTS."""
    tiles, _, cols = prog.cells.shape
    size = max(1, CHUNK_ELEMENTS // (geom.input_cycles * cols * tiles))
    return [slice(i, i + size) for i in range(0, n, size)]


def tile_sums(digits: torch.Tensor, prog: Programmed, geom: CrossbarGeometry) -> Iterator[torch.Tensor]:
    """digits [K, N, R] -> each row tile's analog column sums [K x N, 2 m C]. Ideal cells and digits
    that fit int8 (dac_bits <= 7): exact int32 sums of int8 operands (torch._int_mm, ~4x float32's
    speed, one tile a call: it has no batched form); otherwise one float32 bmm over all tiles."""
    tiles, rows, _ = prog.cells.shape
    k, n, r = digits.shape
    rows_in = torch.nn.functional.pad(digits, (0, tiles * rows - r)).view(k * n, tiles, rows).transpose(0, 1)
    if prog.ideal and geom.dac_bits <= 7:
        lhs = rows_in.to(torch.int8)
        for t in range(tiles):
            yield torch._int_mm(lhs[t].contiguous(), prog.cells[t])
    else:
        yield from torch.bmm(rows_in.float(), prog.cells.float())


def converted_sums(digits: torch.Tensor, prog: Programmed, step: int | None, geom: CrossbarGeometry
                   ) -> torch.Tensor:
    """digits [K, N, R] -> [K x N, 2 m C] (float64): every tile's column sums through the ADC (step
    None: kept exact), added over the row tiles."""
    total: torch.Tensor | None = None
    for sums in tile_sums(digits, prog, geom):
        codes = sums if step is None else adc_codes(sums, step, geom.adc_bits)
        total = codes.double() if total is None else total.add_(codes)
    assert total is not None, "a matrix has at least one tile"
    return total if step is None else total.mul_(step)


def shift_add(converted: torch.Tensor, geom: CrossbarGeometry, n: int) -> torch.Tensor:
    """[K x N, 2 m C] converted sums (added over tiles, float64) -> dot products [N, C] of the
    offset-binary inputs: input slices weighted 2^(k dac_bits), then cells +/- 2^j (the weights factor,
    so each is one contraction without a transpose)."""
    m, k = geom.cells_per_sign, geom.input_cycles
    slice_w = 2.0 ** (torch.arange(k, dtype=torch.float64) * geom.dac_bits)
    sign = torch.tensor([1.0, -1.0], dtype=torch.float64)
    cell_w = (sign[:, None] * 2.0 ** torch.arange(m, dtype=torch.float64)).reshape(-1)
    per_cell = (slice_w @ converted.view(k, -1)).view(n, 2 * m, -1)
    return torch.einsum("njc,j->nc", per_cell, cell_w)


def crossbar_matmul(x: torch.Tensor, prog: Programmed, geom: CrossbarGeometry, step: int | None
                    ) -> torch.Tensor:
    """x [..., R] @ w.T through the crossbar with an ADC of this step (None: ideal, sums kept exact).

    Ideal cells under an ADC whose codes cover the full scale at step 1 convert every sum exactly:
    then the integer matmul a @ q.T is the datapath's result, and it is taken directly."""
    shape = x.shape
    flat = x.reshape(-1, shape[-1]).float().cpu()
    a, s, digits = input_digits(flat, geom)
    if prog.ideal and (step is None or (step == 1 and (1 << geom.adc_bits) - 1 >= geom.full_scale)):
        dots = a.double() @ prog.levels.double().T
    else:
        parts = []
        for chunk in token_chunks(flat.shape[0], prog, geom):  # bounded memory
            part = digits[:, chunk]
            parts.append(shift_add(converted_sums(part, prog, step, geom), geom, part.shape[1]))
        dots = torch.cat(parts) - (1 << (geom.input_bits - 1)) * prog.level_sum[None]
    out = dots * s.double()[:, None] * prog.scale.double()[None]
    return out.float().view(*shape[:-1], -1).to(x.device)
