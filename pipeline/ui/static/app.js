// pipeline ui: one page, four views (Discover, Dashboards, Alerts, Pipeline) over the read-only JSON API.
// The view and its query live in the URL hash (#/discover?q=...&lang=kuery&from=now-1h&to=now), so a view
// can be bookmarked and the browser tests can open it directly.
"use strict";

const STRINGS = {
  en: {
    "nav.discover": "Discover", "nav.dashboards": "Dashboards", "nav.alerts": "Alerts", "nav.pipeline": "Pipeline",
    "query.placeholder": "Search… (KQL, e.g. log.level:ERROR and not service.name:test)",
    "time.15m": "Last 15 minutes", "time.1h": "Last 1 hour", "time.4h": "Last 4 hours", "time.24h": "Last 24 hours",
    "time.7d": "Last 7 days", "time.30d": "Last 30 days", "time.custom": "Absolute…", "refresh": "Refresh",
    "discover.hits": "hits", "discover.tail": "Live tail", "discover.csv": "Export CSV",
    "discover.ndjson": "Export NDJSON", "discover.more": "More", "discover.took": "{ms} ms",
    "col.time": "Time", "col.level": "Level", "col.service": "Service", "col.message": "Message",
    "filter.in": "Filter for this value", "filter.out": "Filter out this value",
    "alerts.rules": "Rules", "alerts.rule": "Rule", "alerts.last": "Evaluated up to", "alerts.status": "Status",
    "alerts.recent": "Recent alerts", "alerts.alerter": "Alerter", "alerts.subject": "Subject",
    "alerts.outbox": "Waiting for delivery", "alerts.attempts": "Attempts", "alerts.error": "Last error",
    "alerts.none": "No alert state here yet (run `pipeline alerts run`).", "alerts.ok": "ok",
    "alerts.disabled": "disabled", "alerts.failing": "failing",
    "pipe.id": "Pipeline", "pipe.in": "Events in", "pipe.out": "Events out", "pipe.queue": "Queue",
    "pipe.health": "Health", "pipe.down": "No pipeline is running at {url}.", "pipe.up": "Pipeline running at {url}",
    "dash.pick": "Dashboards:", "dash.none": "No dashboards found.",
  },
  zh: {
    "nav.discover": "发现", "nav.dashboards": "仪表板", "nav.alerts": "告警", "nav.pipeline": "管道",
    "query.placeholder": "搜索…（KQL，例如 log.level:ERROR and not service.name:test）",
    "time.15m": "最近 15 分钟", "time.1h": "最近 1 小时", "time.4h": "最近 4 小时", "time.24h": "最近 24 小时",
    "time.7d": "最近 7 天", "time.30d": "最近 30 天", "time.custom": "绝对时间…", "refresh": "刷新",
    "discover.hits": "条命中", "discover.tail": "实时跟踪", "discover.csv": "导出 CSV",
    "discover.ndjson": "导出 NDJSON", "discover.more": "更多", "discover.took": "{ms} 毫秒",
    "col.time": "时间", "col.level": "级别", "col.service": "服务", "col.message": "消息",
    "filter.in": "筛选此值", "filter.out": "排除此值",
    "alerts.rules": "规则", "alerts.rule": "规则", "alerts.last": "已评估至", "alerts.status": "状态",
    "alerts.recent": "最近的告警", "alerts.alerter": "通知方式", "alerts.subject": "主题",
    "alerts.outbox": "等待发送", "alerts.attempts": "尝试次数", "alerts.error": "最近错误",
    "alerts.none": "此处尚无告警状态（请运行 `pipeline alerts run`）。", "alerts.ok": "正常",
    "alerts.disabled": "已停用", "alerts.failing": "失败中",
    "pipe.id": "管道", "pipe.in": "输入事件", "pipe.out": "输出事件", "pipe.queue": "队列",
    "pipe.health": "健康", "pipe.down": "{url} 上没有运行中的管道。", "pipe.up": "管道运行于 {url}",
    "dash.pick": "仪表板：", "dash.none": "未找到仪表板。",
  },
};

let lang = localStorage.getItem("pipeline.ui.lang") ||
  ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
const $ = (sel) => document.querySelector(sel);
const t = (key, vars) => {
  let text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
  return text;
};
const charts = {};
window.__charts = charts;  // for the browser tests

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  $("#lang-switch").textContent = lang === "zh" ? "English" : "中文";
}

// -- state in the URL hash --------------------------------------------------------------
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search] = raw.split("?");
  const parts = (path || "discover").split("/");
  return { page: parts[0] || "discover", arg: decodeURIComponent(parts.slice(1).join("/")),
    params: new URLSearchParams(search || "") };
}

function currentParams() {
  const p = new URLSearchParams();
  p.set("q", $("#query").value);
  p.set("lang", $("#lang").value);
  if ($("#time").value === "custom") {
    p.set("from", $("#from").value || "now-15m");
    p.set("to", $("#to").value || "now");
  } else {
    p.set("from", $("#time").value);
    p.set("to", "now");
  }
  return p;
}

function navigate(page, arg) {
  const path = arg ? `${page}/${encodeURIComponent(arg)}` : page;
  const target = `#/${path}?${currentParams().toString()}`;
  if (location.hash === target) render(); else location.hash = target;
}

function syncControls(params) {
  $("#query").value = params.get("q") || "";
  $("#lang").value = params.get("lang") === "lucene" ? "lucene" : "kuery";
  const from = params.get("from") || "now-15m";
  const to = params.get("to") || "now";
  const preset = [...$("#time").options].some((o) => o.value === from) && to === "now";
  $("#time").value = preset ? from : "custom";
  $("#absolute").hidden = preset;
  if (!preset) { $("#from").value = from; $("#to").value = to; }
}

// -- API ----------------------------------------------------------------------------------
async function api(path, params) {
  const url = params ? `${path}?${params.toString()}` : path;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body;
  try { body = await response.json(); } catch (e) { body = { error: `${response.status} ${response.statusText}` }; }
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function showError(err) {
  const box = $("#error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = err.message || String(err);
}

// -- Discover -------------------------------------------------------------------------------
let discoverOffset = 0;

async function renderDiscover(params) {
  discoverOffset = 0;
  const [hits, hist] = await Promise.all([api("/api/search", withSize(params, 50, 0)), api("/api/histogram", params)]);
  $("#hits-total").textContent = hits.total.toLocaleString();
  $("#took").textContent = t("discover.took", { ms: hits.took_ms });
  drawHistogram(hist);
  const body = $("#events tbody");
  body.innerHTML = "";
  appendEvents(hits.hits);
  discoverOffset = hits.hits.length;
  $("#more").hidden = discoverOffset >= hits.total;
  for (const kind of ["csv", "ndjson"]) {
    const p = new URLSearchParams(params); p.set("format", kind);
    $(`#export-${kind}`).href = `/api/export?${p.toString()}`;
  }
}

function withSize(params, size, offset) {
  const p = new URLSearchParams(params); p.set("size", size); p.set("offset", offset); return p;
}

function field(doc, path) {
  if (path in doc) return doc[path];
  return path.split(".").reduce((node, key) => (node && typeof node === "object" ? node[key] : undefined), doc);
}

function text(value) {
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function appendEvents(docs) {
  const body = $("#events tbody");
  for (const doc of docs) {
    const row = document.createElement("tr");
    row.className = "event";
    const level = text(field(doc, "log.level") ?? doc.level);
    const message = doc.message !== undefined ? text(doc.message) : JSON.stringify(doc);
    for (const [value, cls] of [[text(doc["@timestamp"]), ""], [level, `level-${level}`],
      [text(field(doc, "service.name")), ""], [message, ""]]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      if (cls) cell.className = cls;
      row.appendChild(cell);
    }
    row.addEventListener("click", () => toggleDetail(row, doc));
    body.appendChild(row);
  }
}

function flatten(doc, prefix, out) {
  for (const [key, value] of Object.entries(doc)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && !Array.isArray(value)) flatten(value, name, out);
    else out.push([name, value]);
  }
  return out;
}

function kqlValue(value) {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return `"${String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function addFilter(name, value, negate) {
  const lucene = $("#lang").value === "lucene";
  const clause = `${name}:${kqlValue(value)}`;
  const current = $("#query").value.trim();
  const joined = lucene ? (negate ? `NOT ${clause}` : clause) : (negate ? `not ${clause}` : clause);
  $("#query").value = current ? `${lucene ? `(${current}) AND` : `(${current}) and`} ${joined}` : joined;
  navigate("discover");
}

function toggleDetail(row, doc) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("detail")) { next.remove(); return; }
  const detail = document.createElement("tr");
  detail.className = "detail";
  const cell = document.createElement("td");
  cell.colSpan = 4;
  const table = document.createElement("table");
  table.className = "fields";
  for (const [name, value] of flatten(doc, "", [])) {
    const tr = document.createElement("tr");
    const nameCell = document.createElement("td"); nameCell.textContent = name;
    const valueCell = document.createElement("td");
    if (!name.startsWith("_") && (typeof value !== "object" || value === null)) {
      for (const [label, negate, title] of [["+", false, "filter.in"], ["−", true, "filter.out"]]) {
        const button = document.createElement("button");
        button.type = "button"; button.textContent = label; button.title = t(title);
        button.className = negate ? "filter-out" : "filter-in";
        button.addEventListener("click", (ev) => { ev.stopPropagation(); addFilter(name, value, negate); });
        valueCell.appendChild(button);
      }
    }
    valueCell.appendChild(document.createTextNode(" " + text(value)));
    tr.append(nameCell, valueCell);
    table.appendChild(tr);
  }
  cell.appendChild(table);
  detail.appendChild(cell);
  row.after(detail);
}

function zoomTo(from, to) {
  $("#time").value = "custom";
  $("#absolute").hidden = false;
  $("#from").value = new Date(from).toISOString();
  $("#to").value = new Date(to).toISOString();
  navigate(parseHash().page === "dashboards" ? "dashboards" : "discover", parseHash().arg);
}

function drawHistogram(hist) {
  const el = $("#histogram");
  const chart = charts.histogram || (charts.histogram = echarts.init(el));
  const data = hist.buckets.map(([time, count]) => [time, count]);
  el.dataset.values = JSON.stringify(data);
  chart.setOption({
    animation: false, grid: { left: 50, right: 16, top: 12, bottom: 28 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "time", min: hist.from, max: hist.to },
    yAxis: { type: "value", minInterval: 1 },
    toolbox: { show: false }, brush: { toolbox: [], xAxisIndex: 0, brushType: "lineX", brushMode: "single" },
    series: [{ type: "bar", data, barMaxWidth: 40, itemStyle: { color: "#54b399" } }],
  }, true);
  chart.off("click");
  chart.on("click", (ev) => zoomTo(ev.value[0], ev.value[0] + hist.interval_ms));
  chart.dispatchAction({ type: "takeGlobalCursor", key: "brush", brushOption: { brushType: "lineX", brushMode: "single" } });
  chart.off("brushEnd");
  chart.on("brushEnd", (ev) => {
    const area = ev.areas && ev.areas[0];
    if (area && area.coordRange && area.coordRange[1] - area.coordRange[0] > 1000) zoomTo(area.coordRange[0], area.coordRange[1]);
  });
}

// -- Dashboards -----------------------------------------------------------------------------
async function renderDashboards(params, name) {
  const list = await api("/api/dashboards");
  const nav = $("#dash-list");
  nav.innerHTML = "";
  nav.appendChild(document.createTextNode(t(list.length ? "dash.pick" : "dash.none") + " "));
  for (const d of list) {
    const a = document.createElement("a");
    a.href = "#"; a.textContent = d.title; a.dataset.name = d.name;
    a.addEventListener("click", (ev) => { ev.preventDefault(); navigate("dashboards", d.name); });
    nav.appendChild(a);
  }
  const grid = $("#dash-grid");
  for (const key of Object.keys(charts)) if (key.startsWith("panel:")) { charts[key].dispose(); delete charts[key]; }
  grid.innerHTML = "";
  const chosen = name || (list[0] && list[0].name);
  if (!chosen) return;
  const dash = await api(`/api/dashboards/${encodeURIComponent(chosen)}`, params);
  $("#dash-title").textContent = dash.title;
  for (const panel of dash.panels) grid.appendChild(renderPanel(panel));
}

function renderPanel(panel) {
  const box = document.createElement("div");
  box.className = "panel";
  box.dataset.key = panel.key;
  box.dataset.type = panel.type;
  box.style.gridColumn = `span ${Math.max(1, Math.min(48, panel.width))}`;
  const title = document.createElement("h4");
  title.textContent = panel.title;
  box.appendChild(title);
  if (panel.type === "metric") {
    const value = document.createElement("div");
    value.className = "metric";
    value.textContent = panel.value === null ? "–" : Number(panel.value).toLocaleString();
    box.dataset.values = JSON.stringify(panel.value);
    box.appendChild(value);
  } else if (panel.type === "table" || panel.type === "search") {
    box.appendChild(panel.type === "table" ? termsTable(panel) : searchTable(panel));
  } else {
    const el = document.createElement("div");
    el.className = "chart";
    box.appendChild(el);
    requestAnimationFrame(() => drawPanelChart(panel, el, box));
  }
  return box;
}

function termsTable(panel) {
  const table = document.createElement("table");
  table.innerHTML = "<thead><tr><th></th><th>#</th></tr></thead>";
  table.querySelector("th").textContent = panel.field;
  const body = document.createElement("tbody");
  for (const b of panel.buckets) {
    const tr = document.createElement("tr");
    for (const v of [text(b.key), b.count.toLocaleString()]) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    body.appendChild(tr);
  }
  table.appendChild(body);
  return table;
}

function searchTable(panel) {
  const table = document.createElement("table");
  const head = document.createElement("tr");
  for (const c of ["@timestamp", ...panel.columns]) { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); }
  const thead = document.createElement("thead"); thead.appendChild(head); table.appendChild(thead);
  const body = document.createElement("tbody");
  for (const doc of panel.rows) {
    const tr = document.createElement("tr");
    for (const c of ["@timestamp", ...panel.columns]) { const td = document.createElement("td"); td.textContent = text(field(doc, c)); tr.appendChild(td); }
    body.appendChild(tr);
  }
  table.appendChild(body);
  return table;
}

function drawPanelChart(panel, el, box) {
  const chart = echarts.init(el);
  charts[`panel:${panel.key}`] = chart;
  let option;
  if (panel.type === "timeseries") {
    const kind = panel.chart === "area" ? "line" : panel.chart;
    box.dataset.values = JSON.stringify(panel.series.map((s) => ({ name: s.name, buckets: s.buckets })));
    option = {
      animation: false, tooltip: { trigger: "axis" }, legend: { top: 0, type: "scroll" },
      grid: { left: 50, right: 16, top: 30, bottom: 28 }, xAxis: { type: "time" }, yAxis: { type: "value", minInterval: 1 },
      series: panel.series.map((s) => ({ name: s.name, type: kind, data: s.buckets, showSymbol: false,
        stack: kind === "bar" || panel.chart === "area" ? "total" : undefined,
        areaStyle: panel.chart === "area" ? {} : undefined })),
    };
    chart.on("click", (ev) => zoomTo(ev.value[0], ev.value[0] + panel.interval_ms));
  } else if (panel.type === "pie") {
    box.dataset.values = JSON.stringify(panel.buckets);
    option = { animation: false, tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "70%"], data: panel.buckets.map((b) => ({ name: text(b.key), value: b.count })) }] };
  } else {  // bar: top values of a field
    box.dataset.values = JSON.stringify(panel.buckets);
    option = { animation: false, tooltip: { trigger: "axis" }, grid: { left: 50, right: 16, top: 12, bottom: 40 },
      xAxis: { type: "category", data: panel.buckets.map((b) => text(b.key)), axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: panel.buckets.map((b) => b.count), itemStyle: { color: "#6092c0" } }] };
    chart.on("click", (ev) => addFilterFromPanel(panel.field, panel.buckets[ev.dataIndex].key));
  }
  chart.setOption(option);
}

function addFilterFromPanel(name, value) {
  const current = $("#query").value.trim();
  const clause = `${name}:${kqlValue(value)}`;
  $("#query").value = current ? `(${current}) and ${clause}` : clause;
  navigate("dashboards", parseHash().arg);
}

// -- Alerts, Pipeline -----------------------------------------------------------------------
function fillTable(selector, rows) {
  const body = $(`${selector} tbody`);
  body.innerHTML = "";
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const [value, cls] of cells) { const td = document.createElement("td"); td.textContent = text(value); if (cls) td.className = cls; tr.appendChild(td); }
    body.appendChild(tr);
  }
}

async function renderAlerts() {
  const state = await api("/api/alerts");
  if (!state.available) { showError(new Error(t("alerts.none"))); }
  fillTable("#alert-rules", state.rules.map((r) => [[r.rule], [r.last_end || "–"],
    r.disabled ? [`${t("alerts.disabled")}: ${r.disabled}`, "status-bad"]
      : r.failures ? [`${t("alerts.failing")} (${r.failures}): ${r.last_error || ""}`, "status-bad"] : [t("alerts.ok"), "status-ok"]]));
  fillTable("#alert-history", state.history.map((h) => [[h.time], [h.rule], [h.alerter],
    [h.status, h.status === "sent" ? "status-ok" : "status-bad"], [h.subject]]));
  fillTable("#alert-outbox", state.outbox.map((o) => [[o.rule], [o.alerter], [o.attempts], [o.error]]));
}

async function renderPipeline() {
  const info = await api("/api/pipeline");
  const status = $("#pipeline-status");
  status.textContent = info.running ? t("pipe.up", { url: info.url }) : t("pipe.down", { url: info.url });
  status.className = info.running ? "status-ok" : "status-bad";
  const rows = [];
  const pipelines = (info.stats && info.stats.pipelines) || {};
  const health = (info.health && info.health.indicators && info.health.indicators.pipelines
    && info.health.indicators.pipelines.indicators) || {};
  for (const [id, p] of Object.entries(pipelines)) {
    const events = p.events || {};
    const queue = p.queue || {};
    const h = health[id] || {};
    rows.push([[id], [events.in], [events.out], [queue.events_count ?? queue.events ?? ""], [h.status || ""]]);
  }
  fillTable("#pipeline-table", rows);
}

// -- routing --------------------------------------------------------------------------------
let tailTimer = null;

async function render() {
  const { page, arg, params } = parseHash();
  syncControls(params);
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  document.querySelectorAll(".page").forEach((s) => { s.hidden = s.id !== `page-${page}`; });
  $("#toolbar").hidden = page === "alerts" || page === "pipeline";
  showError(null);
  document.body.dataset.loading = "true";
  try {
    if (page === "dashboards") await renderDashboards(currentParams(), arg);
    else if (page === "alerts") await renderAlerts();
    else if (page === "pipeline") await renderPipeline();
    else await renderDiscover(currentParams());
  } catch (err) {
    showError(err);
  } finally {
    document.body.dataset.loading = "false";
    document.body.dataset.rendered = String(Date.now());
  }
}

function init() {
  applyLanguage();
  $("#lang-switch").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("pipeline.ui.lang", lang);
    applyLanguage();
    render();
  });
  $("#refresh").addEventListener("click", () => navigate(parseHash().page, parseHash().arg));
  $("#query").addEventListener("keydown", (ev) => { if (ev.key === "Enter") navigate(parseHash().page, parseHash().arg); });
  $("#lang").addEventListener("change", () => navigate(parseHash().page, parseHash().arg));
  $("#time").addEventListener("change", () => {
    $("#absolute").hidden = $("#time").value !== "custom";
    if ($("#time").value !== "custom") navigate(parseHash().page, parseHash().arg);
  });
  $("#more").addEventListener("click", async () => {
    try {
      const more = await api("/api/search", withSize(currentParams(), 50, discoverOffset));
      appendEvents(more.hits);
      discoverOffset += more.hits.length;
      $("#more").hidden = discoverOffset >= more.total;
    } catch (err) { showError(err); }
  });
  $("#tail").addEventListener("change", () => {
    clearInterval(tailTimer);
    if ($("#tail").checked) tailTimer = setInterval(() => { if (parseHash().page === "discover") render(); }, 5000);
  });
  window.addEventListener("hashchange", render);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  render();
}

init();
