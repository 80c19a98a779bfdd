"""The one exception for bad corpus input: its message is a complete, one-line explanation."""


class CorpusError(ValueError):
    """A corpus problem the user must fix (missing path, empty corpus, checksum mismatch...)."""
