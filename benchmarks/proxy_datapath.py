"""Accuracy of the analog crossbar datapath against ADC bits and tile rows (docs/proxy.md "Analog
datapath emulation").

The PIM-LLM edge crossbar (conf/hw/pimllm_edge.yaml: 8-bit inputs, 1-bit DACs) with its projection
operators (q, k, v, o, gate, up, down) emulated on SmolLM2-135M under conf/config.yaml's `datapath`
settings (4-bit per-channel weights, 2 x 128 held-out tokens of the Lee news text after one calibration
sequence). Prints markdown tables of the
datapath's next-token loss increase over the mapped-weight model (and its KL), nats/token, for each ADC
range rule, and the weight mappings at a lossless ADC.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/proxy_datapath.py [--cache-dir DIR] [--rules calibrated]

Results are cached under <cache-dir>/datapath (the first run: about 30 min on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import yaml

from models.analog import score_datapath

ROOT = Path(__file__).resolve().parents[1]
OPERATORS = ("qkv_proj", "o_proj", "ffn")
ADC_BITS = (4, 5, 6, 7, 8, 9, 10)
ROWS = (64, 128, 256)
MAPPINGS: list[tuple[str, dict[str, Any]]] = [
    ("ternary per channel (weight_bits 0: the crossbar's 2 cells)", {"weight_bits": 0}),
    ("ternary absmean (BitNet b1.58)", {"weight_bits": 0, "weights": "absmean"}),
    ("4-bit per channel (default)", {"weight_bits": 4}),
    ("5-bit per channel", {"weight_bits": 5}),
    ("8-bit per channel", {"weight_bits": 8}),
]


def configs(cache_dir: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    xbar = yaml.safe_load((ROOT / "conf" / "hw" / "pimllm_edge.yaml").read_text())["xbar"]
    proxy = yaml.safe_load((ROOT / "conf" / "proxy" / "quick.yaml").read_text()) | {"cache_dir": cache_dir}
    proxy["text"] = {"source": "lee", "path": None, "calib_seqs": 1, "eval_offset_tokens": 0}
    datapath = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())["datapath"]
    return xbar, proxy, datapath


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", default=".cache/pimdse")
    ap.add_argument("--rules", nargs="+", default=["calibrated", "full_scale"])
    ap.add_argument("--adc-bits", nargs="+", type=int, default=list(ADC_BITS))
    ap.add_argument("--rows", nargs="+", type=int, default=list(ROWS))
    ap.add_argument("--no-mappings", action="store_true", help="skip the weight-mapping table")
    args = ap.parse_args()
    xbar, proxy, datapath = configs(args.cache_dir)

    def run(over_xbar: dict[str, Any], over_dp: dict[str, Any]) -> tuple[dict[str, float], float]:
        t = time.perf_counter()
        acc = score_datapath(xbar | over_xbar, OPERATORS, proxy, datapath | over_dp)
        return acc.metrics, time.perf_counter() - t

    for rule in args.rules:
        print(f"\nadc_range={rule}: loss increase (KL), nats/token\n")
        print("| ADC bits | " + " | ".join(f"{r} rows" for r in args.rows) + " |")
        print("|---|" + "---|" * len(args.rows))
        for bits in args.adc_bits:
            cells = []
            for rows in args.rows:
                m, s = run({"adc_bits": bits, "rows_per_tile": rows}, {"adc_range": rule})
                cells.append(f"{m['loss_increase']:+.3g} ({m['kl']:.3g})")
                print(f"  [{rule} adc={bits} rows={rows}: {s:.0f} s]", flush=True)
            print(f"| {bits} | " + " | ".join(cells) + " |", flush=True)
    if args.no_mappings:
        return
    print("\nweight mappings at a lossless ADC (16 bits), 128 rows: nats/token\n")
    print("| mapping | weights: loss increase (KL) | 8-bit inputs: loss increase (KL) "
          "| ppl exact -> mapped |")
    print("|---|---|---|---|")
    for name, over in MAPPINGS:
        m, _ = run({"adc_bits": 16}, over)
        print(f"| {name} | {m['weight_loss_increase']:+.3g} ({m['weight_kl']:.3g}) | "
              f"{m['loss_increase']:+.3g} ({m['kl']:.3g}) | {m['ppl_exact']:.1f} -> {m['ppl_mapped']:.3g} |",
              flush=True)


if __name__ == "__main__":
    main()
