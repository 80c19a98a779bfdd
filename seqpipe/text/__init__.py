"""Text normalization, tokenization, vocabularies and contiguous splits."""
