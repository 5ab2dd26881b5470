"""Pareto dominance and hypervolume against hand-computed and brute-force values."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dse.search.pareto import hypervolume, nondominated_mask, reference_point, to_minimization


def test_nondominated_mask_on_a_known_set() -> None:
    pts = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [2, 2], [6, 6]])
    # (3,3) is dominated by (2,2); (6,6) by everything; the duplicate (2,2) rows both stay.
    assert nondominated_mask(pts).tolist() == [True, True, True, False, True, False]


def test_maximised_columns_are_negated() -> None:
    assert to_minimization(np.array([[0.9, 2.0]]), ["maximize", "minimize"]).tolist() == [[-0.9, 2.0]]


def test_hypervolume_2d_staircase() -> None:
    # Union of [1,4]x[3,4] (area 3) and [2,4]x[1,4] (area 6), which overlap in [2,4]x[3,4] (area 2).
    assert hypervolume(np.array([[1, 3], [2, 1]]), [4, 4]) == 7.0
    # Points not strictly inside the reference box add nothing.
    assert hypervolume(np.array([[4, 0], [5, 5]]), [4, 4]) == 0.0


def test_hypervolume_3d_of_two_boxes() -> None:
    # Boxes [0,2]^3 (volume 8) and [1,2]x[1,2]x[-1,2] (volume 3) overlap in [1,2]^2x[0,2] (volume 2).
    pts = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, -1.0]])
    assert np.isclose(hypervolume(pts, [2.0, 2.0, 2.0]), 8 + 3 - 2)


def test_hypervolume_3d_of_three_corner_boxes() -> None:
    # Each box [0,4]x[2,4]x[2,4] (and its two rotations) has volume 16; every pair and the triple
    # overlap in [2,4]^3 (volume 8): 3 x 16 - 3 x 8 + 8 = 32.
    pts = np.array([[0.0, 2.0, 2.0], [2.0, 0.0, 2.0], [2.0, 2.0, 0.0]])
    assert hypervolume(pts, [4.0, 4.0, 4.0]) == 32.0
    # A dominated point and a duplicate change nothing.
    assert hypervolume(np.vstack([pts, [[3.0, 3.0, 3.0], [0.0, 2.0, 2.0]]]), [4.0, 4.0, 4.0]) == 32.0


def test_one_objective_and_empty_inputs() -> None:
    assert hypervolume(np.array([[1.0], [2.5]]), [4.0]) == 3.0
    assert nondominated_mask(np.array([[2.0], [1.0], [1.0]])).tolist() == [False, True, True]
    assert nondominated_mask(np.zeros((0, 3))).tolist() == []


def _brute_force(points: np.ndarray, ref: int) -> int:
    """Count the unit cells of [0, ref)^d that some point dominates (integer coordinates)."""
    d = points.shape[1]
    return sum(
        any(np.all(p <= np.array(cell)) for p in points) for cell in itertools.product(range(ref), repeat=d)
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 3).flatmap(
        lambda d: st.lists(st.lists(st.integers(0, 5), min_size=d, max_size=d), min_size=1, max_size=8)
    )
)
def test_hypervolume_equals_brute_force_cell_count(rows: list[list[int]]) -> None:
    points = np.array(rows, dtype=float)
    assert hypervolume(points, [6] * points.shape[1]) == _brute_force(points, 6)


def test_reference_point_is_worse_than_every_point() -> None:
    pts = np.array([[1.0, -3.0], [2.0, -1.0]])
    ref = reference_point(pts)
    assert np.all(ref > pts.max(axis=0))
    assert np.allclose(ref, [2.1, -0.8])
