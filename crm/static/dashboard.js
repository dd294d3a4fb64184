/* Draws the dashboard's charts from the JSON block the page carries (no inline script:
   the CSP forbids it). Labels come translated; numbers are formatted for the page's locale;
   in Arabic the charts read right to left.

   Every category is labelled: Chart.js skips tick labels it cannot fit (autoSkip), which
   on a shared axis left values beside the wrong stage. Here no label is ever skipped:
   long labels wrap onto several lines, and a horizontal chart grows with its rows. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var Chart = window.Chart;
  /* Digits grouped as the tables group them: the server sends its locale's separators. */
  var plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  function formatNumber(value) {
    return plain.format(value).replace(/[,.]/g, function (c) {
      return c === "," ? data.numbers.group : data.numbers.decimal;
    });
  }
  var palette = ["#0b4f6c", "#d63384", "#fd7e14", "#198754", "#6610f2", "#20c997"];
  var FONT_SIZE = 12;
  var LINE_HEIGHT = 15;
  Chart.defaults.font.size = FONT_SIZE;

  var measurer = document.createElement("canvas").getContext("2d");
  function textWidth(text) {
    measurer.font = FONT_SIZE + "px " + Chart.defaults.font.family;
    return measurer.measureText(text).width;
  }
  /* A label as lines no wider than ``width`` pixels (a single word is never cut). */
  function wrap(label, width) {
    var lines = [];
    var line = "";
    String(label).split(/\s+/).forEach(function (word) {
      var candidate = line ? line + " " + word : word;
      if (line && textWidth(candidate) > width) {
        lines.push(line);
        line = word;
      } else {
        line = candidate;
      }
    });
    if (line) { lines.push(line); }
    return lines.length > 1 ? lines : lines[0] || "";
  }
  /* How wide a category label may be: on a horizontal chart at most 40 % of the chart
     (the bars keep the rest), on a vertical one the width of its column. */
  function labelWidth(chartWidth, horizontal, count) {
    return horizontal ? Math.max(80, chartWidth * 0.4) : Math.max(40, chartWidth / Math.max(count, 1) - 6);
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = data.charts[canvas.dataset.chart];
    if (!spec) { return; }
    var horizontal = !!spec.horizontal || (spec.labels.length > 6 && !spec.stacked);
    var valueAxis = horizontal ? "x" : "y";
    var categoryAxis = horizontal ? "y" : "x";
    var box = canvas.parentNode;
    if (horizontal) {
      /* Each row gets room for its wrapped label: the box grows with the stages. */
      var width = labelWidth(box.clientWidth, true, spec.labels.length);
      var lines = spec.labels.reduce(function (total, label) {
        var wrapped = wrap(label, width);
        return total + (Array.isArray(wrapped) ? wrapped.length : 1);
      }, 0);
      var height = lines * LINE_HEIGHT + spec.labels.length * 14 + 48;
      box.style.height = Math.max(height, 200) + "px";
    }
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      stacked: !!spec.stacked,
      reverse: horizontal && data.rtl,
      /* Value ticks may be thinned out, never turned sideways. */
      ticks: { callback: function (value) { return formatNumber(value); }, precision: 0, maxRotation: 0, autoSkipPadding: 12 }
    };
    scales[categoryAxis] = {
      stacked: !!spec.stacked,
      reverse: !horizontal && data.rtl,
      ticks: {
        autoSkip: false,
        maxRotation: horizontal ? 0 : 90,
        callback: function (value) {
          return wrap(this.getLabelForValue(value), labelWidth(this.chart.width, horizontal, spec.labels.length));
        }
      }
    };
    if (horizontal) { scales.y.position = data.rtl ? "right" : "left"; }
    new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, backgroundColor: palette[i % palette.length] };
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
              label: function (item) { return item.dataset.label + ": " + formatNumber(item.raw); }
            }
          }
        }
      }
    });
  });
})();
