// The rmeter compare page: renders DATA (compare.json, written by src/report/compare.rs).
// Like the report page, it marks <body> with data-charts, data-expected-charts, data-errors.
(function () {
  "use strict";
  var errors = [];
  var drawn = 0;
  var EXPECTED = 3;
  function finish() {
    document.body.dataset.charts = String(drawn);
    document.body.dataset.expectedCharts = String(EXPECTED);
    document.body.dataset.errors = String(errors.length);
    document.getElementById("rmeter-errors").textContent = errors.join("\n");
  }
  function record(message) { errors.push(String(message)); finish(); }
  window.addEventListener("error", function (e) { record(e.message || e); });

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fmt(x, d) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    return Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  function pair(b, c, key, d) {
    var x = b ? b[key] : null, y = c ? c[key] : null;
    var text = fmt(x, d) + " → " + fmt(y, d);
    if (x && y !== null && y !== undefined) {
      var rel = (y - x) * 100 / x;
      text += " (" + (rel >= 0 ? "+" : "") + fmt(rel, 1) + "%)";
    }
    return text;
  }

  function tables() {
    document.getElementById("subtitle").textContent = "baseline " + DATA.baseline + " · candidate " + DATA.candidate;
    document.getElementById("method").textContent = "Latency change: " + DATA.method + ".";
    var t = document.getElementById("labels");
    var head = el("tr");
    ["Label", "Samples", "TPS", "Error %", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "Max ms", "Latency change"]
      .forEach(function (h, i) { head.appendChild(el("th", h, i ? "num" : "")); });
    t.appendChild(head);
    DATA.labels.forEach(function (l) {
      var tr = el("tr", null, l.label === "Total" ? "total" : "");
      tr.appendChild(el("td", l.label));
      [["samples", 0], ["tps", 1], ["errorPct", 2], ["p50", 0], ["p90", 0], ["p95", 0], ["p99", 0], ["max", 0]]
        .forEach(function (k) { tr.appendChild(el("td", pair(l.baseline, l.candidate, k[0], k[1]), "num")); });
      var test = l.test;
      var verdict = test ? test.change + " (p=" + Number(test.pValue).toExponential(1) + ", δ=" + fmt(test.cliffsDelta, 2) + ")" : "–";
      var cls = "num" + (test && test.change === "slower" ? " bad" : test && test.change === "faster" ? " good" : "");
      tr.appendChild(el("td", verdict, cls));
      t.appendChild(tr);
    });
    var limits = document.getElementById("limits");
    if (!DATA.limits.length) {
      document.getElementById("limits-section").style.display = "none";
      return;
    }
    var lh = el("tr");
    ["Limit", "Change", "Verdict"].forEach(function (h) { lh.appendChild(el("th", h)); });
    limits.appendChild(lh);
    DATA.limits.forEach(function (v) {
      var tr = el("tr");
      tr.appendChild(el("td", v.limit));
      tr.appendChild(el("td", v.change));
      tr.appendChild(el("td", v.passed ? "PASS" : "FAIL", v.passed ? "good" : "bad"));
      limits.appendChild(tr);
    });
  }

  function chart(title, x, series, opts) {
    var box = el("div", null, "chart");
    box.appendChild(el("h3", title));
    document.getElementById("charts").appendChild(box);
    try {
      if (!x.length) {
        box.appendChild(el("div", "No data", "nodata"));
        drawn++;
        return;
      }
      new uPlot({
        width: Math.max(300, box.clientWidth - 24),
        height: 280,
        scales: { x: { time: false, distr: opts.xLog ? 3 : 1 } },
        axes: [{ label: opts.xLabel, stroke: "#667085", grid: { stroke: "#eef0f3" } },
          { label: opts.yLabel, stroke: "#667085", grid: { stroke: "#eef0f3" }, size: 60 }],
        series: [{ label: opts.xLabel }].concat(series.map(function (s) {
          return { label: s.label, stroke: s.color, width: 2, spanGaps: true, dash: s.dash };
        }))
      }, [x].concat(series.map(function (s) { return s.values; })), box);
      drawn++;
    } catch (e) {
      record(title + ": " + (e && e.message ? e.message : e));
    }
  }

  // Both runs' series on one x axis: the union of their x values.
  function merge(a, b) {
    var xs = {};
    a.concat(b).forEach(function (p) { xs[p[0]] = true; });
    var x = Object.keys(xs).map(Number).sort(function (p, q) { return p - q; });
    function on(points, i) {
      var m = {};
      points.forEach(function (p) { m[p[0]] = p[i]; });
      return x.map(function (v) { return m[v] === undefined ? null : m[v]; });
    }
    return { x: x, a: on, pa: a, pb: b };
  }

  function charts() {
    var total = DATA.labels.filter(function (l) { return l.label === "Total"; })[0] || {};
    var qa = total.baseline ? total.baseline.quantiles : [], qb = total.candidate ? total.candidate.quantiles : [];
    var q = merge(qa, qb);
    chart("Percentile distribution (total)", q.x, [
      { label: "baseline", values: q.a(qa, 1), color: "#2563eb" },
      { label: "candidate", values: q.a(qb, 1), color: "#dc2626" }
    ], { xLabel: "percentile", yLabel: "ms" });
    var ta = DATA.overTime.baseline, tb = DATA.overTime.candidate;
    var t = merge(ta, tb);
    chart("p95 over time (seconds since each run's start)", t.x, [
      { label: "baseline p95", values: t.a(ta, 1), color: "#2563eb" },
      { label: "candidate p95", values: t.a(tb, 1), color: "#dc2626" }
    ], { xLabel: "s", yLabel: "ms" });
    chart("Throughput over time (seconds since each run's start)", t.x, [
      { label: "baseline", values: t.a(ta, 2), color: "#2563eb" },
      { label: "candidate", values: t.a(tb, 2), color: "#dc2626" }
    ], { xLabel: "s", yLabel: "samples/s" });
  }

  try { tables(); } catch (e) { record(e && e.stack ? e.stack : e); }
  try { charts(); } catch (e) { record(e && e.stack ? e.stack : e); }
  finish();
})();
