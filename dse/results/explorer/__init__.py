"""The Pareto explorer: one self-contained interactive HTML report of one or more studies.

sources.py  inputs (storage URLs, sweep directories) -> (storage, study name)
studies.py  the studies read once: shared objectives, Pareto sets, hypervolume, importance
texts.py    axis titles and units, hover texts, the command that reproduces a trial
figures.py  the plotly figures (static images) and the look the page's script shares
points.py   per-point figures of the selectable points
build.py    everything a report shows, derived once
page.py     the page: data as JSON, page.html / page.js / page.css, plotly.js inline
images.py   PNG/SVG of each figure (kaleido)
cli.py      `pimdse-report`
"""
