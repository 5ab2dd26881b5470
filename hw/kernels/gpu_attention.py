"""Attention on the GPU: over KV in its own memory, in host memory (offload), or spilled from PIM.
The work itself (FLOPs, bytes read) is the KV format's (`KvFormat.gpu_attention_work`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from hw.fields import Num
from hw.kernels.dense import gpu_roofline
from hw.kernels.step import Step
from hw.kernels.transfer import link_transfer, nonzero_transfers
from hw.roofline import KernelCost, where_bound


def idle_as_none(kernel: KernelCost) -> KernelCost:
    """A kernel with nothing to do reports bound "none"."""
    return dataclasses.replace(kernel, bound_code=where_bound(kernel.seconds <= 0, "none", kernel.bound_code))


def host_kv_read(step: Step, host_bytes: Num) -> KernelCost:
    """KV in host memory crosses the host link every decode step (one transfer a layer)."""
    layers = step.model.n_layers
    link = link_transfer(
        step.system.host_link, host_bytes, nonzero_transfers(host_bytes, layers), host=step.system.host
    )
    return idle_as_none(link)


def gpu_attention(step: Step, host_share: Num) -> dict[str, KernelCost]:
    """Attention on the GPU; `host_share` of the KV bytes come from host memory over the host link."""
    work = step.kv.gpu_attention_work(step)
    return {
        "attention_gpu": gpu_roofline(step, work.flops, work.bytes_read * (1.0 - host_share)),
        "kv_host_transfer": host_kv_read(step, work.bytes_read * host_share),
    }


def spilled_attention(spilled: Step, spill_bytes: Num) -> dict[str, KernelCost]:
    """The `spill_bytes` of KV that did not fit the PIM (the context of `spilled`): read from host
    memory every step and attended on the GPU."""
    # No spill: no tables or centroids to score either.
    flops = np.where(spill_bytes > 0, spilled.kv.gpu_attention_work(spilled).flops, 0.0)
    return {
        "attention_spill_gpu": idle_as_none(gpu_roofline(spilled, flops, 0.0 * flops)),
        "kv_spill_transfer": host_kv_read(spilled, spill_bytes),
    }
