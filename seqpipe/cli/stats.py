"""`seqpipe stats` (count n-grams into a snapshot) and `seqpipe top` (read the most frequent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seqpipe.cli.options import with_options
from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.fields import fields_of, nest
from seqpipe.io import check_output_root

err = Console(stderr=True)


# the fields of the three configs `stats` builds (the sources are its argument)
_CONFIGS = {"corpus": CorpusConfig, "text": TextConfig, "ngram": NgramConfig}
_SETTINGS = [s for section, model in _CONFIGS.items()
             for s in fields_of(model, exclude={"corpus.sources"}, under=(section,))]


@with_options(_SETTINGS)
def stats(
    sources: Annotated[list[str], typer.Argument(help="named corpus (timemachine), files, folders, globs or URLs")],
    out: Annotated[Path | None, typer.Option(help="output root (default $SEQPIPE_OUT or ./seqpipe-out)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary line before the path")] = False,
    given: dict[str, Any] | None = None,
) -> None:
    """Count n-grams of a corpus and publish a snapshot; the last line printed is its path."""
    # Dask, pandas and Arrow load when `stats` runs, so other commands (train-lm) start fast
    from seqpipe.corpus.sources import corpus_name
    from seqpipe.ngrams import store
    from seqpipe.ngrams.dask_count import count_corpus, local_workers
    from seqpipe.ngrams.history import triggered_by
    from seqpipe.parallel import dask_client

    settings = Settings()
    out_root = out or settings.out
    check_output_root(out_root)
    doc = nest(given or {}, _SETTINGS)
    corpus = CorpusConfig.model_validate({**doc.get("corpus", {}), "sources": tuple(sources)})
    text = TextConfig.model_validate(doc.get("text", {}))
    ngram = NgramConfig.model_validate(doc.get("ngram", {}))
    capped, note = local_workers(corpus, ngram, settings)
    if note and "workers" in (given or {}):  # said only when the user asked for more
        err.print(f"seqpipe: note: {note}", markup=False)
    ngram = ngram.model_copy(update={"workers": capped})
    cdir = store.corpus_dir(out_root, corpus.name or corpus_name(list(corpus.sources)))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with store.corpus_lock(cdir, nested=True), Progress(*columns, console=err, transient=True,
                                                        disable=not err.is_terminal) as bar:  # no stray lines
        tasks: dict[str, int] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:  # the lock first: a refused run starts no cluster
            with dask_client(ngram.workers, settings.dask_address, ngram.memory_limit) as client, \
                    triggered_by("cli"):
                result = count_corpus(corpus, text, ngram, out_root, client, settings, on_progress)
        except KeyboardInterrupt:
            bar.stop()
            err.print("seqpipe: interrupted; LATEST unchanged", markup=False)
            raise typer.Exit(130) from None
    for s in result.skipped:
        err.print(f"skipped {s['uri']}: {s['reason']}", markup=False, soft_wrap=True)  # one line per file
    manifest = store.read_manifest(result.snapshot)
    bad = manifest["summary"]["bad_bytes"]
    if bad:
        err.print(f"replaced {bad} invalid UTF-8 bytes (per file in _manifest.json)", markup=False)
    for i in manifest["inputs"]:
        if i.get("long_lines"):
            err.print(f"skipped {i['long_lines']} line(s) longer than --max-line-bytes "
                      f"{corpus.max_line_bytes:,} ({i['long_line_bytes']:,} bytes) in {i['uri']}",
                      markup=False, soft_wrap=True)
    line = ", ".join(f"{n}-grams {t['ngrams']:,} ({t['distinct']:,} distinct)" for n, t in result.totals.items())
    err.print(f"{result.corpus}: {manifest['summary']['lines']:,} lines, vocab {manifest['vocab']['size']:,}; {line}",
              markup=False, soft_wrap=True)  # the vocab.parquet size, after --min-freq
    if as_json:
        print(json.dumps({"snapshot": str(result.snapshot), "run_id": result.run_id, "corpus": result.corpus,
                          "totals": result.totals, "vocab_size": manifest["vocab"]["size"],
                          "skipped": result.skipped, "bad_bytes": bad,
                          "long_lines": manifest["summary"].get("long_lines", 0)}))
    print(result.snapshot)


def top(
    snapshot: Annotated[Path, typer.Argument(help="a snapshot folder, or a corpus folder (follows LATEST)")],
    n: Annotated[int, typer.Option("--n", help="order")] = 1,
    k: Annotated[int, typer.Option("--k", help="how many")] = 10,
) -> None:
    """Print the k most frequent n-grams as `ngram<TAB>match_count`."""
    from seqpipe.ngrams import store

    for ngram, count in store.top_ngrams(snapshot, n, k):
        print(f"{ngram}\t{count}")


def register(app: typer.Typer) -> None:
    """Add `stats` and `top`."""
    app.command()(stats)
    app.command()(top)
