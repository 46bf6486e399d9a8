// Compare page: parallel coordinates, scatter of any two columns, overlaid histories.
(function () {
  const C = window.ExperimentCharts;
  const runIds = document.currentScript.dataset.runIds;
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const runs = data.runs;

  // Every comparable column: params (numeric or categorical) and metrics.
  const columns = [];
  data.metrics.forEach((m) => columns.push({ id: "metrics." + m.key, label: m.key, get: (r) => r.metrics[m.key], direction: m.direction }));
  data.params.forEach((key) => columns.push({ id: "params." + key, label: key, get: (r) => r.params[key] }));

  function numeric(column) {
    return runs.every((r) => { const v = column.get(r); return v === undefined || v === null || v === "" || !isNaN(Number(v)); });
  }

  function dimension(column) {
    const raw = runs.map(column.get);
    if (numeric(column)) {
      return { label: column.label, values: raw.map((v) => (v === undefined || v === null ? NaN : Number(v))) };
    }
    const categories = Array.from(new Set(raw.map((v) => (v === undefined ? "—" : String(v))))).sort();
    return {
      label: column.label,
      values: raw.map((v) => categories.indexOf(v === undefined ? "—" : String(v))),
      tickvals: categories.map((_, i) => i),
      ticktext: categories,
    };
  }

  // Default axes: up to three params that differ and every run has, then up to five final
  // metrics (those without the val_ prefix of per-step curves). More axes crowd the labels.
  const metricIds = data.metrics.map((m) => "metrics." + m.key);
  const finals = metricIds.filter((id) => !id.startsWith("metrics.val_"));
  const shared = data.differing_params.filter((key) => runs.every((r) => key in r.params));
  const defaults = shared.slice(0, 3).map((k) => "params." + k)
    .concat((finals.length ? finals : metricIds).slice(0, 5));

  const axesBox = document.getElementById("parcoords-axes");
  columns.forEach((column) => {
    const label = document.createElement("label");
    label.className = "form-check d-block";
    label.innerHTML = '<input class="form-check-input" type="checkbox"> <span></span>';
    label.querySelector("input").value = column.id;
    label.querySelector("input").checked = defaults.includes(column.id);
    label.querySelector("span").textContent = column.id;
    axesBox.appendChild(label);
  });
  axesBox.addEventListener("change", drawParcoords);

  function drawParcoords() {
    const picked = Array.from(axesBox.querySelectorAll("input:checked")).map((b) => b.value);
    const dims = columns.filter((c) => picked.includes(c.id)).map(dimension);
    const colorColumn = columns.find((c) => c.id === finals[0]) || columns[0];
    const colorValues = runs.map((r) => Number(colorColumn.get(r)));
    const trace = {
      type: "parcoords",
      dimensions: dims,
      line: { color: colorValues, colorscale: "Viridis", showscale: true, colorbar: { title: { text: colorColumn.label }, thickness: 12 } },
      labelfont: { size: 11 }, tickfont: { size: 10 }, labelangle: -20,
    };
    Plotly.react("parcoords", [trace], C.layout({ margin: { l: 64, r: 72, t: 84, b: 28 } }), C.config);
  }

  const xSelect = document.getElementById("scatter-x");
  const ySelect = document.getElementById("scatter-y");
  columns.forEach((column) => {
    [xSelect, ySelect].forEach((select) => select.add(new Option(column.id, column.id)));
  });
  const paramChoice = data.differing_params[0] ? "params." + data.differing_params[0] : columns[0].id;
  xSelect.value = finals[1] || paramChoice;
  ySelect.value = finals[0] || columns[0].id;
  [xSelect, ySelect].forEach((select) => select.addEventListener("change", drawScatter));

  function drawScatter() {
    const x = columns.find((c) => c.id === xSelect.value);
    const y = columns.find((c) => c.id === ySelect.value);
    const traces = runs.map((run) => ({
      x: [x.get(run)], y: [y.get(run)], name: run.name, type: "scatter", mode: "markers",
      marker: { size: 12, color: run.color, line: { width: 1, color: "#fff" } },
      hovertemplate: run.name + "<br>" + x.label + ": %{x}<br>" + y.label + ": %{y}<extra></extra>",
    }));
    Plotly.react("scatter", traces, C.layout({
      hovermode: "closest", showlegend: false,
      xaxis: { title: { text: x.id }, gridcolor: "#f1f5f9" },
      yaxis: { title: { text: y.id }, gridcolor: "#f1f5f9" },
    }), C.config);
  }

  const keySelect = document.getElementById("history-key");
  const historyDiv = document.getElementById("histories");
  const mode = () => document.querySelector("input[name=xaxis]:checked").value;
  const colorOf = Object.fromEntries(runs.map((r) => [r.run_id, r]));

  async function drawHistories(zoom) {
    const key = keySelect.value;
    const note = document.getElementById("history-note");
    if (!key) { note.textContent = "No metric history in these runs."; return; }
    const params = new URLSearchParams({ runs: runIds, key: key });
    const zoomed = C.applyZoom(params, zoom);
    const series = await C.getJSON(data.histories_url + "?" + params);
    const traces = series.map((s) => ({
      x: C.xValues(s, mode()), y: s.values, name: colorOf[s.run_id].name, type: "scattergl", mode: "lines",
      line: { color: colorOf[s.run_id].color, width: 1.8 },
    }));
    const extra = { xaxis: { title: { text: mode() === "time" ? "time" : "step" }, gridcolor: "#f1f5f9" }, yaxis: { title: { text: key }, gridcolor: "#f1f5f9" } };
    if (zoomed) extra.xaxis.range = zoom.range;
    await Plotly.react(historyDiv, traces, C.layout(extra), C.config);
    const shown = series.reduce((n, s) => n + s.returned, 0);
    const total = series.reduce((n, s) => n + s.count, 0);
    note.textContent = shown.toLocaleString() + " of " + total.toLocaleString() + " points shown" + (zoomed ? " (zoomed)" : "");
  }

  keySelect.addEventListener("change", () => drawHistories());
  document.querySelectorAll("input[name=xaxis]").forEach((r) => r.addEventListener("change", () => drawHistories()));

  document.getElementById("hide-equal").addEventListener("change", (event) => {
    document.getElementById("param-table").classList.toggle("hide-equal", event.target.checked);
  });
  document.getElementById("copy-link").addEventListener("click", (event) => {
    navigator.clipboard && navigator.clipboard.writeText(window.location.href);
    event.target.textContent = "Link copied";
  });

  drawParcoords();
  drawScatter();
  drawHistories().then(() => C.onZoom(historyDiv, mode, (zoom) => drawHistories(zoom)));
})();
