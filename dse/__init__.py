"""pimdse search room: Hydra entry point, design-point scoring, and the Optuna search around it."""
