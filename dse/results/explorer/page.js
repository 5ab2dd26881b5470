// The Pareto explorer's page: draws the fronts, parallel coordinates and table from the data the
// report embedded (dse/results/explorer/page.py), applies the sliders' bounds, recomputes each
// study's Pareto set among the trials that pass them, selects points and downloads the shown rows.
// Values are kept in their stored units; axes multiply them by each objective's `scale`.
"use strict";

const D = JSON.parse(document.getElementById("pimdse-data").textContent);
const R = D.rows;
const N = R.number.length;
const NOBJ = D.objectives.length;
const CONFIG = { responsive: true, displaylogo: false };
const state = {
  x: D.defaultAxes[0],
  y: D.defaultAxes[1],
  bounds: D.filters.map((f) => (f.bound === "max" ? f.steps.length - 1 : 0)),
  tableMode: "pareto",
  selected: null,
};

function layout(extra) {
  return Object.assign({ template: D.template }, extra);
}

function studyColor(s) {
  return D.studyColors[s % D.studyColors.length];
}

function minimised(i, k) {
  const v = R.values[k][i];
  return D.objectives[k].direction === "maximize" ? -v : v;
}

function shownValue(i, k) {
  const v = R.values[k][i];
  return v === null ? null : v * D.axes[k].scale;
}

// A trial passes when every slider's bound holds for it (a value it does not have passes).
function passes(i) {
  for (let f = 0; f < D.filters.length; f++) {
    const filter = D.filters[f];
    const v = filter.objective !== null ? R.values[filter.objective][i] : R.filterValues[filter.id][i];
    if (v === null || filter.steps.length === 0) continue;
    const bound = filter.steps[state.bounds[f]];
    if (filter.bound === "max" ? v > bound : v < bound) return false;
  }
  return true;
}

// Rows no other row of `rows` dominates on the objectives `ks` (duplicates are all kept).
function nondominated(rows, ks) {
  return rows.filter((a) =>
    !rows.some((b) => {
      let better = false;
      for (const k of ks) {
        const va = minimised(a, k), vb = minimised(b, k);
        if (vb > va) return false;
        if (vb < va) better = true;
      }
      return better;
    })
  );
}

function allObjectives() {
  return D.objectives.map((_, k) => k);
}

// What the filters leave: passing rows, feasible passing rows, and each study's Pareto set among them.
function currentView() {
  const passing = [];
  for (let i = 0; i < N; i++) if (passes(i)) passing.push(i);
  const feasible = passing.filter((i) => R.feasible[i]);
  const pareto = new Set();
  D.studies.forEach((_, s) => {
    nondominated(feasible.filter((i) => R.study[i] === s), allObjectives()).forEach((i) => pareto.add(i));
  });
  return { passing, feasible, pareto };
}

function markerTrace(rows, on, extra) {
  const names = ["x", "y", "z"];
  const trace = Object.assign({ mode: "markers", hoverinfo: "text", customdata: rows,
    hovertext: rows.map((i) => R.hover[i].replace(/\n/g, "<br>")) }, extra);
  on.forEach((k, n) => { trace[names[n]] = rows.map((i) => shownValue(i, k)); });
  if (on.length === 3) trace.type = "scatter3d";
  return trace;
}

function frontTraces(view, on) {
  const traces = [];
  const single = D.studies.length === 1;
  const colourBy = single ? [...Array(NOBJ).keys()].find((k) => !on.includes(k)) : undefined;
  D.studies.forEach((study, s) => {
    const mine = (i) => R.study[i] === s;
    const colour = studyColor(s);
    const others = view.feasible.filter((i) => mine(i) && !view.pareto.has(i));
    if (others.length) {
      traces.push(markerTrace(others, on, { name: `${study.name}: other feasible`, legendgroup: study.name,
        marker: Object.assign({}, D.style.dominated, { color: single ? D.style.other_color : colour }) }));
    }
    const front = view.feasible.filter((i) => mine(i) && view.pareto.has(i));
    if (front.length) {
      const marker = Object.assign({}, D.style.pareto, { color: colour });
      if (colourBy !== undefined) {
        Object.assign(marker, { color: front.map((i) => shownValue(i, colourBy)), colorscale: D.style.colorscale,
          showscale: true, colorbar: { title: { text: D.axes[colourBy].title } } });
      }
      traces.push(markerTrace(front, on, { name: `${study.name}: Pareto set`, legendgroup: study.name, marker }));
    }
    if (on.length === 2) {
      const line = nondominated(view.feasible.filter(mine), on)
        .sort((a, b) => shownValue(a, on[0]) - shownValue(b, on[0]));
      if (line.length) {
        traces.push({ x: line.map((i) => shownValue(i, on[0])), y: line.map((i) => shownValue(i, on[1])),
          mode: "lines", name: `${study.name}: 2-D front`, legendgroup: study.name, hoverinfo: "skip",
          line: { color: colour, width: 1.5, dash: "dot",
            shape: D.objectives[on[0]].direction === "minimize" ? "hv" : "vh" } });
      }
    }
  });
  const infeasible = view.passing.filter((i) => !R.feasible[i]);
  [...new Set(infeasible.map((i) => R.broke[i]))].sort().forEach((what, n) => {
    const rows = infeasible.filter((i) => R.broke[i] === what);
    const symbol = D.style.infeasible_symbols[n % D.style.infeasible_symbols.length];
    traces.push(markerTrace(rows, on, { name: `infeasible: broke ${what}`,
      marker: Object.assign({}, D.style.infeasible, { symbol }) }));
  });
  if (state.selected !== null && view.passing.includes(state.selected)) {
    traces.push(markerTrace([state.selected], on, { name: "selected", marker: D.style.selected,
      showlegend: false }));
  }
  return traces;
}

function axisLayout(k, short) {
  return { title: { text: short ? D.axes[k].short : D.axes[k].title }, type: D.axes[k].log ? "log" : "linear" };
}

function showNote(id, text) {
  const div = document.getElementById(id);
  if (div.classList.contains("js-plotly-plot")) Plotly.purge(div);
  div.className = "note";
  div.textContent = text;
}

function drawFront2d(view) {
  if (N === 0) return showNote("front2d", D.emptyMessage);
  const on = NOBJ > 1 ? [state.x, state.y] : [0];
  if (NOBJ === 1) {
    // One objective: its values against the trial number.
    const rows = view.passing;
    return Plotly.react("front2d", [{ x: rows.map((i) => R.number[i]), y: rows.map((i) => shownValue(i, 0)),
      mode: "markers", customdata: rows, hovertext: rows.map((i) => R.hover[i].replace(/\n/g, "<br>")),
      hoverinfo: "text", marker: { color: rows.map((i) => studyColor(R.study[i])) } }],
      layout({ xaxis: { title: { text: "trial number" } }, yaxis: axisLayout(0), margin: { t: 30 } }), CONFIG);
  }
  Plotly.react("front2d", frontTraces(view, on), layout({
    xaxis: axisLayout(on[0]), yaxis: axisLayout(on[1]), margin: { t: 30 },
    legend: { orientation: "h", y: -0.2 }, uirevision: `${state.x},${state.y}` }), CONFIG);
}

function drawFront3d(view) {
  if (NOBJ < 3) return showNote("front3d", `The report's studies share ${NOBJ} objective(s): no 3-objective front.`);
  if (N === 0) return showNote("front3d", D.emptyMessage);
  // Short titles in 3-D: a long one runs past the scene, which clips it.
  const scene = { xaxis: axisLayout(0, true), yaxis: axisLayout(1, true), zaxis: axisLayout(2, true),
    camera: D.style.camera };
  Plotly.react("front3d", frontTraces(view, [0, 1, 2]), layout({ scene, margin: { t: 30, l: 0, r: 0, b: 0 },
    legend: { orientation: "h", y: -0.05 }, uirevision: "front3d" }), CONFIG);
}

function drawParallel(view) {
  const rows = view.feasible;
  if (rows.length === 0) return showNote("parallel", N === 0 ? D.emptyMessage : "No feasible trial passes the filters.");
  const single = D.studies.length === 1;
  const colour = rows.map((i) => (single ? (view.pareto.has(i) ? 1 : 0) : R.study[i]));
  const scale = single ? [[0, D.style.other_color], [1, studyColor(0)]]
    : D.studies.map((_, s) => [D.studies.length > 1 ? s / (D.studies.length - 1) : 0, studyColor(s)]);
  const dimensions = D.parallel.map((d) => {
    const out = { label: d.label, values: rows.map((i) => d.values[i]) };
    if (d.ticktext) Object.assign(out, { tickvals: d.ticktext.map((_, n) => n), ticktext: d.ticktext,
      range: [0, Math.max(1, d.ticktext.length - 1)] });
    return out;
  });
  const div = document.getElementById("parallel");
  div.className = "figure";
  Plotly.react(div, [{ type: "parcoords", dimensions,
    line: { color: colour, colorscale: scale, cmin: 0, cmax: Math.max(1, D.studies.length - 1) } }],
  layout({ margin: { l: 60, r: 60, t: 60, b: 30 } }), CONFIG);
}

function tableRows(view) {
  const rows = state.tableMode === "pareto" ? view.feasible.filter((i) => view.pareto.has(i)) : view.feasible;
  return rows.slice().sort((a, b) => R.study[a] - R.study[b] || minimised(a, 0) - minimised(b, 0));
}

function tableColumns() {
  const columns = [];
  if (D.studies.length > 1) columns.push({ head: "study", text: (i) => D.studies[R.study[i]].name, csv: (i) => D.studies[R.study[i]].name });
  columns.push({ head: "trial", text: (i) => String(R.number[i]), csv: (i) => R.number[i] });
  D.objectives.forEach((o, k) => columns.push({ head: D.axes[k].short, text: (i) => R.cells[k][i],
    csvHead: D.axes[k].unit ? `${o.name} (${D.axes[k].unit})` : o.name, csv: (i) => shownValue(i, k) }));
  D.params.forEach((p) => columns.push({ head: p, text: (i) => R.params[p][i], csv: (i) => R.params[p][i] }));
  columns.push({ head: "command", text: null, csv: (i) => R.command[i] });
  return columns;
}

function drawTable(view) {
  const rows = tableRows(view);
  const columns = tableColumns().filter((c) => c.text !== null);
  const table = document.getElementById("points");
  table.tHead.innerHTML = "";
  const head = table.tHead.insertRow();
  columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c.head; head.appendChild(th); });
  const body = table.tBodies[0];
  body.innerHTML = "";
  rows.forEach((i) => {
    const tr = body.insertRow();
    tr.dataset.row = i;
    if (i === state.selected) tr.className = "selected";
    columns.forEach((c) => { tr.insertCell().textContent = c.text(i); });
  });
  document.getElementById("table-count").textContent =
    `(${rows.length} ${state.tableMode === "pareto" ? "Pareto points" : "feasible trials"})`;
}

function csvField(v) {
  const text = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function downloadCsv() {
  const rows = tableRows(currentView());
  const columns = tableColumns();
  const lines = [columns.map((c) => csvField(c.csvHead || c.head)).join(",")];
  rows.forEach((i) => lines.push(columns.map((c) => csvField(c.csv(i))).join(",")));
  const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${D.fileStem}-${state.tableMode}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function drawSummary(view) {
  const parts = D.filters.map((f, n) => `${f.label} ${f.bound === "max" ? "≤" : "≥"} ${f.labels[state.bounds[n]] ?? "–"}`);
  document.getElementById("filter-summary").textContent =
    `${view.passing.length} of ${N} complete trials pass (${view.feasible.length} feasible, ${view.pareto.size} on a Pareto set)` +
    (parts.length ? `: ${parts.join(", ")}` : "");
}

// The parallel coordinates are redrawn only when asked: in software WebGL they take seconds, so
// a slider redraws them when released, not at every step of a drag.
function redraw(withParallel) {
  const view = currentView();
  drawFront2d(view);
  drawFront3d(view);
  if (withParallel) drawParallel(view);
  drawTable(view);
  drawSummary(view);
}

function select(i) {
  state.selected = i;
  document.getElementById("details-empty").hidden = true;
  document.getElementById("details-body").hidden = false;
  document.getElementById("details-title").textContent = `${D.studies[R.study[i]].name}, trial ${R.number[i]}`;
  document.getElementById("command").textContent = R.command[i];
  const lines = document.getElementById("details-lines");
  lines.innerHTML = "";
  R.hover[i].split("\n").slice(1).concat(R.metrics[i] ? R.metrics[i].split("\n") : []).forEach((text) => {
    lines.appendChild(document.createElement("li")).textContent = text;
  });
  drawPointFigures(i);
  redraw(false);
}

function drawPointFigures(i) {
  const box = document.getElementById("point-figures");
  box.querySelectorAll(".js-plotly-plot").forEach((div) => Plotly.purge(div));
  box.innerHTML = "";
  const figures = D.points[String(i)];
  if (!figures) {
    const p = box.appendChild(document.createElement("p"));
    p.className = "note";
    p.textContent = D.pointsNote;
    return;
  }
  D.pointFigures.forEach((spec) => {
    const panel = box.appendChild(document.createElement("div"));
    panel.appendChild(document.createElement("h3")).textContent = spec.title;
    const div = panel.appendChild(document.createElement("div"));
    const figure = figures[spec.id];
    if (!figure || figure.error !== undefined) {
      div.className = "fig-error";
      div.textContent = figure ? figure.error : "not computed";
      return;
    }
    div.className = "figure point-figure";
    div.dataset.figure = spec.id;
    Plotly.newPlot(div, figure.data, layout(figure.layout), CONFIG);
  });
}

function drawStatic() {
  const hv = D.figures.hypervolume;
  if (hv.figure) Plotly.newPlot("hypervolume", hv.figure.data, layout(hv.figure.layout), CONFIG);
  else showNote("hypervolume", hv.note);
  const box = document.getElementById("importance");
  D.figures.importance.forEach((item) => {
    if (item.figure) {
      const div = box.appendChild(document.createElement("div"));
      div.className = "figure";
      Plotly.newPlot(div, item.figure.data, layout(item.figure.layout), CONFIG);
    }
    if (item.note) {
      const p = box.appendChild(document.createElement("p"));
      p.className = "note";
      p.textContent = item.note;
    }
  });
}

function buildStudies() {
  const list = document.getElementById("studies");
  D.studies.forEach((study, s) => {
    const li = list.appendChild(document.createElement("li"));
    const swatch = li.appendChild(document.createElement("span"));
    swatch.className = "swatch";
    swatch.style.background = studyColor(s);
    li.appendChild(document.createTextNode(`${study.name} (${study.storage}): ${study.counts}`));
    study.notes.forEach((note) => {
      const span = li.appendChild(document.createElement("span"));
      span.className = "study-note";
      span.textContent = note;
    });
  });
}

function buildControls() {
  ["x-axis", "y-axis"].forEach((id, n) => {
    const select = document.getElementById(id);
    D.objectives.forEach((o, k) => select.add(new Option(o.name, k)));
    select.value = n === 0 ? state.x : state.y;
    select.disabled = NOBJ < 2;
    select.addEventListener("change", () => {
      state[n === 0 ? "x" : "y"] = Number(select.value);
      drawFront2d(currentView());
    });
  });
  const box = document.getElementById("filters");
  D.filters.forEach((f, n) => {
    const label = box.appendChild(document.createElement("label"));
    label.className = "filter";
    label.appendChild(document.createTextNode(f.label));
    const input = label.appendChild(document.createElement("input"));
    Object.assign(input, { type: "range", min: 0, max: Math.max(0, f.steps.length - 1), step: 1, value: state.bounds[n] });
    input.id = `filter-${f.id}`;
    input.disabled = f.steps.length < 2;
    const out = label.appendChild(document.createElement("output"));
    const show = () => { out.textContent = `${f.bound === "max" ? "≤" : "≥"} ${f.labels[state.bounds[n]] ?? "–"}`; };
    show();
    input.addEventListener("input", () => { state.bounds[n] = Number(input.value); show(); redraw(false); });
    input.addEventListener("change", () => drawParallel(currentView()));
  });
  document.querySelectorAll("input[name=table-mode]").forEach((radio) =>
    radio.addEventListener("change", () => { state.tableMode = radio.value; drawTable(currentView()); }));
  document.getElementById("download-csv").addEventListener("click", downloadCsv);
  document.querySelector("#points tbody").addEventListener("click", (event) => {
    const tr = event.target.closest("tr");
    if (tr) select(Number(tr.dataset.row));
  });
}

function listenForClicks() {
  ["front2d", "front3d"].forEach((id) => {
    const div = document.getElementById(id);
    if (!div.on) return;
    div.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && typeof point.customdata === "number") select(point.customdata);
    });
  });
}

buildStudies();
buildControls();
redraw(true);
drawStatic();
listenForClicks();
