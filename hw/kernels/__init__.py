"""Per-operator cost functions: each returns KernelCost values for one decode step (all layers)."""
