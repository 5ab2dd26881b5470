"""The analog crossbar datapath as an accuracy axis: the proxy's model runs its projections through an
emulated crossbar (bit-serial DACs, finite ADCs, shift-and-add, optional conductance variation).

    from models.analog import score_datapath, validate_datapath
    validate_datapath(hw_cfg["xbar"], ops_on_xbar, proxy_cfg, datapath_cfg)   # cheap; SpecError
    acc = score_datapath(hw_cfg["xbar"], ops_on_xbar, proxy_cfg, datapath_cfg)  # cached on disk

docs/proxy.md "Analog datapath emulation".
"""

from .score import METRICS, DatapathAccuracy, score_datapath, validate_datapath
from .spec import OPERATORS

__all__ = ["METRICS", "OPERATORS", "DatapathAccuracy", "score_datapath", "validate_datapath"]
