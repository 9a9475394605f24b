// The operator dashboard: logs in with the admin token (kept for this tab
// only, in sessionStorage), then draws what /admin/reports, /admin/workers,
// /admin/accounts and /metrics say. Every figure comes from the gateway; nothing is computed
// here but layout.
"use strict";

const state = {
  token: sessionStorage.getItem("tollgate-admin-token") || "", charts: [], forecastChart: null,
};

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + state.token } });
  if (r.status === 401) throw new Error("unauthorized");
  if (!r.ok) {
    // The gateway's JSON error says why ({"error": {"code", "message"}}); keep it when there is one.
    const why = await r.json().then((b) => (b && b.error && b.error.message) || "", () => "");
    throw new Error(path.split("?")[0] + ": HTTP " + r.status + (why ? ": " + why : ""));
  }
  return path === "/metrics" ? r.text() : r.json();
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function table(id, head, rows) {
  const t = document.getElementById(id);
  t.replaceChildren();
  const tr = el("tr");
  head.forEach((h) => tr.appendChild(el("th", h)));
  t.appendChild(tr);
  rows.forEach((row) => {
    const r = el("tr");
    row.forEach((cell) => r.appendChild(cell instanceof Node ? wrap(cell) : el("td", String(cell))));
    t.appendChild(r);
  });
}

function wrap(node) {
  const td = el("td");
  td.appendChild(node);
  return td;
}

const money = (micros, currency) => (micros / 1e6).toFixed(2) + (currency ? " " + currency : "");

// One series per workflow over the hours of the range, zeros where a workflow had no jobs.
function series(hours, field, from, to) {
  const start = Math.floor(from / 3600000), end = Math.ceil(to / 3600000);
  const xs = [];
  for (let h = start; h < end; h++) xs.push(h * 3600);
  const workflows = [...new Set(hours.map((c) => c.workflow))].sort();
  const data = [xs];
  workflows.forEach((w) => {
    const ys = new Array(xs.length).fill(0);
    hours.filter((c) => c.workflow === w).forEach((c) => {
      ys[c.hour_start_ms / 3600000 - start] = c[field];
    });
    data.push(ys);
  });
  return { workflows, data };
}

const colors = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6"];

// Draws one line per workflow into the box `id`; the uPlot, for the caller to destroy later.
function chart(id, title, s) {
  const box = document.getElementById(id);
  box.replaceChildren();
  const opts = {
    title, width: Math.max(box.clientWidth, 480), height: 240,
    series: [{}].concat(s.workflows.map((w, i) => ({ label: w, stroke: colors[i % colors.length] }))),
  };
  const plot = new uPlot(opts, s.data, box);
  box.dataset.points = String(s.data.slice(1).reduce((n, ys) => n + ys.filter((y) => y > 0).length, 0));
  return plot;
}

function metric(text, name) {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

async function live() {
  const [workers, metrics] = await Promise.all([api("/admin/workers"), api("/metrics")]);
  document.getElementById("inflight").textContent =
    "Jobs in flight: " + metric(metrics, 'tollgate_jobs{state="in_flight"}') +
    " · admitted since start: " + metric(metrics, "tollgate_jobs_admitted_total");
  table("workers", ["worker", "healthy", "jobs", "queue", "VRAM used", "warm model"],
    workers.workers.map((w) => [
      w.url, el("span", w.healthy ? (w.draining ? "draining" : "yes") : "down", w.healthy ? "" : "down"),
      w.jobs + "/" + w.jobs_max, w.queue_depth_others,
      w.vram_total_bytes ? Math.round((100 * w.vram_used_bytes) / w.vram_total_bytes) + "%" : "-",
      (w.warm_models || []).join(", ") || "-"]));
}

async function reports() {
  const to = Date.now() + 1, from = to - Number(document.getElementById("days").value) * 86400000;
  const q = "?from=" + from + "&to=" + to;
  const [hourly, heat, econ, top, waits] = await Promise.all([
    api("/admin/reports/hourly" + q), api("/admin/reports/heatmap" + q),
    api("/admin/reports/economics" + q), api("/admin/reports/top-accounts" + q + "&limit=10"),
    api("/admin/reports/queue-wait" + q)]);
  state.charts.forEach((c) => c.destroy());
  state.charts = [chart("jobs-chart", "jobs", series(hourly.hours, "jobs", from, to)),
    chart("tokens-chart", "tokens", series(hourly.hours, "tokens", from, to))];

  const max = Math.max(1, ...heat.jobs.flat());
  const rows = heat.days.map((d, i) => [d.slice(0, 3)].concat(heat.jobs[i].map((n) => {
    const cell = el("span", n ? String(n) : "");
    cell.style.display = "block";
    cell.style.background = "rgba(51,102,204," + (n / max).toFixed(2) + ")";
    return cell;
  })));
  table("heatmap", [""].concat([...Array(24).keys()].map(String)), rows);

  const c = econ.currency;
  table("economics", ["workflow", "jobs", "failed", "dupes", "tokens", "avg tokens", "GPU s",
    "revenue", "GPU cost", "margin"],
  econ.workflows.concat([Object.assign({ workflow: "total" }, econ.total)]).map((w) => [
    w.workflow, w.jobs, w.failures, w.duplicates, w.tokens, w.average_tokens.toFixed(1),
    w.gpu_seconds.toFixed(1), money(w.revenue_micros, c), money(w.gpu_cost_micros, c),
    money(w.margin_micros, c)]));
  table("accounts", ["account", "jobs", "tokens", "GPU s"],
    top.accounts.map((a) => [a.account_id, a.jobs, a.tokens, a.gpu_seconds.toFixed(1)]));
  const ms = (v) => (v === null ? "> 600 s" : "≤ " + v + " ms");
  table("waits", ["workflow", "jobs", "p50", "p90", "p99"],
    waits.workflows.map((w) => [w.workflow, w.jobs, ms(w.p50_ms), ms(w.p90_ms), ms(w.p99_ms)]));
}

// Calibration (/admin/reports/calibration): the fitted cost model per workflow and the prices
// it suggests at the configured target, with what the period's jobs would have cost under them.
const change = (now, then) => then + (now ? " (" + (then >= now ? "+" : "") +
  ((100 * (then - now)) / now).toFixed(1) + "%)" : "");

async function calibration() {
  const note = document.getElementById("calibration-note");
  let c;
  try {
    c = await api("/admin/reports/calibration");
  } catch (e) {
    if (e.message === "unauthorized") throw e;
    note.textContent = e.message;
    ["calibration", "calibration-skipped", "calibration-accounts"].forEach((id) => table(id, [], []));
    return;
  }
  const t = c.shadow.total;
  note.textContent = c.workflows.length === 0
    ? "Not enough data to fit any workflow in the last " + c.days + " days."
    : "Last " + c.days + " days at " + c.target_tokens_per_gpu_second + " tokens per GPU-second, " +
      c.jobs + " jobs. Shadow total at list prices: " + t.current_tokens + " → " +
      change(t.current_tokens, t.suggested_tokens) + " tokens.";
  // Prices are the gateway's exact decimals, shown as they are: now → suggested.
  table("calibration", c.workflows.length === 0 ? [] : ["workflow", "jobs", "timed by node",
    "a (s)", "b (s/MP)", "R²", "spread (s)", "base now → suggested", "per MP now → suggested",
    "shadow tokens now → suggested"],
  c.workflows.map((w) => [w.workflow, w.samples, w.metered_samples, w.a_seconds.toFixed(3),
    w.b_seconds_per_megapixel.toFixed(3), w.r_squared.toFixed(3),
    w.residual_mad_seconds.toFixed(3), w.current.base + " → " + w.suggested.base,
    w.current.per_megapixel + " → " + w.suggested.per_megapixel,
    w.shadow ? w.shadow.current_tokens + " → " +
      change(w.shadow.current_tokens, w.shadow.suggested_tokens) : "-"]));
  table("calibration-skipped", c.skipped.length ? ["skipped", "why"] : [],
    c.skipped.map((s) => [s.workflow, s.reason]));
  table("calibration-accounts", c.shadow.accounts.length ? ["most affected account", "jobs",
    "tokens now", "suggested"] : [],
  c.shadow.accounts.map((a) => [a.account_id, a.jobs, a.current_tokens,
    change(a.current_tokens, a.suggested_tokens)]));
}

// Forecast (/admin/reports/forecast): the next week's jobs per hour of each pool, and the
// workers each needs at its peak against the workers it has.
const weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const hourName = (ms) => {
  const d = new Date(ms);
  return weekdays[(d.getUTCDay() + 6) % 7] + " " + String(d.getUTCHours()).padStart(2, "0") + ":00";
};
const percent = (share) => (share === null ? "n/a" : (100 * share).toFixed(1) + "%");

async function forecast() {
  const note = document.getElementById("forecast-note");
  if (state.forecastChart) state.forecastChart.destroy();
  state.forecastChart = null;
  const box = document.getElementById("forecast-chart");
  box.replaceChildren();
  box.dataset.points = "0";
  let f;
  try {
    f = await api("/admin/reports/forecast");
  } catch (e) {
    if (e.message === "unauthorized") throw e;
    note.textContent = e.message;
    table("forecast", [], []);
    return;
  }
  if (f.pools.length === 0) {
    note.textContent = "No jobs in the last " + f.weeks + " weeks: nothing to forecast.";
    table("forecast", [], []);
    return;
  }
  const b = f.backtest;
  note.textContent = "From " + f.weeks + " weeks of history. Backtest on the last week: WAPE " +
    percent(b.wape) + ", MAPE " + percent(b.mape) + " over " + b.hours + " hours.";
  const xs = [...Array(f.hours).keys()].map((i) => f.first_hour_ms / 1000 + i * 3600);
  state.forecastChart = chart("forecast-chart", "forecast jobs per hour", {
    workflows: f.pools.map((p) => p.workflow), data: [xs].concat(f.pools.map((p) => p.jobs_per_hour)),
  });
  table("forecast", ["workflow", "GPU s/job", "jobs in week", "most jobs/h",
    "workers needed (" + Math.round(100 * f.target_utilization) + "% busy)", "peak at (UTC)",
    "workers now"],
  f.pools.map((p) => {
    const now = el("span", String(p.workers_now), p.workers_now < p.workers_peak ? "down" : "");
    return [p.workflow, p.gpu_seconds_per_job.toFixed(2),
      Math.round(p.jobs_per_hour.reduce((n, j) => n + j, 0)),
      Math.max(...p.jobs_per_hour).toFixed(1), p.workers_peak, hourName(p.peak_hour_ms), now];
  }));
}

// One account as its owner sees it: balance, grants, and the first ledger entries.
async function account(id) {
  const summary = document.getElementById("account-summary");
  try {
    const path = "/admin/accounts/" + encodeURIComponent(id);
    const [a, ledger] = await Promise.all([api(path), api(path + "/ledger?limit=50")]);
    summary.textContent = a.name + (a.tenant ? " (" + a.tenant + ")" : "") + ": " + a.available +
      " available, " + a.held + " held, " + a.captured + " captured of " + a.granted + " granted";
    table("account-grants", ["grant", "reason", "tokens", "remaining", "expires"],
      a.grants.map((g) => [g.id, g.reason, g.tokens, g.remaining,
        g.expires_ms ? new Date(g.expires_ms).toISOString().slice(0, 10) : "never"]));
    table("account-ledger", ["entry", "time", "kind", "tokens", "balance after", "job"],
      ledger.entries.map((e) => [e.id, e.time, e.kind, e.tokens, e.balance_after, e.job_id || ""]));
  } catch (e) {
    summary.textContent = e.message.includes("HTTP 404") ? "no such account" : e.message;
    table("account-grants", [], []);
    table("account-ledger", [], []);
  }
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    await Promise.all([live(), reports(), calibration(), forecast()]);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "yes";
  } catch (e) {
    if (e.message === "unauthorized") return logout("that token was refused");
    status.textContent = e.message;
  }
}

function show(loggedIn) {
  document.getElementById("login").hidden = loggedIn;
  document.getElementById("dashboard").hidden = !loggedIn;
}

function logout(why) {
  sessionStorage.removeItem("tollgate-admin-token");
  state.token = "";
  document.getElementById("login-error").textContent = why || "";
  delete document.body.dataset.loaded;
  show(false);
}

document.getElementById("login").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = document.getElementById("token").value;
  sessionStorage.setItem("tollgate-admin-token", state.token);
  show(true);
  refresh();
});
document.getElementById("refresh").addEventListener("click", refresh);
document.getElementById("account-search").addEventListener("submit", (e) => {
  e.preventDefault();
  account(document.getElementById("account-id").value.trim());
});
document.getElementById("days").addEventListener("change", refresh);
document.getElementById("logout").addEventListener("click", () => logout());
setInterval(() => { if (state.token) live().catch(() => {}); }, 5000);
if (state.token) {
  show(true);
  refresh();
}
