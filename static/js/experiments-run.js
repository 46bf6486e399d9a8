// Run detail: one chart per metric history; zooming fetches the finer range from the API.
(function () {
  const C = window.ExperimentCharts;
  const holder = document.getElementById("history-charts");
  if (!holder) return;
  const base = holder.dataset.historyUrl;
  const mode = () => document.querySelector("input[name=xaxis]:checked").value;

  async function draw(div, zoom) {
    const key = div.dataset.key;
    const params = new URLSearchParams({ max_points: "2000" });
    const zoomed = C.applyZoom(params, zoom);
    const series = await C.getJSON(base + encodeURIComponent(key) + "/history/?" + params);
    const trace = {
      x: C.xValues(series, mode()), y: series.values, type: "scattergl", mode: "lines",
      line: { color: "#4f46e5", width: 1.6 }, name: key,
    };
    const extra = { showlegend: false, xaxis: { title: { text: mode() === "time" ? "time" : "step" }, gridcolor: "#f1f5f9" } };
    if (zoomed) extra.xaxis.range = zoom.range;
    await Plotly.react(div, [trace], C.layout(extra), C.config);
    const note = document.querySelector(`[data-note-for="${CSS.escape(key)}"]`);
    if (note) {
      note.textContent = series.returned.toLocaleString() + " of " + series.count.toLocaleString() + " points" + (zoomed ? " (zoomed)" : "");
    }
  }

  const charts = Array.from(holder.querySelectorAll(".history-chart"));
  charts.forEach((div) => {
    draw(div).then(() => C.onZoom(div, mode, (zoom) => draw(div, zoom)));
  });
  document.querySelectorAll("input[name=xaxis]").forEach((radio) =>
    radio.addEventListener("change", () => charts.forEach((div) => draw(div)))
  );
})();
