// Runs table: row selection kept across pages (sessionStorage), compare, column picker.
(function () {
  const script = document.currentScript;
  const compareUrl = script.dataset.compareUrl;
  const storeKey = "experiments.selection";
  const MAX = 50;

  function selection() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || "[]"); } catch (e) { return []; }
  }
  function save(ids) { sessionStorage.setItem(storeKey, JSON.stringify(ids)); }

  function refresh() {
    const ids = selection();
    document.querySelectorAll(".run-select").forEach((box) => {
      box.checked = ids.includes(box.value);
      box.closest("tr").classList.toggle("selected", box.checked);
    });
    const note = document.getElementById("selection-note");
    const button = document.getElementById("compare-selected");
    if (note) note.textContent = ids.length + " selected" + (ids.length > MAX ? " (max " + MAX + ")" : "");
    if (button) button.disabled = ids.length < 2 || ids.length > MAX;
  }

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box.classList.contains("run-select")) {
      const ids = selection().filter((id) => id !== box.value);
      if (box.checked) ids.push(box.value);
      save(ids);
      refresh();
    } else if (box.id === "select-page") {
      let ids = selection();
      document.querySelectorAll(".run-select").forEach((row) => {
        ids = ids.filter((id) => id !== row.value);
        if (box.checked) ids.push(row.value);
      });
      save(ids);
      refresh();
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.id === "compare-selected") {
      window.location = compareUrl + "?runs=" + selection().join(",");
    } else if (event.target.id === "clear-selection") {
      save([]);
      refresh();
    }
  });

  document.addEventListener("submit", (event) => {
    if (event.target.id !== "column-picker") return;
    event.preventDefault();
    const picked = Array.from(event.target.querySelectorAll("input:checked")).map((b) => b.value);
    const url = new URL(window.location.href);
    url.searchParams.set("columns", picked.join(","));
    url.searchParams.delete("page");
    window.location = url.toString();
  });

  refresh();
  document.body.addEventListener("htmx:afterSwap", refresh);
})();
