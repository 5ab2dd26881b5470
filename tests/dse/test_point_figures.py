"""The report's per-point figures (dse.results.point_figures, dse.results.capacity_wall) drawn from
rows as a trials frame holds them: real evaluations flattened, and hand-built rows."""

import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

import hw
from dse.app.compose import compose_cached, compose_config
from dse.results.capacity_wall import capacity_curves, capacity_wall, replace_groups
from dse.results.frames import flatten
from dse.results.point_figures import (
    KERNEL_ORDER,
    kernel_color,
    kv_footprint,
    latency_energy_breakdown,
    roofline,
)
from dse.units import scaled_text, scaled_unit, si_text
from hw.presets import load_preset

PRESETS = ("aqpim_hbm3", "attacc_hbm3_bank", "upmem_dimm", "gpu_offload_pcie", "starc_hbm_pim", "pimllm_edge")


def evaluated_row(hw_name="aqpim_hbm3", algo="pq", number=3, **workload) -> pd.Series:
    """A trial row as trials_frame builds it: the evaluation's result flattened with dots."""
    parts = [load_preset("hw", hw_name), load_preset("algo", algo), load_preset("model", "mistral_7b")]
    w = dict(load_preset("workload", "default"), **workload)
    result = hw.evaluate(*hw.build(*parts, w)).to_dict()
    return pd.Series({"number": number, "state": "COMPLETE", **flatten(result)})


def with_hw(row_hw: dict, algo="pq") -> pd.Series:
    parts = [
        row_hw,
        load_preset("algo", algo),
        load_preset("model", "mistral_7b"),
        load_preset("workload", "default"),
    ]
    return pd.Series({"number": 1, "state": "COMPLETE", **flatten(hw.evaluate(*hw.build(*parts)).to_dict())})


def bars(fig, col):
    """(name, x, y) of the bars of subplot `col` (1: latency, 2: energy)."""
    axis = "x" if col == 1 else "x2"
    return [(t.name, t.x[0], t.y[0]) for t in fig.data if t.type == "bar" and t.xaxis == axis]


def test_breakdown_segments_sum_to_the_steps_latency_and_energy():
    row = evaluated_row()
    fig = latency_energy_breakdown(row)
    (t_unit, t_size), (e_unit, e_size) = scaled_unit(row["latency_s"], "s"), scaled_unit(row["energy_j"], "J")
    assert (t_unit, e_unit) == ("ms", "mJ")  # 8.7 ms, 868 mJ
    assert sum(y for _, _, y in bars(fig, 1)) * t_size == pytest.approx(row["latency_s"], rel=1e-12)
    assert sum(y for _, _, y in bars(fig, 2)) * e_size == pytest.approx(row["energy_j"], rel=1e-12)
    assert fig.layout.yaxis.title.text == "time (ms)" and fig.layout.yaxis2.title.text == "energy (mJ)"
    ffn = next(t for t in fig.data if t.name == "ffn" and t.xaxis == "x")
    assert ffn.y[0] * t_size == row["kernels.ffn.seconds"]
    assert "device: gpu" in ffn.hovertext[0] and "bound: memory_bw" in ffn.hovertext[0]
    assert "4.207 ms" in ffn.hovertext[0]
    # Prefill k-means hides under the GPU's prefill (0 s) but its energy is spent: energy bar only.
    assert [x for n, x, _ in bars(fig, 2) if n == "pq_prefill_kmeans"] == ["decode step"]
    assert "pq_prefill_kmeans" not in {n for n, _, _ in bars(fig, 1)}
    assert "pq_codebook_refresh" not in {t.name for t in fig.data}  # static codebooks: 0 s, 0 J
    assert sorted(t.name for t in fig.data if t.showlegend) == sorted({t.name for t in fig.data})


def test_breakdown_shows_static_power_as_the_energy_no_kernel_has():
    preset = load_preset("hw", "aqpim_hbm3")
    preset["gpu"]["static_power_w"] = 100.0
    row = with_hw(preset)
    energy = dict((n, y) for n, _, y in bars(latency_energy_breakdown(row), 2))
    _, size = scaled_unit(row["energy_j"], "J")
    assert energy["static power"] * size == pytest.approx(100.0 * row["latency_s"], rel=1e-9)


def test_breakdown_of_an_overlapped_step_splits_latency_by_device():
    preset = load_preset("hw", "aqpim_hbm3")
    preset["mapping"]["overlap"] = True
    row = with_hw(preset)
    fig = latency_energy_breakdown(row)
    _, size = scaled_unit(row["latency_s"], "s")
    per_device: dict[str, float] = {}
    for _, x, y in bars(fig, 1):
        per_device[x] = per_device.get(x, 0.0) + y * size
    assert set(per_device) == {"gpu", "pim", "link"}
    assert max(per_device.values()) == pytest.approx(row["latency_s"], rel=1e-12)
    assert fig.layout.shapes[0].y0 * size == pytest.approx(row["latency_s"], rel=1e-12)


def test_rows_of_a_frame_leave_out_the_other_trials_kernels():
    frame = pd.DataFrame([evaluated_row(algo="pq"), evaluated_row(algo="fp16", number=4)])
    fp16 = frame.iloc[1]
    assert pd.isna(fp16["kernels.pq_score_lookup.seconds"])
    names = {t.name for t in latency_energy_breakdown(fp16).data}
    assert "attn_score" in names and not any(n.startswith("pq_") for n in names)
    assert "codes" not in {t.name for t in kv_footprint(fp16).data}  # FP16 has no codes


def roof_row():
    """Hand-built: a GPU GEMV, a PIM softmax reading no memory, a transfer, a hidden kernel."""
    kernels = {
        "gemv": {
            "seconds": 4e-3,
            "energy_j": 1e-3,
            "bound": "memory_bw",
            "device": "gpu",
            "flops": 2e9,
            "bytes": 1e9,
        },
        "softmax": {
            "seconds": 2e-3,
            "energy_j": 1e-4,
            "bound": "compute",
            "device": "pim",
            "flops": 4e9,
            "bytes": 0.0,
        },
        "copy": {
            "seconds": 1e-4,
            "energy_j": 1e-5,
            "bound": "link",
            "device": "link",
            "flops": 0.0,
            "bytes": 1e6,
        },
        "hidden": {
            "seconds": 0.0,
            "energy_j": 0.0,
            "bound": "hidden",
            "device": "pim",
            "flops": 0.0,
            "bytes": 0.0,
        },
    }
    devices = {
        "gpu": {"peak_flops": 1e15, "bw_bytes_per_s": 1e12},
        "pim": {"peak_flops": 1e14, "bw_bytes_per_s": 1e13},
        "link": {"peak_flops": 1e15, "bw_bytes_per_s": 1e11},
    }
    return flatten(
        {"number": 9, "state": "COMPLETE", "latency_s": 6.1e-3, "kernels": kernels, "devices": devices}
    )


def test_roofline_places_kernels_at_intensity_and_attained_rate():
    fig = roofline(roof_row())
    by_name = {t.name: t for t in fig.data}
    gemv, softmax = by_name["gemv"], by_name["softmax"]
    assert (gemv.x[0], gemv.y[0]) == (2.0, 5e11)  # 2e9 FLOP / 1e9 B, 2e9 FLOP / 4 ms
    assert gemv.marker.symbol == "circle" and gemv.marker.color == kernel_color("gemv")
    assert "500 GFLOP/s (25.0% of its roof)" in gemv.hovertext[0]  # of min(1 PFLOP/s, 1 TB/s x 2)
    # No memory read: at the right edge of the axis, at its attained rate.
    assert softmax.y[0] == 2e12 and softmax.marker.symbol == "triangle-right"
    roofs = {t.name.split(" ")[0]: t for t in fig.data if t.name.endswith("B/s")}
    assert set(roofs) == {"gpu", "pim"}  # only devices of kernels that compute
    assert softmax.x[0] == max(roofs["gpu"].x)
    for t in roofs.values():
        peak, bw = (1e15, 1e12) if t.name.startswith("gpu") else (1e14, 1e13)
        assert list(t.y) == [min(peak, bw * x) for x in t.x]
    assert 1000.0 in roofs["gpu"].x  # the ridge: 1 PFLOP/s over 1 TB/s
    assert roofs["gpu"].name == "gpu roof: 1 PFLOP/s, 1 TB/s"
    # The transfer is listed, not drawn; the hidden kernel is left out.
    listed = [t for t in fig.data if t.x == (None,)]
    assert [t.name for t in listed] == ["copy: 100 us, 976.6 KiB"]
    assert "hidden" not in " ".join(t.name for t in fig.data)
    assert fig.layout.xaxis.title.text == "arithmetic intensity (FLOP/byte)"
    assert fig.layout.yaxis.title.text == "attained performance (FLOP/s)"


@pytest.mark.parametrize("hw_name", PRESETS)
def test_every_kernel_of_a_real_point_sits_under_its_devices_roof(hw_name):
    """flops / seconds against min(peak, bandwidth x flops / bytes) from the row's own roofs:
    a kernel above its roof would mean hw counts too few bytes or FLOPs for its time."""
    row = evaluated_row(hw_name, "fp16" if hw_name == "pimllm_edge" else "pq")
    drawn = 0
    for trace in roofline(row).data:
        if trace.type != "scatter" or trace.mode != "markers+text":
            continue
        k = f"kernels.{trace.name}."
        peak, bw = (
            row[f"devices.{row[k + 'device']}.peak_flops"],
            row[f"devices.{row[k + 'device']}.bw_bytes_per_s"],
        )
        rate = row[k + "flops"] / row[k + "seconds"]
        assert trace.y[0] == pytest.approx(rate, rel=1e-12)
        roof = peak if row[k + "bytes"] == 0 else min(peak, bw * row[k + "flops"] / row[k + "bytes"])
        assert rate <= roof * (1 + 1e-9), trace.name
        drawn += 1
    assert drawn >= 4


def test_roofline_kernels_keep_their_breakdown_colours():
    row = evaluated_row()
    colours = {t.name: t.marker.color for t in latency_energy_breakdown(row).data if t.type == "bar"}
    placed = [t for t in roofline(row).data if t.mode == "markers+text"]
    assert placed and all(t.marker.color == colours[t.name] for t in placed)


def test_every_kernel_of_the_cost_model_has_its_own_colour():
    seen = set()
    for hw_name in PRESETS:
        for algo in ("fp16", "uniform", "pq", "cluster_sparse"):
            row = evaluated_row(hw_name, algo, context_tokens=1 << 20)
            seen |= {
                k.split(".")[1] for k in row.index if k.startswith("kernels.") and k.endswith(".seconds")
            }
    assert seen <= set(KERNEL_ORDER), seen - set(KERNEL_ORDER)
    assert len({kernel_color(n) for n in KERNEL_ORDER}) == len(KERNEL_ORDER)
    assert kernel_color("a_new_kernel") == kernel_color("a_new_kernel")


def test_kv_footprint_stacks_the_split_and_marks_capacity_and_spill():
    row = evaluated_row("attacc_hbm3_bank", "fp16", context_tokens=1 << 20)  # 128 GiB on 80 GiB
    fig = kv_footprint(row)
    _, size = scaled_unit(row["kv_bytes"], "B")
    parts = [t for t in fig.data if t.x[0] == "KV cache"]
    assert [t.name for t in parts] == ["full_precision"]
    assert sum(t.y[0] for t in parts) * size == row["kv_bytes"] == 2**37
    (spill,) = [t for t in fig.data if t.x[0] == "spilled to host memory"]
    assert spill.y[0] * size == row["spill_bytes"] == 2**37 - 80 * 2**30
    assert fig.layout.shapes[0].y0 * size == row["pim_capacity_bytes"] == 80 * 2**30
    assert fig.layout.yaxis.title.text == "KV cache (GiB)"
    assert "does not fit" in fig.layout.title.text and "655,360 tokens" in fig.layout.title.text


def test_kv_footprint_of_a_small_cache_is_in_mib_and_names_a_far_capacity():
    row = evaluated_row()  # 644 MiB of PQ codes, codebooks and FP16 tokens in 128 GiB
    fig = kv_footprint(row)
    assert fig.layout.yaxis.title.text == "KV cache (MiB)"
    assert {t.name for t in fig.data} == {"codes", "codebooks", "full_precision"}
    assert sum(t.y[0] for t in fig.data) * 2**20 == pytest.approx(row["kv_bytes"], rel=1e-12)
    assert not fig.layout.shapes and "PIM capacity 128 GiB" in fig.layout.annotations[0].text


@pytest.mark.parametrize("figure", [latency_energy_breakdown, roofline, kv_footprint])
def test_missing_data_raises_one_line_naming_it(figure):
    failed = pd.Series({"number": 5, "state": "FAIL", "fail_reason": "cannot build the job config"})
    with pytest.raises(ValueError, match=r"^trial 5 is FAIL \(cannot build the job config\)") as err:
        figure(failed)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="trial 6 has no"):
        figure(pd.Series({"number": 6, "state": "COMPLETE", "latency_s": 1e-3}))


def test_roofline_of_a_study_stored_before_flops_says_so():
    row = {k: v for k, v in roof_row().items() if not k.endswith((".flops", ".bytes"))}
    with pytest.raises(ValueError, match="no per-kernel FLOPs/bytes or device roofs"):
        roofline(row)


# Capacity wall: hw only, composed from the trial's overrides.


def test_capacity_wall_marks_where_fp16_stops_fitting():
    (attacc,) = capacity_curves(["hw=attacc_hbm3_bank", "algo=fp16"], compare=[])
    wall = attacc.max_context_tokens
    assert wall == 655360  # 80 GiB of PIM / 128 KiB of FP16 KV a token
    last_fit = attacc.contexts[attacc.fits][-1]
    first_out = attacc.contexts[~attacc.fits][0]
    assert last_fit == wall and first_out == wall + 1
    assert attacc.fits[: np.searchsorted(attacc.contexts, wall) + 1].all()
    # Past the wall hw costs the spill: one token (128 KiB) at wall + 1, growing with the context.
    spilled = attacc.spill_bytes[~attacc.fits]
    assert spilled[0] == 2 * 32 * 8 * 128 * 2 and (np.diff(spilled) > 0).all()
    latency = dict(zip(attacc.contexts, attacc.latency_s, strict=True))
    assert latency[wall + 1] > latency[wall]
    assert latency[4 * 2**20] > 10 * latency[wall]  # 560 GiB from host memory over PCIe


def test_capacity_wall_figure_joins_the_solid_and_dashed_parts_at_the_wall():
    fig = capacity_wall(["hw=attacc_hbm3_bank", "algo=fp16"], compare=[])
    solid, dashed, ring = fig.data
    assert solid.line.dash == "solid" and dashed.line.dash == "dash"
    assert solid.x[-1] == 655360 and list(dashed.x[:2]) == [655360, 655361]
    assert fig.layout.shapes[0].x0 == 655360 and fig.layout.shapes[0].line.dash == "dot"
    assert list(ring.x) == [32768] and "as evaluated: 32,768 tokens" in ring.name
    assert fig.layout.xaxis.title.text == "context (tokens)"
    assert fig.layout.yaxis.title.text.startswith("decode-step latency (")


def test_compressed_cache_fits_longer_contexts_than_fp16_on_the_same_hardware():
    this, fp16, attacc = capacity_curves(["algo=pq", "algo.n_centroids=256"])
    assert this.max_context_tokens > 4 * fp16.max_context_tokens > 4 * attacc.max_context_tokens
    assert fp16.label == "same hardware, FP16 KV" and attacc.label.startswith("AttAcc! FP16")
    assert this.fits.all() and not fp16.fits.all()
    # Same hardware and model, so at the smallest context the two costs differ only by their attention.
    assert this.contexts[0] == fp16.contexts[0] == 1024


def test_caller_comparisons_keep_their_labels_and_overrides():
    compare = [("batch 4", ["algo=fp16", "workload.batch=4"])]
    this, batch4 = capacity_curves(["algo=fp16"], compare=compare, contexts=[1024, 8192], label="mine")
    assert (this.label, batch4.label) == ("mine", "batch 4")
    assert batch4.max_context_tokens == math.floor(this.max_context_tokens / 4)
    assert list(this.contexts) == [1024, 8192]


def test_replace_groups_drops_the_replaced_options_keys():
    overrides = ["hw=aqpim_hbm3", "algo=pq", "algo.n_centroids=256", "hw.pim.stacks=4", "workload.batch=2"]
    assert replace_groups(overrides, algo="fp16") == [
        "hw=aqpim_hbm3",
        "hw.pim.stacks=4",
        "workload.batch=2",
        "algo=fp16",
    ]


def test_capacity_wall_of_a_bad_config_raises_one_line_naming_the_curve():
    with pytest.raises(ValueError, match=r"^capacity wall, this point: .*algo\.subvector_dim") as err:
        capacity_curves(["algo.subvector_dim=3"], compare=[])
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="^capacity wall, other:"):
        capacity_curves(["algo=fp16"], compare=[("other", ["hw=no_such_preset"])])


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["algo=fp16", "workload.batch=4"],
        ["hw.pim.stacks=4", "algo=pq", "algo.n_centroids=256"],
        ["hw=attacc_hbm3_bank", "+workload.note=1"],
    ],
)
def test_cached_composition_equals_hydras(overrides):
    expected = OmegaConf.to_container(compose_config(overrides))
    assert OmegaConf.to_container(compose_cached(overrides)) == expected
    first = compose_cached(overrides)
    first.seed = 12345  # the caller's copy: the cache is not touched
    assert OmegaConf.to_container(compose_cached(overrides)) == expected


def test_units_of_the_figures():
    assert si_text(1.8e14, "FLOP/s") == "180 TFLOP/s" and si_text(12.0, "FLOP") == "12 FLOP"
    assert scaled_unit(8.7e-3, "s") == ("ms", 1e-3) and scaled_unit(11.3, "J") == ("J", 1.0)
    assert scaled_unit(644 * 2**20, "B") == ("MiB", 2**20) and scaled_text(0.8678, "J") == "867.8 mJ"
