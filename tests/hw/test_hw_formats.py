"""KV formats as objects: the registry, what each format hands the composers, and a format the
composers have never seen costed end to end without touching them."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from hwpoints import point

import hw
from hw import kv_format
from hw.formats import FORMATS, Footprint, GpuAttentionWork, KvFormat, PimAttention
from hw.formats.base import FP16_BYTES, dense_gpu_flops, slices
from hw.kernels import attention
from hw.kernels.step import Step
from spec.algo import ALGORITHMS, parse_algo


def test_every_algorithm_has_exactly_one_hw_format():
    assert set(FORMATS) == set(ALGORITHMS)
    assert all(cls.name == name for name, cls in FORMATS.items())


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_build_wraps_the_shared_algorithm_spec(name):
    hw_cfg, algo, model, workload = point(algo=name)
    _, kv, _ = hw.build(hw_cfg, algo, model, workload)
    assert type(kv) is FORMATS[name]
    assert kv.algo == parse_algo(algo)


def test_an_algorithm_without_a_hw_format_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(kv_format, "FORMATS", {k: v for k, v in FORMATS.items() if k != "pq"})
    with pytest.raises(hw.SpecError, match=r"^algo\.name='pq': has no hw cost model; costed: "):
        hw.build(*point(algo="pq"))


def test_pq_hands_the_softmax_its_partial_scores_and_subvector_outputs():
    # Mistral-7B, 32768 tokens, 8 sinks + 32 recent FP16: 32 query heads x 32728 coded tokens x
    # 32 subspaces / head_split 4 after the bank-group adder tree, FP16 partial scores a layer.
    system, kv, workload = hw.build(*point(algo="pq"))
    own = kv.pim_attention(Step(system=system, kv=kv, workload=workload))
    assert isinstance(own, PimAttention)
    assert own.moved_bytes == 32 * (32768 - 40) * (32 / 4) * 2
    assert own.softmax_scores == 32 * 32768
    assert own.output_dims_per_pe == 4
    assert next(iter(own.kernels)) == "attn_fp_tokens"


def test_cluster_sparse_softmax_covers_only_the_tokens_read():
    # 32768 tokens, 4 sinks, buffer 64 (half of 128), clusters of 32: ceil(32700 / 32) = 1022 clusters of
    # which 1024 / 32 = 32 are read (1024 tokens) plus the sinks and the buffer; 32 query heads score all
    # 1022 centroids.
    system, kv, workload = hw.build(*point(hw="starc_hbm_pim", algo="cluster_sparse"))
    own = kv.pim_attention(Step(system=system, kv=kv, workload=workload))
    assert own.softmax_scores == 32 * (1024 + 4 + 64)
    assert own.moved_bytes == 32 * 1022 * 2


@dataclass(frozen=True)
class Int8Spec:
    """What a fifth algorithm's spec would hold: one FP16 scale per slice, nothing in FP16."""

    name: str = "int8_per_tensor"
    sink_tokens: int = 0
    window_tokens: int = 0


@dataclass(frozen=True)
class Int8PerTensorKv(KvFormat):
    """A format no composer knows: int8 codes, one FP16 scale per slice."""

    name: ClassVar[str] = "int8_per_tensor"
    algo: Int8Spec = Int8Spec()

    def footprint(self, model, context_tokens, batch, layout=None):
        n, zero = slices(model, batch), 0.0 * context_tokens
        return Footprint(
            codes=n * context_tokens * model.head_dim, codebooks=n * FP16_BYTES + zero, full_precision=zero
        )

    def rounding_slack(self, model, batch, layout):
        return 0.0

    def stored_bytes_per_vector(self, head_dim):
        return head_dim * 1.0

    def gpu_attention_work(self, step):
        fp = self.footprint(step.model, step.context, step.batch)
        return GpuAttentionWork(flops=dense_gpu_flops(step) * step.context, bytes_read=fp.total)

    def pim_attention(self, step):
        return PimAttention(
            kernels=attention.pim_dense_attention(step, step.context, 1.0, 1.0),
            softmax_scores=step.q_heads_total * step.context,
        )


def test_a_new_format_is_costed_by_the_unchanged_composers():
    # Llama-2-7B on one 16 GiB stack: 2 x 32 layers x 32 KV heads x 128 dims = 262144 B a token
    # plus 2048 slices x 2 B of scales; nothing else lives in the PIM.
    system, _, workload = hw.build(*point(model="llama2_7b", algo="fp16", hw__pim__stacks=1))
    c = hw.evaluate(system, Int8PerTensorKv(), workload)
    assert c.kv_bytes == 32768 * 262144 + 4096
    assert c.kv_bytes_split["full_precision"] == 0
    capacity = system.pim.capacity_bytes
    assert c.max_context_tokens == np.floor((capacity - 4096) / 262144)
    assert {"link_gpu_pim", "kv_append", "attn_score", "attn_value", "attn_softmax"} <= set(c.kernels)
    fp16 = hw.evaluate(*hw.build(*point(model="llama2_7b", algo="fp16", hw__pim__stacks=1)))
    assert c.kernels["attn_score"].seconds < fp16.kernels["attn_score"].seconds  # half the bytes


def test_a_new_format_on_the_gpu_reads_its_own_bytes():
    system, _, workload = hw.build(*point(hw="gpu_offload_pcie", model="llama2_7b", algo="fp16"))
    c = hw.evaluate(system, Int8PerTensorKv(), workload)
    fp16 = hw.evaluate(*hw.build(*point(hw="gpu_offload_pcie", model="llama2_7b", algo="fp16")))
    # The offload preset keeps the KV in host memory: the int8 cache crosses the link at half the bytes.
    assert c.kv_bytes == fp16.kv_bytes / 2 + 4096
    assert c.kernels["kv_host_transfer"].energy_j == pytest.approx(
        fp16.kernels["kv_host_transfer"].energy_j * c.kv_bytes / fp16.kv_bytes, rel=1e-12
    )


@pytest.mark.parametrize("ctx", [100, 500, 1000])
def test_cluster_sparse_on_the_gpu_reads_every_token_once_when_the_budget_covers_all(ctx):
    # Budget 1024 tokens covers every cluster below ~1100 tokens: the GPU then reads the whole cache
    # (all tokens in FP16 plus the centroids) once, the buffer's 64 tokens not twice.
    cfg = point(hw="gpu_offload_pcie", algo="cluster_sparse", workload__context_tokens=ctx)
    system, kv, workload = hw.build(*cfg)
    work = kv.gpu_attention_work(Step(system=system, kv=kv, workload=workload))
    assert work.bytes_read == hw.evaluate(system, kv, workload).kv_bytes
