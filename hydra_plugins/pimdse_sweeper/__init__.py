"""pimdse's Hydra sweeper: multi-objective search on Optuna 5's ask-and-tell (`hydra/sweeper=pimdse`)."""
