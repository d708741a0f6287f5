/* SQL reports: draw the results' Chart tab (bars or lines) from the JSON the page carries. */
(function () {
  var source = document.getElementById("report-chart-data");
  var canvas = document.getElementById("report-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var spec = JSON.parse(source.textContent);
  var chart = null;
  function draw(type) {
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: type,
      data: { labels: spec.labels, datasets: spec.datasets.map(function (d) { return { label: d.label, data: d.data, spanGaps: true }; }) },
      options: { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } },
    });
  }
  var drawn = false;
  var tab = document.getElementById("nav-chart-tab");
  function current() {
    var picked = document.querySelector("input[name=report-chart-type]:checked");
    return picked ? picked.value : "bar";
  }
  // Drawn when the tab is first shown (a hidden canvas has no size).
  if (tab) tab.addEventListener("click", function () { if (!drawn) { drawn = true; setTimeout(function () { draw(current()); }, 0); } });
  document.querySelectorAll("input[name=report-chart-type]").forEach(function (input) {
    input.addEventListener("change", function () { drawn = true; draw(current()); });
  });
})();
