"""Every trainer and the stages that run one: RNN language models (configs, data, loop, checkpoints, seeds,
generation, runs) and the series models with the forecast stage."""
