"""Human-readable text for one design point's result (the single-run `pimdse` output)."""

from __future__ import annotations

from typing import Any

from dse.results.labels import accuracy_title
from dse.units import bytes_text, millijoules_text, score_text, seconds_text, share_text, tokens_text


def format_point(title: str, result: dict[str, Any]) -> str:
    """Return a two-part table: the headline numbers, then the per-kernel breakdown."""
    acc = result["accuracy"]
    energy = result.get("energy_j")
    rows = [
        ("decode-step latency", seconds_text(result["latency_s"])),
        ("energy per step", "not modelled" if energy is None else millijoules_text(energy)),
        ("KV-cache bytes", bytes_text(result["kv_bytes"])),
    ]
    rows += [(f"  {part}", bytes_text(n)) for part, n in result.get("kv_bytes_split", {}).items()]
    rows.append(("fits in PIM memory", "yes" if result["fits"] else "NO"))
    if result.get("max_context_tokens") is not None:
        rows.append(("largest context that fits", tokens_text(result["max_context_tokens"])))
    rows.append(accuracy_row(acc))
    if "datapath" in result:  # projections on analog crossbars: their own accuracy axis
        dp = result["datapath"]
        rows.append(("datapath loss (analog crossbars)",
                     f"{score_text(dp['value'])} {dp['unit']} (lower is better)"))

    width = max(len(label) for label, _ in rows)
    lines = [title, "-" * len(title)]
    lines += [f"{label:<{width}}  {value}" for label, value in rows]

    kernels = result.get("kernels", {})
    if kernels:
        total = result["latency_s"]
        name_w = max(len(k) for k in kernels)
        lines += ["", f"{'kernel':<{name_w}}  {'time':>12}  {'share':>6}  {'bound':<12}  device"]
        for name, k in kernels.items():
            share = k["seconds"] / total if total else 0.0
            time, part = seconds_text(k["seconds"]), share_text(share)
            lines.append(f"{name:<{name_w}}  {time:>12}  {part:>6}  {k['bound']:<12}  {k['device']}")
    return "\n".join(lines)


def accuracy_row(acc: dict[str, Any]) -> tuple[str, str]:
    """(`accuracy loss, est. (loss_increase_est)`, `0.0123 nats/token (lower is better)`): the proxy
    metric, its value in the record's unit (none for a unitless score) and which way is better."""
    hib = bool(acc["higher_is_better"])
    unit = acc.get("unit") or ""
    value = score_text(acc["value"]) + (f" {unit}" if unit else "")
    better = "higher" if hib else "lower"
    return f"{accuracy_title(acc['name'], hib)} ({acc['name']})", f"{value} ({better} is better)"
