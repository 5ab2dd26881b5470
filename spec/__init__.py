"""pimdse spec: what hw/ and models/ both read — the one error type, the typed-field schema
machinery, and the KV-cache algorithm specs. numpy only; imports neither room."""

from spec.algo import ALGORITHMS, Algorithm, AlgoSpec, ClusterSparse, Fp16, Pq, Uniform, parse_algo
from spec.errors import SpecError

__all__ = ["ALGORITHMS", "AlgoSpec", "Algorithm", "ClusterSparse", "Fp16", "Pq", "SpecError", "Uniform",
           "parse_algo"]
