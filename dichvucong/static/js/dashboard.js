// Supervisor's dashboard: draws the charts described by each canvas's data-chart
// attribute (JSON written by the server). No inline script: the CSP allows 'self' only.
(function () {
  "use strict";

  function config(spec) {
    if (spec.type === "doughnut") {
      return {
        type: "doughnut",
        data: {
          labels: spec.labels,
          datasets: [{ data: spec.values, backgroundColor: spec.colors }],
        },
        options: { responsive: true, maintainAspectRatio: false,
                   plugins: { legend: { position: "bottom" } } },
      };
    }
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s) {
          return { label: s.label, data: s.values, backgroundColor: s.color };
        }),
      },
      options: {
        responsive: true, maintainAspectRatio: false, indexAxis: "y",
        scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } } },
        plugins: { legend: { position: "bottom" } },
      },
    };
  }

  function draw() {
    if (typeof window.Chart === "undefined") {
      return; // the tables beside the charts carry the same numbers
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      try {
        new window.Chart(canvas, config(JSON.parse(canvas.getAttribute("data-chart"))));
      } catch (err) {
        canvas.setAttribute("hidden", "");
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
