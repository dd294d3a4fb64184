/* Draws the dashboard's charts from the JSON block the page carries (no inline script:
   the CSP forbids it). Labels come translated; numbers are formatted for the page's locale;
   in Arabic the charts read right to left. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  /* Digits grouped as the tables group them: the server sends its locale's separators. */
  var plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  var format = {
    format: function (value) {
      return plain.format(value).replace(/[,.]/g, function (c) {
        return c === "," ? data.numbers.group : data.numbers.decimal;
      });
    }
  };
  var palette = ["#0b4f6c", "#d63384", "#fd7e14", "#198754", "#6610f2", "#20c997"];

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = data.charts[canvas.dataset.chart];
    if (!spec) { return; }
    var horizontal = spec.labels.length > 6 && !spec.stacked;
    var valueAxis = horizontal ? "x" : "y";
    var categoryAxis = horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      stacked: !!spec.stacked,
      reverse: horizontal && data.rtl,
      ticks: { callback: function (value) { return format.format(value); }, precision: 0 }
    };
    scales[categoryAxis] = { stacked: !!spec.stacked, reverse: !horizontal && data.rtl };
    if (horizontal) { scales.y.position = data.rtl ? "right" : "left"; }
    var ownAxis = spec.datasets.some(function (set) { return set.axis; });
    if (ownAxis) {
      /* A second currency gets its own value axis (never one scale for MAD and USD). */
      scales.usd = {
        axis: valueAxis,
        beginAtZero: true,
        reverse: horizontal && data.rtl,
        position: horizontal ? "top" : (data.rtl ? "left" : "right"),
        grid: { drawOnChartArea: false },
        ticks: { callback: function (value) { return format.format(value); } },
        title: { display: true, text: spec.datasets.filter(function (set) { return set.axis; })[0].label }
      };
      scales[valueAxis].title = {
        display: true, text: spec.datasets.filter(function (set) { return !set.axis; })[0].label
      };
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          var dataset = { label: set.label, data: set.data, backgroundColor: palette[i % palette.length] };
          if (set.axis) { dataset[horizontal ? "xAxisID" : "yAxisID"] = set.axis; }
          return dataset;
        })
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        locale: data.locale,
        scales: scales,
        plugins: {
          legend: { display: spec.datasets.length > 1, rtl: data.rtl, textDirection: data.rtl ? "rtl" : "ltr" },
          tooltip: {
            rtl: data.rtl,
            textDirection: data.rtl ? "rtl" : "ltr",
            callbacks: {
              label: function (item) { return item.dataset.label + ": " + format.format(item.raw); }
            }
          }
        }
      }
    });
  });
})();
