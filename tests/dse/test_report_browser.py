"""The Pareto explorer as a person uses it, in real headless Chromium (playwright driving the system's
`chromium`; nothing is downloaded): every figure renders, hovering shows the configuration, clicking
a point shows its command and draws its per-point figures (or says why one cannot be drawn), a
slider refilters the table, the CSV holds the shown rows, and the page logs no JavaScript error.

Loading the page costs 20-100 s in software WebGL on a loaded 2-core machine, so the tests share one
page, in file order: rendering (reads only), hover and clicks (select points), then the slider
(filters). The screenshot of the page as the last test left it is kept at
`<basetemp>/browser0/report.png` (`pytest --basetemp=DIR` keeps it in DIR).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from optuna.trial import TrialState
from study_maker import Trial, make_study, report_data

from dse.results.explorer.sources import resolve_inputs
from dse.results.explorer.studies import load_report
from dse.results.explorer.write import write_explorer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)"),
    pytest.mark.skipif(
        sync_playwright is None, reason="playwright is not installed (pip install -e '.[dev]')"
    ),
]

MS, GIB = 1e-3, 2**30
LOAD_TIMEOUT_MS = 300_000
TRIALS = [
    Trial(0.01, 8 * MS, GIB),  # 0-3: a loss/latency trade-off at equal memory, all Pareto
    Trial(0.02, 6 * MS, GIB, stacks=4),
    Trial(0.04, 4 * MS, GIB, algo="uniform"),
    Trial(0.08, 2 * MS, GIB, algo="uniform", stacks=4),
    Trial(0.02, 7 * MS, GIB),  # 4-6: each dominated by the one three places up
    Trial(0.05, 5 * MS, GIB, stacks=4),
    Trial(0.09, 3 * MS, GIB, algo="uniform"),
    Trial(0.03, algo="pq", costed=True),  # 7: the cost model's 8.7 ms, 0.63 GiB: Pareto by its memory
    Trial(0.10, 10 * MS, 2 * GIB),  # 8: dominated by everything
    Trial(0.01, 1 * MS, GIB / 4, fits=False),  # 9, 10: would dominate, but do not fit
    Trial(0.50, 1.5 * MS, 4 * GIB, fits=False, algo="uniform"),
    Trial(state=TrialState.FAIL, fail_reason="ValueError: 3-bit uniform is not supported"),
]
PARETO = [0, 1, 2, 3, 7]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    url = make_study(tmp, "demo", TRIALS)
    html = tmp / "demo.html"
    write_explorer(load_report(resolve_inputs([url])), html, images=False)
    return html


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (playwright's sync API allows one at a time)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_report(browser, html: Path, ready: str):
    """A new page showing `html`, once `ready` (a selector) is drawn; returns (page, JavaScript errors)."""
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    # A cap, not a measurement: 4.8 MB of inline plotly.js and software WebGL on a loaded 2-core machine.
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto(html.as_uri())
    page.wait_for_selector(ready)
    return page, errors


@pytest.fixture(scope="module")
def page(browser, report):
    """The report open in headless Chromium; yields (page, JavaScript errors seen so far)."""
    page, errors = open_report(browser, report, "#front2d .main-svg")
    yield page, errors
    page.screenshot(path=report.parent / "report.png", full_page=True)
    page.context.close()


def table_trials(page) -> list[int]:
    return [int(t) for t in page.locator("#points tbody tr td:first-child").all_inner_texts()]


def trace_points(page, div: str, name_suffix: str):
    """The SVG points of the trace of `div` whose name ends with `name_suffix`."""
    names = page.evaluate(f"document.getElementById('{div}')._fullData.map(t => t.name)")
    index = next(i for i, n in enumerate(names) if n.endswith(name_suffix))
    return page.locator(f"#{div} .scatterlayer .trace").nth(index).locator(".point")


def test_every_figure_renders_every_trial(page, report):
    page, errors = page
    figures = page.locator(".figure")
    # Fronts, parallel coordinates, hypervolume, one importance figure (the study has >= 5 trials).
    assert figures.count() == 5
    for i in range(figures.count()):
        assert figures.nth(i).locator(".main-svg").count() >= 1, figures.nth(i).get_attribute("id")
    # All eleven complete trials on the 2-D front (the failed one has no values).
    assert page.locator("#front2d .scatterlayer .point").count() == 11
    assert trace_points(page, "front2d", "Pareto set").count() == len(PARETO)
    assert trace_points(page, "front2d", "infeasible: broke fits").count() == 2
    titles = page.locator("#front2d .xtitle, #front2d .ytitle").all_text_contents()
    assert titles == ["latency (latency_s, ms) ↓", "accuracy loss, est. (loss_increase_est, nats/token) ↓"]
    assert sorted(table_trials(page)) == PARETO
    assert errors == []


def test_hover_shows_the_configuration_and_a_click_selects(page, report):
    page, errors = page
    data = report_data(report)
    # Trial 7, the one costed by the cost model: its point on the 2-D front.
    rows = page.evaluate(
        "document.getElementById('front2d')._fullData.find(t => t.name.endsWith('Pareto set')).customdata"
    )
    point = trace_points(page, "front2d", "Pareto set").nth(
        [data["rows"]["number"][r] for r in rows].index(7)
    )
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("#front2d .hoverlayer .hovertext")
    hover.wait_for()
    assert "demo · trial 7" in hover.text_content()
    assert "algo=pq" in hover.text_content() and "hw.pim.stacks=8" in hover.text_content()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#details-body:not([hidden])")
    assert page.locator("#details-title").inner_text() == "demo, trial 7"
    assert page.locator("#command").inner_text() == "pimdse algo=pq hw.pim.stacks=8"
    # The selected point is ringed on the front and its table row marked.
    assert trace_points(page, "front2d", "selected").count() == 1
    assert page.locator("#points tbody tr.selected td:first-child").inner_text() == "7"
    # Its per-point figures, one plot each: breakdown, roofline, KV footprint, capacity wall.
    figures = page.locator("#point-figures .point-figure")
    assert [figures.nth(i).get_attribute("data-figure") for i in range(figures.count())] == [
        "breakdown",
        "roofline",
        "kv",
        "capacity",
    ]
    for i in range(figures.count()):
        figures.nth(i).locator(".main-svg").first.wait_for()
    assert page.locator("#point-figures .fig-error").count() == 0
    assert errors == []


def test_a_point_without_cost_details_says_why_in_place_of_its_figures(page, report):
    page, errors = page
    page.click("#points tbody tr:has(td:first-child:text-is('0'))")
    page.wait_for_function("document.getElementById('details-title').textContent === 'demo, trial 0'")
    # Trial 0 stored no per-kernel results: the figures that need them say so; the capacity wall
    # needs only the trial's overrides.
    assert page.locator("#point-figures .fig-error").all_inner_texts() == [
        "trial 0 has no per-kernel results ('kernels.<name>.seconds')",
        "trial 0 has no per-kernel results ('kernels.<name>.seconds')",
        "trial 0 has no KV footprint split ('kv_bytes_split.<part>')",
    ]
    page.locator("#point-figures .point-figure[data-figure=capacity] .main-svg").first.wait_for()
    assert errors == []


def test_a_slider_refilters_the_table_and_the_csv_holds_its_rows(page, report):
    page, errors = page
    steps = report_data(report)["filters"][1]["steps"]  # max latency, over the distinct latencies
    slider = page.locator("#filter-objective\\:1")
    slider.fill(str(steps.index(5 * MS)))
    assert page.locator("label.filter output").nth(1).inner_text() == "≤ 5 ms"
    # Within 5 ms: trials 2, 3, 5, 6 (and the infeasible 9, 10); 5 and 6 stay dominated.
    assert table_trials(page) == [2, 3]
    assert page.locator("#front2d .scatterlayer .point").count() == 6
    with page.expect_download() as download:
        page.click("#download-csv")
    path = Path(download.value.path())
    rows = list(csv.DictReader(path.open()))
    assert [int(r["trial"]) for r in rows] == [2, 3]
    assert [float(r["latency (ms)"]) for r in rows] == pytest.approx([4.0, 2.0])
    assert [r["command"] for r in rows] == [
        "pimdse algo=uniform hw.pim.stacks=8",
        "pimdse algo=uniform hw.pim.stacks=4",
    ]
    # Every feasible trial within the bound, not only the Pareto points.
    page.check("input[name=table-mode][value=all]")
    assert sorted(table_trials(page)) == [2, 3, 5, 6]
    assert errors == []


def test_two_studies_share_one_front_each_in_its_colour(browser, tmp_path):
    fp16 = make_study(
        tmp_path, "attacc-fp16", [Trial(0.0, 3 * MS, 4 * GIB, algo="uniform"), Trial(0.0, 4 * MS, 2 * GIB)]
    )
    pq = make_study(tmp_path, "aqpim-pq", [Trial(0.02, 2 * MS, GIB), Trial(0.05, 1 * MS, GIB / 2, stacks=4)])
    html = tmp_path / "both.html"
    write_explorer(load_report(resolve_inputs([fp16, pq])), html, images=False)
    page, errors = open_report(browser, html, "#parallel .main-svg")
    colours = page.evaluate(
        "Object.fromEntries(document.getElementById('front2d')._fullData"
        ".filter(t => t.name.endsWith('Pareto set')).map(t => [t.name, t.marker.color]))"
    )
    page.screenshot(path=tmp_path / "both.png", full_page=True)
    page.context.close()
    # Each study's own front (both of its trials trade off), in the first two study colours.
    data = report_data(html)
    assert colours == {
        "attacc-fp16: Pareto set": data["studyColors"][0],
        "aqpim-pq: Pareto set": data["studyColors"][1],
    }
    assert errors == []
