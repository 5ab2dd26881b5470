"""pimdse accuracy proxy: how accurate a KV-cache compression algorithm is on a real language model.

    import models
    models.validate(algo_cfg, proxy_cfg)        # cheap; raises models.SpecError naming the field
    acc = models.score(algo_cfg, proxy_cfg)      # -> models.Accuracy (cached on disk)

Never imports hw, dse, hydra or omegaconf: configs arrive as plain dicts.
"""

from .errors import ActivationError, ModelLoadError, SpecError
from .result import Accuracy
from .score import score, validate

__all__ = ["Accuracy", "ActivationError", "ModelLoadError", "SpecError", "score", "validate"]
