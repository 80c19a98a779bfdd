"""The run report: `runs/<run_id>/report.html`, `report.md` and `plots/`, re-rendered from a run's files.

`collect.read_run` reads whatever stages a run folder holds into one typed `RunData`; `tables` turns it
into rows (corpus, one language-model table, series errors, timings); `plots` writes the PNGs into
`plots/`; `samples` reads the text each model generated when it was trained (its `samples.json`);
`render.render_report` writes everything. Nothing here trains, estimates or loads a model.
A stage that did not run is reported as "not run", never an error.
"""
