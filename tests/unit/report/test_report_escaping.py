"""Odd corpus tokens (markup, pipes, ampersands) are text in the HTML and in the Markdown, never markup."""

from __future__ import annotations

import json
import re

from unit.report.helpers import parse
from unit.report.sample_run import count

from seqpipe.config import TextConfig
from seqpipe.report.render import md_escape, render_report
from seqpipe.runinfo import write_run_info

HOSTILE = "<script>alert(1)</script> a|b **bold** <img src=x onerror=alert(2)> & [link](javascript:x)\n"


def test_markup_in_corpus_tokens_is_escaped(tmp_path):
    corpus = tmp_path / "hostile.txt"
    corpus.write_text(HOSTILE * 5 + "plain words here\n", encoding="utf-8")
    snapshot = count((str(corpus),), tmp_path / "out", TextConfig(normalize="raw")).snapshot
    run = tmp_path / "out" / "runs" / "hostile"
    write_run_info(run, "hostile", {"corpus": str(corpus)}, {"corpus": 0.1}, {"snapshot": str(snapshot)})

    paths = render_report(run)
    html = paths.html.read_text()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = parse(html)
    tops = {cell for row in page.tables["top-ngrams"] for cell in row}
    assert "<script>alert(1)</script>" in tops  # the parsed text is the token itself, shown literally
    assert page.images == ["plots/zipf.png"]

    md = paths.markdown.read_text()
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    top_md = md.split("**Top 10 n-grams per order**", 1)[1].strip().split("\n\n", 1)[0].splitlines()
    assert any("a\\|b" in line for line in top_md)  # the token's pipe is escaped ...
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in top_md}) == 1  # ... so every row has the same cells
    assert json.loads(paths.metrics.read_text())["report"]["stages"]["corpus"] == "ok"


def test_md_escape_neutralises_markdown_and_html():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert md_escape("[x](javascript:y)") == "\\[x\\](javascript:y)"
    assert md_escape("line\nbreak") == "line break"
