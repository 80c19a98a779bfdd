"""Time series for sequence models (d2l §8.1 / §9.1): sources, tau-lag windows, configs, the forecast run."""
