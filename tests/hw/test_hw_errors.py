"""Bad input: one line naming the field, the value and what is allowed. Not fitting is not an error."""

import pytest
from hwpoints import point

import hw


@pytest.mark.parametrize(
    ("overrides", "field", "allowed"),
    [
        ({"hw__pim__stacks": 0}, "hw.pim.stacks=0", ">= 1"),
        ({"hw__pim__stack": 4}, "hw.pim.stack=4", "unknown key; known: "),
        ({"hw__pim__pe__bank__lane": 8}, "hw.pim.pe.bank.lane=8", "unknown key; known: "),
        ({"hw__pim__banks_per_group": -4}, "hw.pim.banks_per_group=-4", ">= 1"),
        ({"hw__pim__capacity_bytes_per_stack": 0}, "hw.pim.capacity_bytes_per_stack=0", ">= 1048576"),
        (
            {"hw__pim__attention_pe": "bank_group"},
            "hw.pim.attention_pe='bank_group'",
            "only at bank, buffer_die",
        ),
        (
            {"hw__pim__pe__bank__banks_per_pe": 64},
            "hw.pim.pe.bank.banks_per_pe=64",
            "banks of one pseudo-channel",
        ),
        (
            {"hw__pim__timings__t_ras_cycles": 70},
            "hw.pim.timings.t_rc_cycles=63",
            "t_ras_cycles + t_rp_cycles",
        ),
        ({"hw__pim__timings__t_ccd_l_cycles": 1}, "hw.pim.timings.t_ccd_l_cycles=1", ">= t_ccd_s_cycles"),
        ({"hw__pim__timings__t_rfc_cycles": 6000}, "hw.pim.timings.t_refi_cycles=5070", "> t_rfc_cycles"),
        ({"hw__pim__pq_codebook_copies": 0}, "hw.pim.pq_codebook_copies=0", ">= 1"),
        ({"hw__pim__pq_codebook_copies": 2.5}, "hw.pim.pq_codebook_copies=2.5", "must be an integer"),
        ({"hw__pim__pq_codebook_copies": "shared"}, "hw.pim.pq_codebook_copies='shared'", "number"),
        ({"hw__gpu__flops_efficiency": 1.5}, "hw.gpu.flops_efficiency=1.5", "<= 1"),
        ({"hw__gpu__peak_flops": "fast"}, "hw.gpu.peak_flops='fast'", "number"),
        ({"hw__mapping__attention": "cpu"}, "hw.mapping.attention='cpu'", "gpu, pim, xbar, none"),
        ({"hw__mapping__kv_home": "gpu"}, "hw.mapping.kv_home='gpu'", "attention on pim needs kv_home: pim"),
        ({"algo__subvector_dim": 3}, "algo.subvector_dim=3", "must divide model.head_dim"),
        ({"model__op_weight_bits": {"lm_heads": 16}}, "model.op_weight_bits.lm_heads=16", "unknown key"),
        ({"model__op_weight_bits": {"lm_head": 0}}, "model.op_weight_bits.lm_head=0", ">= 0.25"),
        ({"algo__n_centroids": 1}, "algo.n_centroids=1", ">= 2"),
        ({"algo__refresh": "sometimes"}, "algo.refresh='sometimes'", "static, windowed, online"),
        ({"algo__name": "lz4"}, "algo.name='lz4'", "fp16, uniform, pq, cluster_sparse"),
        ({"model__n_kv_heads": 5}, "model.n_kv_heads=5", "must divide n_q_heads"),
        ({"workload__context_tokens": 0}, "workload.context_tokens=0", ">= 1"),
        ({"workload__batch": 1.5}, "workload.batch=1.5", "integer"),
        # Typos are errors everywhere, not silently defaulted.
        ({"workload__batchh": 4}, "workload.batchh=4", "unknown key; known: batch, context_tokens"),
        ({"model__n_layesr": 64}, "model.n_layesr=64", "unknown key; known: "),
        ({"model__op_weight_bit": {"lm_head": 4}}, "model.op_weight_bit={'lm_head': 4}", "unknown key"),
        # A list is not a grid (numpy arrays are): one line, not a crash later.
        ({"hw__pim__stacks": [4, 8]}, "hw.pim.stacks=[4, 8]", "a grid of values is a numpy array"),
        ({"hw__gpu__peak_flops": 1e-300}, "hw.gpu.peak_flops=1e-300", ">= 1000000"),
        ({"hw__pim__stacks": 1e300}, "hw.pim.stacks=1e+300", "<= 4096"),
        ({"hw__pim__stacks": 10**400}, "hw.pim.stacks=100000...(401 digits)", "finite"),
        ({"hw__host_link__lanes": 16}, "hw.host_link.lanes=16", "needs pcie_generation"),
        (
            {"hw__pim__gemv_pe": "buffer_die", "hw__pim__pe__buffer_die": None},
            "hw.pim.pe.buffer_die=None",
            "required section is missing",
        ),
        (
            {"hw__mapping__attention": "gpu", "hw__mapping__kv_home": "pim", "hw__pim": None},
            "hw.mapping.kv_home='pim'",
            "no PIM memory",
        ),
    ],
)
def test_bad_input_names_field_value_and_what_is_allowed(overrides, field, allowed):
    with pytest.raises(hw.SpecError) as err:
        hw.build(*point(**overrides))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(field)
    assert allowed in message
    assert isinstance(err.value, ValueError)


def test_pe_at_a_placement_the_device_lacks_is_rejected():
    with pytest.raises(hw.SpecError, match=r"^hw\.pim\.pe\.bank_die="):
        cfg = point()
        cfg[0]["pim"]["pe"]["bank_die"] = cfg[0]["pim"]["pe"]["bank"]
        hw.build(*cfg)


def test_a_grid_reports_the_first_bad_element():
    with pytest.raises(hw.SpecError, match=r"^hw\.pim\.stacks=0:"):
        import numpy as np

        hw.build(*point(hw__pim__stacks=np.array([4, 0, 2])))


def test_not_fitting_is_a_result_not_an_error():
    c = hw.evaluate(
        *hw.build(*point(algo="fp16", model="llama2_7b", hw__pim__stacks=1, workload__context_tokens=65536))
    )
    assert c.fits is False
    assert c.spill_bytes == 16 * (1 << 30)
    # The spilled half of the context crosses PCIe5 (one transfer a layer) and is attended on the GPU.
    assert c.kernels["kv_spill_transfer"].seconds == pytest.approx(
        16 * (1 << 30) / 128e9 + 32 * 1e-6, rel=1e-12
    )
    assert c.kernels["kv_spill_transfer"].bound == "link"
    assert c.kernels["attention_spill_gpu"].seconds > 0


MISTRAL_7B_WEIGHT_BYTES = 2 * (32 * (4096 * 48 * 128 + 4096 * 4096 + 3 * 4096 * 14336) + 4096 * 32000)
"""FP16 weights of Mistral-7B as costed: 32 layers of QKV (32 + 2 x 8 heads of 128), O and gated FFN
(14336 wide), plus the LM head (vocabulary 32000); the embedding table is not resident."""


@pytest.mark.parametrize("preset", ["aqpim_hbm3", "gpu_offload_pcie"])
def test_a_gpu_that_cannot_hold_the_weights_does_not_fit(preset):
    """KV in PIM or in host memory: the GPU running the projections must still hold their weights."""
    exact = hw.evaluate(*hw.build(*point(hw=preset, hw__gpu__mem_capacity_bytes=MISTRAL_7B_WEIGHT_BYTES)))
    assert exact.fits is True
    short = hw.evaluate(*hw.build(*point(hw=preset, hw__gpu__mem_capacity_bytes=MISTRAL_7B_WEIGHT_BYTES - 1)))
    assert short.fits is False
    one_byte = hw.evaluate(*hw.build(*point(hw=preset, hw__gpu__mem_capacity_bytes=1)))
    assert one_byte.fits is False
    assert one_byte.latency_s == exact.latency_s  # capacity decides fitting, not speed


def test_weights_mapped_to_pim_must_fit_the_pim_memory():
    import numpy as np

    ffn_on_pim = {
        "hw__mapping__ffn": "pim",
        "hw__pim__capacity_bytes_per_stack": np.array([1 << 20, 1 << 34]),
    }
    c = hw.evaluate(*hw.build(*point(**ffn_on_pim)))
    assert c.fits.tolist() == [False, True]


def test_the_result_guard_names_the_first_bad_number():
    import dataclasses

    import numpy as np

    from hw.errors import check_result

    cost = hw.evaluate(*hw.build(*point()))
    assert check_result(cost) is cost
    with pytest.raises(hw.SpecError) as err:
        check_result(dataclasses.replace(cost, latency_s=float("nan")))
    assert str(err.value) == (
        "result.latency_s=nan: not a finite non-negative number: the inputs are outside the modelled range"
    )
    kernels = dict(cost.kernels)
    kernels["ffn"] = dataclasses.replace(kernels["ffn"], energy_j=np.array([1.0, -2.0, np.inf]))
    with pytest.raises(hw.SpecError, match=r"^result\.kernels\.ffn\.energy_j=-2: .*modelled range$"):
        check_result(dataclasses.replace(cost, kernels=kernels))


def test_hw_and_spec_share_one_error_type():
    import spec

    assert hw.SpecError is spec.SpecError
