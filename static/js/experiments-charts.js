// Shared chart helpers: Plotly layout, history fetch, zoom-to-fetch on relayout.
window.ExperimentCharts = (function () {
  const font = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#374151" };

  function layout(extra) {
    return Object.assign({
      font: font,
      margin: { l: 56, r: 16, t: 12, b: 44 },
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
      hovermode: "x unified",
      legend: { orientation: "h", y: -0.22, font: { size: 11 } },
      xaxis: { gridcolor: "#f1f5f9", zeroline: false },
      yaxis: { gridcolor: "#f1f5f9", zeroline: false },
    }, extra || {});
  }

  const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(url + " answered " + response.status);
    return response.json();
  }

  function xValues(series, mode) {
    return mode === "time" ? series.timestamps.map((t) => new Date(t)) : series.steps;
  }

  // After a zoom (relayout with a new x range) call `reload(zoom)`, where zoom holds the
  // query parameters for the finer range (step_min/max or time_min/max); on reset, null.
  function onZoom(div, mode, reload) {
    div.on("plotly_relayout", (event) => {
      if (event["xaxis.autorange"]) { reload(null); return; }
      const range = event["xaxis.range"] || [event["xaxis.range[0]"], event["xaxis.range[1]"]];
      const a = range[0], b = range[1];
      if (a === undefined || b === undefined) return;
      if (mode() === "time") {
        reload({ time_min: Math.floor(new Date(a).getTime()), time_max: Math.ceil(new Date(b).getTime()), range: [a, b] });
      } else {
        reload({ step_min: Math.floor(a), step_max: Math.ceil(b), range: [a, b] });
      }
    });
  }

  // Adds a zoom's query parameters to `params`; returns whether the chart is zoomed.
  function applyZoom(params, zoom) {
    if (!zoom) return false;
    Object.entries(zoom).forEach(([name, value]) => { if (name !== "range") params.set(name, value); });
    return true;
  }

  return { layout, config, getJSON, xValues, onZoom, applyZoom };
})();
