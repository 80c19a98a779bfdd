"""Render a run's report: `report.html`, `report.md` and `plots/` from the run folder's files alone.

`render_report(run_dir)` reads the run (`collect.read_run`), builds the tables, figures and samples,
fills the two jinja2 templates (HTML autoescaped; Markdown cells escaped by the `md` filter), writes
everything atomically, then its result (`seqpipe.results.ReportResult`) as `report.json`, and merges the
same entry under "report" into the run's `metrics.json` under the lock the stages use, leaving their keys
as they were. A folder whose `metrics.json` is one stage's own (`forecast --out DIR`) keeps it as written.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from seqpipe.io import RUN_METRICS_KIND, atomic_write_text, update_run_metrics
from seqpipe.report import lm_table, runs_index, tables
from seqpipe.report.collect import RunData, read_run
from seqpipe.report.history import SinceLast, since_last
from seqpipe.report.plots import Figures, write_figures
from seqpipe.report.samples import ModelSamples, all_samples
from seqpipe.report.trials_table import trials_table
from seqpipe.results import ReportResult

Step = Callable[[str], None]


@dataclass(frozen=True)
class ReportPaths:
    """Where a report was written."""

    html: Path
    markdown: Path
    metrics: Path
    plots: list[Path]
    stages: dict[str, str] = field(default_factory=dict)
    result: ReportResult | None = None


@dataclass
class ReportContent:
    """Everything the templates show, built from one run folder."""

    run: RunData
    stages: dict[str, bool]
    corpus: list[tables.Table]
    lm: tables.Table
    lm_details: list[tables.Table]
    series: list[tables.Table]
    timings: tables.Table
    versions: tables.Table
    figures: Figures
    samples: list[ModelSamples]
    configs: dict[str, Any] = field(default_factory=dict)
    glance: list[tuple[str, str]] = field(default_factory=list)
    since: SinceLast | None = None  # "since the last snapshot" (seqpipe.report.history)


def md_escape(value: Any) -> str:
    r"""Text safe inside a Markdown table cell or line: no raw HTML, pipes or emphasis marks.

    >>> md_escape("<script>a|b</script> *x*")
    '&lt;script&gt;a\\|b&lt;/script&gt; \\*x\\*'
    """
    text = " ".join(str(value).split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\|*_`\[\]#])", r"\\\1", text)


def fence(text: str) -> str:
    """A backtick fence longer than any backtick run inside `text`.

    >>> fence("a ``` b")
    '````'
    """
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _glance(run: RunData, lm: tables.Table) -> list[tuple[str, str]]:
    out = []
    if run.corpus:
        s = run.corpus.summary
        out.append(("corpus", (f"{run.corpus.corpus}: {s.get('tokens', 0):,} tokens, {s.get('lines', 0):,} lines, "
                               f"vocabulary {run.corpus.vocab.get('size', 0):,}")))
    for family in ("n-gram", "neural"):
        rows = [r for r in lm.rows if r["family"] == family and isinstance(r.get("ppl_incl"), (int, float))]
        if rows:
            best = min(rows, key=lambda r: r["ppl_incl"])
            base = f" (uniform {best['uniform']:,.0f})" if best.get("uniform") else ""
            out.append((f"best {family} LM", (f"{best['name']}: test perplexity {best['ppl_incl']:,.2f} "
                                              f"on test set {best['set']}, {best['unit']} tokens{base}")))
    if run.series and run.series.models:
        ks = sorted({k for e in run.series.models.values() for k in e.k_step})
        last = run.series.baselines.get("last_value")
        for k in ks[:1] + ks[-1:] if len(ks) > 1 else ks:
            name, entry = min(run.series.models.items(), key=lambda kv: kv[1].k_step[k].mse if k in kv[1].k_step
                              and kv[1].k_step[k].mse is not None else float("inf"))
            mse = entry.k_step.get(k).mse if entry.k_step.get(k) else None
            ref = last.k_step.get(k).mse if last and last.k_step.get(k) else None
            if mse is not None:
                vs = f"; last value {ref:.4f}" if ref is not None else ""
                out.append((f"series, k = {k}", f"{name}: MSE {mse:.4f}{vs}"))
    if run.info and run.info.timings_s:
        n = len(run.info.timings_s)
        out.append(("wall time", f"{sum(run.info.timings_s.values()):,.1f} s over {n} stage{'s' if n > 1 else ''}"))
    return out


def _configs(run: RunData) -> dict[str, Any]:
    configs: dict[str, Any] = {}
    if run.info and run.info.config:
        configs["run.json"] = run.info.config
    if run.corpus:
        configs["corpus snapshot"] = run.corpus.config
    configs.update({f"n-gram {m.name}": m.config for m in run.ngram if m.config})
    configs.update({f"neural {m.name}": m.config for m in run.neural if m.config})
    if run.series and run.series.config:
        configs["series"] = run.series.config
    return configs


def build_content(run_dir: str | Path, samples: bool = True, on_step: Step | None = None) -> ReportContent:
    """Read a run folder and build every table, figure and sample of its report."""
    step = on_step or (lambda what: None)
    step("reading the run")
    run = read_run(run_dir)
    c = run.corpus
    lm = lm_table.lm_table(run)
    step("drawing figures")
    figures = write_figures(run)
    found = all_samples(run, on_model=lambda name: step(f"samples: {name}")) if samples else []
    return ReportContent(
        run=run,
        stages={"corpus": c is not None, "n-gram LMs": bool(run.ngram), "neural LMs": bool(run.neural),
                "series": run.series is not None},
        corpus=[tables.corpus_summary(c), tables.order_counts(c), tables.top_ngrams(c), tables.inputs(c)] if c else [],
        lm=lm,
        lm_details=[t for t in (lm_table.ngram_details(run), lm_table.neural_details(run),
                                trials_table(run.run_dir)) if t.rows],
        series=[tables.series_errors(run.series, "mse"), tables.series_errors(run.series, "mae")] if run.series else [],
        timings=tables.timings(run), versions=tables.versions(run), figures=figures, samples=found,
        configs=_configs(run), glance=_glance(run, lm), since=since_last(c),
    )


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("seqpipe.report", "templates"),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    env.globals["fence"] = fence
    return env


def render_text(content: ReportContent, template: str) -> str:
    """Fill one template (`report.html.j2` or `report.md.j2`) with the report content."""
    title = f"seqpipe run {content.run.info.run_id if content.run.info else content.run.run_dir.name}"
    return _environment().get_template(template).render(c=content, title=title)


def merge_metrics(run_dir: Path, result: ReportResult, existing: dict[str, Any] | None = None) -> Path:
    """Write the report's result as `report.json`, and as the "report" key of the run's metrics.json under
    its lock, keeping every other key.

    A metrics.json that is not a JSON object is left untouched (the report lists it as unreadable); one
    that a single stage wrote for itself (`existing` of another kind) too: report.json is the only record.
    """
    own = result.write(run_dir / ReportResult.FILE)
    if (existing or {}).get("kind", RUN_METRICS_KIND) != RUN_METRICS_KIND:
        return own
    return update_run_metrics(run_dir, "report", result.entry()) or run_dir / "metrics.json"


def render_report(run_dir: str | Path, *, samples: bool = True, on_step: Step | None = None) -> ReportPaths:
    """Write `report.html`, `report.md` and `plots/` for a run folder; return their paths."""
    started = time.perf_counter()
    content = build_content(run_dir, samples, on_step)
    run = content.run.run_dir
    if on_step:
        on_step("writing the report")
    html = atomic_write_text(run / "report.html", render_text(content, "report.html.j2"))
    md = atomic_write_text(run / "report.md", render_text(content, "report.md.j2"))
    plots = [run / f.src for f in content.figures.all()]
    stages = {k: "ok" if v else "not run" for k, v in content.stages.items()}
    result = ReportResult(
        html=html.name, markdown=md.name, plots=[f.src for f in content.figures.all()], stages=stages,
        lm_perplexity=[{k: v for k, v in r.items() if k != "test"} for r in content.lm.rows],
        problems=content.run.problems, rendered_at=datetime.now(UTC).isoformat(timespec="seconds"),
        render_s=round(time.perf_counter() - started, 3),
    )
    metrics = merge_metrics(run, result, content.run.metrics)
    runs_index.update_for(run)  # runs/index.parquet and index.html list this run's figures from now on
    return ReportPaths(html, md, metrics, plots, stages, result)
