"""Time-series data for sequence models (d2l §8.1 / §9.1): sources, tau-lag windows and splits, SeriesConfig."""
