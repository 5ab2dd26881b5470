"""pimdse hw: analytical cost model of PIM/GPU systems running LLM decode over a (compressed) KV cache.

    system, kv, workload = hw.build(hw_cfg, algo_cfg, model_cfg, workload_cfg)
    cost = hw.evaluate(system, kv, workload)

numpy only; every numeric input may be an array of design points (results broadcast).
"""

from hw.build import build
from hw.cost import Cost
from hw.energy import COMPONENTS as ENERGY_COMPONENTS
from hw.errors import SpecError
from hw.evaluate import evaluate
from hw.formats import FORMATS, KvFormat
from hw.formats.cluster_sparse import ClusterSparseKv
from hw.formats.fp16 import Fp16Kv
from hw.formats.pq import PqKv
from hw.formats.uniform import UniformKv
from hw.model_shape import ModelShape, load_hf_config, model_dict_from_hf_config
from hw.roofline import KernelCost
from hw.system import System
from hw.workload import Workload

__all__ = [
    "ClusterSparseKv",
    "Cost",
    "ENERGY_COMPONENTS",
    "FORMATS",
    "Fp16Kv",
    "KernelCost",
    "KvFormat",
    "ModelShape",
    "PqKv",
    "SpecError",
    "System",
    "UniformKv",
    "Workload",
    "build",
    "evaluate",
    "load_hf_config",
    "model_dict_from_hf_config",
]
