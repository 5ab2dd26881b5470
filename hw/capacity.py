"""Whether the weights fit: a device's memory must hold the weights of the operators mapped to it."""

from __future__ import annotations

import numpy as np

from hw.model_shape import ModelShape
from hw.system import System


def weights_fit(system: System, model: ModelShape) -> bool | np.ndarray:
    """True where the GPU's memory holds the weights (all layers) of the operators mapped to the GPU,
    and the PIM memory (after its PE area cost) those mapped to PIM. The KV cache's share of its home
    memory is checked beside this; the crossbar's tiles by hw.kernels.xbar."""
    devices = system.mapping.devices
    fits = model.weight_bytes_on(devices, "gpu") <= system.gpu.mem_capacity_bytes
    if system.pim is not None:
        fits = fits & (model.weight_bytes_on(devices, "pim") <= system.pim.capacity_bytes)
    return fits
