// The fleet page: a view over /api/v1 (see /api/v1/openapi.yaml). Plain DOM, no build step.
// #/ is the fleet, most at risk first; #/host/NAME is one host. Text from agents (host names,
// process names, endpoints) only ever goes in through textContent, never as HTML.
"use strict";

const REFRESH_MS = 10000;
const API = "api/v1/";
const PAGE_SIZE = 100;
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const state = { sort: "risk", order: null, offset: 0, timer: null, route: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") e.className = v;
    // Through the CSSOM: the Content-Security-Policy refuses inline style attributes.
    else if (k === "style") e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function getJson(path) {
  const r = await fetch(API + path, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || r.status + " " + r.statusText);
  return body;
}

function showError(e) {
  const p = document.getElementById("error");
  if (e) {
    p.textContent = String(e.message || e);
    p.hidden = false;
  } else {
    p.hidden = true;
  }
}

const fmt = {
  int: (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString("en")),
  pct: (n) => (n === undefined || n === null ? "–" : n.toFixed(n < 10 ? 1 : 0) + " %"),
  duration(s) {
    if (s === undefined || s === null) return "–";
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  },
  time: (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }),
};

function statusBadge(status) {
  return el("span", { class: "status " + status }, status);
}

// ---- fleet -------------------------------------------------------------------------------

// The fleet's filters: the API's query parameter and the input that sets it. They live in the URL
// (#/?namespace=payments&label=env%3Dprod) so that a filtered fleet is a link to share.
const FILTERS = [
  ["q", "filter"],
  ["status", "status-filter"],
  ["namespace", "namespace-filter"],
  ["pod", "pod-filter"],
  ["unit", "unit-filter"],
  ["label", "label-filter"],
];

/** The filters set on the page, as query parameters (empty ones left out). */
function fleetFilters() {
  const q = new URLSearchParams();
  for (const [param, id] of FILTERS) {
    const v = document.getElementById(id).value.trim();
    if (v) q.set(param, v);
  }
  return q;
}

/** "#/" or "#/?namespace=payments&…": the fleet with the filters set now. */
function fleetHash() {
  const q = fleetFilters().toString();
  return "#/" + (q ? "?" + q : "");
}

/** Sets the filter inputs from a fleet URL's parameters (a shared link, back and forward). */
function filtersFromUrl(params) {
  for (const [param, id] of FILTERS) document.getElementById(id).value = params.get(param) || "";
}

/** After an input changed: the URL follows, without a history entry per keystroke. */
function filtersChanged() {
  state.offset = 0;
  if (location.hash !== fleetHash()) history.replaceState(null, "", fleetHash());
  render();
}

async function renderFleet() {
  const q = new URLSearchParams({ sort: state.sort, limit: PAGE_SIZE, offset: state.offset });
  if (state.order) q.set("order", state.order);
  const filters = fleetFilters();
  for (const [k, v] of filters) q.set(k, v);
  document.getElementById("back-to-fleet").setAttribute("href", fleetHash());
  const fleet = await getJson("hosts?" + q);

  const counts = document.getElementById("counts");
  counts.replaceChildren();
  for (const [s, n] of Object.entries(fleet.status_counts)) {
    if (n > 0) counts.append(el("span", { class: "status " + s }, n + " " + s));
  }
  document.getElementById("fleet-total").textContent =
    fleet.total + (fleet.total === 1 ? " host" : " hosts");

  const body = document.querySelector("#fleet-table tbody");
  body.replaceChildren();
  if (fleet.hosts.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: 13, class: "empty" },
      [...filters.keys()].length > 0 ? "No host matches these filters." : "No hosts report to this collector yet.")));
  }
  for (const h of fleet.hosts) body.append(fleetRow(h));

  for (const th of document.querySelectorAll("#fleet-table th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === fleet.sort);
    th.classList.toggle("asc", th.dataset.sort === fleet.sort && fleet.order === "asc");
  }
  const page = Math.floor(fleet.offset / PAGE_SIZE) + 1;
  const pages = Math.max(1, Math.ceil(fleet.total / PAGE_SIZE));
  document.getElementById("page").textContent = "page " + page + " of " + pages;
  document.getElementById("prev").disabled = fleet.offset === 0;
  document.getElementById("next").disabled = fleet.next_offset === undefined;
}

function fleetRow(h) {
  const eta = h.worst_eta
    ? el("span", {}, fmt.duration(h.worst_eta.eta_seconds), el("br"),
        el("span", { class: "muted" }, h.worst_eta.kind + " · " + h.worst_eta.subject))
    : el("span", { class: "muted" }, "–");
  const off = h.top_offender;
  const cw = h.top_close_wait;
  const tr = el("tr", { class: h.status, "data-host": h.host },
    el("td", {}, statusBadge(h.status)),
    el("td", {}, el("a", { href: "#/host/" + encodeURIComponent(h.host) }, h.host)),
    el("td", { title: h.last_seen }, fmt.duration(h.age_seconds) + " ago"),
    el("td", {}, eta),
    el("td", { class: "num" }, fmt.int(h.close_wait)),
    el("td", { class: "num" }, fmt.int(h.time_wait)),
    el("td", { class: "num" }, fmt.int(h.established)),
    el("td", { class: "num", title: h.fd_used_by ? "worst: " + h.fd_used_by : null }, fmt.pct(h.fd_used_percent)),
    el("td", {}, off ? off.comm + " (" + off.pid + ") " + fmt.int(off.fds) + " / " + fmt.int(off.soft_limit) : "–"),
    el("td", {}, cw ? cw.comm + " (" + cw.pid + ") ×" + fmt.int(cw.close_wait) + (cw.top_remote ? " → " + cw.top_remote : "") : "–"),
    el("td", { class: "num" }, fmt.int(h.dropped_reports)),
    el("td", { class: "agent-version", title: h.agent_commit ? "commit " + h.agent_commit : null }, h.agent_version || "–"),
    el("td", { class: "num clock", title: h.clock && h.clock.last_refusal ? "last refused: " + h.clock.last_refusal : null }, clockText(h.clock)));
  tr.addEventListener("click", (e) => {
    if (e.target.tagName !== "A") location.hash = "#/host/" + encodeURIComponent(h.host);
  });
  return tr;
}

/** "+3,600.0 s" (ahead) or "−2.1 s" (behind), and "· 3 refused" when reports were refused. */
function clockText(c) {
  if (!c) return "–";
  const off = c.offset_seconds === undefined ? "–"
    : (c.offset_seconds > 0 ? "+" : c.offset_seconds < 0 ? "−" : "") +
      Math.abs(c.offset_seconds).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " s";
  return off + (c.refused > 0 ? " · " + fmt.int(c.refused) + " refused" : "");
}

// ---- host --------------------------------------------------------------------------------

const CHARTS = [
  { title: "CLOSE_WAIT", metrics: [{ metric: "tcp.close_wait", label: () => "CLOSE_WAIT" }] },
  { title: "TIME_WAIT", metrics: [{ metric: "tcp.time_wait", label: () => "TIME_WAIT" }] },
  { title: "ESTABLISHED", metrics: [{ metric: "tcp.established", label: () => "ESTABLISHED" }] },
  {
    title: "fd usage (%)",
    percent: true,
    metrics: [
      { metric: "fd.used_ratio", label: () => "system (file-nr of file-max)" },
      { metric: "process.used_ratio", label: (t) => t.comm + " (" + t.pid + ") of its soft limit", top: 5 },
    ],
  },
];

async function renderHost(name) {
  const range = document.getElementById("range").value;
  const host = await getJson("hosts/" + encodeURIComponent(name));
  document.getElementById("host-name").textContent = host.host;
  document.getElementById("host-status").replaceChildren(statusBadge(host.status));
  renderFacts(host);
  renderVerdicts(host);
  renderAlerts(host);
  renderFindings(host);
  renderProcesses(host);
  renderOwners(host);
  renderNamespaces(host);
  renderTables(host);
  renderPorts(host);
  renderSysctls(host);
  const charts = document.getElementById("charts");
  const boxes = await Promise.all(CHARTS.map((c) => chartBox(name, c, range)));
  charts.replaceChildren(...boxes);
}

function fact(label, value) {
  return el("div", { class: "fact" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
}

function renderFacts(h) {
  document.getElementById("host-facts").replaceChildren(
    fact("last seen", fmt.duration(h.age_seconds) + " ago"),
    fact("report interval", fmt.duration(h.interval_seconds) + (h.interval_observed ? "" : " (default)")),
    fact("worst ETA", h.worst_eta ? fmt.duration(h.worst_eta.eta_seconds) + " · " + h.worst_eta.subject : "–"),
    fact("CLOSE_WAIT", fmt.int(h.close_wait)),
    fact("TIME_WAIT", fmt.int(h.time_wait)),
    fact("ESTABLISHED", fmt.int(h.established)),
    fact("fd used (worst)", fmt.pct(h.fd_used_percent) + (h.fd_used_by ? " " + h.fd_used_by : "")),
    fact("fd used (system)", fmt.pct(h.fd_system_percent)),
    fact("reports dropped", fmt.int(h.dropped_reports)),
    fact("clock offset", clockText(h.clock)),
    fact("last clock step", h.clock && h.clock.last_step_seconds !== undefined
      ? (h.clock.last_step_seconds > 0 ? "+" : "−") + fmt.duration(Math.abs(h.clock.last_step_seconds)) + " at " + since(h.clock.last_step_at)
      : "–"),
    fact("labels", h.labels ? Object.entries(h.labels).map(([k, v]) => k + "=" + v).join(" ") : "–"),
    fact("agent", h.agent_version ? h.agent_version + (h.agent_commit ? " (" + h.agent_commit + ")" : "") : "–"));
}

/** "10:42 (23 min ago)": the local time of an instant, and how long ago it was. */
function since(iso) {
  if (!iso) return "–";
  const t = Date.parse(iso);
  return fmt.time(t) + " (" + fmt.duration((Date.now() - t) / 1000) + " ago)";
}

function renderVerdicts(h) {
  const box = document.getElementById("verdicts");
  if (h.verdicts.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "No verdicts for this host: nothing is heading for a limit."));
    return;
  }
  const rows = h.verdicts.map((v) => el("tr", { class: v.severity, "data-kind": v.kind, "data-subject": v.subject },
    el("td", {}, statusBadge(v.severity)),
    el("td", {}, v.kind),
    el("td", {}, v.subject),
    el("td", { class: "num" }, fmt.duration(v.eta_seconds)),
    el("td", { class: "num" }, v.slope_per_min === undefined ? "–" : (v.slope_per_min >= 0 ? "+" : "") + v.slope_per_min.toFixed(1) + "/min"),
    el("td", { class: "num" }, fmt.int(v.value) + (v.limit !== undefined ? " / " + fmt.int(v.limit) : "")),
    el("td", { class: "num" }, v.window_seconds === undefined ? "–" : fmt.duration(v.window_seconds)),
    el("td", { title: v.since || "" }, since(v.since)),
    el("td", {}, v.summary || "")));
  box.replaceChildren(el("table", { id: "verdict-table" },
    el("thead", {}, el("tr", {}, ...["severity", "kind", "subject", "ETA", "trend", "value / limit", "over", "since", "evidence"].map((t) => el("th", {}, t)))),
    el("tbody", {}, ...rows)));
}

/** Where an alert's runbook_url leads: as given when absolute, else the collector's own copy. */
function runbookHref(url) {
  if (/^[a-z]+:\/\//i.test(url)) return url;
  const anchor = url.includes("#") ? url.slice(url.indexOf("#") + 1) : "";
  return "#/runbook/" + encodeURIComponent(anchor);
}

function renderAlerts(h) {
  const box = document.getElementById("alerts");
  if (h.alerts.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "No alerts firing for this host."));
    return;
  }
  box.replaceChildren(el("ul", { class: "alerts" }, ...h.alerts.map((a) => {
    const l = a.labels || {};
    const who = [l.comm && l.pid ? l.comm + "[" + l.pid + "]" : null, l.remote ? "→ " + l.remote : null].filter(Boolean).join(" ");
    const runbook = a.annotations && a.annotations.runbook_url;
    return el("li", { "data-alertname": a.alertname || "" },
      statusBadge(a.severity || "warning"), " ",
      el("strong", {}, a.alertname || a.dedup_key), who ? " " + who : "",
      el("span", { class: "muted" }, " · firing since " + since(a.starts_at)),
      runbook ? el("a", { class: "runbook", href: runbookHref(runbook) }, "runbook") : null,
      el("div", { class: "muted" }, a.summary ? "paged as: " + a.summary : ""));
  })));
}

function renderFindings(h) {
  const box = document.getElementById("findings");
  if (h.sysctl_findings.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "No findings: this host's settings look sound and match the fleet."));
    return;
  }
  const rows = h.sysctl_findings.map((f) => el("tr", { "data-finding": f.finding },
    el("td", {}, el("span", { class: "finding-code" }, f.finding)),
    el("td", {}, f.name + (f.subject !== f.name ? " (" + f.subject + ")" : "")),
    el("td", {}, f.value === undefined ? "–" : f.value.replace(/\t/g, " ")),
    el("td", {}, f.recommended === undefined ? "–" : f.recommended.replace(/\t/g, " ")),
    el("td", { title: f.message || "" }, f.message || f.summary || "")));
  box.replaceChildren(
    el("p", { class: "muted" }, "Informational: findings never page."),
    el("table", { id: "finding-table" },
      el("thead", {}, el("tr", {}, ...["finding", "setting", "value", "recommended", "why"].map((t) => el("th", {}, t)))),
      el("tbody", {}, ...rows)));
}

function renderProcesses(h) {
  const body = document.querySelector("#process-table tbody");
  body.replaceChildren();
  if (h.processes.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: 10, class: "empty" }, "The agent reported no processes.")));
  }
  for (const p of h.processes) {
    const s = p.sockets || {};
    body.append(el("tr", { "data-pid": p.pid },
      el("td", { class: "num" }, p.pid),
      el("td", { title: p.cmdline || "" }, p.comm),
      el("td", { class: "num" }, fmt.int(p.fds)),
      el("td", { class: "num" }, fmt.int(p.soft_limit)),
      el("td", { class: "num" }, fmt.int(p.hard_limit)),
      el("td", { class: "num" }, fmt.pct(p.used_percent)),
      el("td", { class: "num" }, fmt.int(s.established)),
      el("td", { class: "num" }, fmt.int(s.close_wait)),
      el("td", { class: "num" }, fmt.int(s.time_wait)),
      el("td", {}, p.close_wait_peers.map((e) => e.remote + " ×" + fmt.int(e.count)).join(", ") || "–")));
  }
}

/** The reported processes and their CLOSE_WAIT per pod/container (or systemd unit). */
function renderOwners(h) {
  const box = document.getElementById("owners");
  const groups = h.owners || [];
  if (groups.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "No processes reported."));
    return;
  }
  box.replaceChildren(el("table", { id: "owner-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "owner"), el("th", {}, "namespace"), el("th", { class: "num" }, "processes"),
      el("th", { class: "num" }, "fds"), el("th", { class: "num" }, "CLOSE_WAIT"), el("th", {}, "pids"))),
    el("tbody", {}, ...groups.map((g) => el("tr", {},
      el("td", { title: g.owner.cgroup || "" }, g.owner.name), el("td", {}, g.owner.namespace || "–"),
      el("td", { class: "num" }, fmt.int(g.processes)), el("td", { class: "num" }, fmt.int(g.fds)),
      el("td", { class: "num" }, fmt.int(g.close_wait)), el("td", {}, g.pids.join(", ")))))));
}

/** Every network namespace the agent counted, the host's own first. */
function renderNamespaces(h) {
  const box = document.getElementById("namespaces");
  const all = h.namespaces || [];
  if (all.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "The agent counted its own network namespace only."));
    return;
  }
  box.replaceChildren(el("table", { id: "netns-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "namespace"), el("th", {}, "owner"), el("th", {}, "read by"),
      el("th", { class: "num" }, "processes"), el("th", { class: "num" }, "ESTABLISHED"),
      el("th", { class: "num" }, "CLOSE_WAIT"), el("th", { class: "num" }, "TIME_WAIT"))),
    el("tbody", {}, ...all.map((n) => {
      const t = n.tcp || {};
      return el("tr", {},
        el("td", {}, n.host ? "host" : (n.name || String(n.inode))),
        el("td", {}, n.owner ? n.owner.name + (n.owner.namespace ? " (" + n.owner.namespace + ")" : "") : "–"),
        el("td", {}, n.tcp ? n.reader : "not counted"),
        el("td", { class: "num" }, fmt.int(n.processes)), el("td", { class: "num" }, fmt.int(t.established)),
        el("td", { class: "num" }, fmt.int(t.close_wait)), el("td", { class: "num" }, fmt.int(t.time_wait)));
    }))));
}

const TABLE_NAMES = { conntrack: "conntrack entries", orphans: "orphaned sockets", tcp_memory: "TCP memory (pages)", accept_queue: "accept queue", syn_queue: "SYN queue (SYN_RECV)" };

/** Each kernel table's use against its limit, with its ETA when the detector sees it growing. */
function renderTables(h) {
  const box = document.getElementById("tables");
  const all = h.tables || [];
  if (all.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "The agent reported no kernel tables."));
    return;
  }
  box.replaceChildren(el("table", { id: "tables-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "table"), el("th", {}, "subject"), el("th", { class: "num" }, "used"),
      el("th", { class: "num" }, "limit"), el("th", { class: "num" }, "of limit"), el("th", { class: "num" }, "ETA"),
      el("th", {}, "verdict"))),
    el("tbody", {}, ...all.map((t) => el("tr", { "data-table": t.table, "data-subject": t.subject, class: t.severity || null },
      el("td", {}, TABLE_NAMES[t.table] || t.table),
      el("td", {}, t.subject),
      el("td", { class: "num" }, fmt.int(t.used)),
      el("td", { class: "num" }, t.limit === undefined ? "–" : fmt.int(t.limit) + (t.pressure !== undefined ? " (pressure " + fmt.int(t.pressure) + ")" : "")),
      el("td", { class: "num" }, fmt.pct(t.used_percent)),
      el("td", { class: "num" }, t.eta_seconds === undefined ? "–" : fmt.duration(t.eta_seconds)),
      el("td", {}, t.severity ? statusBadge(t.severity) : "–"))))));
}

function renderPorts(h) {
  const box = document.getElementById("ports");
  const pp = h.port_pressure;
  if (!pp || pp.top.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "No ephemeral port use reported."));
    return;
  }
  box.replaceChildren(
    el("p", { class: "muted" }, "ip_local_port_range " + fmt.int(pp.range_low) + "–" + fmt.int(pp.range_high) + " (" + fmt.int(pp.range_size) + " ports per remote endpoint)"),
    el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "remote"), el("th", { class: "num" }, "in use"), el("th", { class: "num" }, "TIME_WAIT"), el("th", { class: "num" }, "of range"))),
      el("tbody", {}, ...pp.top.map((e) => el("tr", {},
        el("td", {}, e.remote), el("td", { class: "num" }, fmt.int(e.in_use)),
        el("td", { class: "num" }, fmt.int(e.time_wait)), el("td", { class: "num" }, fmt.pct(e.used_percent)))))));
}

function renderSysctls(h) {
  const body = document.querySelector("#sysctl-table tbody");
  body.replaceChildren();
  for (const s of h.sysctls) {
    const drifts = s.fleet_majority !== undefined;
    body.append(el("tr", { "data-sysctl": s.name, class: drifts ? "drift" : null },
      el("td", {}, s.name),
      el("td", { class: drifts ? "differs" : null }, s.value.replace(/\t/g, " ")),
      el("td", {}, drifts ? "differs: the fleet has " + s.fleet_majority.replace(/\t/g, " ") : "same"),
      el("td", {}, ...s.findings.map((f) => el("span", { class: "finding-code", title: f.message || "" }, f.finding)))));
  }
}

// ---- runbook -----------------------------------------------------------------------------

/** One section of RUNBOOK.md (served beside this page), as text: the alert's what-to-do. */
async function renderRunbook(anchor) {
  const r = await fetch("RUNBOOK.md");
  if (!r.ok) throw new Error("RUNBOOK.md: " + r.status + " " + r.statusText);
  const text = await r.text();
  const sections = text.split(/^## /m).slice(1);
  const section = sections.find((s) => s.split("\n")[0].trim().toLowerCase().replace(/[^a-z0-9_]+/g, "-") === anchor);
  document.getElementById("runbook-title").textContent = section ? section.split("\n")[0].trim() : "Runbook";
  document.getElementById("runbook-text").textContent = section
    ? section.split("\n").slice(1).join("\n").trim()
    : "No section " + anchor + " in RUNBOOK.md.\n\n" + text;
}

// ---- charts ------------------------------------------------------------------------------

async function chartBox(host, chart, range) {
  const lines = [];
  let from = null;
  let to = null;
  for (const m of chart.metrics) {
    const q = new URLSearchParams({ metric: m.metric, from: range, to: "now" });
    const s = await getJson("hosts/" + encodeURIComponent(host) + "/series?" + q);
    from = Date.parse(s.from);
    to = Date.parse(s.to);
    let series = s.series;
    if (m.top) {
      const peak = (l) => Math.max(...l.points.map((p) => p[1]));
      series = [...series].sort((a, b) => peak(b) - peak(a)).slice(0, m.top);
    }
    for (const l of series) {
      lines.push({
        label: m.label(l.tags),
        points: l.points.map(([t, v]) => [t, chart.percent ? v * 100 : v]),
      });
    }
  }
  const box = el("div", { class: "chart-box" }, el("h3", {}, chart.title));
  box.append(drawChart(chart.metrics[0].metric, lines, from, to));
  const legend = el("div", { class: "legend" });
  lines.forEach((l, i) => legend.append(el("span", {}, el("i", { style: "background:" + COLORS[i % COLORS.length] }), l.label)));
  box.append(legend);
  return box;
}

/** An SVG line chart: time on x over [from, to], values on y from 0. */
function drawChart(metric, lines, from, to) {
  const W = 600, H = 180, L = 48, R = 8, T = 8, B = 22;
  const s = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, "data-metric": metric, role: "img" });
  const points = lines.reduce((n, l) => n + l.points.length, 0);
  s.setAttribute("data-points", points);
  let max = 0;
  for (const l of lines) for (const p of l.points) max = Math.max(max, p[1]);
  max = niceMax(max);
  const x = (t) => L + ((t - from) / Math.max(1, to - from)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);

  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    s.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const label = svg("text", { class: "axis", x: L - 4, y: y(v) + 3, "text-anchor": "end" });
    label.textContent = v >= 1000 ? (v / 1000).toFixed(v % 1000 ? 1 : 0) + "k" : String(+v.toFixed(2));
    s.append(label);
  }
  for (let i = 0; i <= 4; i++) {
    const t = from + ((to - from) * i) / 4;
    const label = svg("text", { class: "axis", x: x(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" });
    label.textContent = fmt.time(t);
    s.append(label);
  }
  if (points === 0) {
    const none = svg("text", { class: "axis", x: W / 2, y: H / 2, "text-anchor": "middle" });
    none.textContent = "no data in this range";
    s.append(none);
  }
  lines.forEach((l, i) => {
    if (l.points.length === 0) return;
    const d = l.points.map((p, j) => (j === 0 ? "M" : "L") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
    const path = svg("path", { class: "series", d, stroke: COLORS[i % COLORS.length], "data-label": l.label });
    const title = svg("title");
    title.textContent = l.label + ": last " + l.points[l.points.length - 1][1];
    path.append(title);
    s.append(path);
  });
  return s;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---- routing and refresh -----------------------------------------------------------------

function route() {
  const m = location.hash.match(/^#\/host\/(.+)$/);
  if (m) return { view: "host", host: decodeURIComponent(m[1]) };
  const rb = location.hash.match(/^#\/runbook\/(.*)$/);
  if (rb) return { view: "runbook", anchor: decodeURIComponent(rb[1]) };
  const f = location.hash.match(/^#\/\?(.*)$/);
  return { view: "fleet", params: new URLSearchParams(f ? f[1] : "") };
}

/** A move through the URL (a link, back, forward): the fleet's filters follow it. */
function urlChanged() {
  const r = route();
  if (r.view === "fleet") {
    filtersFromUrl(r.params);
    state.offset = 0;
  }
  render();
}

async function render() {
  const r = route();
  document.getElementById("fleet-view").hidden = r.view !== "fleet";
  document.getElementById("host-view").hidden = r.view !== "host";
  document.getElementById("runbook-view").hidden = r.view !== "runbook";
  try {
    if (r.view === "host") await renderHost(r.host);
    else if (r.view === "runbook") await renderRunbook(r.anchor);
    else await renderFleet();
    showError(null);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
  } catch (e) {
    showError(e);
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    if (!document.hidden) await render();
    schedule();
  }, REFRESH_MS);
}

function init() {
  for (const th of document.querySelectorAll("#fleet-table th[data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      if (state.sort === key) state.order = th.classList.contains("asc") ? "desc" : "asc";
      else state.order = null;
      state.sort = key;
      state.offset = 0;
      render();
    });
  }
  let typing;
  for (const [param, id] of FILTERS) {
    const input = document.getElementById(id);
    if (param === "status") {
      input.addEventListener("change", filtersChanged);
    } else {
      input.addEventListener("input", () => {
        clearTimeout(typing);
        typing = setTimeout(filtersChanged, 250);
      });
    }
  }
  document.getElementById("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); render(); });
  document.getElementById("next").addEventListener("click", () => { state.offset += PAGE_SIZE; render(); });
  document.getElementById("range").addEventListener("change", render);
  window.addEventListener("hashchange", urlChanged);
  urlChanged();
  schedule();
}

init();
