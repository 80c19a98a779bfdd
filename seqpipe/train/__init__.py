"""Training RNN language models: configs, data, the fit loop, checkpoints, seeds, generation, runs."""
