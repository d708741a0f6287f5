/* SQL reports: draw the results' Chart tab (bars or lines, one currency at a time) from the JSON the page carries. */
(function () {
  var source = document.getElementById("report-chart-data");
  var canvas = document.getElementById("report-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var spec = JSON.parse(source.textContent);
  var currency = document.getElementById("report-chart-currency");
  var chart = null;
  function draw(type) {
    // Amounts are charted one currency at a time: never yen and dollars on one axis.
    var shown = spec.by_currency ? spec.by_currency[currency ? currency.value : spec.currencies[0]] : spec;
    if (chart) chart.destroy();
    // Amounts on the left axis, counts on a right one, when a result has both (else counts vanish beside revenue).
    var money = shown.datasets.some(function (d) { return d.money; });
    var counts = shown.datasets.some(function (d) { return !d.money; });
    var twoAxes = money && counts;
    var scales = { y: { beginAtZero: true } };
    if (twoAxes) scales.y1 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
    chart = new Chart(canvas, {
      type: type,
      data: {
        labels: shown.labels,
        datasets: shown.datasets.map(function (d) {
          return { label: d.label, data: d.data, spanGaps: true, yAxisID: twoAxes && !d.money ? "y1" : "y" };
        }),
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false }, scales: scales },
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
  if (currency) currency.addEventListener("change", function () { drawn = true; draw(current()); });
  document.querySelectorAll("input[name=report-chart-type]").forEach(function (input) {
    input.addEventListener("change", function () { drawn = true; draw(current()); });
  });
})();
