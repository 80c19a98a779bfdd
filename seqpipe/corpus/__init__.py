"""Corpus sources: named corpora, paths, globs and URLs; decoding; partition plans; manifests."""

from seqpipe.corpus.reader import CorpusError, load_lines
from seqpipe.corpus.sources import InputFile, expand_sources

__all__ = ["CorpusError", "InputFile", "expand_sources", "load_lines"]
