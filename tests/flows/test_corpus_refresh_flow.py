"""The `corpus-refresh` flow: a changed corpus publishes a snapshot, its history row and the `corpus-diff` artifact."""

from __future__ import annotations

from flow_artifacts import newest_artifacts

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.ngrams.history import read_history


def test_refresh_publishes_the_diff_and_records_the_trigger(tmp_path):
    from flows.corpus_refresh import corpus_refresh

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("the cat sat on the mat\n")
    args = {"corpus": CorpusConfig(sources=(str(folder),), name="pets"), "text": TextConfig(),
            "ngram": NgramConfig(orders=(1, 2), workers=0), "out": str(tmp_path / "out")}
    first = corpus_refresh(**args)
    assert first.diff is None  # a first snapshot has nothing to compare with
    (folder / "b.txt").write_text("a zebra sat on the mat\n")
    second = corpus_refresh(**args)
    assert corpus_refresh(**args).unchanged

    assert second.diff["run_a"] == first.run_id and second.diff["run_b"] == second.run_id
    assert second.diff["files"] == {"added": 1, "changed": 0, "removed": 0}
    history = read_history(tmp_path / "out" / "corpus" / "pets")
    assert history["run_id"].tolist() == [first.run_id, second.run_id]  # the unchanged run added no row
    assert history["trigger"].tolist() == ["prefect:corpus-refresh"] * 2
    markdown = newest_artifacts("corpus-diff")["corpus-diff"].data
    assert "`" + first.run_id + "` → `" + second.run_id + "`" in markdown
    assert "| zebra |  | 1 | 1 |" in markdown and "| a zebra |  | 1 | 1 |" in markdown

    chars = corpus_refresh(**{**args, "text": TextConfig(tokens="char")})  # a new config: published, not diffed
    assert chars.diff == {"run_a": second.run_id, "run_b": chars.run_id,
                             "skipped": "the text configs differ (tokens word vs char): the tokens are not the same"}
    assert newest_artifacts("corpus-diff")["corpus-diff"].data == markdown
