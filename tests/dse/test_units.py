"""dse.units: the one formatting of quantities; every case is a string some table or log prints."""

import math

import pandas as pd

from dse.units import (
    axis_unit,
    bytes_text,
    format_number,
    format_quantity,
    score_text,
    seconds_text,
    share_text,
    to_axis_unit,
    tokens_text,
)


def test_point_table_units_keep_fixed_decimals() -> None:
    assert bytes_text(512) == "512 B"
    assert bytes_text(1.5 * 2**20) == "1.50 MiB"
    assert bytes_text(2**30) == "1.00 GiB"
    assert seconds_text(2.5) == "2.500 s"
    assert seconds_text(1.234e-3) == "1.234 ms"
    assert seconds_text(7e-6) == "7.000 us"
    assert seconds_text(0.0) == "0.000 ns"


def test_quantities_keep_four_significant_digits() -> None:
    assert format_quantity(0.0123456, "s") == "12.35 ms"
    assert format_quantity(5e-4, "s") == "500 us"
    assert format_quantity(2.5, "s") == "2.5 s"
    assert format_quantity(3 * 2**30, "B") == "3 GiB"
    assert format_quantity(-1.5 * 2**10, "B") == "-1.5 KiB"
    assert format_quantity(100, "B") == "100 B"
    assert format_quantity(0.91234, "") == "0.9123"
    assert format_quantity(math.nan, "B") == "-"


def test_log_numbers_and_plot_axes() -> None:
    assert [format_number(v) for v in (0.0, math.inf, 1.23456e-3, 1.345e9)] == [
        "0.0",
        "inf",
        "0.001235",
        "1.345e+09",
    ]
    assert (axis_unit("s"), axis_unit("B"), axis_unit("J"), axis_unit("")) == ("ms", "GiB", "mJ", "")
    assert to_axis_unit(pd.Series([2.0**31]), "B").tolist() == [2.0]
    assert to_axis_unit(pd.Series([0.25]), "").tolist() == [0.25]


def test_counts_shares_and_scores() -> None:
    assert tokens_text(7452655) == "7,452,655 tokens"
    assert share_text(0.484) == "48.4%" and share_text(0.0) == "0.0%"
    assert score_text(-0.0344329123) == "-0.0344329" and score_text(1353750.4) == "1.35375e+06"
