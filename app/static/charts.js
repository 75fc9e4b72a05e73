/* Charge Portal charts: draws the portal's chart data with uPlot (vendor/uplot, MIT).
 *
 * Hover shows the values in the legend; drag across the chart to zoom in,
 * double-click to zoom out. Everything is served by the portal (no CDN).
 */
(function () {
  "use strict";

  var BLUE = "#0d6efd";
  var FILL = "rgba(13, 110, 253, 0.35)";

  function chartWidth(el) {
    return Math.max(el.clientWidth || 0, 320);
  }

  function dayToSeconds(label) {
    var parts = label.split("-");
    return Date.UTC(+parts[0], +parts[1] - 1, +parts[2]) / 1000;
  }

  function formatNumber(value, unit) {
    if (value == null) return "–";
    var text = value.toLocaleString(undefined, { maximumFractionDigits: 2 });
    return unit ? text + " " + unit : text;
  }

  function resizeWith(plot, el) {
    window.addEventListener("resize", function () {
      plot.setSize({ width: chartWidth(el), height: plot.height });
    });
  }

  /* The meter values of one session (statistics "Show"): a line over time. */
  function meterChart(el) {
    var data = JSON.parse(el.getAttribute("data-chart"));
    var plot = new uPlot(
      {
        width: chartWidth(el),
        height: 220,
        scales: { x: { time: true } },
        series: [
          {},
          {
            label: data.label + (data.unit ? " (" + data.unit + ")" : ""),
            stroke: BLUE,
            width: 2,
            points: { show: true },
            value: function (u, v) { return formatNumber(v, data.unit); },
          },
        ],
        axes: [{}, { label: data.unit, size: 70 }],
      },
      [data.x, data.y],
      el
    );
    resizeWith(plot, el);
    return plot;
  }

  /* One diagram (spec §5): bars over days/weeks/months, or per category. */
  function diagramOptions(el, data) {
    var series = data.series[0] || { label: "", unit: "", values: [] };
    var bars = uPlot.paths.bars({ size: [0.7, 80] });
    var options = {
      width: chartWidth(el),
      height: 380,
      series: [
        {},
        {
          label: series.label + (series.unit ? " (" + series.unit + ")" : ""),
          stroke: BLUE,
          fill: FILL,
          width: 1,
          paths: bars,
          points: { show: false },
          value: function (u, v) { return formatNumber(v, series.unit); },
        },
      ],
      axes: [{}, { label: series.unit, size: 70 }],
      cursor: { drag: { x: true, y: false } },
    };
    if (data.axis === "time") {
      options.scales = { x: { time: true } };
      options.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
      options.series[0] = {
        label: "",
        value: function (u, v) { return v == null ? "" : new Date(v * 1e3).toISOString().slice(0, 10); },
      };
    } else {
      var labels = data.labels;
      // The axis shows a station's name; the legend (on hover) the full label.
      var short = labels.map(function (label) { return label.replace(/ \([^)]*\)$/, ""); });
      var longest = short.reduce(function (n, label) { return Math.max(n, label.length); }, 0);
      var tilt = labels.length > 6 && longest > 3;
      options.scales = {
        x: { time: false, range: function () { return [-0.5, Math.max(labels.length, 1) - 0.5]; } },
      };
      options.series[0] = {
        label: "",
        value: function (u, v) { return v == null ? "" : labels[Math.round(v)] || ""; },
      };
      options.axes[0] = {
        space: 14,
        incrs: [1],
        rotate: tilt ? -40 : 0,
        size: tilt ? Math.min(30 + longest * 6, 160) : 40,
        values: function (u, splits) {
          return splits.map(function (i) { return short[i] !== undefined ? short[i] : ""; });
        },
      };
    }
    return options;
  }

  function diagramData(data) {
    var values = data.series.length ? data.series[0].values : [];
    var xs = data.axis === "time"
      ? data.labels.map(dayToSeconds)
      : data.labels.map(function (_label, i) { return i; });
    return [xs, values];
  }

  function setupDiagram(root) {
    var el = root.querySelector("#diagram-chart");
    var form = root.querySelector("#diagram-range");
    var status = root.querySelector("#diagram-status");
    var plot = null;
    var draws = 0;

    function load() {
      var params = new URLSearchParams(new FormData(form));
      status.textContent = root.getAttribute("data-loading");
      return fetch(root.getAttribute("data-url") + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body.error || response.statusText);
            return body;
          });
        })
        .then(function (data) {
          if (plot) plot.destroy();
          el.innerHTML = "";
          plot = new uPlot(diagramOptions(el, data), diagramData(data), el);
          draws += 1;
          var total = (data.series[0] ? data.series[0].values : []).reduce(function (a, b) { return a + b; }, 0);
          el.setAttribute("data-draws", String(draws));
          el.setAttribute("data-from", params.get("from"));
          el.setAttribute("data-to", params.get("to"));
          el.setAttribute("data-points", String(data.labels.length));
          status.textContent = data.title + " · " + params.get("from") + " – " + params.get("to") +
            " · " + data.labels.length + " " + root.getAttribute("data-points-word") +
            (data.series[0] && data.series[0].unit !== "%" ? " · Σ " + formatNumber(total, data.series[0].unit) : "");
        })
        .catch(function (error) {
          status.textContent = error.message;
          status.classList.add("text-danger");
        });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      status.classList.remove("text-danger");
      load();
    });
    root.querySelectorAll("[data-days]").forEach(function (button) {
      button.addEventListener("click", function () {
        var to = new Date();
        var from = new Date(to.getTime() - (+button.getAttribute("data-days") - 1) * 86400e3);
        form.elements.from.value = from.toISOString().slice(0, 10);
        form.elements.to.value = to.toISOString().slice(0, 10);
        status.classList.remove("text-danger");
        load();
      });
    });
    window.addEventListener("resize", function () {
      if (plot) plot.setSize({ width: chartWidth(el), height: plot.height });
    });
    load();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var meter = document.getElementById("meter-chart");
    if (meter) meterChart(meter);
    var diagram = document.getElementById("diagram");
    if (diagram) setupDiagram(diagram);
  });
})();
