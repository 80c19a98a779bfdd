"""Sequence models: autoregressive window models, latent-state models and RNN language models."""
