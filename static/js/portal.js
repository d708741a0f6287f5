/* The portal's one script: the viewer's time zone for the server, charts drawn from their tables,
   confirmation of risky buttons. Everything works without it; it only adds. */
(function () {
  "use strict";

  // Times are shown in the viewer's zone: tell the server which one (read on the next request).
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("tz=" + tz) === -1) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old browser: UTC it is */ }

  var PALETTE = ["#4f46e5", "#0e7a43", "#b42318", "#d97706", "#0891b2", "#7c3aed", "#be185d", "#475569"];

  function formatMoney(value, currency, minorDigits) {
    try {
      return new Intl.NumberFormat(undefined, {style: "currency", currency: currency,
        minimumFractionDigits: 0, maximumFractionDigits: minorDigits}).format(value);
    } catch (e) { return value.toLocaleString() + " " + currency; }
  }

  function drawCharts(root) {
    if (typeof Chart === "undefined") return;
    (root || document).querySelectorAll("[data-chart]").forEach(function (figure) {
      if (figure.dataset.drawn) return;
      var spec = JSON.parse(document.getElementById(figure.dataset.chart).textContent);
      var canvas = figure.querySelector("canvas");
      figure.dataset.drawn = "1";
      var tick = function (v) { return spec.currency ? formatMoney(v, spec.currency, spec.digits || 0) : v.toLocaleString(); };
      if (spec.percent) tick = function (v) { return v + " %"; };
      new Chart(canvas, {
        type: spec.type || "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (d, i) {
            var color = d.color || PALETTE[i % PALETTE.length];
            return {label: d.label, data: d.data, backgroundColor: color, borderColor: color,
                    borderWidth: spec.type === "line" ? 2 : 0, pointRadius: 0, tension: 0.25, fill: false};
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          interaction: {mode: "index", intersect: false},
          plugins: {legend: {display: spec.datasets.length > 1, position: "bottom"},
                    tooltip: {callbacks: {label: function (c) { return c.dataset.label + ": " + tick(c.parsed.y); }}}},
          scales: {x: {stacked: !!spec.stacked, grid: {display: false}},
                   y: {stacked: !!spec.stacked, ticks: {callback: tick}, beginAtZero: true}}
        }
      });
      figure.classList.add("chart-drawn");
      var table = figure.querySelector("details");
      if (table) table.open = false;  // drawn: the numbers stay one click away
    });
  }

  // Buttons that move money or change state ask once more.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  // On a phone an unused filter panel folds away, so the list comes first.
  function foldFilters() {
    if (window.innerWidth > 640) return;
    document.querySelectorAll("details.filter-panel[data-collapse-on-phone=yes]").forEach(function (d) { d.open = false; });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); foldFilters(); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();
