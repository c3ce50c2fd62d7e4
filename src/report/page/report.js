// The rmeter report page: renders DATA (written by src/report/json.rs) with uPlot.
// Everything inserted from DATA goes through textContent. At the end, <body> carries
// data-charts (charts drawn), data-expected-charts and data-errors, for the headless check.
(function () {
  "use strict";
  var errors = [];
  var drawn = 0;
  var EXPECTED = 11;
  function record(message) {
    errors.push(String(message));
    finish();
  }
  window.addEventListener("error", function (e) { record(e.message || e); });
  window.addEventListener("unhandledrejection", function (e) { record(e.reason || e); });

  function finish() {
    document.body.dataset.charts = String(drawn);
    document.body.dataset.expectedCharts = String(EXPECTED);
    document.body.dataset.errors = String(errors.length);
    document.getElementById("rmeter-errors").textContent = errors.join("\n");
  }

  var PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777",
    "#65a30d", "#ea580c", "#4f46e5", "#0d9488", "#be123c", "#854d0e", "#9333ea", "#0369a1"];
  function color(i) { return PALETTE[i % PALETTE.length]; }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fmt(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return "–";
    var d = digits === undefined ? (Math.round(x) === x ? 0 : 2) : digits;
    return Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  function date(ms) { return ms ? new Date(ms).toLocaleString() : "–"; }
  function duration(ms) {
    var s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + (s % 60) + "s";
  }

  function header() {
    var s = DATA.summary;
    document.getElementById("title").textContent = DATA.title;
    document.title = DATA.title;
    document.getElementById("subtitle").textContent = DATA.source + " · " + date(s.start) +
      " → " + date(s.end) + " · generated " + date(DATA.generated);
    var cards = document.getElementById("cards");
    [["Duration", duration(s.durationMs)], ["Samples", fmt(s.samples)],
      ["Errors", fmt(s.errors) + " (" + fmt(s.errorPct, 2) + "%)"], ["Throughput", fmt(s.tps, 1) + "/s"],
      ["Max users", fmt(s.maxUsers)],
      ["APDEX", fmt(s.apdex.score, 3),
        "T " + fmt(s.apdex.satisfiedMs) + " ms · F " + fmt(s.apdex.toleratedMs) + " ms"]
    ].forEach(function (kv) {
      var c = el("div", null, "card");
      c.appendChild(el("div", kv[0], "k"));
      c.appendChild(el("div", kv[1], "v"));
      if (kv[2]) c.appendChild(el("div", kv[2], "sub"));
      cards.appendChild(c);
    });
    document.getElementById("percentile-note").textContent = DATA.percentileNote;
  }

  // A table from column specs {title, get, num, digits}; sortable by clicking a header.
  function table(id, columns, rows, pinnedLast) {
    var t = document.getElementById(id);
    if (!rows.length) {
      var tr0 = el("tr");
      tr0.appendChild(el("td", "None", "nodata"));
      t.appendChild(tr0);
      return;
    }
    var thead = el("thead"), tbody = el("tbody"), hr = el("tr");
    var order = { col: -1, dir: 1 };
    columns.forEach(function (c, i) {
      var th = el("th", c.title, (c.num ? "num " : "") + "sortable");
      th.addEventListener("click", function () {
        order.dir = order.col === i ? -order.dir : (c.num ? -1 : 1);
        order.col = i;
        render();
      });
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    t.appendChild(thead);
    t.appendChild(tbody);
    function render() {
      var body = pinnedLast ? rows.slice(0, -1) : rows.slice();
      if (order.col >= 0) {
        var get = columns[order.col].get;
        body.sort(function (a, b) {
          var x = get(a), y = get(b);
          return (x < y ? -1 : x > y ? 1 : 0) * order.dir;
        });
      }
      if (pinnedLast) body.push(rows[rows.length - 1]);
      tbody.textContent = "";
      body.forEach(function (r, ri) {
        var tr = el("tr", null, pinnedLast && ri === body.length - 1 ? "total" : "");
        columns.forEach(function (c) {
          var v = c.get(r);
          var td = el("td", c.num ? (v === null && c.blank ? "" : fmt(v, c.digits)) : v,
            (c.num ? "num" : "") + (c.wrap ? " wrap" : "") + (c.bad && c.bad(r) ? " bad" : ""));
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    }
    render();
  }

  function tables() {
    function col(title, key, digits, bad) {
      return { title: title, get: function (r) { return r[key]; }, num: true, digits: digits, bad: bad };
    }
    table("statistics", [
      { title: "Label", get: function (r) { return r.label; } },
      col("Samples", "samples", 0), col("Errors", "errors", 0, function (r) { return r.errors > 0; }),
      col("Error %", "errorPct", 2, function (r) { return r.errorPct > 0; }),
      col("Average", "mean", 1), col("Min", "min", 0), col("Max", "max", 0),
      col("P50", "p50", 1), col("P90", "p90", 1), col("P95", "p95", 1), col("P99", "p99", 1),
      col("Throughput /s", "tps", 2), col("Received KB/s", "receivedKBs", 2),
      col("Sent KB/s", "sentKBs", 2), col("APDEX", "apdex", 3)
    ], DATA.statistics, true);
    table("errors", [
      { title: "Type of error", get: function (r) { return r.type; }, wrap: true },
      col("Count", "count", 0), col("% of errors", "pctOfErrors", 2), col("% of all samples", "pctOfAll", 2)
    ], DATA.errors, false);
    var top = [{ title: "Sample", get: function (r) { return r.label; } },
      col("Samples", "samples", 0), col("Errors", "errors", 0)];
    var pairs = Math.max(1, Math.min(5, Math.max.apply(null, [0].concat(DATA.topErrors.map(function (r) {
      return r.top.length;
    })))));
    for (var i = 0; i < pairs; i++) {
      (function (i) {
        top.push({ title: "Error #" + (i + 1), get: function (r) { return r.top[i] ? r.top[i].type : ""; }, wrap: true });
        top.push({ title: "Count", get: function (r) { return r.top[i] ? r.top[i].count : null; }, num: true, digits: 0, blank: true });
      })(i);
    }
    table("top-errors", top, DATA.topErrors, false);
  }

  // Axis ticks: 1,250 / 12.5k / 3.4M, so that labels stay narrow.
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return fmt(v / 1e9, a >= 1e10 ? 0 : 1) + "G";
    if (a >= 1e6) return fmt(v / 1e6, a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e4) return fmt(v / 1e3, a >= 1e5 ? 0 : 1) + "k";
    return fmt(v, Math.round(v) === v ? 0 : (a < 1 ? 2 : 1));
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  // Local clock time on every tick; runs that cross midnight also show the day.
  function timeTicks(u, splits) {
    var span = u.scales.x.max - u.scales.x.min;
    return splits.map(function (sec) {
      var d = new Date(sec * 1000);
      var hm = two(d.getHours()) + ":" + two(d.getMinutes());
      if (span > 86400) return (d.getMonth() + 1) + "/" + d.getDate() + " " + hm;
      return span > 1800 ? hm : hm + ":" + two(d.getSeconds());
    });
  }
  function valueTicks(u, splits) { return splits.map(compact); }

  // One chart: series = [{label, values}], x = array; opts: {xTime, yLabel, points, bars}.
  function chart(container, title, x, series, opts) {
    var box = el("div", null, "chart");
    box.appendChild(el("h3", title));
    container.appendChild(box);
    try {
      var nonEmpty = series.filter(function (s) {
        return s.values.some(function (v) { return v !== null && v !== undefined; });
      });
      if (!x.length || !nonEmpty.length) {
        box.appendChild(el("div", "No data", "nodata"));
        drawn++;
        return;
      }
      var width = Math.max(300, box.clientWidth - 24);
      var paths = opts.steps ? uPlot.paths.stepped({ align: 1 }) : undefined;
      var u = new uPlot({
        width: width,
        height: 260,
        scales: { x: { time: !!opts.xTime } },
        axes: [
          { stroke: "#667085", grid: { stroke: "#eef0f3" }, label: opts.xTime ? "local time" : opts.xLabel,
            values: opts.xTime ? timeTicks : valueTicks, labelSize: 20, size: 36 },
          { stroke: "#667085", grid: { stroke: "#eef0f3" }, label: opts.yLabel, values: valueTicks,
            size: 56, labelSize: 20 }
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        series: [{ label: opts.xTime ? "Time" : (opts.xLabel || "x") }].concat(nonEmpty.map(function (s, i) {
          var c = s.color || color(i);
          var spec = { label: s.label, stroke: c, width: 1.5, spanGaps: false };
          if (opts.points) {
            spec.paths = function () { return null; };
            spec.points = { show: true, size: 6, stroke: c, fill: c };
          } else if (paths) {
            spec.paths = paths;
            spec.fill = c + "22";
            spec.points = { show: false };
          }
          return spec;
        }))
      }, [x].concat(nonEmpty.map(function (s) { return s.values; })), box);
      if (u) drawn++;
    } catch (e) {
      record(title + ": " + (e && e.message ? e.message : e));
    }
  }

  function entries(obj) {
    return Object.keys(obj || {}).map(function (k) { return [k, obj[k]]; });
  }

  function charts() {
    var t = DATA.overTime;
    var x = t.times.map(function (ms) { return ms / 1000; });
    var time = document.getElementById("charts-time");
    var g = t.granularityMs >= 1000 ? (t.granularityMs / 1000) + " s" : t.granularityMs + " ms";
    var per = " (per " + g + " bucket)";
    var pct = t.responseTimePercentiles;
    chart(time, "Response time percentiles over time" + per, x, [
      { label: "p50", values: pct.p50 }, { label: "p90", values: pct.p90 },
      { label: "p95", values: pct.p95 }, { label: "p99", values: pct.p99 }
    ], { xTime: true, yLabel: "ms" });
    chart(time, "Active threads over time", x, entries(t.activeThreads).map(function (e) {
      return { label: e[0], values: e[1] };
    }), { xTime: true, yLabel: "threads" });
    var tx = [];
    var any = function (values) { return values.some(function (v) { return v; }); };
    entries(t.transactions).forEach(function (e) {
      tx.push({ label: e[0] + " (ok)", values: e[1].ok });
      // A failure series that stays at zero only crowds the legend.
      if (any(e[1].ko)) tx.push({ label: e[0] + " (failed)", values: e[1].ko });
    });
    chart(time, "Transactions per second", x, tx, { xTime: true, yLabel: "/s" });
    chart(time, "Hits and errors per second", x, [
      { label: "hits", values: t.hits }, { label: "errors", values: t.errors, color: "#dc2626" }
    ], { xTime: true, yLabel: "/s" });
    chart(time, "Response codes per second", x, entries(t.codes).map(function (e) {
      return { label: e[0], values: e[1] };
    }), { xTime: true, yLabel: "/s" });
    var byLabel = function (obj) {
      return entries(obj).map(function (e) { return { label: e[0], values: e[1] }; });
    };
    chart(time, "Average response time per label", x, byLabel(t.responseTimes), { xTime: true, yLabel: "ms" });
    chart(time, "Latency per label", x, byLabel(t.latency), { xTime: true, yLabel: "ms" });
    chart(time, "Connect time per label", x, byLabel(t.connect), { xTime: true, yLabel: "ms" });
    chart(time, "Bytes throughput", x, [
      { label: "received", values: t.bytes.received }, { label: "sent", values: t.bytes.sent }
    ], { xTime: true, yLabel: "bytes/s" });

    var dist = document.getElementById("charts-dist");
    var width = DATA.distribution.bucketMs;
    var labels = entries(DATA.distribution.labels);
    var starts = {};
    labels.forEach(function (e) { e[1].forEach(function (p) { starts[p[0]] = true; }); });
    var dx = Object.keys(starts).map(Number).sort(function (a, b) { return a - b; });
    // Every bucket from the first to one past the last (so that the last step has a width),
    // with 0 where a label had no sample; sparse buckets only when there would be too many.
    if (dx.length && width > 0 && (dx[dx.length - 1] - dx[0]) / width < 2000) {
      var dense = [];
      for (var b = dx[0]; b <= dx[dx.length - 1] + width; b += width) dense.push(b);
      dx = dense;
    }
    chart(dist, "Response time distribution (" + width + " ms buckets)", dx, labels.map(function (e) {
      var counts = {};
      e[1].forEach(function (p) { counts[p[0]] = p[1]; });
      return { label: e[0], values: dx.map(function (b) { return counts[b] === undefined ? 0 : counts[b]; }) };
    }), { xLabel: "response time (ms, bucket start)", yLabel: "samples", steps: true });
    var points = DATA.rtVsThroughput.slice().sort(function (a, b) { return a[0] - b[0]; });
    chart(dist, "Response time vs throughput (median, per bucket)", points.map(function (p) { return p[0]; }), [
      { label: "median response time (ms)", values: points.map(function (p) { return p[1]; }) }
    ], { xLabel: "requests per second", yLabel: "ms", points: true });
  }

  function run(step) {
    try { step(); } catch (e) { record(e && e.stack ? e.stack : e); }
  }
  run(header);
  run(tables);
  run(charts);
  finish();
})();
