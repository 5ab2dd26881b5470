r"""Cost one kernel alone, as a cycle-level simulator would run it, and print it in memory cycles.

    .venv/bin/python benchmarks/hw_isolated.py attention --preset attacc_hbm3_bank \
        --tokens 4096 --head-dim 128
    .venv/bin/python benchmarks/hw_isolated.py gemv --preset hbm2_pim_aquabolt \
        --rows 4096 --cols 4096 --channels 1
    .venv/bin/python benchmarks/hw_isolated.py gemv --preset hbm2_pim_pimsim \
        --rows 4096 --cols 4096 --channels 8
    .venv/bin/python benchmarks/hw_isolated.py gemv --preset attacc_hbm3_bank \
        --rows 1024 --cols 1024 --channels 16

`attention`: one attention head of L tokens and head dim d on one channel of one stack (the
preset's PE placement), nothing else mapped. `gemv`: one FP16 GEMV of rows x cols weights on n
channels of one stack, as the LM head of a one-layer model alone on PIM. `--no-refresh` and
`--interval` (all-bank command interval, cycles) change the preset the way docs/hw.md describes.
The AttAcc! presets cost bank <-> buffer-die moves as issued (`hw.pim.move_overlap`); the hand
counts they are checked against are in docs/validation.md (sections 3 and 7).
"""

from __future__ import annotations

import argparse

import hw
from hw.presets import isolated_mapping
from hw.presets import load_preset as load


def configs(args: argparse.Namespace) -> tuple[dict, dict, dict, dict]:
    """The four dicts of the isolated kernel: the preset shrunk to one stack and `channels` channels."""
    hw_cfg, model = load("hw", args.preset), load("model", "llama2_7b")
    pim = hw_cfg["pim"]
    pim |= {"stacks": 1, "channels_per_stack": args.channels, "refresh": not args.no_refresh}
    if args.interval is not None:
        pim["pe"][pim["attention_pe"]]["cmd_interval_cycles"] = args.interval
        pim["pe"][pim.get("gemv_pe", pim["attention_pe"])]["cmd_interval_cycles"] = args.interval
    workload = {"context_tokens": args.tokens, "batch": 1, "decode_steps": 1}
    model |= {"n_layers": 1, "n_q_heads": 1, "n_kv_heads": 1, "head_dim": args.head_dim, "weight_bits": 16}
    if args.kernel == "attention":
        hw_cfg["mapping"] = isolated_mapping(attention="pim")
    else:
        hw_cfg["mapping"] = isolated_mapping(lm_head="pim")
        model |= {"hidden_size": args.cols, "vocab_size": args.rows}
    return hw_cfg, {"name": "fp16"}, model, workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kernel", choices=["attention", "gemv"])
    parser.add_argument("--preset", default="attacc_hbm3_bank")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=4096)
    parser.add_argument("--interval", type=int, default=None)
    parser.add_argument("--no-refresh", action="store_true")
    args = parser.parse_args()
    system, kv, workload = hw.build(*configs(args))
    cost = hw.evaluate(system, kv, workload)
    tck = system.pim.timings.tck_s
    print(f"{'kernel':<22} {'cycles':>12} {'us':>10} {'energy nJ':>12}  bound")
    for name, k in cost.kernels.items():
        if k.device == "pim":
            cycles, us, nj = k.seconds / tck, k.seconds * 1e6, k.energy_j * 1e9
            print(f"{name:<22} {cycles:>12.0f} {us:>10.3f} {nj:>12.1f}  {k.bound}")
    pim_s = sum(k.seconds for k in cost.kernels.values() if k.device == "pim")
    print(f"{'total on the PIM':<22} {pim_s / tck:>12.0f} {pim_s * 1e6:>10.3f}")


if __name__ == "__main__":
    main()
