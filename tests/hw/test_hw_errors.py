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
        ({"hw__pim__gemv_pe": "buffer_die", "hw__pim__pe__buffer_die": None}, "hw.pim.pe.buffer_die=None", "required section is missing"),
        ({"hw__mapping__attention": "gpu", "hw__mapping__kv_home": "pim", "hw__pim": None}, "hw.mapping.kv_home='pim'",
         "no PIM memory"),
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
